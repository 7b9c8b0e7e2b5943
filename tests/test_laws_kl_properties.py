"""Property tests for the KL-regularised optimum π*_β and Lemma 4.1.

π*_β ∝ π_base^{1+1/β} maximises J_β(π) = E_{x~μ}[E_{y~π}[log π_base(y|x)] - β KL(π(·|x) ‖ π_base(·|x))]
(Eq 3 with the log-likelihood self-reward). The objective, its closed-form maximum
β log Σ_y π_base^{1+1/β} (the Gibbs variational principle), the arg-max sets, masses and the
coefficients of Lemma 4.1 are recomputed here in NumPy.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.special import logsumexp

import sharpsim
from sharpsim import TIE_RTOL
from sharpsim import problems as sp
from sharpsim import strategies as sst

betas = st.floats(-3.0, 3.0).map(lambda e: 10.0**e)  # β log-uniform in [1e-3, 1e3]

#: Table shapes drawn here: JAX compiles eager code op by op for every new array shape, so the
#: tests keep to a few shapes.
SMALL = dict(num_prompts=(1, 2), num_responses=(1, 5))


def argmax_mask(log_probs) -> np.ndarray:
    lp = np.asarray(log_probs)
    return lp >= lp.max(axis=1, keepdims=True) + np.log1p(-TIE_RTOL)


def per_prompt_objective(
    log_pi: np.ndarray, log_base: np.ndarray, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """``J_β(π | x) = Σ_y π(y|x) [(1+β) log π_base(y|x) - β log π(y|x)]`` per prompt, with
    ``0 log 0 = 0``, and the sum of the absolute terms (the scale of its rounding error).
    ``π`` must vanish wherever π_base does (KL would be infinite)."""
    pi = np.exp(log_pi)
    with np.errstate(invalid="ignore"):
        terms = np.where(pi > 0, pi * ((1 + beta) * log_base - beta * log_pi), 0.0)
    return terms.sum(axis=1), np.abs(terms).sum(axis=1)


def numpy_margin(log_probs) -> float:
    """The largest γ with max π >= (1+γ) π(y') for all y' outside y*(x), over every prompt."""
    lp = np.asarray(log_probs)
    mask = argmax_mask(lp)
    second = np.where(mask, -np.inf, lp).max(axis=1)
    return float(np.expm1(np.min(lp.max(axis=1) - second)))


@given(
    problem=sst.tabular_problems(**SMALL),
    beta=betas,
    seed=sst.seeds(),
    eps=st.floats(1e-3, 3.0),
    t=st.floats(0.0, 1.0),
)
@example(
    problem=sp.from_probs([[0.5, 0.5, 0.0], [1 - 2e-12, 1e-12, 1e-12]]), beta=1e-3, seed=0, eps=0.5, t=0.5
)
def test_kl_optimum_maximises_the_regularised_objective(problem, beta, seed, eps, t):
    log_base = np.asarray(problem.base.log_probs)
    log_opt = np.asarray(sharpsim.kl_regularized_optimum(problem, beta).log_probs)
    support = np.isfinite(log_base)
    assert np.all(log_opt[~support] == -np.inf)  # π*_β stays inside π_base's support
    np.testing.assert_allclose(np.exp(log_opt).sum(axis=1), 1.0, atol=1e-12)

    j_opt, scale = per_prompt_objective(log_opt, log_base, beta)
    # closed-form maximum: β log Σ_y π_base^{1+1/β}
    closed = beta * logsumexp(np.where(support, (1 + 1 / beta) * log_base, -np.inf), axis=1)
    np.testing.assert_allclose(j_opt, closed, rtol=1e-9, atol=1e-12 * (1 + scale.max()))

    # perturbed policies on the same support: tilted, and mixed with a random distribution
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(log_base.shape)
    tilted = np.where(support, log_opt + eps * z, -np.inf)
    tilted -= logsumexp(tilted, axis=1, keepdims=True)
    q = np.where(support, rng.exponential(size=log_base.shape), 0.0)
    q /= q.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        mixed = np.log((1 - t) * np.exp(log_opt) + t * q)
    for log_pi in (tilted, mixed):
        j, s = per_prompt_objective(log_pi, log_base, beta)
        assert np.all(j <= j_opt + 1e-12 * (1 + scale + s)), (j, j_opt)


@given(problem=sst.tabular_problems(**SMALL))
@example(problem=sp.from_probs([[0.3, 0.3, 0.4 - 1e-12, 1e-12]]))
def test_kl_optimum_tends_to_the_argmax_set(problem):
    """π*_β(y*|x) increases as β decreases and tends to 1, split evenly over exact ties."""
    betas_down = [1e3, 10.0, 1.0, 0.1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-9, 1e-12, 1e-100, 1e-300]
    mask = argmax_mask(problem.base.log_probs)
    masses = np.stack(
        [
            np.where(mask, np.asarray(sharpsim.kl_regularized_optimum(problem, b).probs), 0.0).sum(axis=1)
            for b in betas_down
        ]
    )
    assert np.all(np.diff(masses, axis=0) >= -4e-15), masses  # monotone up to float64 rounding
    np.testing.assert_allclose(masses[-1], 1.0, rtol=0, atol=1e-12)
    # the limit is uniform on the (exactly tied) arg-max set
    limit = np.asarray(sharpsim.kl_regularized_optimum(problem, 1e-300).probs)
    k = mask.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.where(mask, limit, 0.0), np.where(mask, 1.0 / k, 0.0), atol=1e-12)


@given(problem=sst.tabular_problems(**SMALL), beta=betas)
@example(problem=sp.from_probs([[0.5, 0.5, 0.0]]), beta=1e3)
def test_lemma_4_1_concentrability_bounds(problem, beta):
    """Lemma 4.1: C_{π*_β} <= C_cov and C_{π_base/π*_β; β} <= |Y|."""
    opt = sharpsim.kl_regularized_optimum(problem, beta)
    c_conc = sharpsim.concentrability(problem, opt)
    c_cov = sharpsim.coverage(problem)
    c_loss = sharpsim.power_concentrability(problem, problem.base, opt, beta=beta)
    Y = problem.num_responses
    assert c_conc <= c_cov * (1 + 1e-12)
    assert c_loss <= Y * (1 + 1e-12)

    # the same three numbers, from NumPy
    mu = np.asarray(problem.prompt_probs)
    lb, lo = np.asarray(problem.base.log_probs), np.asarray(opt.log_probs)
    on = mu > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        conc = np.where(np.isfinite(lo), np.exp(2 * lo - lb), 0.0).sum(axis=1)
        loss = np.where(np.isfinite(lb), np.exp((1 + beta) * lb - beta * lo), 0.0).sum(axis=1)
    cov = 1.0 / np.where(argmax_mask(lb), np.exp(lb), 0.0).sum(axis=1)
    np.testing.assert_allclose(c_conc, mu[on] @ conc[on], rtol=1e-9)
    np.testing.assert_allclose(c_loss, mu[on] @ loss[on], rtol=1e-9)
    np.testing.assert_allclose(c_cov, mu[on] @ cov[on], rtol=1e-12)


@given(
    problem=st.one_of(sst.problems(margin=(1e-3, 1.0), **SMALL), sst.tabular_problems(**SMALL)),
    delta=st.floats(1e-9, 0.999),
    shrink=st.floats(0.0, 1.0, exclude_min=True),
)
@example(problem=sp.from_probs([[0.5, 0.25, 0.25]]), delta=0.5, shrink=1.0)
def test_margin_implies_kl_optimum_concentrates(problem, delta, shrink):
    """Margin γ (≤ 1) and β <= γ / (2 log(2|Y|/δ)) imply π*_β(y*(x)|x) >= 1 - δ/2 for all x.

    The lemma needs γ <= 1 (its proof uses log(1+γ) >= γ/2); a problem with margin γ also has
    margin min(γ, 1), so we use that.
    """
    gamma = min(numpy_margin(problem.base.log_probs), 1.0)
    Y = problem.num_responses
    beta = shrink * gamma / (2 * np.log(2 * Y / delta))
    if beta == 0.0:  # γ underflowed: nothing to check beyond the mask being non-empty
        assert argmax_mask(problem.base.log_probs).any(axis=1).all()
        return
    opt = np.asarray(sharpsim.kl_regularized_optimum(problem, beta).probs)
    mass = np.where(argmax_mask(problem.base.log_probs), opt, 0.0).sum(axis=1)
    assert np.all(mass >= 1 - delta / 2 - 1e-15), (mass, delta)


def test_margin_lemma_needs_margin_at_most_one():
    """Documents why the margin lemma caps γ at 1: with γ = 100, |Y| = 1000, δ = 0.01 and
    β = γ/(2 log(2|Y|/δ)), π*_β puts less than 1 - δ/2 on y*."""
    gamma, Y, delta = 100.0, 1000, 0.01
    probs = np.full(Y, 1.0 / (1 + gamma))
    probs[0] = 1.0
    problem = sp.from_probs([probs / probs.sum()])
    assert numpy_margin(problem.base.log_probs) >= gamma * (1 - 1e-9)
    beta = gamma / (2 * np.log(2 * Y / delta))
    mass = float(np.asarray(sharpsim.kl_regularized_optimum(problem, beta).probs)[0, 0])
    a = 1 + 1 / beta  # closed form: 1 / (1 + (Y-1)(1+γ)^{-a})
    np.testing.assert_allclose(mass, 1 / (1 + (Y - 1) * (1 + gamma) ** -a), rtol=1e-12)
    assert mass < 1 - delta / 2
