"""Exact correctness metrics: accuracy and pass@k of a policy on a problem.

What is correct is the problem's correctness set ``C(x)`` (:func:`sharpsim.problems.correct_set`):
``Problem.correct`` when set (e.g. a flawed verifier, :func:`sharpsim.problems.flawed_verifier`),
else the base's arg-max set ``y*(x)`` (Huang et al., ICLR 2025, Sec 2). Both metrics are exact
sums over the table, computed in log space from the mass outside ``C(x)`` so that a miss
probability near 0 keeps its relative precision.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp
from scipy.special import logsumexp as scipy_logsumexp

from sharpsim import _validation as v
from sharpsim.coefficients import as_policy
from sharpsim.problems import Problem
from sharpsim.problems.core import correct_set

__all__ = ["accuracy", "argmax_correct", "correct_mass", "crossover_k", "log_miss_at", "log_miss_mass", "pass_at_k"]


def _check_problem(problem) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"`problem` must be a sharpsim Problem; got {type(problem).__name__}")


def log_miss_mass(problem: Problem, policy) -> jax.Array:
    """``[num_prompts]`` ``log π(Y \\ C(x) | x)``, the log-mass a policy puts on wrong responses.

    Args:
      problem: gives ``C(x)`` (:func:`sharpsim.problems.correct_set`).
      policy: a policy or a ``[num_prompts, num_responses]`` probability array.

    Returns:
      A ``[num_prompts]`` array (``-inf`` where the policy is always correct).

    Raises:
      TypeError: if ``problem`` is not a Problem.
      ValueError: if ``policy`` does not match the problem's shape.
    """
    _check_problem(problem)
    pi = as_policy(problem, policy)
    return logsumexp(jnp.where(correct_set(problem), -jnp.inf, pi.log_probs), axis=-1)


def correct_mass(problem: Problem, policy) -> jax.Array:
    """``[num_prompts]`` ``π(C(x)|x)``, the per-prompt accuracy (see :func:`log_miss_mass`)."""
    _check_problem(problem)
    pi = as_policy(problem, policy)
    return jnp.exp(logsumexp(jnp.where(correct_set(problem), pi.log_probs, -jnp.inf), axis=-1))


def accuracy(problem: Problem, policy):
    """``E_{x~μ}[π(C(x)|x)]``, the probability that one draw of ``policy`` is correct, exactly.

    Without a correctness set this is the mass on the arg-max, ``1 − err_0`` averaged (Def 3.1's
    event at δ → 1 read as a probability).

    Args:
      problem: gives μ and ``C(x)``.
      policy: a policy (tabular or autoregressive) or a ``[num_prompts, num_responses]`` array.

    Returns:
      A Python float (a traced scalar under ``jit``).

    Raises:
      TypeError: if ``problem`` is not a Problem.
      ValueError: if ``policy`` does not match the problem's shape.
    """
    _check_problem(problem)
    acc = jnp.sum(problem.prompt_probs * correct_mass(problem, policy))
    return float(acc) if v.is_concrete(acc) else acc


def pass_at_k(problem: Problem, policy, k):
    """``E_{x~μ}[1 − (1 − π(C(x)|x))^k]``: the probability that one of k i.i.d. draws is correct, exactly.

    Computed as ``−expm1(k · log π(Y \\ C(x)|x))`` per prompt (:func:`log_miss_mass`), so it is
    accurate when the miss probability is tiny and for any k.

    Args:
      problem: gives μ and ``C(x)``.
      policy: a policy or a ``[num_prompts, num_responses]`` array.
      k: the number of draws: a number ``>= 1`` or an array of them (vectorised; need not be an
        integer, the formula extends to real k).

    Returns:
      A Python float for a scalar ``k`` (eager), else an array of ``k``'s shape.

    Raises:
      TypeError: if ``problem`` is not a Problem.
      ValueError: if ``policy`` does not match the problem's shape, or some ``k`` is below 1 or
        not finite.
    """
    _check_problem(problem)
    if v.is_concrete(k):
        arr = np.asarray(k, dtype=np.float64)
        if not np.all(np.isfinite(arr)) or np.any(arr < 1):
            raise ValueError(f"`k` must be finite and >= 1; got {k!r}")
    k = jnp.asarray(k, dtype=problem.prompt_probs.dtype)
    log_miss = log_miss_mass(problem, policy)  # [X]
    with jax.numpy_dtype_promotion("standard"):
        per = -jnp.expm1(k[..., None] * log_miss)  # [..., X]; log_miss = -inf gives 1
    out = jnp.sum(per * problem.prompt_probs, axis=-1)
    if v.is_concrete(out) and out.ndim == 0:
        return float(out)
    return out


def argmax_correct(problem: Problem, policy=None) -> jax.Array:
    """``[num_prompts]`` bool: whether the arg-max set of ``policy`` (default ``π_base``) meets ``C(x)``.

    Args:
      problem: gives ``C(x)``.
      policy: ``None`` (the base) or a policy / probability array of the problem's shape.

    Returns:
      ``True`` at x when some arg-max response of the policy (ties within ``TIE_RTOL``) is correct.

    Raises:
      TypeError: if ``problem`` is not a Problem.
    """
    _check_problem(problem)
    pi = problem.tabular().base if policy is None else as_policy(problem, policy)
    return jnp.any(pi.argmax_set(0.0) & correct_set(problem), axis=-1)


def log_miss_at(log_weights, log_miss, ks) -> np.ndarray:
    """``log(1 − pass@k)`` at every ``k`` of ``ks`` for ``1 − pass@k = Σ_i w_i exp(k · log_miss_i)``.

    The components ``i`` are prompts (``w_i = μ(x)``, ``log_miss_i = log(1 − π(C(x)|x))``, as
    :func:`log_miss_mass` gives them), or prompts of several policies averaged with their weights
    divided among them. Computed in log space with NumPy (no ``k`` is too large).

    Args:
      log_weights: ``[I]`` the log weights (``-inf`` for a weight 0).
      log_miss: ``[I]`` the log miss probabilities (``-inf`` where the policy is always right).
      ks: ``[K]`` the k values.

    Returns:
      ``[K]`` ``log(1 − pass@k)`` (``-inf`` where the policy is always right).
    """
    log_weights, log_miss = np.asarray(log_weights, np.float64), np.asarray(log_miss, np.float64)
    with np.errstate(invalid="ignore"):
        terms = log_weights[None, :] + np.asarray(ks)[:, None].astype(np.float64) * log_miss[None, :]
    terms = np.where(np.isnan(terms), -np.inf, terms)
    return scipy_logsumexp(terms, axis=1)


def crossover_k(base: tuple, other: tuple, k_max: int) -> int:
    """The smallest integer ``k`` in ``[1, k_max]`` with ``pass@k(base) > pass@k(other)``; 0 if none.

    Args:
      base, other: ``(log weights, log miss)`` of two policies (see :func:`log_miss_at`).
      k_max: the largest k searched.

    Returns:
      ``k*``, or 0 when the base never wins up to ``k_max``.

    Raises:
      ValueError: if ``k_max`` is not a positive integer, or ``base`` or ``other`` is not a pair of
        1-D arrays of one length.
    """
    k_max = v.check_positive_int("k_max", k_max)
    for name, pair in (("base", base), ("other", other)):
        if not (isinstance(pair, tuple) and len(pair) == 2 and np.ndim(pair[0]) == 1
                and np.shape(pair[0]) == np.shape(pair[1])):
            raise ValueError(f"`{name}` must be a pair (log weights, log miss) of 1-D arrays of one length")
    ks = np.arange(1, k_max + 1)
    hit = np.flatnonzero(log_miss_at(*base, ks) < log_miss_at(*other, ks))
    return int(ks[hit[0]]) if hit.size else 0
