"""The tabular class: every conditional over ``X × Y``, whose MLE is the empirical frequency table.

Its ``log|Π|`` is infinite (Thm 4.1's ``log|Π|/n`` becomes the per-prompt estimation error); its
Eq 8 regression (Sec 2.2) is solved exactly by the comparison graph's pseudo-inverse. It contains
every BoN_N law, so it is its own BoN closure (Assumption 4.1).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from sharpsim import _validation as v
from sharpsim.classes.finite import _pairs, _triple_arrays, counts
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
