"""Tests for sharpsim.metrics: exact accuracy and pass@k, by hand, by property and on bad input."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import metrics, problems


def _hand():
    # prompt 0: arg-max correct; prompt 1: the correct answer is response 2 (mass 0.2)
    return problems.from_probs(
        [[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]], [0.25, 0.75],
        correct=np.array([[True, False, False], [False, False, True]]),
    )


def test_accuracy_and_pass_at_k_by_hand():
    pr = _hand()
    assert ss.accuracy(pr, pr.base) == pytest.approx(0.25 * 0.5 + 0.75 * 0.2, rel=1e-14)
    ks = np.array([1, 2, 5])
    expect = 0.25 * (1 - 0.5 ** ks) + 0.75 * (1 - 0.8 ** ks)
    np.testing.assert_allclose(np.asarray(ss.pass_at_k(pr, pr.base, ks)), expect, rtol=1e-14)
    assert ss.pass_at_k(pr, pr.base, 1) == pytest.approx(ss.accuracy(pr, pr.base), rel=1e-14)
    # a policy on the arg-max is right on prompt 0 only, for every k
    greedy = np.array([[1.0, 0, 0], [1.0, 0, 0]])
    np.testing.assert_allclose(np.asarray(ss.pass_at_k(pr, greedy, [1, 10, 1000])), 0.25, rtol=1e-14)


def test_without_correct_accuracy_is_the_mass_on_the_argmax():
    pr = problems.from_probs([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
    assert ss.accuracy(pr, pr.base) == pytest.approx(0.5 * 0.5 + 0.5 * 0.8, rel=1e-14)
    assert ss.accuracy(pr, pr.base) == pytest.approx(ss.bon_success_probability(pr, 1), rel=1e-14)


def test_pass_at_k_keeps_precision_near_one():
    pr = problems.from_probs([[1 - 1e-12, 1e-12]])
    miss = 1 - ss.pass_at_k(pr, pr.base, 3)
    # 1 - pass@3 = 1e-36 is below float64's resolution at 1; the per-prompt log-miss is exact
    assert float(metrics.log_miss_mass(pr, pr.base)[0]) == pytest.approx(np.log(1e-12), rel=1e-12)
    assert miss == 0.0


def test_autoregressive_policy_is_enumerated():
    ar = ss.AutoregressivePolicy.from_conditionals(np.full((2, 1, 2, 2), 0.5))
    pr = problems.from_policy(ar, correct=np.array([[False, True, True, False]]))
    assert ss.accuracy(pr, ar) == pytest.approx(0.5, rel=1e-14)
    assert ss.pass_at_k(pr, ar, 2) == pytest.approx(0.75, rel=1e-14)


@settings(max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), k=st.sampled_from([1, 7, 40]), wrong=st.integers(0, 6))
def test_pass_at_k_properties(seed, k, wrong):
    pr = problems.flawed_verifier(jax.random.key(seed), 6, 8, 2.5, wrong_prompts=wrong)
    pol = ss.kl_regularized_optimum(pr, 0.5)
    ks = np.arange(1, k + 1)
    curve = np.asarray(ss.pass_at_k(pr, pol, ks))
    assert np.all(np.diff(curve) >= -1e-15)  # non-decreasing in k
    assert curve[0] == pytest.approx(ss.accuracy(pr, pol), rel=1e-12)
    # brute force: 1 - E_x[(1 - p_x)^k]
    p = np.asarray(metrics.correct_mass(pr, pol))
    mu = np.asarray(pr.prompt_probs)
    np.testing.assert_allclose(curve, [1 - np.sum(mu * (1 - p) ** j) for j in ks], rtol=1e-10, atol=1e-14)
    # union bound: pass@k <= k * accuracy
    assert np.all(curve <= ks * curve[0] + 1e-12)


def test_bad_input():
    pr = _hand()
    with pytest.raises(ValueError, match="`k`"):
        ss.pass_at_k(pr, pr.base, 0)
    with pytest.raises(ValueError, match="`k`"):
        ss.pass_at_k(pr, pr.base, [1, np.inf])
    with pytest.raises(ValueError, match="shape"):
        ss.accuracy(pr, np.array([[0.5, 0.5]]))
    with pytest.raises(TypeError, match="Problem"):
        ss.accuracy(np.ones((2, 3)) / 3, pr.base)


def test_metrics_trace_under_jit():
    pr = _hand()
    got = jax.jit(lambda p, pol, k: (ss.accuracy(p, pol), ss.pass_at_k(p, pol, k)))(pr, pr.base, np.array([1.0, 3.0]))
    assert float(got[0]) == pytest.approx(ss.accuracy(pr, pr.base), rel=1e-14)
    np.testing.assert_allclose(np.asarray(got[1]), np.asarray(ss.pass_at_k(pr, pr.base, [1, 3])), rtol=1e-14)


def test_crossover_k_by_hand_and_bad_input():
    # two equally weighted prompts; base: right with 0.5 on both; other: always right on one, never on the other
    half = np.log(0.5)
    base = (np.array([half, half]), np.array([half, half]))  # 1 - pass@k = 0.5^k
    other = (np.array([half, half]), np.array([-np.inf, 0.0]))  # 1 - pass@k = 0.5 for every k
    assert metrics.crossover_k(base, other, 10) == 2  # 0.25 < 0.5 first at k = 2 (k = 1: a tie)
    assert metrics.crossover_k(other, base, 10) == 0
    np.testing.assert_allclose(np.exp(metrics.log_miss_at(*base, np.array([1, 3]))), [0.5, 0.125])
    with pytest.raises(ValueError, match="k_max"):
        metrics.crossover_k(base, other, 0)
    with pytest.raises(ValueError, match="`other` must be a pair"):
        metrics.crossover_k(base, (np.zeros(2), np.zeros(3)), 5)
