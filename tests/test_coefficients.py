"""Unit tests for sharpsim.coefficients (Eq 6 and its variants; theory/eq6_coverage.md).

Tiny tables whose coefficients are worked out by hand in the test (the arithmetic is written
out), high-precision cases checked against closed forms in ``decimal`` arithmetic (50 digits),
and differential tests against slow NumPy loops on random problems with exact ties.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest

import sharpsim as ss
from sharpsim import problems
from sharpsim.coefficients import argmax_mass

getcontext().prec = 50

# A 2x3 table: prompt 0 has a unique arg-max, prompt 1 a tied arg-max {0, 1}.
BASE = [[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]]
MU = [0.25, 0.75]
# A model π used for C_π, C_{π/π';β} and C_cov(π); its arg-max is {0} on both prompts.
PI = [[0.8, 0.2, 0.0], [0.5, 0.25, 0.25]]


@pytest.fixture(scope="module")
def hand():
    return problems.from_probs(BASE, MU)


# ============================================================================ coverage
def test_coverage_by_hand(hand):
    # y*(x0) = {0} with mass 0.5, y*(x1) = {0, 1} with mass 0.4 + 0.4 = 0.8
    assert ss.coverage(hand) == pytest.approx(0.25 / 0.5 + 0.75 / 0.8, rel=1e-14)  # 1.4375


def test_gamma_coverage_by_hand(hand):
    # γ = 0.45: thresholds 0.55·0.5 = 0.275 (x0: {0,1}, mass 0.8) and 0.55·0.4 = 0.22 (x1: {0,1}, 0.8)
    assert ss.coverage(hand, gamma=0.45) == pytest.approx(0.25 / 0.8 + 0.75 / 0.8, rel=1e-14)  # 1.25
    # γ = 0.5: x1's threshold is exactly 0.5·0.4 = 0.2, and y ≥ threshold is inclusive -> all of x1
    assert ss.coverage(hand, gamma=0.5) == pytest.approx(0.25 / 0.8 + 0.75 / 1.0, rel=1e-14)  # 1.0625
    # γ = 0.7: thresholds 0.15 and 0.12 admit everything
    assert ss.coverage(hand, gamma=0.7) == pytest.approx(1.0, rel=1e-14)


def test_p_coverage_by_hand(hand):
    # C_cov,0,2 = (0.25·0.5^-2 + 0.75·0.8^-2)^(1/2) = (1 + 1.171875)^(1/2)
    assert ss.coverage(hand, p=2) == pytest.approx(math.sqrt(0.25 / 0.5**2 + 0.75 / 0.8**2), rel=1e-14)
    # γ = 0.45 makes both masses 0.8, so every p gives 1/0.8
    assert ss.coverage(hand, gamma=0.45, p=3) == pytest.approx(1.25, rel=1e-14)
    assert ss.coverage(hand, p=1.5) == pytest.approx(
        (0.25 * 0.5**-1.5 + 0.75 * 0.8**-1.5) ** (1 / 1.5), rel=1e-14
    )


def test_coverage_of_a_model_uses_its_own_argmax(hand):
    # π's arg-max: x0 {0} with mass 0.8, x1 {0} with mass 0.5 (not the base's {0, 1})
    assert ss.coverage(hand, policy=PI) == pytest.approx(0.25 / 0.8 + 0.75 / 0.5, rel=1e-14)  # 1.8125
    # γ = 0.5: x0 threshold 0.4 -> {0} (0.8); x1 threshold 0.25 -> {0,1,2} (1.0)
    assert ss.coverage(hand, policy=PI, gamma=0.5) == pytest.approx(0.25 / 0.8 + 0.75 / 1.0, rel=1e-14)
    # a TabularPolicy is accepted as well as an array
    assert ss.coverage(hand, policy=ss.TabularPolicy.from_probs(PI)) == pytest.approx(1.8125, rel=1e-14)


def test_argmax_mass_by_hand(hand):
    np.testing.assert_allclose(np.asarray(argmax_mass(hand)), [math.log(0.5), math.log(0.8)], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(argmax_mass(hand, gamma=0.45)), [math.log(0.8)] * 2, rtol=1e-14)


def test_adaptive_coverage_by_hand(hand):
    # C̄_cov = E_μ[1 / max_y π(y|x)] = 0.25/0.5 + 0.75/0.4 (ties do not add up here)
    assert ss.adaptive_coverage(hand) == pytest.approx(0.25 / 0.5 + 0.75 / 0.4, rel=1e-14)  # 2.375


# ============================================================================== margin
def test_margin_by_hand(hand):
    # x0: 0.5 / 0.3 - 1 = 2/3; x1: the tied arg-max 0.4 against 0.2: 0.4/0.2 - 1 = 1; min = 2/3
    assert ss.margin(hand) == pytest.approx(0.5 / 0.3 - 1, rel=1e-12)


def test_margin_with_tied_non_maximal_levels():
    pr = problems.from_probs([[0.4, 0.2, 0.2, 0.2]])
    assert ss.margin(pr) == pytest.approx(0.4 / 0.2 - 1, rel=1e-12)  # 1


def test_margin_is_inf_without_competitors():
    # one-hot rows (competitors have probability 0) and all-tied rows have no y' ∉ y*
    assert ss.margin(problems.from_probs([[0.0, 1.0, 0.0]])) == math.inf
    assert ss.margin(problems.from_probs([[1 / 3] * 3])) == math.inf
    assert ss.margin(problems.from_probs([[0.5, 0.5, 0.0]])) == math.inf


# ============================================================================== R_max
def test_r_max_by_hand(hand):
    assert ss.r_max(hand) == pytest.approx(math.log(1 / 0.2), rel=1e-14)


def test_r_max_is_inf_with_zero_probability_in_support():
    assert ss.r_max(problems.from_probs([[0.7, 0.3, 0.0]])) == math.inf


# ===================================================================== concentrability
def test_concentrability_by_hand(hand):
    # C_π = Σ_x μ(x) Σ_y π(y|x)^2 / π_base(y|x)
    x0 = 0.8**2 / 0.5 + 0.2**2 / 0.3 + 0.0  # 1.28 + 0.1333…
    x1 = 0.5**2 / 0.4 + 0.25**2 / 0.4 + 0.25**2 / 0.2  # 0.625 + 0.15625 + 0.3125
    assert ss.concentrability(hand, PI) == pytest.approx(0.25 * x0 + 0.75 * x1, rel=1e-14)
    # π = π_base gives exactly 1
    assert ss.concentrability(hand, BASE) == pytest.approx(1.0, rel=1e-14)


def test_concentrability_inf_when_model_leaves_base_support():
    pr = problems.from_probs([[0.5, 0.5, 0.0]])
    assert ss.concentrability(pr, [[0.5, 0.25, 0.25]]) == math.inf


def test_power_concentrability_by_hand(hand):
    b = 0.5
    # C_{π/π_base;β} = Σ_x μ(x) Σ_y π(y|x) (π(y|x)/π_base(y|x))^β
    x0 = 0.8 * (0.8 / 0.5) ** b + 0.2 * (0.2 / 0.3) ** b
    x1 = 0.5 * (0.5 / 0.4) ** b + 0.25 * (0.25 / 0.4) ** b + 0.25 * (0.25 / 0.2) ** b
    assert ss.power_concentrability(hand, PI, BASE, beta=b) == pytest.approx(0.25 * x0 + 0.75 * x1, rel=1e-14)
    # β = 1 is C_π
    assert ss.power_concentrability(hand, PI, BASE, beta=1.0) == pytest.approx(
        ss.concentrability(hand, PI), rel=1e-14
    )


def test_power_concentrability_reversed_ratio_and_support():
    # base against π: x0 puts 0.2 where π has 0 -> inf; with μ(x0) = 0 it is finite
    pr = problems.from_probs(BASE, MU)
    assert ss.power_concentrability(pr, BASE, PI, beta=0.3) == math.inf
    pr1 = problems.from_probs(BASE, [0.0, 1.0])
    b = 0.3
    expected = 0.4 * (0.4 / 0.5) ** b + 0.4 * (0.4 / 0.25) ** b + 0.2 * (0.2 / 0.25) ** b
    assert ss.power_concentrability(pr1, BASE, PI, beta=b) == pytest.approx(expected, rel=1e-14)


# ======================================================== prompts with zero mass under μ
def test_zero_mass_prompts_are_ignored():
    # the third prompt has a near-tie (margin 0.002) and a zero entry (R_max = inf) but μ = 0
    pr = problems.from_probs(BASE + [[0.5005, 0.4995, 0.0]], MU + [0.0])
    assert ss.coverage(pr) == pytest.approx(0.25 / 0.5 + 0.75 / 0.8, rel=1e-14)
    assert ss.adaptive_coverage(pr) == pytest.approx(0.25 / 0.5 + 0.75 / 0.4, rel=1e-14)
    assert ss.margin(pr) == pytest.approx(0.5 / 0.3 - 1, rel=1e-12)
    assert ss.r_max(pr) == pytest.approx(math.log(5.0), rel=1e-14)
    # the model may do anything on the zero-mass prompt, even leave the base's support
    pi = PI + [[0.0, 0.0, 1.0]]
    x0 = 0.8**2 / 0.5 + 0.2**2 / 0.3
    x1 = 0.5**2 / 0.4 + 0.25**2 / 0.4 + 0.25**2 / 0.2
    assert ss.concentrability(pr, pi) == pytest.approx(0.25 * x0 + 0.75 * x1, rel=1e-14)


# ====================================================================== ties and edges
def test_ties_within_tolerance_count_as_one_arg_max_set():
    a = 0.45
    row = [a, a * (1 - 1e-12), 1 - a - a * (1 - 1e-12)]
    pr = problems.from_probs([row])
    assert ss.coverage(pr) == pytest.approx(1 / (a + a * (1 - 1e-12)), rel=1e-14)
    assert ss.margin(pr) == pytest.approx(a / row[2] - 1, rel=1e-12)
    assert ss.adaptive_coverage(pr) == pytest.approx(1 / a, rel=1e-14)


@pytest.mark.parametrize(
    "row",
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5]],
)
def test_edge_rows_never_give_nan(row):
    pr = problems.from_probs([row])
    values = [
        ss.coverage(pr),
        ss.coverage(pr, gamma=0.5, p=2),
        ss.adaptive_coverage(pr),
        ss.margin(pr),
        ss.r_max(pr),
        ss.concentrability(pr, [row]),
        ss.power_concentrability(pr, [row], [[1 / 3] * 3], beta=1.0),
        ss.coverage(pr, policy=[[1 / 3] * 3]),
    ]
    assert not any(math.isnan(x) for x in values)
    k = sum(1 for p in row if p == max(row))
    assert values[0] == pytest.approx(1 / (k * max(row)), rel=1e-14)  # = 1 for all these rows
    assert values[5] == pytest.approx(1.0, rel=1e-14)
    # Σ_y π (π / (1/3)) = 3 Σ π^2
    assert values[6] == pytest.approx(3 * sum(p * p for p in row), rel=1e-14)
    assert values[7] == pytest.approx(1.0, rel=1e-14)


# ============================================================================ precision
def test_coverage_of_nearly_deterministic_row_over_1e5_responses():
    Y = 100_000
    row = np.full(Y, 1e-12 / (Y - 1))
    row[123] = 1 - 1e-12
    pr = problems.from_probs(row[None])
    top = Decimal(row[123])  # the exact binary value the library received
    assert ss.coverage(pr) == pytest.approx(float(1 / top), rel=1e-15)
    assert ss.adaptive_coverage(pr) == pytest.approx(float(1 / top), rel=1e-15)
    # R_max = log(1/π_min) with π_min = 1e-12 / 99999
    assert ss.r_max(pr) == pytest.approx(math.log(99_999) + 12 * math.log(10), rel=1e-12)
    # margin: (1 - 1e-12) / (1e-12 / 99999) - 1 ≈ 1e17
    assert ss.margin(pr) == pytest.approx(float(top / Decimal(row[0]) - 1), rel=1e-10)


def test_coverage_of_near_uniform_row_over_1e5_responses():
    # y* has 2e-5, the other 99999 responses share 1 - 2e-5: C_cov = 5e4
    Y = 100_000
    rest = (1 - 2e-5) / (Y - 1)
    row = np.full(Y, rest)
    row[0] = 2e-5
    pr = problems.from_probs(row[None])
    assert ss.coverage(pr) == pytest.approx(5e4, rel=1e-12)
    assert ss.margin(pr) == pytest.approx(2e-5 / rest - 1, rel=1e-9)
    # γ = 0.6: threshold 0.8e-5 < rest ≈ 1e-5, so the whole row -> coverage 1
    assert ss.coverage(pr, gamma=0.6) == pytest.approx(1.0, rel=1e-12)


def test_coverage_with_tiny_prompt_mass():
    # μ = (1e-12, 1 - 1e-12); prompt 0 has π(y*) = 2e-5 (the other 99999 responses share
    # 1 - 2e-5 evenly), prompt 1 has π(y*) = 0.5
    Y = 100_000
    row0 = np.full(Y, (1 - 2e-5) / (Y - 1))
    row0[7] = 2e-5
    row1 = np.zeros(Y)
    row1[:2] = [0.5, 0.3]
    row1[2:] = 0.2 / (Y - 2)
    mu = np.array([1e-12, 1 - 1e-12])
    pr = problems.from_probs(np.stack([row0, row1]), mu)
    expected = Decimal(mu[0]) / Decimal(row0[7]) + Decimal(mu[1]) / Decimal("0.5")
    assert ss.coverage(pr) == pytest.approx(float(expected), rel=1e-12)


def test_concentrability_with_tiny_base_probability():
    # π puts 0.5 where the base has 1e-12: that response alone contributes 0.25 / 1e-12
    base = [[1 - 1e-12, 1e-12]]
    pi = [[0.5, 0.5]]
    pr = problems.from_probs(base)
    expected = Decimal("0.25") / Decimal(base[0][0]) + Decimal("0.25") / Decimal(base[0][1])
    assert ss.concentrability(pr, pi) == pytest.approx(float(expected), rel=1e-12)
    # C_{π/π_base; β} with β = 1e-3: 0.5 (0.5/(1-1e-12))^β + 0.5 (0.5/1e-12)^β
    b = Decimal("0.001")
    e = (
        Decimal("0.5") * (Decimal("0.5") / Decimal(base[0][0])) ** b
        + Decimal("0.5") * (Decimal("0.5") / Decimal(base[0][1])) ** b
    )
    assert ss.power_concentrability(pr, pi, base, beta=1e-3) == pytest.approx(float(e), rel=1e-12)


# ============================================================ differential (NumPy loops)
def _random_problem(seed, X=4, Y=7):
    """Integer weights (exact ties happen often), some zero entries, μ with a zero."""
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 5, size=(X, Y)).astype(float)
    w[:, 0] += 1  # no empty row
    probs = w / w.sum(axis=1, keepdims=True)
    mu = rng.integers(0, 3, size=X).astype(float)
    mu[0] += 1
    mu /= mu.sum()
    return probs, mu


def _ref_set(row, gamma):
    return [y for y in range(len(row)) if row[y] >= (1 - gamma) * (1 - 1e-9) * max(row)]


def ref_coverage(probs, mu, gamma=0.0, p=1.0):
    s = 0.0
    for x in range(len(mu)):
        if mu[x] > 0:
            mass = sum(probs[x][y] for y in _ref_set(probs[x], gamma))
            s += mu[x] * mass ** (-p)
    return s ** (1 / p)


def ref_margin(probs, mu):
    out = math.inf
    for x in range(len(mu)):
        if mu[x] == 0:
            continue
        top = max(probs[x])
        others = [probs[x][y] for y in range(len(probs[x])) if y not in _ref_set(probs[x], 0.0)]
        others = [q for q in others if q > 0]
        if others:
            out = min(out, top / max(others) - 1)
    return out


def ref_power_ratio(pi, ref, mu, beta):
    s = 0.0
    for x in range(len(mu)):
        if mu[x] == 0:
            continue
        for y in range(pi.shape[1]):
            if pi[x, y] > 0:
                s += mu[x] * pi[x, y] * (pi[x, y] / ref[x, y]) ** beta if ref[x, y] > 0 else math.inf
    return s


# six seeds by default; 100 more with --runslow
@pytest.mark.parametrize(
    "seed", [*range(6), *(pytest.param(s, marks=pytest.mark.slow) for s in range(6, 106))]
)
def test_coefficients_match_numpy_reference(seed):
    probs, mu = _random_problem(seed)
    pr = problems.from_probs(probs, mu)
    for gamma in (0.0, 0.3, 0.75):
        for p in (1.0, 2.5):
            assert ss.coverage(pr, gamma=gamma, p=p) == pytest.approx(
                ref_coverage(probs, mu, gamma, p), rel=1e-12
            )
    sup = mu > 0
    assert ss.adaptive_coverage(pr) == pytest.approx(
        float(np.sum(mu[sup] / probs[sup].max(axis=1))), rel=1e-12
    )
    assert ss.margin(pr) == pytest.approx(ref_margin(probs, mu), rel=1e-12)
    with np.errstate(divide="ignore"):
        expected_rmax = max((-np.log(probs[x])).max() for x in range(len(mu)) if mu[x] > 0)
    assert ss.r_max(pr) == pytest.approx(expected_rmax, rel=1e-12)
    # a model that stays inside the base's support, and one that may not
    rng = np.random.default_rng(100 + seed)
    pi = probs * rng.uniform(0.5, 1.5, size=probs.shape)
    pi /= pi.sum(axis=1, keepdims=True)
    assert ss.concentrability(pr, pi) == pytest.approx(ref_power_ratio(pi, probs, mu, 1.0), rel=1e-12)
    for beta in (0.1, 2.0):
        assert ss.power_concentrability(pr, pi, probs, beta=beta) == pytest.approx(
            ref_power_ratio(pi, probs, mu, beta), rel=1e-12
        )
        assert ss.power_concentrability(pr, probs, pi, beta=beta) == pytest.approx(
            ref_power_ratio(probs, pi, mu, beta), rel=1e-12
        )
    wild = rng.dirichlet(np.ones(probs.shape[1]), size=probs.shape[0])
    assert ss.concentrability(pr, wild) == pytest.approx(ref_power_ratio(wild, probs, mu, 1.0), rel=1e-12)
    assert ss.coverage(pr, policy=wild, gamma=0.2) == pytest.approx(ref_coverage(wild, mu, 0.2), rel=1e-12)
