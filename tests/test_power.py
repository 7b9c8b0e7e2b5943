"""Tests for sharpsim.power: the power law π^α, token temperature, and the Metropolis–Hastings sampler
(exact kernel and law, and the sampler against them)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import power, problems


@settings(max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), beta=st.floats(0.05, 20.0))
def test_power_law_is_the_kl_optimum(seed, beta):
    pr = problems.planted_autoregressive(jax.random.key(seed), 2, 2, 3, 2.0)
    got = np.asarray(ss.power_law(pr.base, 1 + 1 / beta).probs)
    np.testing.assert_allclose(got, np.asarray(ss.kl_regularized_optimum(pr, beta).probs), rtol=1e-10, atol=1e-300)


def test_power_law_by_hand_and_alpha_one():
    pol = ss.TabularPolicy.from_probs([[0.5, 0.3, 0.2, 0.0]])
    np.testing.assert_allclose(np.asarray(ss.power_law(pol, 2.0).probs), [[25 / 38, 9 / 38, 4 / 38, 0.0]], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(ss.power_law(pol, 1.0).probs), np.asarray(pol.probs), rtol=1e-14)


def test_token_temperature_law_by_hand_and_prop31():
    """On Prop 3.1's instance (p* = 0.4, V = 2, H = 2) token temperature moves mass away from y*,
    the power law towards it."""
    pr = problems.prop31_tightness(vocab_size=2, horizon=2, p_star=0.4)
    a = 4.0
    tok = np.asarray(power.token_temperature(pr.base, a).to_tabular().probs)[0]
    first_one = 0.4**a / (0.4**a + 0.6**a)
    np.testing.assert_allclose(tok, [(1 - first_one) / 2, (1 - first_one) / 2, first_one, 0.0], rtol=1e-12)
    pw = np.asarray(ss.power_law(pr.base, a).probs)[0]
    np.testing.assert_allclose(pw, np.array([0.3**a, 0.3**a, 0.4**a, 0.0]) / (2 * 0.3**a + 0.4**a), rtol=1e-12)
    star = 2  # y* = (1, 0)
    assert pw[star] > 0.4 > tok[star]  # the power law sharpens towards y*, token temperature away
    # as α grows: power law → y*, token temperature → the greedy first token, mass on y* → 0
    assert float(ss.power_law(pr.base, 60.0).probs[0, star]) > 1 - 1e-6
    assert float(power.token_temperature(pr.base, 60.0).to_tabular().probs[0, star]) < 1e-9


def test_mh_kernel_is_stochastic_and_leaves_the_target_invariant():
    pr = problems.prop31_tightness(vocab_size=2, horizon=3, p_star=0.4)
    for proposal in power.PROPOSALS:
        K = np.asarray(power.mh_kernel(pr, 3.0, proposal=proposal))
        assert np.all(K >= 0)
        np.testing.assert_allclose(K.sum(axis=-1), 1.0, atol=1e-14)
        target = np.asarray(ss.power_law(pr, 3.0).probs)
        np.testing.assert_allclose(np.einsum("xy,xyz->xz", target, K), target, atol=1e-14)


@pytest.mark.parametrize("proposal", power.PROPOSALS)
def test_mh_law_converges_at_the_independence_rate(proposal):
    pr = problems.prop31_tightness(vocab_size=2, horizon=3, p_star=0.4)
    alpha = 4.0
    law = power.mh_law(pr, alpha, 60, proposal=proposal)
    tv = np.asarray(power.total_variation(law, ss.power_law(pr, alpha).probs[None]))[:, 0]
    rate = float(power.mh_rate(pr, alpha, proposal=proposal)[0])
    assert 0 < rate < 1
    assert np.all(tv <= rate ** np.arange(61) + 1e-12)  # TV_t <= (1 - 1/w*)^t
    assert tv[60] < 1e-3 and np.all(np.diff(tv) <= 1e-15)


@pytest.mark.parametrize("proposal", power.PROPOSALS)
def test_mh_sampler_matches_its_exact_law(proposal):
    """The empirical law of C = 20000 chains after t steps against the exact law.

    Bretagnolle–Huber–Carol: P(TV(p̂, p) >= ε) <= (2^k − 2) exp(−2 C ε²) with k = 8 responses;
    ε = 0.025 gives a false-failure probability <= 254 e^{-25} < 4e-9 per check (4 checks).
    """
    pr = problems.prop31_tightness(vocab_size=2, horizon=3, p_star=0.4)
    alpha, C, T = 4.0, 20000, 12
    res = power.metropolis_hastings(jax.random.key(3), pr, alpha, num_chains=C, num_steps=T, proposal=proposal)
    assert int(res.num_queries) == C * (T + 1)
    assert res.states.shape == (C, T + 1)
    law = np.asarray(power.mh_law(pr, alpha, T, proposal=proposal))[:, 0]
    for t in (0, T):
        emp = np.bincount(np.asarray(res.states[:, t]), minlength=8) / C
        assert 0.5 * np.abs(emp - law[t]).sum() < 0.025
    # and it approaches the target: TV to π^α at T within ε of the exact law's TV
    target = np.asarray(ss.power_law(pr, alpha).probs)[0]
    emp = np.bincount(np.asarray(res.states[:, T]), minlength=8) / C
    assert 0.5 * np.abs(emp - target).sum() < 0.5 * np.abs(law[T] - target).sum() + 0.025


def test_mh_on_a_tabular_base_with_prompts():
    pr = problems.from_probs([[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    res = power.metropolis_hastings(jax.random.key(0), pr, 2.0, num_chains=4, num_steps=5,
                                    prompts=np.array([0, 1, 1, 0]))
    np.testing.assert_array_equal(np.asarray(res.prompts), [0, 1, 1, 0])
    # temperature proposal on a one-token base is the target itself: every proposal is accepted
    res = power.metropolis_hastings(jax.random.key(0), pr, 2.0, num_chains=50, num_steps=5, proposal="temperature")
    np.testing.assert_array_equal(np.asarray(res.accepted), 5)
    law = np.asarray(power.mh_law(pr, 2.0, 3, proposal="temperature"))
    np.testing.assert_allclose(law[3], np.asarray(ss.power_law(pr, 2.0).probs), atol=1e-14)


def test_bad_input():
    pr = problems.prop31_tightness()
    with pytest.raises(ValueError, match="alpha"):
        ss.power_law(pr, 0.0)
    with pytest.raises(TypeError, match="policy"):
        ss.power_law(np.ones((1, 2)) / 2, 2.0)
    with pytest.raises(TypeError, match="Autoregressive"):
        power.token_temperature(ss.TabularPolicy.from_probs([[0.5, 0.5]]), 2.0)
    with pytest.raises(ValueError, match="proposal"):
        power.metropolis_hastings(jax.random.key(0), pr, 2.0, num_chains=2, num_steps=2, proposal="greedy")
    with pytest.raises(ValueError, match="num_chains"):
        power.metropolis_hastings(jax.random.key(0), pr, 2.0, num_chains=0, num_steps=2)
    with pytest.raises(ValueError, match="prompts"):
        power.metropolis_hastings(jax.random.key(0), pr, 2.0, num_chains=2, num_steps=2, prompts=[0, 0, 0])
    with pytest.raises(ValueError, match="prompts"):
        power.metropolis_hastings(jax.random.key(0), pr, 2.0, num_chains=2, num_steps=2, prompts=[0, 1])
    with pytest.raises(TypeError, match="Problem"):
        power.metropolis_hastings(jax.random.key(0), pr.base, 2.0, num_chains=2, num_steps=2)
