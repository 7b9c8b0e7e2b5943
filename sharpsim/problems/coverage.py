"""Coverage-controlled problems: the coverage ``C_cov`` of Eq 6 is exactly the one requested.

* :func:`with_coverage` — a random tabular problem whose exact coverage ``C_cov`` (Eq 6) is the
  one requested and whose margin (Assumption 4.2) is at least the one requested; its feasible
  range is :func:`coverage_range`;
* :func:`planted_autoregressive` — the same over sequences ``V^H`` (Sec 2, autoregressive
  policies), with a planted sequence arg-max; its feasible range is :func:`planted_coverage_range`.

Both share one feasibility check and one construction gap (:data:`MIN_CONSTRUCTED_MARGIN`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.policies.tabular import _float
from sharpsim.problems.core import Problem, _prompt_probs

__all__ = [
    "MIN_CONSTRUCTED_MARGIN",
    "coverage_range",
    "planted_autoregressive",
    "planted_coverage_range",
    "with_coverage",
]

#: With ``margin=0`` the constructors still keep every non-arg-max response at least this
#: relative gap below the arg-max, so that no tie is accidental (it is 1000x ``TIE_RTOL``).
MIN_CONSTRUCTED_MARGIN: float = 1e-6


def _construction_gap(margin: float) -> float:
    """The relative gap the constructors build: the requested margin (at least
    ``MIN_CONSTRUCTED_MARGIN``) inflated by 1e-9 relative so that float64 rounding never
    leaves the measured margin below the requested one."""
    return max(margin, MIN_CONSTRUCTED_MARGIN) * (1.0 + 1e-9)


def _check_request(coverage, heterogeneity, lo: float, hi: float, sizes: str) -> tuple[float, float]:
    """The one feasibility check of the coverage-controlled constructors.

    Returns ``(coverage, heterogeneity)`` with ``coverage`` clipped to ``hi`` (a request up to a
    relative 1e-12 above the range's end is accepted as its end).

    Raises:
      ValueError: if ``coverage`` lies outside ``[lo, hi]`` (the message names ``sizes``, the
        arguments that fix the range) or ``heterogeneity`` outside ``[0, 1]``.
    """
    coverage = v.check_at_least("coverage", coverage, -np.inf)
    if not lo <= coverage <= hi * (1 + 1e-12):
        raise ValueError(
            f"`coverage` = {coverage:g} is infeasible with {sizes}: the feasible range is [{lo:g}, {hi:.10g}]"
        )
    heterogeneity = v.check_at_least("heterogeneity", heterogeneity, 0.0)
    if heterogeneity > 1:
        raise ValueError(f"`heterogeneity` must lie in [0, 1]; got {heterogeneity}")
    return min(coverage, hi), heterogeneity


# ------------------------------------------------------------------- coverage-controlled
def coverage_range(num_responses: int, *, margin: float = 0.0, num_argmax: int = 1) -> tuple[float, float]:
    """The coverages :func:`with_coverage` can build: ``[1, 1 + (|Y|-k)/(k(1+γ'))]``.

    With ``k`` tied arg-maxes of mass ``1/c`` in total and every other response at most
    ``1/(k c (1+γ'))``, the other ``|Y|-k`` responses hold at most ``(|Y|-k)/(k c (1+γ'))``,
    which must cover ``1 - 1/c``. Here ``γ' = max(margin, MIN_CONSTRUCTED_MARGIN)(1 + 1e-9)``.
    """
    num_responses = v.check_positive_int("num_responses", num_responses)
    num_argmax = v.check_positive_int("num_argmax", num_argmax)
    if num_argmax > num_responses:
        raise ValueError(f"`num_argmax` must be <= num_responses = {num_responses}; got {num_argmax}")
    g = _construction_gap(v.check_at_least("margin", margin, 0.0))
    return 1.0, 1.0 + (num_responses - num_argmax) / (num_argmax * (1.0 + g))


def with_coverage(
    key: jax.Array,
    num_prompts: int,
    num_responses: int,
    coverage: float,
    *,
    margin: float = 0.0,
    heterogeneity: float = 0.0,
    num_argmax: int = 1,
    prompt_probs=None,
) -> Problem:
    """A random tabular problem with exact coverage ``C_cov = coverage`` (Eq 6).

    Each prompt ``x`` gets ``num_argmax`` tied arg-max responses of total mass ``1/c_x`` at
    random positions; the other responses share ``1 - 1/c_x`` with random (Dirichlet) weights,
    capped so that ``max_y π(y|x) >= (1 + margin) π(y'|x)`` for every ``y' ∉ y*(x)``. The
    per-prompt ``c_x`` satisfy ``E_μ[c_x] = coverage`` exactly (up to float64 rounding).

    Args:
      key: PRNG key.
      num_prompts: ``|X|``.
      num_responses: ``|Y|``.
      coverage: the target ``C_cov = E_μ[1/π_base(y*(x)|x)]``, in :func:`coverage_range`.
      margin: a lower bound on ``γ_margin`` (Assumption 4.2). With ``margin=0`` the gap is
        still at least ``MIN_CONSTRUCTED_MARGIN = 1e-6`` so the arg-max set is what was asked.
      heterogeneity: in ``[0, 1]``. ``0``: every prompt has ``c_x = coverage`` (equally hard).
        ``1``: ``c_x`` spread over the whole feasible range with the same μ-mean.
      num_argmax: the number ``|y*(x)|`` of tied arg-maxes per prompt.
      prompt_probs: μ (uniform when omitted).

    Raises:
      ValueError: if ``coverage`` is outside the feasible range (stated in the message).
    """
    num_prompts = v.check_positive_int("num_prompts", num_prompts)
    lo, hi = coverage_range(num_responses, margin=margin, num_argmax=num_argmax)
    coverage, heterogeneity = _check_request(
        coverage, heterogeneity, lo, hi,
        f"num_responses = {num_responses}, num_argmax = {num_argmax} and margin = {margin:g}",
    )
    mu = _prompt_probs(prompt_probs, num_prompts)
    k_het, k_pos, k_w = jax.random.split(key, 3)
    c = _per_prompt_coverages(k_het, mu, coverage, hi, heterogeneity)

    Y, k = num_responses, num_argmax
    gap = _construction_gap(margin)
    top = (1.0 / c) / k  # [X] prob of each arg-max
    rest_mass = 1.0 - 1.0 / c
    cap = top / (1.0 + gap)
    n_rest = Y - k
    probs = np.empty((num_prompts, Y))
    if n_rest > 0:
        w = np.asarray(jax.random.exponential(k_w, (num_prompts, n_rest)), dtype=np.float64)
        rest = _capped_fill(w, rest_mass, cap)
        probs[:, k:] = rest
    probs[:, :k] = top[:, None]
    # random positions: a uniform permutation of the columns per prompt
    perm = np.asarray(jnp.argsort(jax.random.uniform(k_pos, (num_prompts, Y)), axis=-1))
    out = np.empty_like(probs)
    np.put_along_axis(out, perm, probs, axis=-1)
    return Problem(
        TabularPolicy(jnp.log(jnp.asarray(out, dtype=_float()))), jnp.asarray(mu, dtype=_float())
    )


def _per_prompt_coverages(key, mu: np.ndarray, coverage: float, c_max: float, heterogeneity: float):
    """Per-prompt ``c_x ∈ [1, c_max]`` with ``Σ μ_x c_x = coverage`` exactly."""
    X = mu.shape[0]
    t = 0.0 if c_max == 1.0 else (coverage - 1.0) / (c_max - 1.0)  # target μ-mean of v_x
    t = min(max(t, 0.0), 1.0)
    if heterogeneity == 0.0 or t in (0.0, 1.0):
        frac = np.full(X, t)
    else:
        r = np.asarray(jax.random.uniform(key, (X,)), dtype=np.float64)
        m = float(mu @ r)
        # move the μ-mean of r to t while staying inside [0, 1]
        r = r * (t / m) if m > t else 1.0 - (1.0 - r) * ((1.0 - t) / (1.0 - m))
        frac = (1.0 - heterogeneity) * t + heterogeneity * r
    c = 1.0 + (c_max - 1.0) * frac
    # absorb the last rounding error in the prompt with the most μ-mass (keeps E_μ[c] exact)
    j = int(np.argmax(mu))
    c[j] += (coverage - float(mu @ c)) / mu[j]
    return np.clip(c, 1.0, c_max)


def _capped_fill(w: np.ndarray, mass: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Per row, ``min(cap, t w)`` with ``t`` such that the row sums to ``mass``.

    Requires ``mass <= n * cap`` (``n = w.shape[1]``); exact water-filling by sorting.
    """
    X, n = w.shape
    order = np.argsort(-w, axis=1)
    ws = np.take_along_axis(w, order, axis=1)
    tail = np.cumsum(ws[:, ::-1], axis=1)[:, ::-1]  # tail[j] = sum_{i >= j} ws[i]
    j = np.arange(n)
    t = (mass[:, None] - j[None, :] * cap[:, None]) / tail  # t if the first j are capped
    ok = t * ws <= cap[:, None] * (1 + 1e-12)
    first = np.argmax(ok, axis=1)
    none = ~ok.any(axis=1)
    t_sel = t[np.arange(X), first]
    fill_sorted = np.minimum(cap[:, None], t_sel[:, None] * ws)
    fill_sorted[none] = (mass[none] / n)[:, None]
    out = np.empty_like(fill_sorted)
    np.put_along_axis(out, order, fill_sorted, axis=1)
    return out


# ------------------------------------------------------------------------ autoregressive
def planted_coverage_range(vocab_size: int, horizon: int, *, margin: float = 0.0) -> tuple[float, float]:
    """Coverages :func:`planted_autoregressive` can build: ``[1, ((V+γ')/(1+γ'))^H]``.

    With ``π_h(y*_h | y*_{<h}) = q`` on the planted path and uniform tables off it, the
    second most likely sequence leaves the path at the last step, so the margin is
    ``q (V-1)/(1-q) - 1``; it is at least ``γ'`` iff ``q >= (1+γ')/(V+γ')``.
    """
    V = v.check_positive_int("vocab_size", vocab_size, minimum=2)
    H = v.check_positive_int("horizon", horizon)
    g = _construction_gap(v.check_at_least("margin", margin, 0.0))
    return 1.0, ((V + g) / (1.0 + g)) ** H


def planted_autoregressive(
    key: jax.Array,
    num_prompts: int,
    vocab_size: int,
    horizon: int,
    coverage: float,
    *,
    margin: float = 0.0,
    heterogeneity: float = 0.0,
    prompt_probs=None,
) -> Problem:
    """An autoregressive problem over ``V^H`` with a planted unique sequence arg-max.

    Each prompt gets a random planted sequence ``y*(x)``. Along it every step has
    ``π_h(y*_h | y*_{<h}, x) = c_x^{-1/H}``, so ``π(y*(x)|x) = 1/c_x``; the other tokens of an
    on-path step share the rest evenly and every off-path table is uniform. Then ``y*(x)`` is
    the unique arg-max, the margin is ``q(V-1)/(1-q) - 1 >= margin``, greedy decoding follows
    the path, and ``E_μ[c_x] = coverage`` exactly.

    Tables keep the full history (``context_length = H - 1``), so memory is
    ``H · |X| · V^H`` entries; use small ``V^H``.

    Args:
      key: PRNG key.
      num_prompts: ``|X|``.
      vocab_size: ``V >= 2``.
      horizon: ``H >= 1``.
      coverage: the target ``C_cov``, in :func:`planted_coverage_range`.
      margin: a lower bound on ``γ_margin`` (Assumption 4.2), as in :func:`with_coverage`.
      heterogeneity: in ``[0, 1]``, as in :func:`with_coverage`.
      prompt_probs: μ (uniform when omitted).

    Returns:
      A :class:`Problem` with an :class:`AutoregressivePolicy` base.

    Raises:
      ValueError: if ``coverage`` is outside :func:`planted_coverage_range`.
    """
    num_prompts = v.check_positive_int("num_prompts", num_prompts)
    lo, hi = planted_coverage_range(vocab_size, horizon, margin=margin)
    coverage, heterogeneity = _check_request(
        coverage, heterogeneity, lo, hi, f"vocab_size = {vocab_size}, horizon = {horizon} and margin = {margin:g}"
    )
    mu = _prompt_probs(prompt_probs, num_prompts)
    V, H = vocab_size, horizon
    k_het, k_path = jax.random.split(key)
    c = _per_prompt_coverages(k_het, mu, coverage, hi, heterogeneity)
    q = c ** (-1.0 / H)  # [X]
    path = np.asarray(jax.random.randint(k_path, (num_prompts, H), 0, V))
    S = V ** (H - 1)
    tables = np.full((H, num_prompts, S, V), 1.0 / V)
    for h in range(H):
        ctx = np.zeros(num_prompts, dtype=np.int64)  # context index of the planted prefix
        for j in range(h):
            ctx = ctx * V + path[:, j]
        rows = np.repeat(((1.0 - q) / (V - 1))[:, None], V, axis=1)
        rows[np.arange(num_prompts), path[:, h]] = q
        tables[h, np.arange(num_prompts), ctx] = rows
    with np.errstate(divide="ignore"):
        log_tables = np.log(tables)
    policy = AutoregressivePolicy(jnp.asarray(log_tables, dtype=_float()), H - 1)
    return Problem(policy, jnp.asarray(mu, dtype=_float()))
