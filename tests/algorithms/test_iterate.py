"""Tests for iterated self-improvement (``algorithms.iterate``): exact composition laws of the BoN
and π*_β rounds, the SFT round, and bad input."""

from __future__ import annotations

import itertools

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import algorithms, problems


def _problem(seed=0, wrong=2):
    return problems.flawed_verifier(jax.random.key(seed), 6, 10, 3.0, wrong_prompts=wrong, margin=0.05)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1), N=st.sampled_from([2, 3, 5]), rounds=st.integers(1, 3))
def test_bon_rounds_compose_to_bon_of_the_power(seed, N, rounds):
    """k rounds of BoN_N equal one round of BoN_{N^k} (BoN preserves the order of responses)."""
    pr = _problem(seed)
    res = algorithms.iterate(jax.random.key(1), pr, algorithms.bon_step(N), rounds=rounds)
    direct = ss.bon_law(pr, N**rounds)
    np.testing.assert_allclose(np.asarray(res.policies[-1].probs), np.asarray(direct.probs), rtol=1e-9, atol=1e-15)


def test_bon_rounds_compose_with_ties():
    pr = problems.from_probs([[0.3, 0.3, 0.2, 0.2], [0.5, 0.25, 0.125, 0.125]])
    res = algorithms.iterate(jax.random.key(0), pr, algorithms.bon_step(3), rounds=2)
    two_three = algorithms.iterate(jax.random.key(0), pr, algorithms.bon_step(2), rounds=1).problems[1]
    np.testing.assert_allclose(np.asarray(res.policies[2].probs), np.asarray(ss.bon_law(pr, 9).probs), rtol=1e-12)
    # BoN_3 after BoN_2 is BoN_6
    np.testing.assert_allclose(np.asarray(ss.bon_law(two_three, 3).probs), np.asarray(ss.bon_law(pr, 6).probs),
                               rtol=1e-12)


@pytest.mark.parametrize("beta", [0.3, 1.0, 4.0])
def test_kl_rounds_multiply_exponents(beta):
    pr = _problem(3)
    k = 4
    res = algorithms.iterate(jax.random.key(0), pr, algorithms.kl_step(beta), rounds=k)
    a = (1 + 1 / beta) ** k
    lp = a * np.log(np.asarray(pr.probs))
    expect = np.exp(lp - np.logaddexp.reduce(lp, axis=1, keepdims=True))
    np.testing.assert_allclose(np.asarray(res.policies[k].probs), expect, rtol=1e-10, atol=1e-300)
    # the correctness set and μ ride along unchanged
    for p in res.problems:
        np.testing.assert_array_equal(np.asarray(p.correct), np.asarray(pr.correct))
        assert p.prompt_probs is pr.prompt_probs
    # mass on the base arg-max grows every round; on a wrong prompt the correct response's mass
    # relative to the arg-max is correct_ratio^((1+1/β)^t) (it may still rise at first in absolute terms)
    star = np.asarray(pr.base.argmax_set())
    masses = [np.asarray(pol.mass(star)) for pol in res.policies]
    assert all(np.all(b >= a_ - 1e-15) for a_, b in itertools.pairwise(masses))
    wrong = ~np.asarray(ss.metrics.argmax_correct(pr))
    for t, pol in enumerate(res.policies):
        ratio = np.asarray(ss.metrics.correct_mass(pr, pol))[wrong] / masses[t][wrong]
        np.testing.assert_allclose(ratio, 0.5 ** ((1 + 1 / beta) ** t), rtol=1e-9)


def test_default_correct_is_fixed_at_the_original_argmax():
    pr = problems.from_probs([[0.4, 0.35, 0.25]])
    res = algorithms.iterate(jax.random.key(0), pr, lambda key, p: ss.TabularPolicy.from_probs([[0.1, 0.8, 0.1]]),
                             rounds=2)
    # round 1 moved the arg-max to response 1; the answer key is still response 0
    np.testing.assert_array_equal(np.asarray(res.problems[2].correct), [[True, False, False]])
    assert ss.accuracy(res.problems[2], res.policies[2]) == pytest.approx(0.1)


def test_sft_rounds_charge_queries_and_sharpen():
    pr = _problem(5, wrong=0)
    res = algorithms.iterate(jax.random.key(7), pr, algorithms.sft_step(n=400, N=4), rounds=3)
    assert res.num_queries == [1600, 1600, 1600]
    acc = [ss.accuracy(pr, pol) for pol in res.policies]
    # base accuracy 1/3 (coverage 3); one SFT round on BoN_4 picks: E ≈ 1 − (2/3)^4 ≈ 0.80; a
    # 400-prompt estimate is within 0.2 of that except with probability < 1e-9 (Hoeffding)
    assert acc[0] == pytest.approx(1 / 3, rel=1e-9)
    assert acc[1] > 0.6 and acc[3] > acc[0]


def test_bad_input():
    pr = _problem()
    with pytest.raises(ValueError, match="rounds"):
        algorithms.iterate(jax.random.key(0), pr, algorithms.bon_step(2), rounds=0)
    with pytest.raises(TypeError, match="step"):
        algorithms.iterate(jax.random.key(0), pr, "bon", rounds=1)
    with pytest.raises(TypeError, match="policy"):
        algorithms.iterate(jax.random.key(0), pr, lambda k, p: 3.0, rounds=1)
    with pytest.raises(ValueError, match="another shape"):
        algorithms.iterate(jax.random.key(0), pr, lambda k, p: ss.TabularPolicy.from_probs([[1.0]]), rounds=1)
    with pytest.raises(TypeError, match="Problem"):
        algorithms.iterate(jax.random.key(0), pr.base, algorithms.bon_step(2), rounds=1)
    with pytest.raises(ValueError, match="N"):
        algorithms.bon_step(0)
    with pytest.raises(ValueError, match="beta"):
        algorithms.kl_step(0.0)
