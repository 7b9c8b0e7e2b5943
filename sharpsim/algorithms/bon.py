"""Inference-time best-of-N with the log-likelihood self-reward (Sec 2.1, Prop C.1)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from sharpsim import _config, oracle
from sharpsim import _validation as v
from sharpsim.problems import Problem, as_tabular_base

__all__ = ["BonResult", "best_of_n"]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class BonResult:
    """Outcome of inference-time BoN on ``n`` sampled prompts.

    Attributes:
      prompts: ``[n]``.
      responses: ``[n]`` (or ``[n, H]``) the picks.
      hit: ``[n]`` whether each pick lies in ``y*_γ(x)``.
      num_queries: ``m = n N``.
    """

    prompts: jax.Array
    responses: jax.Array
    hit: jax.Array
    num_queries: jax.Array


def best_of_n(
    key: jax.Array,
    problem: Problem,
    *,
    n: int,
    N,
    gamma: float = 0.0,
    method: str = "exact",
) -> BonResult:
    """Runs BoN_N on ``n`` prompts ``x ~ μ`` and reports whether each pick is in ``y*_γ(x)``.

    The picks come through the oracle (:func:`sharpsim.oracle.sample_best_of_n`), literally or from the
    exact law (``method``); the hit check is the simulator's, not the algorithm's, and uses the
    base's exact arg-max (ties within ``TIE_RTOL``). ``jit`` with ``static_argnames=("n",
    "method")`` (plus ``"N"`` for the literal method).
    """
    if v.is_concrete(gamma):
        gamma = v.check_unit_interval("gamma", gamma)
    batch = oracle.sample_best_of_n(key, problem, n, N, method=method)
    top = as_tabular_base(problem).max_log_prob()[batch.prompts]
    threshold = top + jnp.log1p(-gamma) + jnp.log1p(-_config.TIE_RTOL)
    return BonResult(batch.prompts, batch.responses, batch.log_probs >= threshold, batch.num_queries)
