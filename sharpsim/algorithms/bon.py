"""Inference-time best-of-N with the log-likelihood self-reward (Sec 2.1, Prop C.1)."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from sharpsim import _config, oracle
from sharpsim import _validation as v
from sharpsim._bon import _check_n
from sharpsim.algorithms._buckets import bucket, is_eager, take_first
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
    bucketed: bool = True,
    num_active=None,
) -> BonResult:
    """Runs BoN_N on ``n`` prompts ``x ~ μ`` and reports whether each pick is in ``y*_γ(x)``.

    The picks come through the oracle (:func:`sharpsim.oracle.sample_best_of_n`), literally or from the
    exact law (``method``); the hit check is the simulator's, not the algorithm's, and uses the
    base's exact arg-max (ties within ``TIE_RTOL``). ``jit`` with ``static_argnames=("n",
    "method")`` (plus ``"N"`` for the literal method).

    Args:
      key: PRNG key.
      problem: the problem.
      n: number of prompts (a shape: static under ``jit``).
      N: draws per prompt (traced with the exact method; a shape with the literal one).
      gamma: the tolerance of ``y*_γ``.
      method: ``"exact"`` or ``"literal"``.
      bucketed: on an eager call (no argument traced), run one jitted function per
        power-of-two bucket of ``n`` (padded and masked), ``N`` (exact method) and ``γ`` traced,
        and cut the result back to ``n`` prompts: the same draws and result as without buckets,
        and a loop over many ``(n, N)`` compiles once per bucket. Ignored under ``jit``.
      num_active: optional (traced) count ``<= n`` of prompts actually run; the others come back
        masked (responses ``-1``, ``hit`` False) and uncharged (see
        :func:`sharpsim.oracle.sample_best_of_n`).

    Returns:
      A :class:`BonResult`.

    Raises:
      ValueError: on a bad ``n``, ``N``, ``gamma`` or ``method``.
    """
    if v.is_concrete(gamma):
        gamma = v.check_unit_interval("gamma", gamma)
    if bucketed and num_active is None and is_eager(key, problem, N, gamma):
        v.check_positive_int("n", n)
        if method == "literal":
            v.check_positive_int("N", N)
            out = _bon_literal_in_bucket(key, problem, int(n), gamma, size=bucket(n), N=int(N))
        elif method == "exact":
            _check_n(N, problem.num_prompts)
            N = int(N) if jnp.ndim(N) == 0 else N
            out = _bon_in_bucket(key, problem, int(n), N, gamma, size=bucket(n))
        else:
            raise ValueError(f"`method` must be 'exact' or 'literal'; got {method!r}")
        return BonResult(take_first(out.prompts, n), take_first(out.responses, n), take_first(out.hit, n),
                         out.num_queries)
    batch = oracle.sample_best_of_n(key, problem, n, N, method=method, num_active=num_active)
    top = as_tabular_base(problem).max_log_prob()[batch.prompts]
    threshold = top + jnp.log1p(-gamma) + jnp.log1p(-_config.TIE_RTOL)
    return BonResult(batch.prompts, batch.responses, batch.log_probs >= threshold, batch.num_queries)


@functools.partial(jax.jit, static_argnames=("size",))
def _bon_in_bucket(key, problem, n, N, gamma, *, size):
    return best_of_n(key, problem, n=size, N=N, gamma=gamma, method="exact", bucketed=False, num_active=n)


@functools.partial(jax.jit, static_argnames=("size", "N"))
def _bon_literal_in_bucket(key, problem, n, gamma, *, size, N):
    return best_of_n(key, problem, n=size, N=N, gamma=gamma, method="literal", bucketed=False, num_active=n)
