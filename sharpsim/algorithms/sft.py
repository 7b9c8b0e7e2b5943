"""SFT-Sharpening (Sec 2.1) and adaptive SFT-Sharpening (App D).

Both are pure functions ``(key, problem, model_class, *, ...) -> result`` (:class:`SFTResult`,
:class:`AdaptiveSFTResult`). They see
``π_base`` only through :mod:`sharpsim.oracle`; the sharpening error in the result is the
simulator's exact evaluation of the output, not something the algorithm used.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from sharpsim import _validation as v
from sharpsim import classes, oracle
from sharpsim._bon import _check_n
from sharpsim.algorithms._buckets import bucket, is_eager, take_first
from sharpsim.algorithms.results import AdaptiveSFTResult, SFTResult
from sharpsim.policies import AutoregressivePolicy
from sharpsim.problems import Problem, as_tabular_base

__all__ = ["adaptive_sft_sharpening", "sft_sharpening"]


def _fitted_error(problem, model_class, batch, delta, gamma, policy=None):
    """The exact ``err_δ`` of the class's MLE on ``batch``, from its mass on ``y*_γ``: read off
    ``policy`` when the caller already fitted it, else from ``model_class.mle_mass`` (no
    ``[X, Y]`` table); the MLE is never fitted twice."""
    mask = as_tabular_base(problem).argmax_set(gamma)
    if policy is not None:
        # an autoregressive fit (Eq 11 class) is enumerated over V^H, as the problem's base is
        table = policy.to_tabular().log_probs if isinstance(policy, AutoregressivePolicy) else policy.log_probs

        def mass_on(m):
            return jnp.exp(logsumexp(jnp.where(m, table, -jnp.inf), axis=-1))
    else:
        def mass_on(m):
            return model_class.mle_mass(batch.prompts, batch.responses, m)
    fail = jnp.log(mass_on(mask)) < jnp.log1p(-delta)  # the comparison of `sharpening_error`
    if not (v.is_concrete(delta) and delta > 0):
        # δ = 0: no mass outside y*_γ at all, decided exactly as in `sharpening_error`
        fail = jnp.where(delta == 0, mass_on(~mask) > 0, fail)
    return jnp.sum(jnp.where(fail, problem.prompt_probs, 0.0))


def _bind_mle_class(model_class, problem):
    """``model_class`` bound to ``problem`` (:func:`sharpsim.classes.bind`), after checking that it
    has the maximum-likelihood oracle (:class:`sharpsim.classes.ModelClass`)."""
    model_class = classes.bind(model_class, problem)
    if not classes.supports(model_class, classes.ModelClass):
        raise TypeError(
            "`model_class` must have a maximum-likelihood oracle (mle, mle_mass, log_size, sizes); "
            f"got {type(model_class).__name__}"
        )
    return model_class


def _check(n, delta, gamma, max_n=None):
    if v.is_concrete(n):
        v.check_positive_int("n", n)
    if max_n is not None:
        max_n = v.check_positive_int("max_n", max_n)
        if v.is_concrete(n) and n > max_n:  # else only the first max_n prompts would run
            raise ValueError(f"`n` must be <= `max_n` = {max_n}; got {n}")
    if v.is_concrete(delta, gamma):
        v.check_unit_interval("delta", delta)
        v.check_unit_interval("gamma", gamma)


def sft_sharpening(
    key: jax.Array,
    problem: Problem,
    model_class,
    *,
    n: int,
    N,
    delta: float = 0.1,
    gamma: float = 0.0,
    method: str = "exact",
    max_n: int | None = None,
    return_policy: bool = True,
    sampler=None,
    require_realizable: bool = False,
    bucketed: bool = True,
) -> SFTResult:
    """SFT-Sharpening: best-of-N by self-likelihood on ``n`` prompts, then maximum likelihood.

    ``y_i = argmax_{j<=N} log π_base(y_ij | x_i)`` and
    ``π̂ = argmax_{π∈Π} Σ_i log π(y_i | x_i)`` (``model_class.mle``). Thm 4.1 bounds its error.

    Args:
      key: PRNG key.
      problem: the problem (tabular base).
      model_class: a class from :mod:`sharpsim.classes` (``mle(prompts, responses)``).
      n: number of prompts (static under ``jit``).
      N: draws per prompt; with ``method="exact"`` it may be traced (no recompilation
        across N).
      delta, gamma: the level at which ``error`` is evaluated.
      method: ``"exact"`` draws each pick from the exact BoN law in O(log |Y|);
        ``"literal"`` draws N responses and keeps the best. Same law, same ``m = n N``.
      max_n: optional static capacity; then ``n <= max_n`` may be traced and one compiled
        function serves every ``n`` (the oracle reveals and charges only the first ``n``
        prompts of ``max_n``; see ``oracle.sample_best_of_n(num_active=...)``).
      return_policy: ``False`` skips building the fitted ``[X, Y]`` table (``policy`` is then
        ``None``); the error is computed either way, exactly, from ``model_class.mle_mass``.
        Use it for sweeps over many seeds.
      sampler: a precomputed ``sharpsim.bon_sampler(problem)`` (exact method), reused across
        calls instead of re-sorting ``π_base`` each time.
      require_realizable: if True, first check Assumption 4.1 (``π^BoN_N ∈ Π``, via
        ``classes.require_realizable``; concrete arguments only).
      bucketed: on an eager call (no argument traced) without ``max_n``, run one jitted function
        per shape bucket: ``n`` padded to the next power of two (at least 16) and masked (as with ``max_n``),
        ``N`` (exact method), ``δ`` and ``γ`` traced, the result cut back to ``n`` prompts. Same
        draws and result as the unbucketed call with the same key (the oracle's samples nest);
        a loop over many ``(n, N)`` compiles once per bucket instead of once per shape and
        value. ``False`` runs the operations eagerly as they come. Ignored under ``jit``.

    Returns:
      An :class:`SFTResult`.

    Raises:
      ValueError: on bad sizes or levels, a class not defined on ``problem``, or (with
        ``require_realizable``) a class that does not contain the BoN_N law.
      TypeError: if ``model_class`` is not a model class with a maximum-likelihood oracle.
    """
    _check(n, delta, gamma, max_n)
    model_class = _bind_mle_class(model_class, problem)  # shapes must match (else the MLE drops data)
    if require_realizable and v.is_concrete(model_class, problem, N):
        classes.require_realizable(model_class, problem, N)
    if bucketed and max_n is None and is_eager(key, problem, model_class, N, delta, gamma, sampler):
        return _sft_bucketed(key, problem, model_class, n, N, delta, gamma, method, return_policy, sampler)
    size, active = (n, None) if max_n is None else (max_n, n)
    batch = oracle.sample_best_of_n(key, problem, size, N, method=method, num_active=active, sampler=sampler)
    policy = model_class.mle(batch.prompts, batch.responses) if return_policy else None
    err = _fitted_error(problem, model_class, batch, delta, gamma, policy)
    N_arr = jnp.asarray(N, batch.num_queries.dtype)
    # per-prompt N ([num_prompts]): each sampled prompt drew N[x_i]
    draws = N_arr[batch.prompts] if N_arr.ndim == 1 else jnp.broadcast_to(N_arr, (size,))
    if active is not None:
        draws = jnp.where(jnp.arange(size) < active, draws, 0)
    return SFTResult(policy, batch.num_queries, jnp.asarray(err), batch.prompts, batch.responses, draws)


def adaptive_stop_rule(stop_level):
    """App D's rule ``N_μ = inf{k : 1/max_{j<=k} π_base(y_j|x) <= k/μ}``, i.e. stop once
    ``log k + max_j log π_base(y_j|x) >= log μ`` (``μ = stop_level``; see
    :func:`sharpsim.oracle.adaptive_rule`)."""
    return oracle.adaptive_rule(stop_level)


def adaptive_sft_sharpening(
    key: jax.Array,
    problem: Problem,
    model_class,
    *,
    n: int,
    stop_level: float,
    delta: float = 0.1,
    gamma: float = 0.0,
    method: str = "exact",
    max_draws: int = 2**40,
    max_n: int | None = None,
    return_policy: bool = True,
    bucketed: bool = True,
    sampler=None,
) -> AdaptiveSFTResult:
    """Adaptive SFT-Sharpening (App D): per prompt, sample until ``N_μ(x)``, keep the best, MLE.

    ``N_μ(x) = inf{k : 1/max_{j<=k} π_base(y_j|x) <= k/μ}`` with ``μ = stop_level``; the
    sample complexity ``m = Σ_i N_μ(x_i)`` is random and reported per run. Thm D.1 takes
    ``μ = ln(2/δ)``.

    ``method="exact"`` (default) jumps from record to record
    (:func:`sharpsim.oracle.adaptive_best_exact`, O(#records log |Y|) per prompt);
    ``"literal"`` draws every response (:func:`sharpsim.oracle.adaptive_best`, O(N_μ)). Same
    law, same charged ``m``. ``max_n`` works as in :func:`sft_sharpening` (exact method).

    ``bucketed`` (default) runs an eager exact-method call without ``max_n`` as one jitted
    function per power-of-two bucket of ``n`` (``stop_level``, ``δ``, ``γ`` traced), with the
    same draws and result as the unbucketed call (see :func:`sft_sharpening`); the literal
    method is never bucketed.

    Args:
      key: PRNG key.
      problem: the problem (tabular base).
      model_class: a class with a maximum-likelihood oracle.
      n: number of prompts.
      stop_level: ``μ > 0``.
      delta, gamma: the level at which ``error`` is evaluated.
      method: ``"exact"`` or ``"literal"``.
      max_draws: the literal method's cap on draws per prompt.
      max_n: optional static capacity (exact method), as in :func:`sft_sharpening`.
      return_policy: ``False`` skips building the fitted table.
      bucketed: see above.
      sampler: a precomputed ``sharpsim.bon_sampler(problem)`` (exact method): its sort order
        and level starts are reused instead of re-sorting ``π_base``.

    Returns:
      An :class:`AdaptiveSFTResult`.

    Raises:
      ValueError: on bad sizes, levels or ``method``, or a class not defined on ``problem``.
      TypeError: if ``model_class`` is not a model class with a maximum-likelihood oracle.
    """
    _check(n, delta, gamma, max_n)
    model_class = _bind_mle_class(model_class, problem)
    if v.is_concrete(stop_level):
        v.check_positive("stop_level", stop_level)
    if method not in ("exact", "literal"):
        raise ValueError(f"`method` must be 'exact' or 'literal'; got {method!r}")
    if method == "exact" and bucketed and max_n is None and is_eager(key, problem, model_class, stop_level,
                                                                     delta, gamma, sampler):
        return _adaptive_bucketed(key, problem, model_class, n, stop_level, delta, gamma, return_policy, sampler)
    if method == "exact":
        size, active = (n, None) if max_n is None else (max_n, n)
        batch = oracle.adaptive_best_exact(key, problem, size, stop_level=stop_level, num_active=active,
                                           sampler=sampler)
    elif max_n is not None:
        raise ValueError("`max_n` is supported with method='exact' only")
    elif method == "literal":
        batch = oracle.adaptive_best(key, problem, n, stop=adaptive_stop_rule(stop_level), max_draws=max_draws)
    else:
        raise ValueError(f"`method` must be 'exact' or 'literal'; got {method!r}")
    policy = model_class.mle(batch.prompts, batch.responses) if return_policy else None
    err = _fitted_error(problem, model_class, batch, delta, gamma, policy)
    return AdaptiveSFTResult(policy, batch.num_queries, jnp.asarray(err), batch.prompts, batch.responses,
                             batch.num_draws)


# ------------------------------------------------------------------ shape buckets (eager calls)
@functools.partial(jax.jit, static_argnames=("size", "method", "return_policy"))
def _sft_in_bucket(key, problem, model_class, n, N, delta, gamma, sampler, *, size, method, return_policy):
    return sft_sharpening(key, problem, model_class, n=n, N=N, delta=delta, gamma=gamma, method=method,
                          max_n=size, return_policy=return_policy, sampler=sampler, bucketed=False)


@functools.partial(jax.jit, static_argnames=("size", "N", "return_policy"))
def _sft_literal_in_bucket(key, problem, model_class, n, delta, gamma, *, size, N, return_policy):
    return sft_sharpening(key, problem, model_class, n=n, N=N, delta=delta, gamma=gamma, method="literal",
                          max_n=size, return_policy=return_policy, bucketed=False)


@functools.partial(jax.jit, static_argnames=("size", "return_policy"))
def _adaptive_in_bucket(key, problem, model_class, n, stop_level, delta, gamma, sampler, *, size, return_policy):
    return adaptive_sft_sharpening(key, problem, model_class, n=n, stop_level=stop_level, delta=delta,
                                   gamma=gamma, max_n=size, return_policy=return_policy, bucketed=False,
                                   sampler=sampler)


def _cut(result, n: int):
    return dataclasses.replace(result, prompts=take_first(result.prompts, n),
                               responses=take_first(result.responses, n),
                               num_draws=take_first(result.num_draws, n))


def _sft_bucketed(key, problem, model_class, n, N, delta, gamma, method, return_policy, sampler):
    size = bucket(n)
    if method == "literal":
        v.check_positive_int("N", N)
        out = _sft_literal_in_bucket(key, problem, model_class, int(n), delta, gamma, size=size, N=int(N),
                                     return_policy=return_policy)
        return _cut(out, n)
    if method != "exact":
        raise ValueError(f"`method` must be 'exact' or 'literal'; got {method!r}")
    _check_n(N, problem.num_prompts)
    if sampler is not None and tuple(sampler.order.shape) != (problem.num_prompts, problem.num_responses):
        raise ValueError(  # the oracle skips this check for a traced sampler
            f"`sampler` has shape {tuple(sampler.order.shape)} but the problem has "
            f"[num_prompts, num_responses] = {[problem.num_prompts, problem.num_responses]}"
        )
    if jnp.ndim(N) == 0:
        N = int(N)  # one compilation whatever the scalar's Python/NumPy type
    out = _sft_in_bucket(key, problem, model_class, int(n), N, delta, gamma, sampler, size=size, method=method,
                         return_policy=return_policy)
    return _cut(out, n)


def _adaptive_bucketed(key, problem, model_class, n, stop_level, delta, gamma, return_policy, sampler):
    out = _adaptive_in_bucket(key, problem, model_class, int(n), float(stop_level), delta, gamma, sampler,
                              size=bucket(n), return_policy=return_policy)
    return _cut(out, n)


def bucket_cache_sizes() -> dict[str, int]:
    """How many compiled versions each bucketed entry point holds (one per bucket, method and
    static option used so far; see ``bucketed`` in :func:`sft_sharpening`).

    Returns:
      ``{"sft": ..., "sft_literal": ..., "adaptive": ...}``.
    """
    return {"sft": _sft_in_bucket._cache_size(), "sft_literal": _sft_literal_in_bucket._cache_size(),
            "adaptive": _adaptive_in_bucket._cache_size()}
