"""Unit tests for sharpsim.laws: the best-of-N law and sampler, π*_β, the sharpening error.

Expected values are hand-computed in the test (``F(v)^N - F(v-)^N`` split among ties, written
out), closed forms in ``decimal`` arithmetic (50 digits) or ``math.log1p``/``expm1``, or slow
NumPy loops. Statistical tests use a chi-square test at level 1e-6 (false-failure probability
about 1e-6 each; cells with expected count < 5 are merged).
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _stats import chi_square_pvalue

import sharpsim as ss
from sharpsim import classes, problems

getcontext().prec = 50
ALPHA = 1e-6  # false-failure probability of each chi-square test

# Rows (zero-padded to 5 responses):
#   A: distinct levels;  B: tied arg-max;  C: tied non-maximal level and a zero;
#   D: unsorted, with a zero first.
ROWS = [
    [0.5, 0.3, 0.2, 0.0, 0.0],
    [0.4, 0.4, 0.2, 0.0, 0.0],
    [0.4, 0.2, 0.2, 0.2, 0.0],
    [0.0, 0.1, 0.6, 0.3, 0.0],
]
# π^BoN_N(y) = (F(v)^N - F(v-)^N) / k_v, worked out by hand
BON2 = [
    [1 - 0.5**2, 0.5**2 - 0.2**2, 0.2**2, 0.0, 0.0],  # [0.75, 0.21, 0.04, 0, 0]
    [(1 - 0.2**2) / 2, (1 - 0.2**2) / 2, 0.2**2, 0.0, 0.0],  # [0.48, 0.48, 0.04, 0, 0]
    [1 - 0.6**2, 0.6**2 / 3, 0.6**2 / 3, 0.6**2 / 3, 0.0],  # [0.64, 0.12, 0.12, 0.12, 0]
    [0.0, 0.1**2, 1 - 0.4**2, 0.4**2 - 0.1**2, 0.0],  # [0, 0.01, 0.84, 0.15, 0]
]
BON3 = [
    [1 - 0.5**3, 0.5**3 - 0.2**3, 0.2**3, 0.0, 0.0],  # [0.875, 0.117, 0.008, 0, 0]
    [(1 - 0.2**3) / 2, (1 - 0.2**3) / 2, 0.2**3, 0.0, 0.0],  # [0.496, 0.496, 0.008, 0, 0]
    [1 - 0.6**3, 0.6**3 / 3, 0.6**3 / 3, 0.6**3 / 3, 0.0],  # [0.784, 0.072 x 3, 0]
    [0.0, 0.1**3, 1 - 0.4**3, 0.4**3 - 0.1**3, 0.0],  # [0, 0.001, 0.936, 0.063, 0]
]


@pytest.fixture(scope="module")
def rows():
    return problems.from_probs(ROWS)


# ============================================================================= BoN law
def test_bon_law_n2_n3_by_hand(rows):
    np.testing.assert_allclose(np.asarray(ss.bon_law(rows, 2).probs), BON2, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(np.asarray(ss.bon_law(rows, 3).probs), BON3, rtol=1e-13, atol=1e-16)


def test_bon_law_zero_probability_responses_get_exactly_zero(rows):
    law = np.asarray(ss.bon_law(rows, 7).log_probs)
    assert np.all(law[np.asarray(ROWS) == 0.0] == -np.inf)


def test_bon_law_n1_is_the_base(rows):
    np.testing.assert_allclose(np.asarray(ss.bon_law(rows, 1).probs), ROWS, rtol=1e-13, atol=1e-16)


def test_bon_law_per_prompt_n(rows):
    law = np.asarray(ss.bon_law(rows, np.array([2, 3, 1, 2])).probs)
    np.testing.assert_allclose(law, [BON2[0], BON3[1], ROWS[2], BON2[3]], rtol=1e-13, atol=1e-16)


def test_bon_law_accepts_integer_valued_float_and_numpy_int(rows):
    np.testing.assert_allclose(np.asarray(ss.bon_law(rows, 2.0).probs), BON2, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(np.asarray(ss.bon_law(rows, np.int64(3)).probs), BON3, rtol=1e-13, atol=1e-16)


def test_bon_law_ties_within_tolerance_split_evenly():
    a = 0.45
    b = a * (1 - 1e-12)
    c = 1 - a - b
    law = np.asarray(ss.bon_law(problems.from_probs([[a, b, c]]), 2).probs)[0]
    # {a, b} is one level: F = 1, F- = c -> each gets (1 - c^2)/2, even though a ≠ b
    np.testing.assert_allclose(law, [(1 - c**2) / 2, (1 - c**2) / 2, c**2], rtol=1e-12)


def test_bon_law_of_autoregressive_problem_by_hand():
    # Prop 3.1 instance: joint law (0.3, 0.3, 0.4, 0); N = 2: the 0.3-level has F = 0.6
    law = np.asarray(ss.bon_law(problems.prop31_tightness(), 2).probs)[0]
    np.testing.assert_allclose(law, [0.36 / 2, 0.36 / 2, 1 - 0.36, 0.0], rtol=1e-13, atol=1e-16)


def test_bon_law_is_traceable_and_compiles_once_across_n(rows):
    traces = []

    @jax.jit
    def law(N):
        traces.append(None)
        return ss.bon_law(rows, N).probs

    np.testing.assert_allclose(np.asarray(law(2)), BON2, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(np.asarray(law(3)), BON3, rtol=1e-13, atol=1e-16)
    assert len(traces) == 1


# ----------------------------------------------------------------------- BoN precision
def test_bon_law_nearly_deterministic_row_over_1e5_responses():
    Y = 100_000
    row = np.full(Y, 1e-12 / (Y - 1))
    row[5] = 1 - 1e-12
    pr = problems.from_probs(row[None])
    tail = Decimal(math.fsum(row[row < 0.5])) / Decimal(math.fsum(row))  # F(v) of the tied tail level
    for N in (1, 2, 3):
        law = np.asarray(ss.bon_law(pr, N).probs)[0]
        # each tail response: F^N / 99999; the top: 1 - F^N
        assert law[0] == pytest.approx(float(tail**N / (Y - 1)), rel=1e-9)
        assert law[5] == pytest.approx(float(1 - tail**N), rel=1e-15)
        assert not np.isnan(law).any()
    for N in (10**12, 10**15):
        law = np.asarray(ss.bon_law(pr, N).probs)[0]
        assert law[5] == 1.0 and np.all(np.delete(law, 5) == 0.0)


@pytest.mark.parametrize("N", [1, 2, 1000, 10**5, 10**6])
def test_bon_law_near_uniform_row_over_1e5_responses(N):
    # y* has p = 2e-5, the other 99999 responses share 1 - p (one tied level)
    Y = 100_000
    p = 2e-5
    row = np.full(Y, (1 - p) / (Y - 1))
    row[0] = p
    pr = problems.from_probs(row[None])
    law = np.asarray(ss.bon_law(pr, N).probs)[0]
    # closed forms with log1p/expm1: P(y*) = 1 - (1-p)^N, each other = (1-p)^N / 99999
    assert law[0] == pytest.approx(-math.expm1(N * math.log1p(-p)), rel=1e-10)
    assert law[1] == pytest.approx(math.exp(N * math.log1p(-p)) / (Y - 1), rel=1e-9)
    assert law.sum() == pytest.approx(1.0, rel=1e-12)


def test_bon_law_small_levels_under_a_dominant_top():
    # levels 1e-10 and 2e-10 below a top of 1 - 3e-10: N = 2 gives 1e-20 and 9e-20 - 1e-20
    row = [1 - 3e-10, 1e-10, 2e-10]
    law = np.asarray(ss.bon_law(problems.from_probs([row]), 2).probs)[0]
    np.testing.assert_allclose(law[1:], [1e-20, 8e-20], rtol=1e-9)
    assert law[0] == pytest.approx(1 - 9e-20, rel=1e-15)


@pytest.mark.parametrize("N", [10**12, 10**15, 2**62])
def test_bon_law_huge_n_is_the_arg_max_set_split_evenly(rows, N):
    law = np.asarray(ss.bon_law(rows, N).probs)
    assert not np.isnan(law).any()
    expected = [[1, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 1, 0, 0]]
    np.testing.assert_allclose(law, expected, rtol=1e-15, atol=0)


# ----------------------------------------------------------------------- success prob
def test_bon_success_probability_by_hand():
    pr = problems.from_probs([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]], [0.25, 0.75])
    # N = 2: x0 hits {0} w.p. 1 - 0.5^2 = 0.75, x1 hits {0, 1} w.p. 1 - 0.2^2 = 0.96
    assert ss.bon_success_probability(pr, 2) == pytest.approx(0.25 * 0.75 + 0.75 * 0.96, rel=1e-14)
    # γ = 0.45: x0's set is {0, 1}: 1 - 0.2^2 = 0.96 as well
    assert ss.bon_success_probability(pr, 2, gamma=0.45) == pytest.approx(0.96, rel=1e-14)
    # N = 1 is the base's own mass on y*: 0.25·0.5 + 0.75·0.8
    assert ss.bon_success_probability(pr, 1) == pytest.approx(0.25 * 0.5 + 0.75 * 0.8, rel=1e-14)


# ========================================================================= BoN sampler
def test_bon_sampler_frequencies_match_hand_law(rows):
    # chi-square at level ALPHA for each of 4 rows: false-failure probability ~4e-6
    n = 20_000
    sampler = ss.bon_sampler(rows)
    for x, N, law in ((0, 3, BON3[0]), (1, 2, BON2[1]), (2, 2, BON2[2]), (3, 3, BON3[3])):
        picks = np.asarray(sampler.sample(jax.random.key(10 + x), jnp.full((n,), x), N))
        counts = np.bincount(picks, minlength=5)
        assert np.all(counts[np.asarray(law) == 0.0] == 0)  # zero-law responses never picked
        assert chi_square_pvalue(counts, law) > ALPHA


def test_bon_sampler_huge_n_splits_tied_arg_max(rows):
    # N = 1e15 on row B: only the tied arg-max {0, 1}, each w.p. 1/2 (chi-square, level ALPHA)
    picks = np.asarray(ss.bon_sampler(rows).sample(jax.random.key(4), jnp.ones((10_000,), int), 10**15))
    counts = np.bincount(picks, minlength=5)
    assert counts[2:].sum() == 0
    assert chi_square_pvalue(counts[:2], [0.5, 0.5]) > ALPHA


def test_bon_sampler_n1_is_the_base(rows):
    # chi-square at level ALPHA: false-failure probability ~1e-6
    picks = np.asarray(ss.bon_sampler(rows).sample(jax.random.key(5), jnp.full((20_000,), 3), 1))
    assert chi_square_pvalue(np.bincount(picks, minlength=5), ROWS[3]) > ALPHA


def test_bon_sampler_same_key_same_picks(rows):
    s = ss.bon_sampler(rows)
    a = s.sample(jax.random.key(1), jnp.arange(4), 5)
    b = s.sample(jax.random.key(1), jnp.arange(4), 5)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_bon_sampler_take_is_the_sampler_of_the_gathered_rows(rows):
    # row-by-row structure: the gathered sampler equals, to the bit, the sampler built from scratch
    # for the problem whose prompts repeat and permute the rows; and so do an SFT and an adaptive
    # run handed it
    from sharpsim.algorithms import adaptive_sft_sharpening, sft_sharpening

    take = np.array([3, 0, 3, 2, 1, 1])
    member = problems.from_probs(np.asarray(ROWS)[take])
    got, want = ss.bon_sampler(rows).take(take), ss.bon_sampler(member)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    tab = classes.TabularClass()
    for run in (lambda **kw: sft_sharpening(jax.random.key(2), member, tab, n=40, N=3, **kw),
                lambda **kw: adaptive_sft_sharpening(jax.random.key(2), member, tab, n=40, stop_level=2.0, **kw)):
        a, b = run(sampler=got), run()
        np.testing.assert_array_equal(np.asarray(a.responses), np.asarray(b.responses))
        np.testing.assert_array_equal(np.asarray(a.num_draws), np.asarray(b.num_draws))
    with pytest.raises(ValueError, match=r"`sampler` has shape \(4, 5\) but the problem has"):
        adaptive_sft_sharpening(jax.random.key(2), member, tab, n=4, stop_level=2.0, sampler=ss.bon_sampler(rows))


# ======================================================================= π*_β
def test_kl_regularized_optimum_by_hand():
    pr = problems.from_probs([[0.5, 0.3, 0.2, 0.0], [0.4, 0.4, 0.2, 0.0]])
    # β = 1: π* ∝ π^2
    z0, z1 = 0.25 + 0.09 + 0.04, 0.16 + 0.16 + 0.04
    np.testing.assert_allclose(
        np.asarray(ss.kl_regularized_optimum(pr, 1.0).probs),
        [[0.25 / z0, 0.09 / z0, 0.04 / z0, 0.0], [0.16 / z1, 0.16 / z1, 0.04 / z1, 0.0]],
        rtol=1e-13,
        atol=0,
    )
    # β = 0.5: π* ∝ π^3
    z0, z1 = 0.125 + 0.027 + 0.008, 0.064 + 0.064 + 0.008
    np.testing.assert_allclose(
        np.asarray(ss.kl_regularized_optimum(pr, 0.5).probs),
        [[0.125 / z0, 0.027 / z0, 0.008 / z0, 0.0], [0.064 / z1, 0.064 / z1, 0.008 / z1, 0.0]],
        rtol=1e-13,
        atol=0,
    )


def test_kl_regularized_optimum_small_beta_in_log_space():
    pr = problems.from_probs([[0.5, 0.3, 0.2]])
    # β = 1e-3: exponent 1001; ratios r_y = (π(y)/0.5)^1001 ≈ 1e-222 and 1e-398 (underflows)
    r1 = math.exp(1001 * math.log(0.3 / 0.5))
    r2 = math.exp(1001 * math.log(0.2 / 0.5))
    law = np.asarray(ss.kl_regularized_optimum(pr, 1e-3).probs)[0]
    np.testing.assert_allclose(law, [1 / (1 + r1 + r2), r1 / (1 + r1 + r2), r2 / (1 + r1 + r2)], rtol=1e-12)
    assert law[1] > 0  # 1e-222 is representable and not flushed


@pytest.mark.parametrize("beta", [1e-300, 1e-12])
def test_kl_regularized_optimum_tiny_beta_is_uniform_on_arg_max(beta):
    pr = problems.from_probs([[0.5, 0.3, 0.2, 0.0], [0.4, 0.4, 0.2, 0.0], [0.25] * 4])
    law = np.asarray(ss.kl_regularized_optimum(pr, beta).probs)
    assert not np.isnan(law).any()
    np.testing.assert_allclose(law, [[1, 0, 0, 0], [0.5, 0.5, 0, 0], [0.25] * 4], rtol=1e-14, atol=0)


def test_kl_regularized_optimum_huge_beta_is_the_base():
    pr = problems.from_probs([[0.5, 0.3, 0.2, 0.0]])
    np.testing.assert_allclose(
        np.asarray(ss.kl_regularized_optimum(pr, 1e300).probs), [[0.5, 0.3, 0.2, 0.0]], rtol=1e-13
    )


def test_kl_regularized_optimum_of_autoregressive_problem():
    # Prop 3.1 instance (0.3, 0.3, 0.4, 0), β = 1: ∝ (0.09, 0.09, 0.16, 0)
    law = np.asarray(ss.kl_regularized_optimum(problems.prop31_tightness(), 1.0).probs)[0]
    np.testing.assert_allclose(law, [0.09 / 0.34, 0.09 / 0.34, 0.16 / 0.34, 0.0], rtol=1e-13, atol=0)


# ================================================================== sharpening error
BASE = [[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]]
MU = [0.25, 0.75]
PI = [[0.8, 0.2, 0.0], [0.5, 0.25, 0.25]]  # mass on the base's y*: x0 {0}: 0.8; x1 {0,1}: 0.75


@pytest.mark.parametrize(
    "delta,gamma,expected",
    [
        (0.15, 0.0, 1.0),  # 0.8 < 0.85 and 0.75 < 0.85
        (0.22, 0.0, 0.75),  # 0.8 ≥ 0.78, 0.75 < 0.78: only x1 (μ = 0.75) fails
        (0.3, 0.0, 0.0),  # 0.8 ≥ 0.7 and 0.75 ≥ 0.7
        (0.1, 0.45, 0.75),  # y*_0.45(x0) = {0, 1} holds 1.0 ≥ 0.9; x1 still 0.75 < 0.9
        (0.3, 0.45, 0.0),
    ],
)
def test_sharpening_error_by_hand(delta, gamma, expected):
    pr = problems.from_probs(BASE, MU)
    assert ss.sharpening_error(pr, PI, delta=delta, gamma=gamma) == pytest.approx(expected, rel=1e-15)
    pol = ss.TabularPolicy.from_probs(PI)
    assert ss.sharpening_error(pr, pol, delta=delta, gamma=gamma) == pytest.approx(expected, rel=1e-15)


def test_sharpening_error_uses_strict_inequality():
    # π̂ puts all its mass on y*: 1 < 1 - 0 is false, so error 0 at δ = 0
    pr = problems.from_probs(BASE, MU)
    assert ss.sharpening_error(pr, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], delta=0.0) == 0.0
    assert ss.sharpening_error(pr, [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]], delta=0.0) == 0.25


def test_sharpening_error_ignores_zero_mass_prompts():
    pr = problems.from_probs(BASE + [[0.2, 0.3, 0.5]], MU + [0.0])
    assert ss.sharpening_error(pr, PI + [[1.0, 0.0, 0.0]], delta=0.22) == pytest.approx(0.75, rel=1e-15)


def test_sharpening_error_resolves_1e_minus_12():
    # π̂(y*) = 1 - 1e-12 fails at δ = 0.999e-12 and passes at δ = 1.001e-12
    pr = problems.from_probs([[0.6, 0.4]])
    pi = [[1 - 1e-12, 1e-12]]
    assert ss.sharpening_error(pr, pi, delta=0.999e-12) == 1.0
    assert ss.sharpening_error(pr, pi, delta=1.001e-12) == 0.0
    # and a policy with only 1e-12 on y* fails at any δ < 1 - 1e-12
    assert ss.sharpening_error(pr, [[1e-12, 1 - 1e-12]], delta=0.999) == 1.0


def test_sharpening_error_of_kl_optimum_with_tiny_beta_is_zero():
    pr = problems.from_probs(BASE, MU)
    assert ss.sharpening_error(pr, ss.kl_regularized_optimum(pr, 1e-6), delta=1e-9) == 0.0


def test_sharpening_error_with_autoregressive_problem_and_policy():
    pr = problems.prop31_tightness()  # π_base(y*) = 0.4
    assert ss.sharpening_error(pr, pr.base, delta=0.5) == 1.0  # 0.4 < 0.5
    assert ss.sharpening_error(pr, pr.base, delta=0.7) == 0.0  # 0.4 ≥ 0.3


# ============================================================ differential (NumPy loops)
def ref_bon_law(probs, N):
    """Slow reference: F(v)^N - F(v-)^N split among exact ties."""
    out = np.zeros_like(probs)
    for x in range(probs.shape[0]):
        row = probs[x]
        for y in range(row.shape[0]):
            v = row[y]
            if v == 0:
                continue
            F = sum(q for q in row if q <= v)
            F_below = sum(q for q in row if q < v)
            k = sum(1 for q in row if q == v)
            out[x, y] = (F**N - F_below**N) / k
    return out


def _random_rows(seed, X=5, Y=8):
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 6, size=(X, Y)).astype(float)
    w[:, 0] += 1
    return w / w.sum(axis=1, keepdims=True)


# five seeds by default; 100 more with --runslow
@pytest.mark.parametrize(
    "seed", [*range(5), *(pytest.param(s, marks=pytest.mark.slow) for s in range(5, 105))]
)
def test_bon_law_matches_numpy_reference(seed):
    probs = _random_rows(seed)
    pr = problems.from_probs(probs)
    for N in (1, 2, 5, 50):
        np.testing.assert_allclose(
            np.asarray(ss.bon_law(pr, N).probs), ref_bon_law(probs, N), rtol=1e-11, atol=1e-300
        )


@pytest.mark.parametrize(
    "seed", [*range(5), *(pytest.param(s, marks=pytest.mark.slow) for s in range(5, 105))]
)
def test_kl_optimum_and_sharpening_error_match_numpy_reference(seed):
    probs = _random_rows(seed)
    rng = np.random.default_rng(50 + seed)
    mu = rng.dirichlet(np.ones(probs.shape[0]))
    mu[1] = 0.0
    mu /= mu.sum()
    pr = problems.from_probs(probs, mu)
    for beta in (0.1, 1.0, 7.0):
        powered = probs ** (1 + 1 / beta)
        np.testing.assert_allclose(
            np.asarray(ss.kl_regularized_optimum(pr, beta).probs),
            powered / powered.sum(axis=1, keepdims=True),
            rtol=1e-12,
            atol=1e-300,
        )
    pi = rng.dirichlet(np.ones(probs.shape[1]), size=probs.shape[0])
    for delta in (1e-3, 0.3, 0.9):  # δ = 0 would compare a float sum with 1 exactly
        for gamma in (0.0, 0.5):
            err = 0.0
            for x in range(len(mu)):
                top = probs[x].max()
                mass = sum(
                    pi[x, y] for y in range(probs.shape[1]) if probs[x, y] >= (1 - gamma) * (1 - 1e-9) * top
                )
                if mass < 1 - delta:
                    err += mu[x]
            assert ss.sharpening_error(pr, pi, delta=delta, gamma=gamma) == pytest.approx(
                err, rel=1e-12, abs=0
            )
