"""Finite model classes whose maximum-likelihood oracle is exact (Lemma F.1's estimator).

A class is an immutable pytree. ``mle`` takes the data of an algorithm — ``prompts: [n]`` and
``responses: [n]`` (indices into ``Y``) — and returns the maximum-likelihood member as a
:class:`~sharpsim.policies.TabularPolicy`. It depends on the data only through the count table
``counts[x, y] = #{i : (x_i, y_i) = (x, y)}`` and is jittable and vmappable over seeds.
``mle_mass(prompts, responses, mask)`` returns the MLE's mass on a set per prompt without
building the fitted table (what a sharpening error needs; O(n K) or O(n) per call).

* :class:`FiniteClass` — K candidate policies ``[K, X, Y]``; MLE by enumeration; ``log|Π| = log K``.
* :class:`ProductClass` — a candidate set per prompt ``[X, K, Y]`` (ragged via ``valid``); MLE
  factorises over prompts; ``log|Π| = Σ_x log K_x`` (the shape of App H's hard class, Thm 3.1).

Both have an exact BoN closure ``{π^BoN_N : π ∈ Π}`` (Assumption 4.1 by construction).

Ties between equally likely members go to the lowest index. A prompt with no data cannot be
told apart by likelihood: FiniteClass keeps the tie rule; ProductClass gives it its
``default`` candidate (index 0). Such a prompt counts as a sharpening failure unless that
default happens to be sharpened.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from sharpsim import _config
from sharpsim import _validation as v
from sharpsim._bon import _bon_log_law
from sharpsim.classes.protocol import check_sizes, pytree_class
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float

__all__ = ["FiniteClass", "ProductClass", "counts", "decoy_product_class"]


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


@pytree_class
@dataclasses.dataclass(frozen=True, init=False, eq=False)
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
        """``K``, the number of members."""
        return self.log_probs.shape[0]

    @property
    def num_prompts(self) -> int:
        """``|X|``."""
        return self.log_probs.shape[1]

    @property
    def num_responses(self) -> int:
        """``|Y|``."""
        return self.log_probs.shape[2]

    @property
    def sizes(self) -> tuple[int, int]:
        """``(num_prompts, num_responses)``."""
        return (self.num_prompts, self.num_responses)

    @property
    def log_size(self) -> float:
        """``log|Π| = log K``."""
        return math.log(self.num_members)

    def member(self, k) -> TabularPolicy:
        """The ``k``-th member as a policy."""
        return TabularPolicy(self.log_probs[k])

    def log_likelihoods(self, prompts, responses) -> jax.Array:
        """``[K]`` ``Σ_i log π_k(y_i|x_i)`` (O(n K): one gather per sample, no count table)."""
        x, y, keep = _pairs(prompts, responses)
        lp = self.log_probs[:, x, jnp.where(keep, y, 0)]  # [K, n]
        return jnp.sum(jnp.where(keep[None], lp, 0.0), axis=1)

    def mle_index(self, prompts, responses) -> jax.Array:
        """The index of the maximum-likelihood member (lowest index among ties)."""
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
        """The exact minimiser of the Eq 8 square loss over the members (lowest index among ties).

        Args:
          triples: an :class:`sharpsim.oracle.Triples`; masked triples (negative responses, e.g.
            the oracle's ``num_active`` padding) are ignored.
          beta: β > 0.

        Returns:
          The selected member as a :class:`TabularPolicy`.
        """
        return self.member(jnp.argmin(self.regression_losses(triples, beta)))


# ----------------------------------------------------------------------------- product

    def bind(self, problem) -> FiniteClass:
        """This class, after checking that it is defined on ``problem``'s sizes.

        Raises:
          TypeError: if ``problem`` is not problem-like.
          ValueError: on an empty class or mismatched sizes.
        """
        if self.num_members == 0:
            raise ValueError("`model_class` is empty: a FiniteClass needs at least one member")
        check_sizes(self.sizes, problem)
        return self

    def bon_closure(self, N) -> FiniteClass:
        """The class of the members' exact BoN_N laws (Assumption 4.1), computed per prompt."""
        K, X, Y = self.log_probs.shape
        laws = _bon_log_law(self.log_probs.reshape(K * X, Y), N, _config.TIE_RTOL)
        return FiniteClass(log_probs=laws.reshape(K, X, Y))

    def contains(self, target, support, *, atol: float = 1e-9) -> bool:
        """Whether a member equals ``target: [X, Y]`` (probabilities, within ``atol``) on the
        prompts where ``support: [X]`` is True."""
        members = np.exp(np.asarray(self.log_probs))
        if members.shape[1:] != target.shape:
            return False
        close = np.abs(members - target[None]).max(axis=2) <= atol  # [K, X]
        return bool(np.any(np.all(close[:, support], axis=1)))


@pytree_class
@dataclasses.dataclass(frozen=True, init=False, eq=False)
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
        """``|X|``."""
        return self.log_probs.shape[0]

    @property
    def num_responses(self) -> int:
        """``|Y|``."""
        return self.log_probs.shape[2]

    @property
    def sizes(self) -> tuple[int, int]:
        """``(num_prompts, num_responses)``."""
        return (self.num_prompts, self.num_responses)

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
        """``[num_prompts]`` ``π̂(S(x)|x)`` of the MLE for ``mask: [X, Y]``, without building ``π̂``
        (only the selected candidate's row is summed: O(XY), not O(XKY))."""
        k = self.mle_index(prompts, responses)
        rows = self.log_probs[jnp.arange(self.num_prompts), k]  # [X, Y]
        return jnp.exp(logsumexp(jnp.where(mask, rows, -jnp.inf), axis=-1))

    def mle(self, prompts, responses) -> TabularPolicy:
        """The maximum-likelihood member; it factorises over prompts."""
        return self.member(self.mle_index(prompts, responses))

    def to_finite(self, *, max_members: int = 4096) -> FiniteClass:
        """The same class as a :class:`FiniteClass` listing every member (every choice of one valid
        candidate per prompt), for oracles the product form lacks (the Eq 8 regression).

        Args:
          max_members: the largest ``Π_x K_x`` allowed (an integer ``>= 1``).

        Returns:
          A :class:`FiniteClass` with ``Π_x K_x`` members (prompt 0's candidate varies slowest).

        Raises:
          ValueError: if the class has more than ``max_members`` members.
        """
        max_members = v.check_positive_int("max_members", max_members)
        valid = np.asarray(self.valid)
        sizes = valid.sum(axis=1)
        total = math.prod(int(k) for k in sizes)
        if total > max_members:
            raise ValueError(f"the product class has {total} members, more than `max_members` = {max_members}")
        lp = np.asarray(self.log_probs)
        choices = [np.flatnonzero(valid[x]) for x in range(self.num_prompts)]
        members = np.stack([lp[np.arange(self.num_prompts), list(idx)]
                            for idx in itertools.product(*choices)])
        return FiniteClass(log_probs=jnp.asarray(members))


# ----------------------------------------------------------------------------- tabular

    def bind(self, problem) -> ProductClass:
        """This class, after checking that it is defined on ``problem``'s sizes.

        Raises:
          TypeError: if ``problem`` is not problem-like.
          ValueError: on mismatched sizes.
        """
        check_sizes(self.sizes, problem)
        return self

    def bon_closure(self, N) -> ProductClass:
        """The class of the candidates' exact BoN_N laws (Assumption 4.1), computed per prompt."""
        X, K, Y = self.log_probs.shape
        laws = _bon_log_law(self.log_probs.reshape(X * K, Y), N, _config.TIE_RTOL)
        return ProductClass(log_probs=laws.reshape(X, K, Y), valid=self.valid)

    def contains(self, target, support, *, atol: float = 1e-9) -> bool:
        """Whether, on every prompt where ``support: [X]`` is True, a valid candidate equals
        ``target[x]`` (probabilities, within ``atol``)."""
        cands = np.exp(np.asarray(self.log_probs))
        if (cands.shape[0], cands.shape[2]) != target.shape:
            return False
        close = (np.abs(cands - target[:, None, :]).max(axis=2) <= atol) & np.asarray(self.valid)
        return bool(np.all(close.any(axis=1)[support]))


def decoy_product_class(key, problem, num_decoys: int, *, around=None) -> ProductClass:
    """A product class holding, per prompt, the base conditional and ``num_decoys`` decoys.

    Each decoy is the base conditional with its arg-max probability swapped with that of another
    response (drawn at random, distinct from the arg-max), so every decoy has the wrong arg-max.
    The candidates come in a random order, except that the true one never sits at index 0:
    ``ProductClass`` gives an unseen prompt candidate 0, which would otherwise be right for free
    and make the number of prompts irrelevant. ``log|Π| = |X| log(num_decoys + 1)``; close it
    under BoN_N with ``classes.bon_closure`` for a class where Assumption 4.1 holds.

    ``around`` replaces the base by another policy of the problem's shape: the class then holds
    that policy and its decoys (e.g. ``π*_β``, for Thm 4.2's realizability ``π*_β ∈ Π``).

    Args:
      key: PRNG key of the decoys and the order.
      problem: a problem with a tabular base of at least 2 responses.
      num_decoys: wrong candidates per prompt, an integer in ``[1, |Y| - 1]``.
      around: ``None`` (the base) or a policy (or ``[X, Y]`` table) of the problem's shape.

    Returns:
      A :class:`ProductClass` with ``num_decoys + 1`` candidates per prompt.

    Raises:
      ValueError: on a ``num_decoys`` out of range, a base with fewer than 2 responses or an
        ``around`` of another shape.
    """
    lp = np.asarray(problem.base.log_probs)
    if around is not None:
        from sharpsim.coefficients import as_policy

        lp = np.asarray(as_policy(problem, around, "around").log_probs)
    X, Y = lp.shape
    if Y < 2:
        raise ValueError(f"`problem` must have at least 2 responses for a decoy; got {Y}")
    num_decoys = v.check_positive_int("num_decoys", num_decoys)
    if num_decoys > Y - 1:
        raise ValueError(f"`num_decoys` must be <= |Y| - 1 = {Y - 1}; got {num_decoys}")
    k_other, k_pos = jax.random.split(key)
    star = lp.argmax(axis=1)
    cands = np.repeat(lp[:, None, :], num_decoys + 1, axis=1)
    others = np.asarray(jax.random.randint(k_other, (X, num_decoys), 1, Y))
    for x in range(X):
        for k in range(num_decoys):
            j = (star[x] + others[x, k]) % Y
            cands[x, k + 1, [star[x], j]] = cands[x, k + 1, [j, star[x]]]
    true_at = np.asarray(jax.random.randint(k_pos, (X,), 1, num_decoys + 1))  # never index 0
    order = np.tile(np.arange(num_decoys + 1), (X, 1))
    order[np.arange(X), 0], order[np.arange(X), true_at] = true_at, 0
    cands = np.take_along_axis(cands, order[:, :, None], axis=1)
    return ProductClass(log_probs=jnp.asarray(cands))
