"""Unit tests for sharpsim.problems: wrapping user arrays and the coverage-controlled
constructors. Coverage, margin and arg-max sets are recomputed here with plain NumPy from the
returned probability tables (never with sharpsim.coefficients)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim
from problems._reference import ar_joint, np_argmax_mask, np_coverage, np_margin
from sharpsim import problems
from sharpsim.policies import AutoregressivePolicy


# ========================================================================= with_coverage
def test_coverage_range_formula():
    g = 1e-6 * (1 + 1e-9)  # margin 0 still builds a gap of MIN_CONSTRUCTED_MARGIN
    assert problems.coverage_range(10) == pytest.approx((1.0, 1 + 9 / (1 + g)), rel=1e-15)
    g = 0.3 * (1 + 1e-9)
    # k = 2 arg-maxes, 48 others at most 1/(2 c (1 + g)) each
    assert problems.coverage_range(50, margin=0.3, num_argmax=2) == pytest.approx(
        (1.0, 1 + 48 / (2 * (1 + g))), rel=1e-15
    )


CONFIGS = [
    # (num_prompts, num_responses, coverage, margin, num_argmax, heterogeneity)
    (5, 10, 3.0, 0.0, 1, 0.0),
    (4, 50, 15.0, 0.3, 2, 0.0),
    (6, 20, 7.5, 0.1, 1, 1.0),
    (3, 7, 1.0, 0.0, 1, 0.0),
    (2, 3, 1.0, 0.0, 3, 0.0),
    (8, 100, 99.0, 0.0, 1, 0.5),
] + [
    # a thorough grid with --runslow
    pytest.param(X, Y, C, m, k, h, marks=pytest.mark.slow)
    for X, Y in ((1, 2), (7, 13), (20, 1000))
    for k in (1, 2)
    for m in (0.0, 0.05, 1.0)
    for h in (0.0, 1.0)
    for C in (1.0, 1 + 0.5 * (problems.coverage_range(Y, margin=m, num_argmax=k)[1] - 1))
]


@pytest.mark.parametrize("X,Y,C,margin,k,het", CONFIGS)
def test_with_coverage_hits_coverage_margin_and_argmax_count(X, Y, C, margin, k, het):
    pr = problems.with_coverage(jax.random.key(11), X, Y, C, margin=margin, num_argmax=k, heterogeneity=het)
    probs = np.asarray(pr.probs)
    mu = np.asarray(pr.prompt_probs)
    assert probs.shape == (X, Y) and np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), np.ones(X), rtol=1e-12)
    np.testing.assert_allclose(mu, np.full(X, 1 / X), rtol=1e-15)
    assert np_coverage(probs, mu) == pytest.approx(C, rel=1e-6)
    np.testing.assert_array_equal(np_argmax_mask(probs).sum(axis=1), np.full(X, k))
    np.testing.assert_array_equal(np.asarray(pr.base.num_argmax()), np.full(X, k))
    assert np_margin(probs, mu) >= margin
    # the library agrees with the NumPy recomputation
    assert sharpsim.coverage(pr) == pytest.approx(C, rel=1e-6)
    assert sharpsim.margin(pr) >= margin


def test_with_coverage_at_the_top_of_the_feasible_range():
    lo, hi = problems.coverage_range(30, margin=0.2)
    pr = problems.with_coverage(jax.random.key(0), 3, 30, hi, margin=0.2)
    probs = np.asarray(pr.probs)
    assert np_coverage(probs, pr.prompt_probs) == pytest.approx(hi, rel=1e-6)
    assert np_margin(probs, pr.prompt_probs) >= 0.2
    assert lo == 1.0


def test_with_coverage_one_is_a_point_mass_on_the_argmax_set():
    pr = problems.with_coverage(jax.random.key(1), 3, 6, 1.0, num_argmax=2)
    probs = np.asarray(pr.probs)
    np.testing.assert_allclose(np.sort(probs, axis=1)[:, -2:], np.full((3, 2), 0.5), rtol=1e-12)
    assert np.all(np.sort(probs, axis=1)[:, :-2] == 0.0)


def test_with_coverage_large_response_space():
    # |Y| = 1e5, C = 5e4 with margin 0.5: π(y*|x) = 2e-5 and every other response ≤ 2e-5 / 1.5
    Y, C = 100_000, 50_000.0
    pr = problems.with_coverage(jax.random.key(2), 3, Y, C, margin=0.5)
    probs = np.asarray(pr.probs)
    np.testing.assert_allclose(probs.max(axis=1), np.full(3, 1 / C), rtol=1e-9)
    assert np_coverage(probs, pr.prompt_probs) == pytest.approx(C, rel=1e-6)
    assert np_margin(probs, pr.prompt_probs) >= 0.5
    np.testing.assert_array_equal(np_argmax_mask(probs).sum(axis=1), [1, 1, 1])
    np.testing.assert_allclose(probs.sum(axis=1), np.ones(3), rtol=1e-10)


def test_with_coverage_heterogeneity_zero_makes_prompts_equally_hard():
    pr = problems.with_coverage(jax.random.key(3), 6, 20, 8.0)
    probs = np.asarray(pr.probs)
    np.testing.assert_allclose(probs.max(axis=1), np.full(6, 1 / 8.0), rtol=1e-12)


def test_with_coverage_heterogeneity_spreads_prompts_with_same_coverage():
    C = 8.0
    pr = problems.with_coverage(jax.random.key(3), 6, 20, C, heterogeneity=1.0)
    probs = np.asarray(pr.probs)
    inv_top = 1 / probs.max(axis=1)
    assert inv_top.max() - inv_top.min() > 1.0  # genuinely different per-prompt π(y*|x)
    assert np.mean(inv_top) == pytest.approx(C, rel=1e-6)
    _, hi = problems.coverage_range(20)
    assert np.all(inv_top >= 1 - 1e-12) and np.all(inv_top <= hi * (1 + 1e-12))


def test_with_coverage_non_uniform_mu_with_zero_mass_prompt():
    mu = np.array([0.5, 0.0, 0.3, 0.2])
    pr = problems.with_coverage(jax.random.key(4), 4, 12, 5.0, heterogeneity=0.7, prompt_probs=mu)
    np.testing.assert_allclose(np.asarray(pr.prompt_probs), mu, rtol=1e-15)
    assert np_coverage(pr.probs, mu) == pytest.approx(5.0, rel=1e-6)


def test_with_coverage_same_key_is_bitwise_identical_and_keys_differ():
    a = problems.with_coverage(jax.random.key(5), 4, 15, 6.0, heterogeneity=0.5)
    b = problems.with_coverage(jax.random.key(5), 4, 15, 6.0, heterogeneity=0.5)
    c = problems.with_coverage(jax.random.key(6), 4, 15, 6.0, heterogeneity=0.5)
    np.testing.assert_array_equal(np.asarray(a.base.log_probs), np.asarray(b.base.log_probs))
    assert not np.array_equal(np.asarray(a.base.log_probs), np.asarray(c.base.log_probs))


def test_with_coverage_arg_max_positions_are_random():
    pr = problems.with_coverage(jax.random.key(7), 40, 10, 3.0)
    positions = np.argmax(np.asarray(pr.probs), axis=1)
    assert len(set(positions.tolist())) > 3  # 40 prompts on at most 3 of 10 columns: P < 1e-20


# ================================================================ planted_autoregressive
def test_planted_coverage_range_formula():
    g = 0.25 * (1 + 1e-9)
    lo, hi = problems.planted_coverage_range(3, 4, margin=0.25)
    assert lo == 1.0
    assert hi == pytest.approx(((3 + g) / (1 + g)) ** 4, rel=1e-14)


@pytest.mark.parametrize("het", [0.0, 1.0])
def test_planted_autoregressive_coverage_unique_argmax_and_greedy(het):
    X, V, H, C, margin = 4, 3, 4, 20.0, 0.1
    pr = problems.planted_autoregressive(jax.random.key(8), X, V, H, C, margin=margin, heterogeneity=het)
    assert isinstance(pr.base, AutoregressivePolicy)
    joint = ar_joint(pr)
    mu = np.asarray(pr.prompt_probs)
    np.testing.assert_allclose(joint.sum(axis=1), np.ones(X), rtol=1e-12)
    assert np_coverage(joint, mu) == pytest.approx(C, rel=1e-6)
    np.testing.assert_array_equal(np_argmax_mask(joint).sum(axis=1), np.ones(X, int))  # unique
    assert np_margin(joint, mu) >= margin
    # greedy decoding follows the planted path, which is the arg-max
    greedy = np.asarray(pr.base.greedy())
    idx = greedy @ (V ** np.arange(H - 1, -1, -1))
    np.testing.assert_array_equal(idx, joint.argmax(axis=1))
    np.testing.assert_array_equal(np.asarray(pr.base.sequence_argmax()), greedy)
    if het == 0.0:
        np.testing.assert_allclose(joint.max(axis=1), np.full(X, 1 / C), rtol=1e-12)
    else:
        assert np.ptp(1 / joint.max(axis=1)) > 1.0


def test_planted_autoregressive_large_coverage_path_probability():
    # V = 2, H = 16: coverage up to ≈ 2**16; π(y*) = 1/C along the planted path
    C = 60_000.0
    pr = problems.planted_autoregressive(jax.random.key(9), 1, 2, 16, C)
    path = pr.base.greedy()
    np.testing.assert_allclose(float(pr.base.log_prob(jnp.array([0]), path)[0]), -math.log(C), rtol=1e-13)
    assert sharpsim.coverage(pr) == pytest.approx(C, rel=1e-9)
