"""Exact laws: best-of-N (Sec 2.1, Prop C.1), the KL-regularised optimum (Eq 3), the sharpening error (Def 3.1).

Best-of-N under the log-likelihood self-reward. For a prompt x let
``F(v) = Σ_{y: π(y|x) <= v} π(y|x)`` and ``F(v-)`` the same sum with ``<``. The best of N
i.i.d. draws has probability level ``v`` with probability ``F(v)^N - F(v-)^N``, split evenly
among the ``k_v`` responses at that level (ties count as one level within the relative
tolerance ``TIE_RTOL``, comparing neighbours in sorted order). Both are evaluated in log space
(see ``sharpsim._config``), so the law is exact in float64 for any N. The array-level kernel
lives in ``sharpsim._bon``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from sharpsim import _config
from sharpsim import _validation as v
from sharpsim._bon import _bon_log_law, _check_n, _levels
from sharpsim._search import first_greater
from sharpsim.coefficients import as_policy
from sharpsim.policies import TabularPolicy
from sharpsim.problems import Problem, as_tabular_base

__all__ = [
    "BonSampler",
    "adaptive_law",
    "adaptive_miss_probability",
    "bon_law",
    "bon_sampler",
    "bon_success_probability",
    "kl_regularized_optimum",
    "sharpening_error",
]


# ----------------------------------------------------------------------------- BoN law
def bon_law(problem: Problem, N, *, rtol: float = _config.TIE_RTOL) -> TabularPolicy:
    """The exact law ``π^BoN_N`` of the best-of-N response under ``r_self = log π_base``.

    Args:
      problem: the problem (its base is enumerated if autoregressive).
      N: number of draws, an integer ``>= 1`` (may be a traced scalar or a ``[num_prompts]``
        array of per-prompt N).
      rtol: relative tie tolerance (default ``TIE_RTOL``).

    Returns:
      A :class:`TabularPolicy` with ``probs[x, y] = (F(v)^N - F(v-)^N) / k_v``, ``v = π_base(y|x)``.
    """
    _check_n(N, problem.num_prompts if isinstance(problem, Problem) else None)
    base = as_tabular_base(problem)
    return TabularPolicy(_bon_log_law(base.log_probs, N, rtol))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class BonSampler:
    """Precomputed level structure for exact best-of-N draws in O(log |Y|) each.

    Build with :func:`bon_sampler`; the cost of a draw does not grow with N. All fields are
    ``[num_prompts, num_responses]``, indexed by sorted position (descending probability).
    """

    order: jax.Array
    log_cdf: jax.Array
    start: jax.Array
    size: jax.Array

    def sample(self, key: jax.Array, prompts, N) -> jax.Array:
        """One exact BoN_N pick per prompt: ``prompts: [...]`` → responses ``[...]``.

        Inverse CDF over levels: the pick's level is the lowest ``v`` with
        ``F(v)^N >= u`` (``u`` uniform on (0, 1]); the response is then uniform among the
        ``k_v`` at that level. ``N`` may be a scalar or broadcast against ``prompts``.
        Each pick is a binary search of ``log2 |Y|`` single-element reads into the flattened
        table (no per-pick copy of a row), so the cost grows neither with N nor with |Y|
        beyond the logarithm.
        """
        prompts = jnp.asarray(prompts)
        dtype = self.log_cdf.dtype
        k_level, k_within = jax.random.split(key)
        u = 1.0 - jax.random.uniform(k_level, prompts.shape, dtype=dtype)  # (0, 1]
        target = -jnp.log(u) / jnp.asarray(N, dtype=dtype)  # find last pos with -log F <= target
        Y = self.log_cdf.shape[1]
        base = prompts * Y
        # -log F is non-decreasing along a row; the top level (-log F = 0) always qualifies
        pos = first_greater(-self.log_cdf.reshape(-1), base, Y, Y, target) - 1
        size = self.size.reshape(-1)[base + pos]
        start = self.start.reshape(-1)[base + pos]
        w = jax.random.uniform(k_within, prompts.shape, dtype=dtype)
        j = start + jnp.minimum(jnp.floor(w * size).astype(start.dtype), size - 1)
        return self.order.reshape(-1)[base + j]

    def take(self, rows) -> BonSampler:
        """The sampler of a problem whose prompt ``x`` has the conditional of prompt ``rows[x]`` here.

        A family whose members share a few conditionals (e.g. App H's ``P_0..P_M``) builds the
        level structure once for those and gathers each member's rows: the same sampler, to the
        bit, as :func:`bon_sampler` of the member (the structure is computed row by row), at the
        cost of a gather instead of a sort per row.

        Args:
          rows: ``[X']`` integer row indices into this sampler's prompts.

        Returns:
          A :class:`BonSampler` with ``X'`` prompts.
        """
        rows = jnp.asarray(rows)
        return BonSampler(self.order[rows], self.log_cdf[rows], self.start[rows], self.size[rows])


def bon_sampler(problem: Problem, *, rtol: float = _config.TIE_RTOL) -> BonSampler:
    """Precomputes :class:`BonSampler` for ``problem`` (O(|X| |Y| log |Y|) once)."""
    base = as_tabular_base(problem)
    order, log_f, _, start, size = _levels(base.log_probs, rtol)
    return BonSampler(order, log_f, start.astype(order.dtype), size.astype(order.dtype))


def bon_success_probability(problem: Problem, N, *, gamma: float = 0.0) -> float:
    """``P_{x~μ, y~π^BoN_N}[y ∈ y*_γ(x)]``, exactly (from :func:`bon_law`)."""
    gamma = v.check_unit_interval("gamma", gamma)
    base = as_tabular_base(problem)
    law = bon_law(problem, N)
    hit = law.mass(base.argmax_set(gamma))
    return float(jnp.sum(problem.prompt_probs * hit))


# -------------------------------------------------------------------------- KL optimum
def kl_regularized_optimum(problem: Problem, beta: float) -> TabularPolicy:
    """``π*_β ∝ π_base · exp(log π_base / β) = π_base^{1+1/β}`` (Eq 3's maximiser).

    Computed as a ``log_softmax`` of ``(1 + 1/β)(log π_base - max log π_base)`` so small β
    does not overflow (β down to ~1e-300 is fine).

    Raises:
      ValueError: unless β is a finite number > 0.
    """
    if v.is_concrete(beta):
        beta = v.check_positive("beta", beta)
    base = as_tabular_base(problem)
    lp = base.log_probs
    shifted = lp - base.max_log_prob()[:, None]
    scaled = jnp.where(shifted == 0, 0.0, shifted * (1.0 + 1.0 / beta))
    return TabularPolicy(jax.nn.log_softmax(scaled, axis=-1))


# --------------------------------------------------------------------- sharpening error
def sharpening_error(problem: Problem, policy, *, delta: float, gamma: float = 0.0) -> float:
    """``err_δ(π̂) = P_{x~μ}[π̂(y*_γ(x) | x) < 1 - δ]`` (Def 3.1 / Def F.1), exactly.

    The comparison is strict, ``log π̂(y*_γ(x)|x) < log1p(-δ)`` in float64, with no extra
    tolerance (so δ resolves differences down to ~1e-16); ``y*_γ`` is the base's γ-approximate
    arg-max set (ties within ``TIE_RTOL``). A mass equal to ``1 - δ`` in real arithmetic (e.g.
    an empirical frequency 9/10 at δ = 0.1) may fall on either side after rounding. δ = 0 is
    decided exactly: π̂ fails at x iff it puts positive mass outside ``y*_γ(x)``.

    Args:
      problem: gives π_base (for ``y*_γ``) and μ.
      policy: π̂ — a policy or a ``[num_prompts, num_responses]`` probability array.
      delta: level δ in [0, 1).
      gamma: approximation γ in [0, 1).

    Returns:
      A Python float; inside ``jit``/``vmap`` a traced scalar (so algorithms can report it).
    """
    if v.is_concrete(delta, gamma):
        delta = v.check_unit_interval("delta", delta)
        gamma = v.check_unit_interval("gamma", gamma)
    pi = as_policy(problem, policy)
    base = as_tabular_base(problem)
    mask = base.argmax_set(gamma)
    log_mass = logsumexp(jnp.where(mask, pi.log_probs, -jnp.inf), axis=-1)
    fail = log_mass < jnp.log1p(-delta)
    if not (v.is_concrete(delta) and delta > 0):
        # δ = 0 asks for no mass outside y*_γ: decided exactly, since a log-space sum of tied
        # masses adding up to 1 (e.g. 1/3 + 2/3) can round to just below log 1 = 0
        outside = jnp.any(~mask & (pi.log_probs > -jnp.inf), axis=-1)
        fail = jnp.where(delta == 0, outside, fail)
    err = jnp.sum(jnp.where(fail, problem.prompt_probs, 0.0))
    # a Python float when called eagerly; a traced scalar inside jit/vmap
    return float(err) if v.is_concrete(err) else err


# ------------------------------------------------------------- adaptive rule, exactly
def expected_adaptive_draws(problem: Problem, stop_level, *, verifier=None, tol: float = 1e-15):
    """``E[N_μ(x)]`` of App D's rule on every prompt, exactly (a finite sum, truncated at ``tol``).

    ``N_μ = inf{k : k · max_{j<=k} q(y_j|x) >= μ}`` with ``y_j ~ π_base(·|x)`` i.i.d. and the
    verifier ``q = π_base`` (the rule of adaptive SFT-Sharpening; ``verifier`` replaces ``q`` by
    another policy, a flawed verifier). With the comparison of ``oracle.adaptive_rule`` (slack
    ``1e-12`` in log space), ``P(N_μ > k) = F_k^k`` where ``F_k`` is the ``π_base``-mass of the
    responses with ``log k + log q(y|x) < log μ − 1e-12``, so ``E[N_μ] = 1 + Σ_{k>=1} F_k^k``.
    ``F_k`` is non-increasing in k; the sum stops once its remaining tail, at most
    ``F_k^k / (1 − F_k)``, is below ``tol`` times the sum (``inf`` when ``F_k`` stays 1: the rule
    never stops).

    Args:
      problem: the problem (tabular base; an autoregressive base is enumerated).
      stop_level: ``μ > 0``.
      verifier: ``None`` (the base) or a policy of the problem's shape.
      tol: relative truncation tolerance, in (0, 1e-6].

    Returns:
      A NumPy array ``[num_prompts]`` of expectations.

    Raises:
      ValueError: on a ``stop_level`` that is not positive, a bad ``tol`` or a verifier of
        another shape.
    """
    from sharpsim import oracle
    from sharpsim.coefficients import as_policy

    mu = v.check_positive("stop_level", stop_level)
    if not (0 < tol <= 1e-6):
        raise ValueError(f"`tol` must be in (0, 1e-6]; got {tol}")
    base = as_tabular_base(problem)
    q = base if verifier is None else as_policy(problem, verifier, "verifier")
    probs = np.asarray(base.probs, np.float64)
    lq = np.asarray(q.log_probs, np.float64)
    log_level = float(np.log(mu)) - oracle.ADAPTIVE_RULE_ATOL
    out = np.empty(probs.shape[0])
    for x in range(probs.shape[0]):
        order = np.argsort(lq[x], kind="stable")  # ascending verifier log-probs
        lq_sorted, cum = lq[x][order], np.concatenate([[0.0], np.cumsum(probs[x][order])])
        total, k0, chunk = 1.0, 1, 4096
        while True:
            k = np.arange(k0, k0 + chunk, dtype=np.float64)
            F = np.minimum(cum[np.searchsorted(lq_sorted, log_level - np.log(k), side="left")], 1.0)
            terms = np.exp(k * np.log(np.where(F > 0, F, 1.0))) * (F > 0)
            total += float(terms.sum())
            last_F, last_term = float(F[-1]), float(terms[-1])
            if last_F >= 1.0 - 1e-15 and k0 + chunk > 1e8:
                total = np.inf
                break
            if last_F < 1.0 and last_term / (1.0 - last_F) <= tol * total:
                break
            k0 += chunk
            chunk = min(chunk * 2, 1 << 22)
        out[x] = total
    return out


def _stop_sums(probs: np.ndarray, lp: np.ndarray, sets: np.ndarray, log_level: float, tol: float) -> np.ndarray:
    """``Σ_{k>=1} [F(a_k ∩ L)^{k−1} F(L) − F(b_k ∩ L)^k]`` for each set ``L`` (a row of ``sets``) of one prompt.

    This is ``P(the rule stops and the response it keeps lies in L)`` for a set ``L`` closed downwards
    in probability (every response less likely than a member is a member): the rule keeps a response
    of ``L`` iff every draw up to its stop lies in ``L``. ``a_k`` is the set of responses the rule
    would not have stopped on at step ``k − 1`` (``a_1 = Y``), ``b_k`` the one it would not stop on
    at step ``k``; ``F`` is base mass. The sum runs in chunks of k until the largest first term is
    below ``tol`` times the largest sum.
    """
    masks = sets.astype(np.float64)  # [L, Y]
    mass_in = masks @ probs  # F(L)
    total = np.zeros(len(sets))
    k0, chunk = 1, 4096
    while True:
        k = np.arange(k0, k0 + chunk, dtype=np.float64)
        with np.errstate(divide="ignore"):
            thr_prev = np.where(k > 1, log_level - np.log(np.maximum(k - 1, 1)), np.inf)
        a = ((lp[None, :] < thr_prev[:, None]) * probs[None, :]) @ masks.T  # F(a_k ∩ L): [chunk, L]
        b = ((lp[None, :] < (log_level - np.log(k))[:, None]) * probs[None, :]) @ masks.T  # F(b_k ∩ L)
        km1, kk = (k - 1)[:, None], k[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            first = np.where(a > 0, np.exp(km1 * np.log(np.where(a > 0, a, 1.0))), (km1 == 0) * 1.0) * mass_in
            second = np.where(b > 0, np.exp(kk * np.log(np.where(b > 0, b, 1.0))), 0.0)
        total += np.maximum(first - second, 0.0).sum(axis=0)
        if float(first[-1].max()) <= tol * max(float(total.max()), 1e-300) or k0 + chunk > 1e8:
            return total
        k0 += chunk
        chunk = min(chunk * 2, 1 << 20)


def _adaptive_setup(problem: Problem, stop_level, tol: float):
    from sharpsim import oracle

    mu = v.check_positive("stop_level", stop_level)
    if not (0 < tol <= 1e-6):
        raise ValueError(f"`tol` must be in (0, 1e-6]; got {tol}")
    base = as_tabular_base(problem)
    return (base, np.asarray(base.probs, np.float64), np.asarray(base.log_probs, np.float64),
            float(np.log(mu)) - oracle.ADAPTIVE_RULE_ATOL)


def adaptive_miss_probability(problem: Problem, stop_level, *, tol: float = 1e-15):
    """``P[the response App D's rule keeps ∉ y*(x)]`` on every prompt, exactly (truncated at ``tol``).

    The rule draws ``y_j ~ π_base(·|x)`` until ``N_μ = inf{k : k · max_{j<=k} π_base(y_j|x) >= μ}``
    (the comparison of ``oracle.adaptive_rule``) and keeps the most likely draw, so it misses
    ``y*(x)`` iff the running maximum ``M_k`` is below the top level when it stops. With ``F(S)``
    the base mass of a set of responses, ``a_k`` the set the rule would not have stopped on at step
    ``k − 1`` and ``b_k`` the one it would not stop on at step ``k``,
    ``P(N_μ = k, miss) = F(a_k − y*)^{k−1} F(Y − y*) − F(b_k − y*)^k`` (``−``: set difference; here
    ``b_k − y* = b_k`` as soon as ``b_k`` misses y*), summed over ``k >= 1`` (``a_1 = Y``) until the
    terms are below ``tol`` times the sum. Computed directly, not as ``1 −`` :func:`adaptive_law`'s mass
    on y*, so a small miss probability keeps its relative precision.

    Args:
      problem: the problem (tabular base; an autoregressive base is enumerated).
      stop_level: ``μ > 0``.
      tol: relative truncation tolerance, in (0, 1e-6].

    Returns:
      A NumPy array ``[num_prompts]`` of probabilities.

    Raises:
      ValueError: on a ``stop_level`` that is not positive or a bad ``tol``.
    """
    base, probs, lp, log_level = _adaptive_setup(problem, stop_level, tol)
    top = np.asarray(base.argmax_set(0.0))
    return np.array([_stop_sums(probs[x], lp[x], ~top[x][None, :], log_level, tol)[0]
                     for x in range(probs.shape[0])])


def adaptive_law(problem: Problem, stop_level, *, tol: float = 1e-15) -> TabularPolicy:
    """The exact law of the response App D's rule keeps (the adaptive analogue of :func:`bon_law`).

    The rule draws ``y_j ~ π_base(·|x)`` until ``N_μ = inf{k : k · max_{j<=k} π_base(y_j|x) >= μ}``
    (the comparison of ``oracle.adaptive_rule``) and keeps the most likely draw. For each level
    ``v`` of ``π_base(·|x)``, the kept response has probability ``<= v`` iff every draw up to the
    stop does; with ``L_v = {y : π_base(y|x) <= v}``, ``a_k``, ``b_k`` the sets the rule would not have
    stopped on at steps ``k − 1`` and ``k`` and ``F`` the base mass,
    ``P(kept ∈ L_v) = Σ_k F(a_k ∩ L_v)^{k−1} F(L_v) − F(b_k ∩ L_v)^k``. Differences of consecutive
    levels give the mass of each level, split evenly among the responses of that level (the rule
    treats them symmetrically). Thm D.1's realizability asks that this law lie in the class.

    Args:
      problem: the problem (tabular base; an autoregressive base is enumerated).
      stop_level: ``μ > 0``.
      tol: relative truncation tolerance, in (0, 1e-6].

    Returns:
      A :class:`~sharpsim.policies.TabularPolicy` (responses of zero base probability get 0).

    Raises:
      ValueError: on a ``stop_level`` that is not positive or a bad ``tol``.
    """
    _, probs, lp, log_level = _adaptive_setup(problem, stop_level, tol)
    out = np.zeros_like(probs)
    for x in range(probs.shape[0]):
        pos = probs[x] > 0
        levels = np.unique(probs[x][pos])  # ascending
        sets = (probs[x][None, :] <= levels[:, None]) & pos[None, :]
        cdf = np.minimum(_stop_sums(probs[x], lp[x], sets, log_level, tol), 1.0)
        level_mass = np.diff(np.concatenate([[0.0], cdf]))
        count = sets.sum(axis=1) - np.concatenate([[0], sets.sum(axis=1)[:-1]])
        which = np.searchsorted(levels, probs[x][pos])
        out[x, pos] = np.maximum(level_mass[which], 0.0) / count[which]
    with np.errstate(divide="ignore"):
        return TabularPolicy(jnp.asarray(np.log(out / out.sum(axis=1, keepdims=True))))
