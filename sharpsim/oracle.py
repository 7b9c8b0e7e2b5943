"""The sample-and-evaluate oracle (Def 3.2, Def D.1): the only door to ``π_base``.

Algorithms never read ``problem.base`` themselves. They call these functions, which draw
prompts ``x ~ μ`` and responses ``y ~ π_base(·|x)`` and reveal ``log π_base(y|x)`` for the
sampled responses only, and every call returns ``num_queries``: the number of responses whose
log-probability it revealed. An algorithm's sample complexity ``m`` is the sum of the
``num_queries`` of its calls.

* :func:`sample_and_evaluate` — n prompts, N responses each, ``m = n N``;
* :func:`sample_and_evaluate_adaptive` — a stopping rule decides how many responses each
  prompt gets; ``m = Σ_i N_i``, random;
* :func:`adaptive_best` — the same, one draw at a time (memory O(n), no cap), keeping only
  each prompt's most likely draw;
* :func:`sample_responses` — responses ``y ~ π_base(·|x)`` for given prompts (XPO's base
  samples), one query each;
* :func:`evaluate` — scores responses drawn elsewhere (XPO's own samples), one query each;
* :func:`sample_best_of_n` — the best-of-N pick of each prompt, either literally (N draws) or
  from the exact law in O(log |Y|) per prompt; both charge the same ``m = n N``
  (:func:`sharpsim.algorithms.best_of_n` is the inference-time algorithm built on it).

``n``, ``N`` (literal path) and ``max_draws`` fix array shapes, so they are static under
``jit``; the exact BoN path takes N as a traced value and does not recompile across N.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _config
from sharpsim import _validation as v
from sharpsim._bon import _check_n, _levels
from sharpsim._search import first_greater
from sharpsim.laws import bon_sampler
from sharpsim.policies import AutoregressivePolicy
from sharpsim.problems import Problem, as_tabular_base

__all__ = [
    "REWARD_NOISE_STREAM",
    "AdaptiveBatch",
    "AdaptiveBestBatch",
    "BonBatch",
    "OracleBatch",
    "Triples",
    "adaptive_best",
    "adaptive_best_exact",
    "adaptive_rule",
    "evaluate",
    "sample_and_evaluate",
    "sample_and_evaluate_adaptive",
    "sample_best_of_n",
    "sample_prompts",
    "sample_responses",
    "sample_triples",
]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class OracleBatch:
    """What the oracle reveals: prompts, responses and their base log-probabilities.

    Attributes:
      prompts: ``[n]`` prompt indices.
      responses: ``[n, N]`` (tabular) or ``[n, N, H]`` (autoregressive) responses.
      log_probs: ``[n, N]`` ``log π_base(y|x)``.
      num_queries: scalar, the number of revealed log-probabilities (``n N``).
    """

    prompts: jax.Array
    responses: jax.Array
    log_probs: jax.Array
    num_queries: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class AdaptiveBatch:
    """An adaptive oracle call (Def D.1).

    Attributes:
      prompts: ``[n]``.
      responses: ``[n, max_draws(, H)]``; entries after a prompt's stopping time are ``-1``
        (they were never drawn as far as the algorithm is concerned).
      log_probs: ``[n, max_draws]``; ``-inf`` after the stopping time.
      num_draws: ``[n]`` the stopping time ``N_i`` of each prompt.
      truncated: ``[n]`` True where the rule had not stopped by ``max_draws``.
      num_queries: ``Σ_i N_i``.
    """

    prompts: jax.Array
    responses: jax.Array
    log_probs: jax.Array
    num_draws: jax.Array
    truncated: jax.Array
    num_queries: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class BonBatch:
    """Best-of-N picks: ``prompts: [n]``, ``responses: [n(, H)]``, ``log_probs: [n]``,
    ``num_queries = n N``."""

    prompts: jax.Array
    responses: jax.Array
    log_probs: jax.Array
    num_queries: jax.Array


def _int():
    return jnp.int64 if _config.X64_ENABLED else jnp.int32


def sample_prompts(key: jax.Array, problem: Problem, n: int) -> jax.Array:
    """``[n]`` i.i.d. prompts ``x ~ μ`` (no query is charged: prompts are free).

    Inverse-CDF sampling: O(log |X|) per prompt, no ``[n, |X|]`` noise table.
    """
    cdf = jnp.cumsum(problem.prompt_probs)
    u = jax.random.uniform(key, (n,), dtype=cdf.dtype) * cdf[-1]
    X = cdf.shape[0]
    return first_greater(cdf, jnp.zeros((n,), _int()), X, X, u)


def _check_shape_args(**kwargs):
    for name, value in kwargs.items():
        if v.is_concrete(value):
            v.check_positive_int(name, value)


def sample_and_evaluate(key: jax.Array, problem: Problem, n: int, N: int) -> OracleBatch:
    """Draws ``n`` prompts and ``N`` responses each from ``π_base`` and scores them.

    Charges ``m = n N`` queries.
    """
    _check_shape_args(n=n, N=N)
    k_x, k_y = jax.random.split(key)
    prompts = sample_prompts(k_x, problem, n)
    responses = problem.base.sample(k_y, prompts, N)
    log_probs = problem.base.log_prob(prompts, responses)
    return OracleBatch(prompts, responses, log_probs, jnp.asarray(n * N, _int()))


def sample_responses(key: jax.Array, problem: Problem, prompts) -> OracleBatch:
    """Draws one response ``y ~ π_base(·|x)`` for each given prompt and scores it.

    For algorithms that choose their own prompts (XPO's base samples ``y' ~ π_base(·|x)``).

    Args:
      key: PRNG key.
      prompts: ``[n]`` prompt indices.

    Returns:
      An :class:`OracleBatch` with ``responses: [n]`` (``[n, H]`` for an autoregressive base).
      Charges one query per response.
    """
    prompts = jnp.asarray(prompts)
    responses = problem.base.sample(key, prompts)
    log_probs = problem.base.log_prob(prompts, responses)
    return OracleBatch(prompts, responses, log_probs, jnp.asarray(log_probs.size, _int()))


def evaluate(problem: Problem, prompts, responses) -> OracleBatch:
    """Scores given responses under ``π_base`` (e.g. XPO's samples from its own iterate).

    Args:
      prompts: ``[n]``.
      responses: ``[n, k]`` (or ``[n, k, H]``), or ``[n]`` (``[n, H]``) for one each.

    Charges one query per response.
    """
    if v.is_concrete(prompts, responses):
        _check_indices(problem, prompts, responses)
    prompts = jnp.asarray(prompts)
    responses = jnp.asarray(responses)
    log_probs = problem.base.log_prob(prompts, responses)
    return OracleBatch(prompts, responses, log_probs, jnp.asarray(log_probs.size, _int()))


def _check_indices(problem: Problem, prompts, responses) -> None:
    """Out-of-range indices would be clamped silently by JAX's gather: refuse them."""
    p, r = np.asarray(prompts), np.asarray(responses)
    for name, arr in (("prompts", p), ("responses", r)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"`{name}` must hold integer indices; got dtype {arr.dtype}")
    if p.size and (p.min() < 0 or p.max() >= problem.num_prompts):
        raise ValueError(f"`prompts` must lie in [0, {problem.num_prompts}); got values in [{p.min()}, {p.max()}]")
    if isinstance(problem.base, AutoregressivePolicy):
        H, V = problem.base.horizon, problem.base.vocab_size
        if r.ndim == 0 or r.shape[-1] != H:
            raise ValueError(f"`responses` must be sequences with a last axis of length horizon = {H}; got {r.shape}")
        hi = V
    else:
        hi = problem.num_responses
    if r.size and (r.min() < 0 or r.max() >= hi):
        raise ValueError(f"`responses` must lie in [0, {hi}); got values in [{r.min()}, {r.max()}]")


def sample_and_evaluate_adaptive(
    key: jax.Array,
    problem: Problem,
    n: int,
    *,
    stop: Callable[[jax.Array, jax.Array], jax.Array],
    max_draws: int,
) -> AdaptiveBatch:
    """Draws responses one at a time per prompt until ``stop`` fires (Def D.1).

    Args:
      stop: ``stop(k, best_log_prob) -> bool`` evaluated after the k-th draw (``k >= 1``)
        with ``best_log_prob = max_{j<=k} log π_base(y_j|x)``; vectorised over prompts.
        It sees only what was revealed so far.
      max_draws: a cap on draws per prompt (a shape, so static under ``jit``); prompts
        reaching it are reported in ``truncated``.

    Charges ``Σ_i N_i`` queries, the number of draws actually made.
    """
    _check_shape_args(n=n, max_draws=max_draws)
    batch = sample_and_evaluate(key, problem, n, max_draws)
    best = jax.lax.cummax(batch.log_probs, axis=1)
    k = jnp.arange(1, max_draws + 1)
    # a rule may ignore `best` (e.g. a fixed budget k >= N): broadcast its answer to [n, max_draws]
    fired = jnp.broadcast_to(jnp.asarray(stop(k[None, :], best)), best.shape)
    fired = fired.at[:, -1].set(True)
    num_draws = jnp.argmax(fired, axis=1) + 1
    truncated = ~jnp.broadcast_to(jnp.asarray(stop(jnp.asarray(max_draws), best[:, -1])), num_draws.shape)
    truncated = truncated & (num_draws == max_draws)
    seen = k[None, :] <= num_draws[:, None]
    mask = seen.reshape(seen.shape + (1,) * (batch.responses.ndim - 2))
    responses = jnp.where(mask, batch.responses, -1)
    log_probs = jnp.where(seen, batch.log_probs, -jnp.inf)
    return AdaptiveBatch(
        batch.prompts, responses, log_probs, num_draws, truncated, jnp.sum(num_draws).astype(_int())
    )


def sample_best_of_n(
    key: jax.Array,
    problem: Problem,
    n: int,
    N,
    *,
    method: str = "exact",
    rtol: float = _config.TIE_RTOL,
    num_active=None,
    sampler=None,
) -> BonBatch:
    """Best-of-N picks under ``r_self = log π_base`` for ``n`` fresh prompts.

    Args:
      method: ``"literal"`` draws N responses per prompt and keeps the most likely (the first
        of those tied within ``rtol``, which splits ties evenly by symmetry); ``"exact"`` draws
        the pick from the exact law in O(log |Y|) (see :class:`~sharpsim.laws.BonSampler`),
        enumerating an autoregressive base first. With ``method="exact"``, ``N`` may also be a
        ``[num_prompts]`` array of per-prompt draws (charged ``Σ_i N[x_i]``).
      num_active: optional (traced) count ``<= n``: only the first ``num_active`` prompts are
        revealed and charged; the rest come back masked (responses ``-1``, log-probs ``-inf``).
        This lets one compiled function serve every budget ``n <= n_max`` (shapes stay
        ``[n_max]``), and nests the samples of smaller budgets in those of larger ones.
      sampler: a precomputed ``bon_sampler(problem)`` (exact method) to reuse across calls;
        the sort behind it is the only super-linear step, so sweeps over many seed batches
        should compute it once. It must belong to ``problem`` (not checked under ``jit``).

    Both methods return picks with the same law and charge the same ``m = n N``.
    """
    if method not in ("exact", "literal"):
        raise ValueError(f"`method` must be 'exact' or 'literal'; got {method!r}")
    if num_active is not None and v.is_concrete(num_active) and not (0 <= int(num_active) <= n):
        raise ValueError(f"`num_active` must lie in [0, n] = [0, {n}]; got {int(num_active)}")
    if method == "literal":
        _check_shape_args(n=n, N=N)
        batch = sample_and_evaluate(key, problem, n, N)
        lp = batch.log_probs
        best = jnp.argmax(lp >= jnp.max(lp, axis=1, keepdims=True) + jnp.log1p(-rtol), axis=1)
        rows = jnp.arange(n)
        out = BonBatch(batch.prompts, batch.responses[rows, best], lp[rows, best], batch.num_queries)
        return _mask_inactive(out, num_active, N)
    _check_shape_args(n=n)
    per_prompt = jnp.ndim(N) == 1
    if v.is_concrete(N):
        if per_prompt:
            _check_n(N, problem.num_prompts)
        else:
            v.check_positive_int("N", N)
    k_x, k_y = jax.random.split(key)
    prompts = sample_prompts(k_x, problem, n)
    N_i = jnp.asarray(N)[prompts] if per_prompt else N
    if sampler is None:
        sampler = bon_sampler(problem, rtol=rtol)
    else:
        _check_sampler_shape(sampler, problem)
    index = sampler.sample(k_y, prompts, N_i)
    responses = index
    if isinstance(problem.base, AutoregressivePolicy):
        responses = problem.base.index_to_sequence(index)
    log_probs = problem.base.log_prob(prompts, responses)
    m = jnp.sum(N_i) if per_prompt else jnp.asarray(N) * n
    out = BonBatch(prompts, responses, log_probs, jnp.asarray(m).astype(_int()))
    return _mask_inactive(out, num_active, N_i)


def _check_sampler_shape(sampler, problem: Problem) -> None:
    if tuple(sampler.order.shape) != (problem.num_prompts, problem.num_responses):  # shapes are static
        raise ValueError(
            f"`sampler` has shape {tuple(sampler.order.shape)} but the problem has "
            f"[num_prompts, num_responses] = {[problem.num_prompts, problem.num_responses]}"
        )


def _active(n: int, num_active):
    return jnp.arange(n) < num_active


def _mask_inactive(batch: BonBatch, num_active, N_i) -> BonBatch:
    """Hides the prompts after the first ``num_active`` and charges only the revealed ones."""
    if num_active is None:
        return batch
    n = batch.prompts.shape[0]
    active = _active(n, num_active)
    mask = active.reshape(active.shape + (1,) * (batch.responses.ndim - 1))
    draws = jnp.broadcast_to(jnp.asarray(N_i), (n,))
    m = jnp.sum(jnp.where(active, draws, 0)).astype(_int())
    return BonBatch(
        batch.prompts, jnp.where(mask, batch.responses, -1), jnp.where(active, batch.log_probs, -jnp.inf), m
    )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class AdaptiveBestBatch:
    """The best response of an adaptive run per prompt (Def D.1), without the other draws.

    Attributes:
      prompts: ``[n]``.
      responses: ``[n(, H)]`` the most likely response drawn before stopping.
      log_probs: ``[n]`` its ``log π_base``.
      num_draws: ``[n]`` the stopping times ``N_i``.
      truncated: ``[n]`` True where ``max_draws`` was reached before the rule fired.
      num_queries: ``Σ_i N_i``.
    """

    prompts: jax.Array
    responses: jax.Array
    log_probs: jax.Array
    num_draws: jax.Array
    truncated: jax.Array
    num_queries: jax.Array


def adaptive_best(
    key: jax.Array,
    problem: Problem,
    n: int,
    *,
    stop: Callable[[jax.Array, jax.Array], jax.Array],
    max_draws: int = 2**40,
    rtol: float = _config.TIE_RTOL,
) -> AdaptiveBestBatch:
    """Draws one response at a time per prompt until ``stop(k, best_log_prob)`` fires and
    keeps the most likely (the first drawn among ties within ``rtol``, which splits ties evenly
    by symmetry, as in :func:`sample_best_of_n`).

    Literal and memory-light (a ``lax.while_loop`` per prompt, vmapped): there is no cap on
    the number of draws other than ``max_draws`` (default 2^40, a safety net; prompts that
    reach it are flagged ``truncated``). Charges ``Σ_i N_i``.
    """
    _check_shape_args(n=n, max_draws=max_draws)
    k_x, k_y = jax.random.split(key)
    prompts = sample_prompts(k_x, problem, n)
    base = problem.base

    def one(x, k):
        k0, k = jax.random.split(k)
        y0 = base.sample(k0, x)
        lp0 = base.log_prob(x, y0)
        one_ = jnp.asarray(1, _int())
        state = (one_, lp0, y0, k, jnp.asarray(stop(one_, lp0)) | (max_draws <= 1))

        def cond(s):
            return ~s[-1]

        def body(s):
            count, best_lp, best_y, k, _ = s
            k, sub = jax.random.split(k)
            y = base.sample(sub, x)
            lp = base.log_prob(x, y)
            better = lp > best_lp - jnp.log1p(-rtol)  # ties within rtol keep the first drawn
            best_lp = jnp.where(better, lp, best_lp)
            best_y = jnp.where(better, y, best_y)
            count = count + 1
            done = jnp.asarray(stop(count, best_lp)) | (count >= max_draws)
            return count, best_lp, best_y, k, done

        count, best_lp, best_y, _, _ = jax.lax.while_loop(cond, body, state)
        truncated = (count >= max_draws) & ~jnp.asarray(stop(count, best_lp))
        return best_y, best_lp, count, truncated

    ys, lps, counts, truncated = jax.vmap(one)(prompts, jax.random.split(k_y, n))
    return AdaptiveBestBatch(prompts, ys, lps, counts, truncated, jnp.sum(counts).astype(_int()))


#: Slack in App D's stopping comparison, so that ``k v = μ`` exactly (e.g. v = 1/4, μ = 2,
#: k = 8) stops at k whatever the rounding of ``log k + log v``.
ADAPTIVE_RULE_ATOL = 1e-12


def adaptive_rule(stop_level):
    """App D's stopping rule ``N_μ = inf{k : 1/max_{j<=k} π_base(y_j|x) <= k/μ}`` as a
    predicate ``stop(k, best_log_prob)``: ``log k + best_log_prob >= log μ - 1e-12``."""
    log_level = jnp.log(stop_level) - ADAPTIVE_RULE_ATOL

    def stop(k, best_log_prob):
        return jnp.log(k) + best_log_prob >= log_level

    return stop


def adaptive_best_exact(
    key: jax.Array,
    problem: Problem,
    n: int,
    *,
    stop_level,
    rtol: float = _config.TIE_RTOL,
    num_active=None,
    sampler=None,
) -> AdaptiveBestBatch:
    """App D's adaptive rule ``N_μ = inf{k : k · max_{j<=k} π_base(y_j|x) >= μ}``, drawn exactly
    by jumping from record to record instead of drawing every response.

    Given the best level ``v`` so far at time ``t``, the rule stops at ``t`` if ``t v >= μ``;
    otherwise at the deadline ``D = ⌈μ/v⌉`` unless a strictly more likely response (beyond
    ``rtol``) arrives first. The waiting time for one is geometric with parameter
    ``P(level above v)`` and the new record is drawn from ``π_base`` restricted above ``v``.
    This has the law of the literal procedure (:func:`adaptive_best` with the same rule) and
    charges the same ``Σ_i N_i``, at a cost of O(#records · log |Y|) per prompt instead of
    O(N_μ). ``num_active`` works as in :func:`sample_best_of_n` (masked prompts draw nothing);
    ``sampler``, a precomputed ``bon_sampler(problem, rtol=rtol)``, supplies the sort order and
    level starts instead of re-sorting ``π_base``.
    """
    _check_shape_args(n=n)
    if v.is_concrete(stop_level):
        v.check_positive("stop_level", stop_level)
    base = as_tabular_base(problem)
    if sampler is None:
        order, _, _, start, _ = _levels(base.log_probs, rtol)
    else:
        _check_sampler_shape(sampler, problem)
        order, start = sampler.order, sampler.start
    Y = base.log_probs.shape[1]
    lps = jnp.take_along_axis(base.log_probs, order, axis=-1).reshape(-1)  # sorted, flat
    cum = jnp.cumsum(jnp.exp(jnp.take_along_axis(base.log_probs, order, axis=-1)), axis=-1).reshape(-1)
    start = start.reshape(-1).astype(order.dtype)
    order = order.reshape(-1)
    log_mu = jnp.log(jnp.asarray(stop_level, lps.dtype))

    k_x, k_y = jax.random.split(key)
    prompts = sample_prompts(k_x, problem, n)
    row = prompts * Y

    def draw_below(k, hi):
        """A sorted position drawn ∝ π among positions [0, hi) of each prompt's row."""
        mass = cum[row + hi - 1]
        u = jax.random.uniform(k, prompts.shape, dtype=lps.dtype)
        return first_greater(cum, row, Y, hi, u * mass)

    rule = adaptive_rule(stop_level)

    def deadline(lp):
        """The first k with ``rule(k, lp)`` (the literal rule's own comparison)."""
        d = jnp.maximum(jnp.ceil(jnp.exp(log_mu - lp)), 1.0)
        d = jnp.where(rule(d, lp), d, d + 1)
        return jnp.where((d > 1) & rule(jnp.maximum(d - 1, 1.0), lp), d - 1, d)

    k0, k_loop = jax.random.split(k_y)
    pos = draw_below(k0, jnp.full(prompts.shape, Y, row.dtype))
    t = jnp.ones(prompts.shape, lps.dtype)
    done = rule(t, lps[row + pos])
    if num_active is not None:
        done = done | ~_active(n, num_active)  # masked prompts do not loop

    def cond(state):
        return ~jnp.all(state[2])

    def body(state):
        pos, t, done, k = state
        k, k_geo, k_new = jax.random.split(k, 3)
        lp = lps[row + pos]
        level_start = start[row + pos]
        above = jnp.where(level_start > 0, cum[row + jnp.maximum(level_start - 1, 0)], 0.0)
        d = deadline(lp)
        u = 1.0 - jax.random.uniform(k_geo, prompts.shape, dtype=lps.dtype)  # (0, 1]
        wait = jnp.where(above > 0, jnp.ceil(jnp.log(u) / jnp.log1p(-jnp.minimum(above, 1.0))), jnp.inf)
        wait = jnp.maximum(wait, 1.0)
        improve = ~done & (t + wait <= d)
        new_pos = draw_below(k_new, jnp.maximum(level_start, 1))
        pos = jnp.where(improve, new_pos, pos)
        t = jnp.where(done, t, jnp.where(improve, t + wait, d))
        lp_new = lps[row + pos]
        done = done | ~improve | rule(t, lp_new)
        return pos, t, done, k

    pos, t, _, _ = jax.lax.while_loop(cond, body, (pos, t, done, k_loop))
    responses = order[row + pos]
    if isinstance(problem.base, AutoregressivePolicy):
        responses = problem.base.index_to_sequence(responses)
    counts = t.astype(_int())
    log_probs = lps[row + pos]
    if num_active is not None:
        active = _active(n, num_active)
        counts = jnp.where(active, counts, 0)
        responses = jnp.where(active.reshape(active.shape + (1,) * (responses.ndim - 1)), responses, -1)
        log_probs = jnp.where(active, log_probs, -jnp.inf)
    return AdaptiveBestBatch(
        prompts, responses, log_probs, counts, jnp.zeros(prompts.shape, bool), jnp.sum(counts).astype(_int())
    )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Triples:
    """Preference-style data ``(x, y, y')`` with what the oracle revealed about both responses.

    Attributes:
      prompts: ``[n]``.
      responses, other_responses: ``[n]`` (``-1`` marks a masked triple).
      base_log_probs, other_base_log_probs: ``[n]`` ``log π_base`` of each.
      rewards, other_rewards: ``[n]`` the self-reward of each (``log π_base`` for sharpening).
    """

    prompts: jax.Array
    responses: jax.Array
    other_responses: jax.Array
    base_log_probs: jax.Array
    other_base_log_probs: jax.Array
    rewards: jax.Array
    other_rewards: jax.Array


#: ``fold_in`` tag of the reward-noise stream: the noise key is ``fold_in(key, REWARD_NOISE_STREAM)``, so
#: the prompts and responses are drawn from ``key`` exactly as without noise.
REWARD_NOISE_STREAM = 0x5EED


def sample_triples(
    key: jax.Array, problem: Problem, n: int, *, reward_noise=0.0, num_active=None
) -> tuple[Triples, jax.Array]:
    """``n`` prompts with two responses each from ``π_base`` (Eq 8's data); charges ``2n``.

    The revealed reward of each response is the self-reward ``log π_base(y|x)`` plus, when
    ``reward_noise = σ > 0``, independent Gaussian noise ``σ ξ`` (``ξ ~ N(0, 1)``, one per response):
    a stand-in for an estimated self-reward (e.g. a majority vote) instead of the exact
    log-probability. ``base_log_probs`` stay exact (Eq 8's ``β log(π/π_base)`` terms use them).

    Args:
      key: PRNG key. Prompts and responses are drawn from it exactly as with ``σ = 0`` (the same
        key gives the same responses at every σ); the noise comes from
        ``fold_in(key, REWARD_NOISE_STREAM)``. With ``σ = 0`` the triples are bitwise those of
        the noiseless oracle.
      problem: the problem.
      n: the number of pairs (static under ``jit``).
      reward_noise: σ >= 0, finite (may be traced under ``jit``; it is checked when concrete).
      num_active: optional (traced) count ``<= n``: only the first ``num_active`` triples are
        revealed and charged (``2 num_active`` queries); the rest come back masked (responses
        ``-1``, base log-probs and rewards ``-inf``; prompts as drawn), which every class's
        ``regress`` ignores. The revealed triples (noise included) are bitwise those of an
        unpadded call with ``n = num_active`` and the same key, so one compiled function serves
        every ``n <= n_max``.

    Returns:
      ``(triples, num_queries)`` with ``num_queries = 2n`` (``2 num_active`` when given).

    Raises:
      ValueError: on a bad ``n``, a concrete ``num_active`` outside ``[0, n]``, or a negative or
        non-finite ``reward_noise``.
      TypeError: on a non-real ``reward_noise``.
    """
    noisy = True
    if v.is_concrete(reward_noise):
        noisy = v.check_at_least("reward_noise", reward_noise, 0.0) > 0.0
    if num_active is not None and v.is_concrete(num_active) and not (0 <= int(num_active) <= n):
        raise ValueError(f"`num_active` must lie in [0, n] = [0, {n}]; got {int(num_active)}")
    batch = sample_and_evaluate(key, problem, n, 2)
    lp = batch.log_probs
    rewards = lp
    if noisy:
        noise = jax.random.normal(jax.random.fold_in(key, REWARD_NOISE_STREAM), lp.shape, lp.dtype)
        rewards = lp + jnp.asarray(reward_noise, lp.dtype) * noise
    triples = Triples(batch.prompts, batch.responses[:, 0], batch.responses[:, 1], lp[:, 0], lp[:, 1],
                      rewards[:, 0], rewards[:, 1])
    if num_active is None:
        return triples, batch.num_queries
    active = _active(n, num_active)
    mask = active.reshape(active.shape + (1,) * (triples.responses.ndim - 1))
    masked = Triples(
        triples.prompts,
        jnp.where(mask, triples.responses, -1),
        jnp.where(mask, triples.other_responses, -1),
        *(jnp.where(active, a, -jnp.inf) for a in (triples.base_log_probs, triples.other_base_log_probs,
                                                      triples.rewards, triples.other_rewards)),
    )
    return masked, (2 * jnp.sum(active)).astype(_int())
