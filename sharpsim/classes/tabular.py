"""The tabular class: every conditional over ``X × Y``, whose MLE is the empirical frequency table.

Its ``log|Π|`` is infinite (Thm 4.1's ``log|Π|/n`` becomes the per-prompt estimation error); its
Eq 8 regression (Sec 2.2) is solved exactly by the comparison graph's pseudo-inverse, with the
constants the loss leaves free anchored to the revealed rewards (:meth:`TabularClass.regress`). It contains
every BoN_N law, so it is its own BoN closure (Assumption 4.1).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from sharpsim import _validation as v
from sharpsim.classes.finite import _pairs, counts
from sharpsim.classes.protocol import check_sizes, problem_sizes, pytree_class
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float

if TYPE_CHECKING:
    from sharpsim.problems import Problem

__all__ = ["TabularClass"]


@pytree_class
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
        """The class of all conditionals on ``problem``'s sizes.

        Raises:
          TypeError: if ``problem`` is not problem-like.
        """
        return cls(*problem_sizes(problem), smoothing)

    @property
    def sizes(self) -> tuple[int | None, int | None]:
        """``(num_prompts, num_responses)`` (``None`` until bound)."""
        return (self.num_prompts, self.num_responses)

    def bind(self, problem: Problem) -> TabularClass:
        """This class with ``problem``'s sizes if they were open; else this class, after
        checking that it is defined on ``problem``'s sizes.

        Raises:
          TypeError: if ``problem`` is not problem-like.
          ValueError: on mismatched sizes.
        """
        if self.num_prompts is None and self.num_responses is None:
            return TabularClass(*problem_sizes(problem), self.smoothing)
        check_sizes(self.sizes, problem)
        return self

    def bon_closure(self, N) -> TabularClass:
        """Itself: the class of all conditionals contains every BoN_N law (Assumption 4.1)."""
        return self

    def is_realizable(self, problem: Problem, N) -> bool:
        """Whether the class (all conditionals) is defined on ``problem``: open sizes bind to any."""
        return self.sizes in ((None, None), problem_sizes(problem))

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
        """An exact minimiser of the Eq 8 square loss over all softmax tables, anchored to the
        revealed rewards between components.

        Write the logits as ``θ_x = log π_base(·|x) + r̂_x/β`` (``r̂ = β log(π/π_base)``, the
        reward the policy implies; Eq 20 of the proof of Thm 4.2′). The residual of a triple is
        then ``(r̂_{x,y} − r̂_{x,y'}) − (r(y|x) − r(y'|x))`` (the log-partition cancels): a
        least-squares problem per prompt with the comparison graph's Laplacian as normal matrix,
        solved exactly by its pseudo-inverse (eigh). The loss fixes ``r̂`` only up to a constant on
        each connected component of compared responses; this method fixes the constants as follows
        (each choice keeps the loss at its minimum, so the Eq 8 property holds on every component):

        * **compared responses**: each component's constant makes ``r̂`` fit the revealed reward
          *levels* of its members in least squares (``Σ_o (r̂(y_o) − r_o) = 0`` over the
          component's observations ``o``). With the exact self-reward ``r = log π_base`` this gives
          ``θ = (1 + 1/β) log π_base`` on every response seen, so responses of different
          components compare as under ``π*_β``; with noisy rewards the constants are as noisy as
          the revealed rewards (averaged over the component's observations).
        * **responses never seen** on a prompt: ``log π_base`` is estimated by sharing the base mass
          not seen, ``1 − Σ_{seen} π_base(y|x)``, equally among them (exact log-probabilities of the
          seen responses are in the triples: no other access to ``π_base``), and ``r̂`` is set
          pessimistically to the smallest ``r̂`` among the prompt's seen responses. (Which value an
          unseen response *should* get is exactly what the data cannot say: this is where
          exploration matters.)
        * a prompt never seen gets the uniform law.

        Args:
          triples: an :class:`sharpsim.oracle.Triples` (``-1`` responses are masked).
          beta: β > 0.

        Returns:
          The fitted :class:`TabularPolicy`.

        Raises:
          ValueError: if the class has no sizes (bind it to a problem first).
        """
        if self.num_prompts is None or self.num_responses is None:
            raise ValueError("this TabularClass has no sizes: bind it to a problem first (classes.bind)")
        X, Y = self.num_prompts, self.num_responses
        f = _float()
        x = jnp.asarray(triples.prompts).ravel()
        y = jnp.asarray(triples.responses).ravel()
        z = jnp.asarray(triples.other_responses).ravel()
        keep = (y >= 0) & (z >= 0)
        y, z = jnp.where(keep, y, 0), jnp.where(keep, z, 0)
        w = keep.astype(f)
        lb_y = jnp.where(keep, jnp.ravel(triples.base_log_probs), -jnp.inf).astype(f)
        lb_z = jnp.where(keep, jnp.ravel(triples.other_base_log_probs), -jnp.inf).astype(f)
        r_y = jnp.where(keep, jnp.ravel(triples.rewards), 0.0).astype(f)
        r_z = jnp.where(keep, jnp.ravel(triples.other_rewards), 0.0).astype(f)
        # log π_base of the seen responses; the unseen share the remaining mass equally
        cnt = jnp.zeros((X, Y), f).at[x, y].add(w).at[x, z].add(w)
        seen = cnt > 0
        lb_seen = jnp.full((X, Y), -jnp.inf, f).at[x, y].max(lb_y).at[x, z].max(lb_z)
        mass = jnp.sum(jnp.where(seen, jnp.exp(lb_seen), 0.0), axis=1)
        num_unseen = jnp.maximum(Y - jnp.sum(seen, axis=1), 1).astype(f)
        tiny = jnp.finfo(f).tiny
        lb_unseen = jnp.log(jnp.maximum(1.0 - mass, tiny) / num_unseen)
        lb = jnp.where(seen, lb_seen, lb_unseen[:, None])
        # minimum-norm fitted-reward differences (Laplacian pseudo-inverse)
        d = w * (r_y - r_z)
        L = jnp.zeros((X, Y, Y), f)
        L = L.at[x, y, y].add(w).at[x, z, z].add(w).at[x, y, z].add(-w).at[x, z, y].add(-w)
        g = jnp.zeros((X, Y), f).at[x, y].add(d).at[x, z].add(-d)
        s, V = jnp.linalg.eigh(L)
        tol = 1e-9 * jnp.maximum(jnp.max(s, axis=-1, keepdims=True), 1.0)
        inv = jnp.where(s > tol, 1.0 / jnp.where(s > tol, s, 1.0), 0.0)
        u0 = jnp.einsum("xyk,xk->xy", V, inv * jnp.einsum("xyk,xy->xk", V, g))
        # per-component constants: P0 (projector on the Laplacian's kernel) averages over components
        null = (s <= tol).astype(f)
        e = jnp.zeros((X, Y), f).at[x, y].add(w * (r_y - u0[x, y])).at[x, z].add(w * (r_z - u0[x, z]))

        def project(h):
            return jnp.einsum("xyk,xk->xy", V, null * jnp.einsum("xyk,xy->xk", V, h))

        pe, pc = project(e), project(cnt)
        r_hat = u0 + jnp.where(seen, pe / jnp.where(seen, pc, 1.0), 0.0)
        worst = jnp.min(jnp.where(seen, r_hat, jnp.inf), axis=1)
        worst = jnp.where(jnp.any(seen, axis=1), worst, 0.0)
        r_hat = jnp.where(seen, r_hat, worst[:, None])
        theta = lb + r_hat / beta
        return TabularPolicy(jax.nn.log_softmax(theta, axis=-1))
