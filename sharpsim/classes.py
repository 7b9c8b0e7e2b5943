"""Model classes that fit themselves exactly: ``mle(prompts, responses)`` (Lemma F.1's estimator).

A class is an immutable pytree. ``mle`` takes the data of an algorithm — ``prompts: [n]`` and
``responses: [n]`` (indices into ``Y``) — and returns the maximum-likelihood member as a
:class:`~sharpsim.policies.TabularPolicy`. It depends on the data only through the count table
``counts[x, y] = #{i : (x_i, y_i) = (x, y)}`` and is jittable and vmappable over seeds.
``mle_mass(prompts, responses, mask)`` returns the MLE's mass on a set per prompt without
building the fitted table (what a sharpening error needs; O(n K) or O(n) per call).

* :class:`FiniteClass` — K candidate policies ``[K, X, Y]``; MLE by enumeration; ``log|Π| = log K``.
* :class:`ProductClass` — a candidate set per prompt ``[X, K, Y]`` (ragged via ``valid``); MLE
  factorises over prompts; ``log|Π| = Σ_x log K_x``.
* :class:`TabularClass` — every conditional; MLE = empirical frequencies; ``log|Π| = inf``.
* :func:`bon_closure` — the class of the members' BoN_N laws (Assumption 4.1 by construction).

Ties between equally likely members go to the lowest index. A prompt with no data cannot be
told apart by likelihood: FiniteClass keeps the tie rule; ProductClass gives it its
``default`` candidate (index 0); TabularClass gives it the uniform distribution (or
``unseen=...``). Such a prompt counts as a sharpening failure unless that default happens to
be sharpened.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from sharpsim import _validation as v
from sharpsim.laws import _bon_log_law
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float
from sharpsim.problems import Problem, as_tabular_base

__all__ = ["FiniteClass", "ProductClass", "TabularClass", "bind", "bon_closure", "counts", "is_realizable"]


def _pytree(*fields):
    """Registers a class as a pytree whose leaves are ``fields``; unflattening bypasses
    ``__init__`` (which validates user input), so JAX transformations never re-validate."""

    def wrap(cls):
        def flatten(obj):
            return tuple(getattr(obj, f) for f in fields), None

        def unflatten(_, leaves):
            obj = object.__new__(cls)
            for f, leaf in zip(fields, leaves):
                object.__setattr__(obj, f, leaf)
            return obj

        jax.tree_util.register_pytree_node(cls, flatten, unflatten)
        return cls

    return wrap


def counts(prompts, responses, num_prompts: int, num_responses: int) -> jax.Array:
    """``[num_prompts, num_responses]`` the count table of the pairs ``(prompts[i], responses[i])``.

    Pairs with a negative response (the oracle's mark for a masked, unrevealed sample) are
    skipped.
    """
    prompts = jnp.asarray(prompts).ravel()
    responses = jnp.asarray(responses).ravel()
    keep = responses >= 0
    return (
        jnp.zeros((num_prompts, num_responses), _float())
        .at[prompts, jnp.where(keep, responses, 0)]
        .add(keep.astype(_float()))
    )


def _triple_arrays(triples, beta):
    """Flat ``(x, y, y', target, keep)`` of Eq 8: the residual is
    ``β(log π(y|x) − log π(y'|x)) − target`` with
    ``target = β(log π_base(y|x) − log π_base(y'|x)) + (r(y|x) − r(y'|x))``."""
    x = jnp.asarray(triples.prompts).ravel()
    y = jnp.asarray(triples.responses).ravel()
    z = jnp.asarray(triples.other_responses).ravel()
    keep = (y >= 0) & (z >= 0)
    target = beta * (jnp.ravel(triples.base_log_probs) - jnp.ravel(triples.other_base_log_probs)) + (
        jnp.ravel(triples.rewards) - jnp.ravel(triples.other_rewards)
    )
    return x, jnp.where(keep, y, 0), jnp.where(keep, z, 0), jnp.where(keep, target, 0.0), keep


def _pairs(prompts, responses):
    """Flat ``(x, y, keep)``; ``keep`` is False for masked samples (negative responses)."""
    x = jnp.asarray(prompts).ravel()
    y = jnp.asarray(responses).ravel()
    return x, y, y >= 0


# ------------------------------------------------------------------------------ finite
@_pytree("log_probs")
@dataclasses.dataclass(frozen=True, init=False)
class FiniteClass:
    """A finite class of ``K`` tabular policies.

    Attributes:
      log_probs: ``[K, num_prompts, num_responses]`` the members' log-probabilities.
    """

    log_probs: jax.Array

    def __init__(self, probs=None, *, log_probs=None):
        """``FiniteClass(probs)`` with ``probs: [K, X, Y]`` (validated), or ``log_probs=``."""
        if (probs is None) == (log_probs is None):
            raise TypeError("pass exactly one of `probs` or `log_probs` to FiniteClass")
        if probs is not None:
            arr = v.check_probability_table("probs", probs, ndim=3)
            with np.errstate(divide="ignore"):
                log_probs = jnp.asarray(np.log(arr), dtype=_float())
        elif v.is_concrete(log_probs):
            arr = np.asarray(log_probs)
            if arr.ndim != 3 or arr.shape[0] == 0:
                raise ValueError(f"`log_probs` must have shape [K >= 1, X, Y]; got {arr.shape}")
        object.__setattr__(self, "log_probs", jnp.asarray(log_probs))

    @property
    def num_members(self) -> int:
        return self.log_probs.shape[0]

    @property
    def num_prompts(self) -> int:
        return self.log_probs.shape[1]

    @property
    def num_responses(self) -> int:
        return self.log_probs.shape[2]

    @property
    def log_size(self) -> float:
        """``log|Π| = log K``."""
        return math.log(self.num_members)

    def member(self, k) -> TabularPolicy:
        return TabularPolicy(self.log_probs[k])

    def log_likelihoods(self, prompts, responses) -> jax.Array:
        """``[K]`` ``Σ_i log π_k(y_i|x_i)`` (O(n K): one gather per sample, no count table)."""
        x, y, keep = _pairs(prompts, responses)
        lp = self.log_probs[:, x, jnp.where(keep, y, 0)]  # [K, n]
        return jnp.sum(jnp.where(keep[None], lp, 0.0), axis=1)

    def mle_index(self, prompts, responses) -> jax.Array:
        return jnp.argmax(self.log_likelihoods(prompts, responses))

    def mle(self, prompts, responses) -> TabularPolicy:
        """The maximum-likelihood member (lowest index among ties), by enumeration."""
        return self.member(self.mle_index(prompts, responses))

    def mle_mass(self, prompts, responses, mask) -> jax.Array:
        """``[num_prompts]`` ``π̂(S(x)|x)`` of the MLE ``π̂`` for a set ``mask: [X, Y]``,
        without building ``π̂``."""
        masses = logsumexp(jnp.where(mask[None], self.log_probs, -jnp.inf), axis=-1)  # [K, X]
        return jnp.exp(masses[self.mle_index(prompts, responses)])

    def regression_losses(self, triples, beta) -> jax.Array:
        """``[K]`` the Eq 8 square loss of every member on ``triples`` (``inf`` where a member
        gives zero probability to a compared response)."""
        x, y, z, b, keep = _triple_arrays(triples, beta)
        ly = self.log_probs[:, x, y]
        lz = self.log_probs[:, x, z]
        finite = jnp.isfinite(ly) & jnp.isfinite(lz)
        resid = beta * (jnp.where(finite, ly, 0.0) - jnp.where(finite, lz, 0.0)) - b
        per = jnp.where(keep[None], jnp.where(finite, resid**2, jnp.inf), 0.0)
        return jnp.sum(per, axis=1)

    def regress(self, triples, beta) -> TabularPolicy:
        """The exact minimiser of the Eq 8 square loss over the members (lowest index among ties)."""
        return self.member(jnp.argmin(self.regression_losses(triples, beta)))


# ----------------------------------------------------------------------------- product
@_pytree("log_probs", "valid")
@dataclasses.dataclass(frozen=True, init=False)
class ProductClass:
    """``Π = Π_x Π_x``: for every prompt, a finite set of candidate conditionals.

    Attributes:
      log_probs: ``[num_prompts, K, num_responses]`` candidates (padded to a common ``K``).
      valid: ``[num_prompts, K]`` which candidates exist (``K_x = valid[x].sum()``).
    """

    log_probs: jax.Array
    valid: jax.Array

    def __init__(self, probs=None, *, valid=None, log_probs=None):
        """``ProductClass(probs, valid=None)`` with ``probs: [X, K, Y]`` (each row a
        distribution) and ``valid: [X, K]`` (default: all candidates valid)."""
        if (probs is None) == (log_probs is None):
            raise TypeError("pass exactly one of `probs` or `log_probs` to ProductClass")
        if probs is not None:
            arr = v.check_probability_table("probs", probs, ndim=3)
            with np.errstate(divide="ignore"):
                log_probs = jnp.asarray(np.log(arr), dtype=_float())
        shape = np.shape(log_probs)
        if valid is None:
            valid = jnp.ones(shape[:2], bool)
        elif v.is_concrete(valid):
            valid_np = np.asarray(valid, dtype=bool)
            if valid_np.shape != tuple(shape[:2]):
                raise ValueError(f"`valid` must have shape [X, K] = {list(shape[:2])}; got {valid_np.shape}")
            if not valid_np.any(axis=1).all():
                raise ValueError("every prompt needs at least one valid candidate in `valid`")
            if not valid_np[:, 0].all():
                raise ValueError("candidate 0 (the default for unseen prompts) must be valid for every prompt")
            valid = jnp.asarray(valid_np)
        object.__setattr__(self, "log_probs", jnp.asarray(log_probs))
        object.__setattr__(self, "valid", jnp.asarray(valid))

    @property
    def num_prompts(self) -> int:
        return self.log_probs.shape[0]

    @property
    def num_responses(self) -> int:
        return self.log_probs.shape[2]

    @property
    def num_candidates(self) -> jax.Array:
        """``[num_prompts]`` ``K_x``."""
        return jnp.sum(self.valid, axis=1)

    @property
    def log_size(self) -> float:
        """``log|Π| = Σ_x log K_x``."""
        return float(jnp.sum(jnp.log(self.num_candidates.astype(_float()))))

    def member(self, index) -> TabularPolicy:
        """The policy choosing candidate ``index[x]`` at each prompt."""
        return TabularPolicy(self.log_probs[jnp.arange(self.num_prompts), index])

    def mle_index(self, prompts, responses) -> jax.Array:
        """``[num_prompts]`` per-prompt MLE candidate (lowest index among ties; unseen → 0)."""
        x, y, keep = _pairs(prompts, responses)
        lp = jnp.where(keep[:, None], self.log_probs[x, :, jnp.where(keep, y, 0)], 0.0)  # [n, K]
        ll = jax.ops.segment_sum(lp, x, num_segments=self.num_prompts)  # [X, K], O(n K)
        ll = jnp.where(self.valid, ll, -jnp.inf)
        return jnp.argmax(ll, axis=1)

    def mle_mass(self, prompts, responses, mask) -> jax.Array:
        """``[num_prompts]`` ``π̂(S(x)|x)`` of the MLE for ``mask: [X, Y]``, without building ``π̂``."""
        masses = logsumexp(jnp.where(mask[:, None, :], self.log_probs, -jnp.inf), axis=-1)  # [X, K]
        k = self.mle_index(prompts, responses)
        return jnp.exp(masses[jnp.arange(self.num_prompts), k])

    def mle(self, prompts, responses) -> TabularPolicy:
        """The maximum-likelihood member; it factorises over prompts."""
        return self.member(self.mle_index(prompts, responses))


# ----------------------------------------------------------------------------- tabular
@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TabularClass:
    """All conditionals over ``X × Y``: MLE = empirical frequencies.

    ``log|Π|`` is infinite; for this class the role of ``log|Π|/n`` in Thm 4.1 is played by the
    per-prompt estimation error of empirical frequencies, roughly ``|X| |Y| / n`` in the worst
    case, or ``|X| / n`` for a prompt-wise count of how often each prompt was seen at all.

    ``TabularClass()`` leaves the sizes open: the algorithms bind it to their problem
    (:func:`bind`); ``TabularClass(num_prompts, num_responses)`` fixes them.

    Attributes:
      num_prompts, num_responses: static sizes, or ``None`` until bound to a problem.
      smoothing: add-``λ`` (Laplace) pseudo-counts per response (default 0: the exact MLE).
    """

    num_prompts: int | None = dataclasses.field(default=None, metadata=dict(static=True))
    num_responses: int | None = dataclasses.field(default=None, metadata=dict(static=True))
    smoothing: float = dataclasses.field(default=0.0, metadata=dict(static=True))

    def __post_init__(self):
        if self.num_prompts is not None:
            v.check_positive_int("num_prompts", self.num_prompts)
        if self.num_responses is not None:
            v.check_positive_int("num_responses", self.num_responses)
        v.check_at_least("smoothing", self.smoothing, 0.0)

    @classmethod
    def for_problem(cls, problem: Problem, *, smoothing: float = 0.0) -> TabularClass:
        return cls(problem.num_prompts, problem.num_responses, smoothing)

    @property
    def log_size(self) -> float:
        """``inf``: the class is not finite."""
        return math.inf

    def mle(self, prompts, responses) -> TabularPolicy:
        """Empirical frequencies (plus ``smoothing``); a prompt never seen gets the uniform law."""
        if self.num_prompts is None or self.num_responses is None:
            raise ValueError(
                "this TabularClass has no sizes: build it as TabularClass(num_prompts, num_responses), "
                "with TabularClass.for_problem(problem), or pass it to an algorithm (which binds it)"
            )
        c = counts(prompts, responses, self.num_prompts, self.num_responses) + self.smoothing
        total = jnp.sum(c, axis=1, keepdims=True)
        probs = jnp.where(total > 0, c / jnp.where(total > 0, total, 1.0), 1.0 / self.num_responses)
        return TabularPolicy(jnp.log(probs))

    def mle_mass(self, prompts, responses, mask) -> jax.Array:
        """``[num_prompts]`` ``π̂(S(x)|x)`` of the empirical-frequency MLE for ``mask: [X, Y]``,
        from per-prompt visit and hit counts (O(n), no ``[X, Y]`` table per call)."""
        x, y, keep = _pairs(prompts, responses)
        w = keep.astype(_float())
        hit = w * mask[x, jnp.where(keep, y, 0)]
        visits = jax.ops.segment_sum(w, x, num_segments=mask.shape[0])
        hits = jax.ops.segment_sum(hit, x, num_segments=mask.shape[0])
        size = jnp.sum(mask, axis=1)
        lam = self.smoothing
        num_responses = mask.shape[1]
        total = visits + lam * num_responses
        return jnp.where(total > 0, (hits + lam * size) / jnp.where(total > 0, total, 1.0), size / num_responses)

    def regress(self, triples, beta) -> TabularPolicy:
        """The exact minimiser of the Eq 8 square loss over all softmax tables, minimum-norm.

        With logits ``θ_x``, the residual of a triple is ``β(θ_{x,y} − θ_{x,y'}) − b`` (the
        log-partition cancels), a least-squares problem per prompt with the comparison graph's
        Laplacian as normal matrix. It is solved exactly by the pseudo-inverse (eigh), which picks
        the minimum-norm ``θ``: logits are identified only up to a constant on each connected
        component of compared responses; each component is centred at 0, and a response never
        compared gets logit 0. (Which value such an unseen response *should* get is exactly what
        the data cannot say: this is where exploration matters.)
        """
        if self.num_prompts is None or self.num_responses is None:
            raise ValueError("this TabularClass has no sizes: bind it to a problem first (classes.bind)")
        X, Y = self.num_prompts, self.num_responses
        x, y, z, b, keep = _triple_arrays(triples, beta)
        w = keep.astype(_float())
        L = jnp.zeros((X, Y, Y), _float())
        L = L.at[x, y, y].add(w).at[x, z, z].add(w).at[x, y, z].add(-w).at[x, z, y].add(-w)
        g = jnp.zeros((X, Y), _float()).at[x, y].add(w * b).at[x, z].add(-w * b)
        s, V = jnp.linalg.eigh(L)
        tol = 1e-9 * jnp.maximum(jnp.max(s, axis=-1, keepdims=True), 1.0)
        inv = jnp.where(s > tol, 1.0 / jnp.where(s > tol, s, 1.0), 0.0)
        coords = inv * jnp.einsum("xyk,xy->xk", V, g)
        theta = jnp.einsum("xyk,xk->xy", V, coords) / beta
        return TabularPolicy(jax.nn.log_softmax(theta, axis=-1))


ModelClass = FiniteClass | ProductClass | TabularClass


def bind(model_class: ModelClass, problem: Problem) -> ModelClass:
    """Checks that ``model_class`` fits ``problem``'s ``[num_prompts, num_responses]`` and returns
    it, giving an unsized ``TabularClass()`` the problem's sizes.

    Raises:
      TypeError: if ``model_class`` is not a sharpsim model class.
      ValueError: on an empty class or mismatched shapes (the message gives both shapes).
    """
    X, Y = problem.num_prompts, problem.num_responses
    if isinstance(model_class, TabularClass):
        if model_class.num_prompts is None and model_class.num_responses is None:
            return TabularClass(X, Y, model_class.smoothing)
        shape = (model_class.num_prompts, model_class.num_responses)
    elif isinstance(model_class, FiniteClass):
        if model_class.num_members == 0:
            raise ValueError("`model_class` is empty: a FiniteClass needs at least one member")
        shape = tuple(model_class.log_probs.shape[1:])
    elif isinstance(model_class, ProductClass):
        shape = (model_class.log_probs.shape[0], model_class.log_probs.shape[2])
    else:
        from sharpsim.linear import LinearSoftmaxClass
        from sharpsim.linear_ar import AutoregressiveLinearSoftmaxClass

        if not isinstance(model_class, (LinearSoftmaxClass, AutoregressiveLinearSoftmaxClass)):
            raise TypeError(
                "`model_class` must be a FiniteClass, ProductClass, TabularClass, LinearSoftmaxClass or "
                f"AutoregressiveLinearSoftmaxClass; got {type(model_class).__name__}"
            )
        shape = (model_class.num_prompts, model_class.num_responses)
    if shape != (X, Y):
        raise ValueError(
            f"`model_class` has [num_prompts, num_responses] = {list(shape)} but the problem has {[X, Y]}"
        )
    return model_class


# ------------------------------------------------------------------------- BoN closure
def bon_closure(model_class: ModelClass, N) -> ModelClass:
    """The class ``{π^BoN_N : π ∈ Π}`` of its members' exact BoN_N laws (Assumption 4.1).

    For a finite or product class every candidate is replaced by its BoN_N law (computed
    per prompt, exactly). The tabular class already contains every law, so it is its own
    closure.
    """
    if isinstance(model_class, TabularClass):
        return model_class
    if isinstance(model_class, FiniteClass):
        K, X, Y = model_class.log_probs.shape
        laws = _bon_log_law(model_class.log_probs.reshape(K * X, Y), N, _tie_rtol())
        return FiniteClass(log_probs=laws.reshape(K, X, Y))
    if isinstance(model_class, ProductClass):
        X, K, Y = model_class.log_probs.shape
        laws = _bon_log_law(model_class.log_probs.reshape(X * K, Y), N, _tie_rtol())
        return ProductClass(log_probs=laws.reshape(X, K, Y), valid=model_class.valid)
    raise TypeError(f"`model_class` must be a sharpsim model class; got {type(model_class).__name__}")


def _tie_rtol():
    from sharpsim._config import TIE_RTOL

    return TIE_RTOL


def is_realizable(model_class: ModelClass, problem: Problem, N, *, atol: float = 1e-9) -> bool:
    """Whether ``π^BoN_N`` of ``problem``'s base lies in ``model_class`` (Assumption 4.1),
    comparing probabilities within ``atol`` on prompts in the support of μ."""
    from sharpsim.laws import bon_law

    if isinstance(model_class, TabularClass):  # every conditional; unsized: binds to any problem
        sizes = (model_class.num_prompts, model_class.num_responses)
        return sizes in ((None, None), (problem.num_prompts, problem.num_responses))
    target = np.asarray(bon_law(problem, N).probs)
    sup = np.asarray(problem.prompt_probs) > 0
    as_tabular_base(problem)
    if isinstance(model_class, FiniteClass):
        members = np.exp(np.asarray(model_class.log_probs))
        if members.shape[1:] != target.shape:
            return False
        close = np.abs(members - target[None]).max(axis=2) <= atol  # [K, X]
        return bool(np.any(np.all(close[:, sup], axis=1)))
    if isinstance(model_class, ProductClass):
        cands = np.exp(np.asarray(model_class.log_probs))
        if (cands.shape[0], cands.shape[2]) != target.shape:
            return False
        close = (np.abs(cands - target[:, None, :]).max(axis=2) <= atol) & np.asarray(model_class.valid)
        return bool(np.all(close.any(axis=1)[sup]))
    raise TypeError(f"`model_class` must be a sharpsim model class; got {type(model_class).__name__}")


def __getattr__(name):
    # ``LinearSoftmaxClass`` (Def J.3) lives in ``sharpsim.linear`` (it needs optax).
    if name == "LinearSoftmaxClass":
        from sharpsim.linear import LinearSoftmaxClass

        return LinearSoftmaxClass
    if name == "AutoregressiveLinearSoftmaxClass":
        from sharpsim.linear_ar import AutoregressiveLinearSoftmaxClass

        return AutoregressiveLinearSoftmaxClass
    raise AttributeError(f"module 'sharpsim.classes' has no attribute {name!r}")
