"""The bound functions of sharpsim.bounds: Thm 3.1/3.1′/D.2 (lower bounds), Thm 4.1/4.1′
(SFT-Sharpening), Thm D.1 (adaptive), Lemma I.1, Thm 4.2/J.2 (RLHF-Sharpening), Thm 4.3/J.3
(XPO) and the XPO step size α.

Each value is worked out by hand in the test (the arithmetic is written next to it); then
monotonicity, the exponents in ε, linear scaling in every exposed constant, and errors on
bad input. All tests are deterministic.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sharpsim import bounds

LN10 = math.log(10)


# ============================================================== hand-computed values
def test_sft_lower_bound_thm_3_1_by_hand():
    # C = 4, log|Π| = 10, ε = 1/4, p = 1: C ε^{-1/p} = 16, so
    # m = 4·10 / ((1/4)^2 (1 + ln 16)) = 640 / 3.77259 = 169.6448
    assert bounds.sft_lower_bound(4, 10, 0.25) == pytest.approx(640 / (1 + math.log(16)), rel=1e-14)
    assert bounds.sft_lower_bound(4, 10, 0.25) == pytest.approx(169.64478, rel=1e-6)


def test_sft_lower_bound_adaptive_thm_d_2_by_hand():
    # adaptive: exponent 1/p = 1: m = 4·10 / ((1/4)(1 + ln 16)) = 160 / 3.77259 = 42.4112
    got = bounds.sft_lower_bound(4, 10, 0.25, adaptive=True)
    assert got == pytest.approx(160 / (1 + math.log(16)), rel=1e-14)
    assert got == pytest.approx(42.411196, rel=1e-6)


def test_sft_lower_bound_general_p_by_hand():
    # p = 2, ε = 1/4: ε^{-1/2} = 2, C ε^{-1/p} = 8, ε^{1+1/2} = 1/8, ε^{1/2} = 1/2
    # sample-and-evaluate: 4·10 / ((1/8)(1 + ln 8)) = 320 / (1 + ln 8)
    # adaptive:            4·10 / ((1/2)(1 + ln 8)) = 80 / (1 + ln 8)
    assert bounds.sft_lower_bound(4, 10, 0.25, p=2) == pytest.approx(320 / (1 + math.log(8)), rel=1e-14)
    assert bounds.sft_lower_bound(4, 10, 0.25, p=2, adaptive=True) == pytest.approx(80 / (1 + math.log(8)), rel=1e-14)
    # C = 1, ε = e^{-1}, p = 1: log term 1 + ln(e) = 2; m = 1·1/(e^{-2}·2) = e²/2
    assert bounds.sft_lower_bound(1, 1, math.exp(-1)) == pytest.approx(math.e**2 / 2, rel=1e-14)


def test_sft_upper_bound_thm_4_1_by_hand():
    # C_cov = 4, log|Π| = ln 10, ε = δ = ρ = 0.1:
    # log(|Π|/ρ) = ln 10 + ln 10 = 2 ln 10; the prescription's log(2/δ) = ln 20 (Eq 7 prints log(1/δ))
    # m = 4 · 2 ln 10 · ln 20 / (0.1 · 0.01) = 8000 · ln 10 · ln 20 = 55183.43
    got = bounds.sft_upper_bound(4, LN10, 0.1, delta=0.1, rho=0.1)
    assert got == pytest.approx(8000 * LN10 * math.log(20), rel=1e-13)
    assert got == pytest.approx(55183.43, rel=1e-6)


def test_sft_prescription_by_hand():
    # n = ⌈2 ln 10 / (0.1 · 0.1)⌉ = ⌈460.517⌉ = 461;  N = ⌈4 ln(2/0.1) / 0.1⌉ = ⌈119.829⌉ = 120
    assert bounds.sft_prescription(4, LN10, 0.1, delta=0.1, rho=0.1) == (461, 120)
    # constant 2 doubles both before rounding up: ⌈921.03⌉ = 922, ⌈239.66⌉ = 240
    assert bounds.sft_prescription(4, LN10, 0.1, delta=0.1, rho=0.1, constant=2) == (922, 240)
    # tiny values are floored at one prompt / one draw: log|Π| = 0, ρ = 0.99: n = ⌈0.01005/0.81⌉ = 1
    assert bounds.sft_prescription(1, 0.0, 0.9, delta=0.9, rho=0.99) == (1, 1)


def test_sft_prescription_budget_matches_upper_bound_up_to_rounding():
    # the bound is the prescription's n N = [log(|Π|/ρ)/(δ ε)] · [C log(2/δ)/ε] up to the ceilings
    # (constant c² for the prescription's c)
    for cov, eps, delta in [(2.0, 0.05, 0.1), (30.0, 0.2, 0.3), (1.0, 0.5, 0.01)]:
        for c in (1.0, 3.0):
            n, N = bounds.sft_prescription(cov, 5.0, eps, delta=delta, rho=0.1, constant=c)
            m = bounds.sft_upper_bound(cov, 5.0, eps, delta=delta, rho=0.1, constant=c**2)
            n_raw = c * (5.0 + math.log(10)) / (delta * eps)
            N_raw = c * cov * math.log(2 / delta) / eps
            assert m == pytest.approx(n_raw * N_raw, rel=1e-12)
            assert n_raw * N_raw <= n * N <= (n_raw + 1) * (N_raw + 1)


def test_sft_error_bound_thm_4_1_prime_by_hand():
    # log(|Π|/ρ) = 2 ln 10, δ = 0.1, n = 100: 2 ln 10 / 10 = 0.2 ln 10; C/N* = 4/8 = 0.5
    got = bounds.sft_error_bound(4, LN10, n=100, N_star=8, delta=0.1, rho=0.1)
    assert got == pytest.approx(0.2 * LN10 + 0.5, rel=1e-14)
    assert got == pytest.approx(0.960517, rel=1e-6)


def test_adaptive_sft_upper_bound_thm_d_1_by_hand():
    # C̄ = 2, log(|Π|/ρ) = 2 ln 10, log(2/δ) = ln 20 (the rule's μ = ln(2/δ)), δ ε = 0.01:
    # 2 · 2 ln 10 · ln 20 / 0.01 = 400 ln 10 ln 20
    got = bounds.adaptive_sft_upper_bound(2, LN10, 0.1, delta=0.1, rho=0.1)
    assert got == pytest.approx(400 * LN10 * math.log(20), rel=1e-13)


def test_adaptive_sft_error_bound_by_hand():
    # 2 ln 10 / (0.1 · 100) = 0.2 ln 10 = 0.4605...
    assert bounds.adaptive_sft_error_bound(LN10, n=100, delta=0.1, rho=0.1) == pytest.approx(0.2 * LN10, rel=1e-14)


def test_lemma_i1_by_hand():
    # E[N_μ] <= (μ + 1/|y*|)/P*: μ = 2, P* = 1/4: (2 + 1)/(1/4) = 12; |y*| = 2: (2 + 1/2)·4 = 10
    assert bounds.lemma_i1_expected_draws(2.0, 0.25) == pytest.approx(12.0, rel=1e-15)
    assert bounds.lemma_i1_expected_draws(2.0, 0.25, num_argmax=2) == pytest.approx(10.0, rel=1e-15)
    assert bounds.lemma_i1_expected_draws(1.0, 1.0) == pytest.approx(2.0, rel=1e-15)
    # P[miss] <= e^{-|y*| μ}: μ = 2, |y*| = 3 -> e^{-6}
    assert bounds.lemma_i1_miss_probability(2.0, 3) == pytest.approx(math.exp(-6), rel=1e-14)
    assert bounds.lemma_i1_miss_probability(math.log(2 / 0.1)) == pytest.approx(0.05, rel=1e-14)  # μ = ln(2/δ)


# ========================================================================= monotonicity
EPS_GRID = np.geomspace(1e-4, 0.9, 25)


@pytest.mark.parametrize("p", [1, 1.5, 3])
@pytest.mark.parametrize("adaptive", [False, True])
def test_lower_bound_is_decreasing_in_eps_and_increasing_in_C_and_log_size(p, adaptive):
    vals = [bounds.sft_lower_bound(5, 7, e, p=p, adaptive=adaptive) for e in EPS_GRID]
    assert all(a > b for a, b in itertools.pairwise(vals))
    cs = [bounds.sft_lower_bound(c, 7, 0.01, p=p, adaptive=adaptive) for c in (1, 2, 5, 20, 100)]
    assert all(a < b for a, b in itertools.pairwise(cs))
    sizes = [bounds.sft_lower_bound(5, s, 0.01, p=p, adaptive=adaptive) for s in (0.5, 1, 3, 10)]
    np.testing.assert_allclose(np.array(sizes) / np.array([0.5, 1, 3, 10]), sizes[0] / 0.5, rtol=1e-13)


@pytest.mark.parametrize("p", [1, 2, 4])
def test_lower_bound_exponents_one_plus_one_over_p_vs_one_over_p(p):
    # the ratio sample-and-evaluate / adaptive is exactly ε^{-1} (same log term), and halving ε
    # multiplies the log-free part by 2^{1+1/p} (resp. 2^{1/p})
    for eps in (0.3, 0.01, 1e-5):
        se = bounds.sft_lower_bound(3, 2, eps, p=p)
        ad = bounds.sft_lower_bound(3, 2, eps, p=p, adaptive=True)
        assert se / ad == pytest.approx(1 / eps, rel=1e-12)

    def log_free(eps, adaptive):
        log_term = 1 + math.log(3 * eps ** (-1 / p))
        return bounds.sft_lower_bound(3, 2, eps, p=p, adaptive=adaptive) * log_term

    for adaptive, exponent in ((False, 1 + 1 / p), (True, 1 / p)):
        ratio = log_free(0.01, adaptive) / log_free(0.02, adaptive)
        assert ratio == pytest.approx(2**exponent, rel=1e-12)


def test_lower_bound_p_to_infinity_approaches_eps_minus_one():
    # as p grows, ε^{1+1/p} -> ε: the bound's ε-exponent tends to 1 (log term to 1 + log C)
    eps = 1e-3
    big = bounds.sft_lower_bound(2, 1, eps, p=1e6)
    assert big == pytest.approx(2 / (eps * (1 + math.log(2))), rel=1e-4)


def test_upper_bounds_monotone_and_adaptive_saves_one_over_eps():
    ups = [bounds.sft_upper_bound(3, 2.0, e, delta=0.1, rho=0.1) for e in EPS_GRID]
    assert all(a > b for a, b in itertools.pairwise(ups))
    ads = [bounds.adaptive_sft_upper_bound(3, 2.0, e, delta=0.1, rho=0.1) for e in EPS_GRID]
    assert all(a > b for a, b in itertools.pairwise(ads))
    for e, u, a in zip(EPS_GRID, ups, ads):
        # 1/ε instead of 1/ε² (same C, log|Π|, δ, ρ, and both with the algorithms' log(2/δ))
        assert a / u == pytest.approx(e, rel=1e-12)
    deltas = np.linspace(0.01, 0.99, 30)  # log(2/δ)/δ is decreasing on (0, 1)
    ud = [bounds.sft_upper_bound(3, 2.0, 0.1, delta=d, rho=0.1) for d in deltas]
    assert all(a > b for a, b in itertools.pairwise(ud))
    rhos = np.linspace(0.01, 0.99, 30)
    ur = [bounds.sft_upper_bound(3, 2.0, 0.1, delta=0.1, rho=r) for r in rhos]
    assert all(a > b for a, b in itertools.pairwise(ur))
    # linear in the coverage
    three = bounds.sft_upper_bound(3, 2.0, 0.1, delta=0.1, rho=0.1)
    assert bounds.sft_upper_bound(6, 2.0, 0.1, delta=0.1, rho=0.1) == pytest.approx(2 * three, rel=1e-14)


def test_error_bounds_decrease_in_n_and_N_star():
    ns = [bounds.sft_error_bound(2, 3.0, n=n, N_star=10, delta=0.1, rho=0.1) for n in (10, 100, 1000)]
    assert ns[0] > ns[1] > ns[2] > 2 / 10  # tends to C/N* = 0.2
    Ns = [bounds.sft_error_bound(2, 3.0, n=100, N_star=k, delta=0.1, rho=0.1) for k in (1, 10, 100)]
    assert Ns[0] > Ns[1] > Ns[2]
    ad = [bounds.adaptive_sft_error_bound(3.0, n=n, delta=0.1, rho=0.1) for n in (10, 100, 1000)]
    assert ad[0] == pytest.approx(10 * ad[1], rel=1e-14) == pytest.approx(100 * ad[2], rel=1e-14)


def test_lemma_i1_monotone():
    draws = [bounds.lemma_i1_expected_draws(mu, 0.2) for mu in (0.1, 1, 5)]
    assert draws[0] < draws[1] < draws[2]
    miss = [bounds.lemma_i1_miss_probability(mu, 2) for mu in (0.1, 1, 5)]
    assert miss[0] > miss[1] > miss[2]
    assert bounds.lemma_i1_expected_draws(1, 0.1) == pytest.approx(2 * bounds.lemma_i1_expected_draws(1, 0.2))


# ============================================================ constants scale linearly
@pytest.mark.parametrize(
    "fn,args,kwargs",
    [
        (bounds.sft_lower_bound, (4, 10, 0.05), {}),
        (bounds.sft_lower_bound, (4, 10, 0.05), {"p": 2, "adaptive": True}),
        (bounds.sft_upper_bound, (4, 10, 0.05), {"delta": 0.2, "rho": 0.05}),
        (bounds.sft_error_bound, (4, 10), {"n": 50, "N_star": 7, "delta": 0.2, "rho": 0.05}),
        (bounds.adaptive_sft_upper_bound, (4, 10, 0.05), {"delta": 0.2, "rho": 0.05}),
        (bounds.adaptive_sft_error_bound, (10,), {"n": 50, "delta": 0.2, "rho": 0.05}),
    ],
)
def test_constant_scales_linearly(fn, args, kwargs):
    base = fn(*args, **kwargs)
    assert fn(*args, **kwargs, constant=1.0) == base  # default constant is 1
    for c in (0.25, 3.0, 1e3):
        assert fn(*args, **kwargs, constant=c) == pytest.approx(c * base, rel=1e-14)


# ============================================================================ errors
@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: bounds.sft_lower_bound(0.5, 10, 0.1), r"`C` must be >= 1"),
        (lambda: bounds.sft_lower_bound(2, 0, 0.1), r"`log_size` must be > 0"),
        (lambda: bounds.sft_lower_bound(2, 10, 0.1, p=0.5), r"`p` must be >= 1"),
        (lambda: bounds.sft_lower_bound(2, 10, 0.1, constant=0), r"`constant` must be > 0"),
        (lambda: bounds.sft_upper_bound(0.9, 10, 0.1, delta=0.1, rho=0.1), r"`coverage` must be >= 1"),
        (lambda: bounds.sft_upper_bound(2, -1, 0.1, delta=0.1, rho=0.1), r"`log_size` must be >= 0"),
        (lambda: bounds.sft_prescription(2, 1, 0.1, delta=0.1, rho=0.1, constant=-1), r"`constant` must be > 0"),
        (lambda: bounds.sft_error_bound(2, 1, n=0, N_star=1, delta=0.1, rho=0.1), r"`n` must be > 0"),
        (lambda: bounds.sft_error_bound(2, 1, n=5, N_star=0, delta=0.1, rho=0.1), r"`N_star` must be > 0"),
        (lambda: bounds.adaptive_sft_upper_bound(0.5, 1, 0.1, delta=0.1, rho=0.1), r"`adaptive_coverage` must be >= 1"),
        (lambda: bounds.adaptive_sft_error_bound(1, n=-3, delta=0.1, rho=0.1), r"`n` must be > 0"),
        (lambda: bounds.lemma_i1_expected_draws(2, 1.5), r"`p_star` must be a probability in \(0, 1\]"),
        (lambda: bounds.lemma_i1_expected_draws(2, 0.0), r"`p_star` must be > 0"),
        (lambda: bounds.lemma_i1_expected_draws(2, 0.5, num_argmax=0), r"`num_argmax` must be >= 1"),
        (lambda: bounds.lemma_i1_miss_probability(2, 0.5), r"`num_argmax` must be >= 1"),
        (lambda: bounds.sft_lower_bound(2, 10, float("nan")), r"`eps` must be finite"),
        (lambda: bounds.sft_upper_bound(2, float("inf"), 0.1, delta=0.1, rho=0.1), r"`log_size` must be finite"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numeric_arguments_raise_type_error():
    with pytest.raises(TypeError, match=r"`eps` must be a real number"):
        bounds.sft_lower_bound(2, 10, "small")
    with pytest.raises(TypeError, match=r"`C` must be a scalar"):
        bounds.sft_lower_bound([2, 3], 10, 0.1)


def test_xpo_alpha_formula_and_bad_input():
    root = math.sqrt((math.log(200.0) + 5.0) / 40.0)
    # the default is Alg 1's normalisation (square loss weighted 1), which algorithms.xpo minimises:
    # the proof's coefficient is the printed Thm J.1 α times (R_max + V_max)² = 25
    got = bounds.xpo_alpha(0.1, r_max=2.0, v_max=3.0, log_covering=5.0, sec=4.0, T=10, rho=0.1)
    assert math.isclose(got, 0.1 * 5.0 * root, rel_tol=1e-12)
    printed = bounds.xpo_alpha(0.1, r_max=2.0, v_max=3.0, log_covering=5.0, sec=4.0, T=10, rho=0.1, form="thm_j1")
    assert math.isclose(printed, 0.1 / 5.0 * root, rel_tol=1e-12)
    assert math.isclose(got / printed, 25.0, rel_tol=1e-12)
    with pytest.raises(ValueError, match="beta"):
        bounds.xpo_alpha(0.0, r_max=2.0, v_max=3.0, log_covering=5.0, sec=4.0, T=10, rho=0.1)
    with pytest.raises(ValueError, match="T"):
        bounds.xpo_alpha(0.1, r_max=2.0, v_max=3.0, log_covering=5.0, sec=4.0, T=0, rho=0.1)
    with pytest.raises(ValueError, match="`form` must be 'alg1'"):
        bounds.xpo_alpha(0.1, r_max=2.0, v_max=3.0, log_covering=5.0, sec=4.0, T=10, rho=0.1, form="paper")


def test_xpo_alpha_alg1_form_gives_the_proofs_minimiser():
    # Alg 1's objective with α_alg1 and the proof's L̂ (times α_J1/β) with α_J1 are proportional:
    # α_alg1 a + s  ==  (R+V)² (α_J1 a + s/(R+V)²) for any values a (Σ log π(y')) and s (Σ residual²)
    kw = dict(r_max=3.0, v_max=1.5, log_covering=7.0, sec=2.0, T=16, rho=0.2)
    a1 = bounds.xpo_alpha(0.2, **kw)
    aj = bounds.xpo_alpha(0.2, form="thm_j1", **kw)
    for a, sq in [(-3.0, 0.5), (-10.0, 2.0), (0.0, 1.0)]:
        assert a1 * a + sq == pytest.approx(4.5**2 * (aj * a + sq / 4.5**2), rel=1e-12)


def test_xpo_linear_defaults_follow_thm_j2_and_j3():
    # R_max of Thm J.3 at β = γ/(2 log(2|Y|/δ)); ε_disc = εδ/sqrt(SEC T) with SEC = d log(T + 1)
    d, B, Y, eps, T, gamma, delta, rho = 8, 2.0, 1000, 0.1, 99, 0.5, 0.2, 0.05
    beta = gamma / (2 * math.log(2 * Y / delta))
    r = math.sqrt(4 * beta**2 * B**2 + (2 * B + math.log(Y)) ** 2)
    assert bounds.xpo_linear_r_max(B, Y, beta) == pytest.approx(r, rel=1e-14)
    sec = d * math.log(T + 1)
    ed = eps * delta / math.sqrt(sec * T)
    assert bounds.xpo_eps_disc(eps, delta=delta, sec=sec, T=T) == pytest.approx(ed, rel=1e-14)
    got = bounds.xpo_linear_upper_bound(d, B, None, Y, eps, T=T, margin=gamma, delta=delta, rho=rho)
    want = bounds.xpo_upper_bound(r, sec, d * math.log(6 * B / ed), Y, eps, margin=gamma, delta=delta, rho=rho)
    assert got == pytest.approx(want, rel=1e-12)
    # the cap keeps ε_disc < 1 (the theorem's range) however large the constant
    assert bounds.xpo_eps_disc(0.5, delta=0.5, sec=0.01, T=1, constant=100.0) < 1.0
    with pytest.raises(ValueError, match="`sec` must be > 0"):
        bounds.xpo_eps_disc(0.1, delta=0.1, sec=0.0, T=1)
    with pytest.raises(ValueError, match="`radius` must be > 0"):
        bounds.xpo_linear_r_max(0.0, 10, 0.1)


def test_rlhf_upper_bound_by_hand():
    # C_conc = 4, C_loss = 10, log|Π| = 3, ε = 0.1, γ = 0.5, δ = 0.2, ρ = 0.05
    log_term = math.log(10) + 3 + math.log(20)
    expected = 4 * log_term**3 / (0.5**2 * 0.2**2 * 0.1**2)
    got = bounds.rlhf_upper_bound(4, 10, 3, 0.1, margin=0.5, delta=0.2, rho=0.05)
    assert got == pytest.approx(expected, rel=1e-12)
    assert bounds.rlhf_upper_bound(4, 10, 3, 0.1, margin=0.5, delta=0.2, rho=0.05, constant=3) == pytest.approx(3 * expected)
    # halving ε quadruples m; halving γ quadruples m
    assert bounds.rlhf_upper_bound(4, 10, 3, 0.05, margin=0.5, delta=0.2, rho=0.05) == pytest.approx(4 * expected)
    assert bounds.rlhf_upper_bound(4, 10, 3, 0.1, margin=0.25, delta=0.2, rho=0.05) == pytest.approx(4 * expected)


def test_rlhf_error_bound_by_hand():
    """Thm 4.2′: (sqrt(C_conc log³(C_loss|Π|/ρ)/n) + β log C_conc + γ)/(γ_margin δ), where γ is the
    tolerance of y*_γ (0 gives Thm 4.2), not the margin."""
    log_term = math.log(2) + 1 + math.log(10)
    stat = math.sqrt(3 * log_term**3 / 100) + 0.01 * math.log(3)
    got = bounds.rlhf_error_bound(3, 2, 1, n=100, beta=0.01, margin=0.4, delta=0.5, rho=0.1)
    assert got == pytest.approx(stat / (0.4 * 0.5), rel=1e-12)
    got = bounds.rlhf_error_bound(3, 2, 1, n=100, beta=0.01, margin=0.4, delta=0.5, rho=0.1, gamma=0.2)
    assert got == pytest.approx((stat + 0.2) / (0.4 * 0.5), rel=1e-12)
    # the bound is below 1 once n is large and β small (γ = 0): it no longer contains γ_margin/γ_margin
    big_n = bounds.rlhf_error_bound(3, 2, 1, n=1e7, beta=1e-4, margin=0.4, delta=0.5, rho=0.1)
    assert big_n < 0.1
    # it decreases like n^(-1/2) in its first term: 100x n divides the statistical part by 10
    a = bounds.rlhf_error_bound(3, 2, 1, n=1e4, beta=1e-12, margin=0.4, delta=0.5, rho=0.1)
    b = bounds.rlhf_error_bound(3, 2, 1, n=1e6, beta=1e-12, margin=0.4, delta=0.5, rho=0.1)
    assert a / b == pytest.approx(10.0, rel=1e-6)
    with pytest.raises(ValueError, match="`gamma`"):
        bounds.rlhf_error_bound(3, 2, 1, n=100, beta=0.01, margin=0.4, delta=0.5, rho=0.1, gamma=1.0)


def test_betas():
    assert bounds.rlhf_beta(0.5, eps=0.1, delta=0.2) == pytest.approx(0.01)
    assert bounds.xpo_beta(0.5, 100, delta=0.1) == pytest.approx(0.5 / (2 * math.log(2000)))


def test_xpo_bounds_by_hand_and_no_coverage():
    got = bounds.xpo_upper_bound(5.0, 7.0, 11.0, 1000, 0.1, margin=0.5, delta=0.2, rho=0.05)
    expected = 25 * 7 * (11 + math.log(20)) * math.log(1000 / 0.2) ** 2 / (0.25 * 0.01 * 0.04)
    assert got == pytest.approx(expected, rel=1e-12)
    lin = bounds.xpo_linear_upper_bound(8, 2.0, 5.0, 1000, 0.1, T=99, margin=0.5, delta=0.2, rho=0.05, eps_disc=0.01)
    sec, log_cov = 8 * math.log(100), 8 * math.log(6 * 2.0 / 0.01)
    assert lin == pytest.approx(bounds.xpo_upper_bound(5.0, sec, log_cov, 1000, 0.1, margin=0.5, delta=0.2, rho=0.05))
    # polynomial in d: doubling d at most quadruples the bound (SEC and log N are both linear in d)
    lin2 = bounds.xpo_linear_upper_bound(16, 2.0, 5.0, 1000, 0.1, T=99, margin=0.5, delta=0.2, rho=0.05, eps_disc=0.01)
    assert lin2 <= 4 * lin * (1 + 1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: bounds.rlhf_upper_bound(0.5, 1, 1, 0.1, margin=0.5, delta=0.1, rho=0.1), "`C_conc`"),
        (lambda: bounds.rlhf_upper_bound(1, 1, 1, 0.1, margin=0.0, delta=0.1, rho=0.1), "`margin`"),
        (lambda: bounds.rlhf_error_bound(1, 1, 1, n=10, beta=0.0, margin=0.5, delta=0.1, rho=0.1), "`beta`"),
        (lambda: bounds.xpo_upper_bound(1, 1, 1, 10, 1.5, margin=0.5, delta=0.1, rho=0.1), "`eps`"),
        (lambda: bounds.xpo_beta(0.5, 0, delta=0.1), "`num_responses`"),
        (lambda: bounds.xpo_linear_upper_bound(0, 1, 1, 10, 0.1, T=1, margin=0.5, delta=0.1, rho=0.1), "`dim`"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ============================================================ ε, δ, ρ outside (0, 1)
OUTSIDE = [0.0, 1.0, -0.1, 1.5]

BOUND_CALLS = {
    # name of the argument -> calls with that argument set to `value`
    "eps": [
        lambda e: bounds.sft_lower_bound(2, 3, e),
        lambda e: bounds.sft_lower_bound(2, 3, e, adaptive=True),
        lambda e: bounds.sft_upper_bound(2, 3, e, delta=0.1, rho=0.1),
        lambda e: bounds.sft_prescription(2, 3, e, delta=0.1, rho=0.1),
        lambda e: bounds.adaptive_sft_upper_bound(2, 3, e, delta=0.1, rho=0.1),
    ],
    "delta": [
        lambda d: bounds.sft_upper_bound(2, 3, 0.1, delta=d, rho=0.1),
        lambda d: bounds.sft_prescription(2, 3, 0.1, delta=d, rho=0.1),
        lambda d: bounds.sft_error_bound(2, 3, n=10, N_star=5, delta=d, rho=0.1),
        lambda d: bounds.adaptive_sft_upper_bound(2, 3, 0.1, delta=d, rho=0.1),
        lambda d: bounds.adaptive_sft_error_bound(3, n=10, delta=d, rho=0.1),
    ],
    "rho": [
        lambda r: bounds.sft_upper_bound(2, 3, 0.1, delta=0.1, rho=r),
        lambda r: bounds.sft_prescription(2, 3, 0.1, delta=0.1, rho=r),
        lambda r: bounds.sft_error_bound(2, 3, n=10, N_star=5, delta=0.1, rho=r),
        lambda r: bounds.adaptive_sft_upper_bound(2, 3, 0.1, delta=0.1, rho=r),
        lambda r: bounds.adaptive_sft_error_bound(3, n=10, delta=0.1, rho=r),
    ],
}


@pytest.mark.parametrize("name", sorted(BOUND_CALLS))
@pytest.mark.parametrize("value", OUTSIDE)
def test_levels_outside_open_unit_interval_in_bounds(name, value):
    for call in BOUND_CALLS[name]:
        with pytest.raises(ValueError, match=rf"`{name}` must lie in \(0, 1\); got {value}"):
            call(value)


# ==================================================== Thm 4.1's n, Thm D.1's μ, the margin lemma's β
def test_sft_num_prompts_is_the_n_of_the_prescription():
    # n = ⌈2 ln 10 / (0.1 · 0.1)⌉ = 461, as in test_sft_prescription_by_hand; constant 2: 922
    assert bounds.sft_num_prompts(LN10, 0.1, delta=0.1, rho=0.1) == 461
    assert bounds.sft_num_prompts(LN10, 0.1, delta=0.1, rho=0.1, constant=2) == 922
    assert bounds.sft_num_prompts(0.0, 0.9, delta=0.9, rho=0.99) == 1  # floored at one prompt
    # a fractional constant scales before rounding up: ⌈0.5 · 460.517⌉ = ⌈230.26⌉ = 231
    assert bounds.sft_num_prompts(LN10, 0.1, delta=0.1, rho=0.1, constant=0.5) == 231
    for cov, log_size, eps, delta in [(3.0, 7.0, 0.05, 0.2), (1.0, 0.5, 0.3, 0.01)]:
        n, _ = bounds.sft_prescription(cov, log_size, eps, delta=delta, rho=0.1)
        assert bounds.sft_num_prompts(log_size, eps, delta=delta, rho=0.1) == n


def test_adaptive_stop_level_thm_d_1():
    # μ = ln(2/δ): δ = 0.1 gives ln 20; δ = 1/2 gives ln 4; the kept response misses y* w.p. ≤ e^{-μ} = δ/2
    assert bounds.adaptive_stop_level(0.1) == math.log(20.0)
    assert bounds.adaptive_stop_level(0.5) == math.log(4.0)
    assert bounds.lemma_i1_miss_probability(bounds.adaptive_stop_level(0.2)) == pytest.approx(0.1, rel=1e-14)


def test_margin_lemma_beta_caps_the_margin_at_the_proof_range():
    # γ₀ is the positive root of log(1 + γ) = γ/2
    g0 = bounds.MARGIN_LEMMA_MAX_GAMMA
    assert math.log1p(g0) == pytest.approx(g0 / 2, abs=1e-15)
    assert math.log1p(g0 * (1 - 1e-9)) > g0 * (1 - 1e-9) / 2 and math.log1p(g0 * (1 + 1e-9)) < g0 * (1 + 1e-9) / 2
    # below γ₀ it is Thm 4.3's β = γ/(2 log(2|Y|/δ)): γ = 0.5, |Y| = 100, δ = 0.1 → 0.5/(2 ln 2000)
    assert bounds.margin_lemma_beta(0.5, 100, delta=0.1) == bounds.xpo_beta(0.5, 100, delta=0.1)
    assert bounds.margin_lemma_beta(0.5, 100, delta=0.1) == pytest.approx(0.5 / (2 * math.log(2000)), rel=1e-15)
    # above γ₀ (and for an infinite margin) the margin is used at γ₀
    for big in (3.0, 100.0, math.inf):
        assert bounds.margin_lemma_beta(big, 100, delta=0.1) == bounds.xpo_beta(g0, 100, delta=0.1)
    assert bounds.margin_lemma_beta(0.0, 100, delta=0.1) == 0.0  # no margin: the lemma says nothing


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: bounds.margin_lemma_beta(-0.1, 10, delta=0.1), "`margin`"),
        (lambda: bounds.margin_lemma_beta(math.nan, 10, delta=0.1), "`margin`"),
        (lambda: bounds.margin_lemma_beta(0.5, 0, delta=0.1), "`num_responses`"),
        (lambda: bounds.margin_lemma_beta(0.5, 10, delta=1.0), "`delta`"),
        (lambda: bounds.adaptive_stop_level(0.0), "`delta`"),
        (lambda: bounds.sft_num_prompts(1.0, 0.1, delta=0.1, rho=1.5), "`rho`"),
        (lambda: bounds.sft_num_prompts(-1.0, 0.1, delta=0.1, rho=0.1), "`log_size`"),
        (lambda: bounds.sft_num_prompts(1.0, 0.1, delta=0.1, rho=0.1, constant=0), "`constant`"),
    ],
)
def test_new_bounds_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_margin_lemma_beta_non_numeric_margin_is_a_type_error():
    with pytest.raises(TypeError, match="`margin`"):
        bounds.margin_lemma_beta([0.5, 1.0], 10, delta=0.1)
    with pytest.raises(TypeError, match="`margin`"):
        bounds.margin_lemma_beta(True, 10, delta=0.1)
