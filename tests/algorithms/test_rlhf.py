"""RLHF-Sharpening (Sec 4.2, Eq 8 with the exact regression oracle): with the linear-softmax class on
Example J.1, with the tabular and finite classes, and its errors on bad input."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from classes._reference import linear_problem

import sharpsim as ss
from sharpsim import classes, problems
from sharpsim.algorithms import rlhf_sharpening


def test_rlhf_sharpening_on_example_j1_reaches_the_kl_optimum():
    problem, feats = problems.sphere_separation(jax.random.key(0), 6, radius=3.0, max_responses=64)
    beta = 0.2
    cls = classes.LinearSoftmaxClass(feats, 3.0 * (1 + 1 / beta) * 1.01)
    result = rlhf_sharpening(jax.random.key(1), problem, cls, n=30, beta=beta, delta=0.1)
    assert int(result.num_queries) == 60 and result.responses.shape == (30, 2)
    np.testing.assert_allclose(np.asarray(result.policy.probs), np.asarray(ss.kl_regularized_optimum(problem, beta).probs),
                               atol=1e-8)
    assert float(result.error) == ss.sharpening_error(problem, result.policy, delta=0.1)


def test_rlhf_bad_input():
    problem, feats, _ = linear_problem()
    cls = classes.LinearSoftmaxClass(feats, 5.0)
    with pytest.raises(ValueError, match="`beta`"):
        rlhf_sharpening(jax.random.key(0), problem, cls, n=4, beta=0.0)
    with pytest.raises(ValueError, match="`n`"):
        rlhf_sharpening(jax.random.key(0), problem, cls, n=0, beta=0.5)
    product = classes.ProductClass(np.full((3, 2, 6), 1 / 6))  # no Eq 8 oracle
    with pytest.raises(TypeError, match="regression oracle"):
        rlhf_sharpening(jax.random.key(0), problem, product, n=4, beta=0.5)



def test_rlhf_with_tabular_and_finite_classes(eq8_setup):
    problem, _, _ = eq8_setup
    beta = 0.3
    result = rlhf_sharpening(jax.random.key(3), problem, classes.TabularClass(), n=200, beta=beta)
    assert int(result.num_queries) == 400
    assert float(result.error) == ss.sharpening_error(problem, result.policy, delta=0.1)
    with pytest.raises(ValueError, match="`model_class` has"):
        rlhf_sharpening(jax.random.key(3), problem, classes.TabularClass(2, 5), n=10, beta=beta)


# ------------------------------------------------------------------ noisy revealed rewards
def test_sample_triples_noise_free_is_the_plain_oracle_and_noise_is_from_the_key(eq8_setup):
    """σ = 0: the triples are exactly what ``sample_and_evaluate`` reveals (rewards = base
    log-probabilities, bitwise). σ > 0 with the same key: the same prompts and responses, and the
    reward noise is exactly ``σ ξ`` with ``ξ`` the standard normals of ``fold_in(key, REWARD_NOISE_STREAM)``."""
    from sharpsim import oracle

    problem, _, _ = eq8_setup
    key = jax.random.key(7)
    batch = oracle.sample_and_evaluate(key, problem, 50, 2)
    t0, m0 = oracle.sample_triples(key, problem, 50)
    np.testing.assert_array_equal(np.asarray(t0.prompts), np.asarray(batch.prompts))
    np.testing.assert_array_equal(np.stack([t0.responses, t0.other_responses], 1), np.asarray(batch.responses))
    np.testing.assert_array_equal(np.stack([t0.rewards, t0.other_rewards], 1), np.asarray(batch.log_probs))
    np.testing.assert_array_equal(np.asarray(t0.rewards), np.asarray(t0.base_log_probs))
    assert int(m0) == 100
    t1, m1 = oracle.sample_triples(key, problem, 50, reward_noise=0.5)
    assert int(m1) == 100
    for a, b in ((t0.prompts, t1.prompts), (t0.responses, t1.responses), (t0.other_responses, t1.other_responses),
                 (t0.base_log_probs, t1.base_log_probs), (t0.other_base_log_probs, t1.other_base_log_probs)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    xi = np.asarray(jax.random.normal(jax.random.fold_in(key, oracle.REWARD_NOISE_STREAM), (50, 2)))
    got = np.stack([t1.rewards - t1.base_log_probs, t1.other_rewards - t1.other_base_log_probs], 1)
    np.testing.assert_allclose(got, 0.5 * xi, rtol=0, atol=1e-12)
    # traced σ under jit: σ = 0 is still bitwise the plain oracle
    f = jax.jit(lambda s: oracle.sample_triples(key, problem, 50, reward_noise=s)[0].rewards)
    np.testing.assert_array_equal(np.asarray(f(0.0)), np.asarray(t0.rewards))


def test_sample_triples_noise_has_the_requested_scale(eq8_setup):
    """40 000 noise draws at σ = 0.3: the sample standard deviation is within 3% of σ (its relative
    sd is 1/sqrt(2·40000) ≈ 0.35%, so 3% is ~8.5 sd: false-failure probability < 1e-16) and the
    mean within 0.02 (~13 sd)."""
    from sharpsim import oracle

    problem, _, _ = eq8_setup
    t, _ = oracle.sample_triples(jax.random.key(11), problem, 20000, reward_noise=0.3)
    noise = np.concatenate([np.asarray(t.rewards - t.base_log_probs), np.asarray(t.other_rewards - t.other_base_log_probs)])
    assert abs(noise.std() / 0.3 - 1) < 0.03
    assert abs(noise.mean()) < 0.02


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_reward_noise_bad_input(eq8_setup, bad):
    from sharpsim import oracle

    problem, _, _ = eq8_setup
    with pytest.raises(ValueError, match="`reward_noise`"):
        oracle.sample_triples(jax.random.key(0), problem, 4, reward_noise=bad)
    with pytest.raises(ValueError, match="`reward_noise`"):
        rlhf_sharpening(jax.random.key(0), problem, classes.TabularClass(), n=4, beta=0.5, reward_noise=bad)


def test_rlhf_passes_the_reward_noise_through(eq8_setup):
    """rlhf_sharpening(σ) fits exactly the triples sample_triples(σ) reveals; σ = 0 is the default."""
    from sharpsim import oracle

    problem, _, _ = eq8_setup
    cls = classes.TabularClass.for_problem(problem)
    key, beta = jax.random.key(5), 0.3
    plain = rlhf_sharpening(key, problem, cls, n=40, beta=beta)
    zero = rlhf_sharpening(key, problem, cls, n=40, beta=beta, reward_noise=0.0)
    np.testing.assert_array_equal(np.asarray(plain.policy.log_probs), np.asarray(zero.policy.log_probs))
    noisy = rlhf_sharpening(key, problem, cls, n=40, beta=beta, reward_noise=0.7)
    triples, _ = oracle.sample_triples(key, problem, 40, reward_noise=0.7)
    fitted = np.asarray(cls.regress(triples, beta).log_probs)
    # the unbucketed path is bitwise this fit; the default (bucketed, padded and jitted) one agrees to rounding
    unbucketed = rlhf_sharpening(key, problem, cls, n=40, beta=beta, reward_noise=0.7, bucketed=False)
    np.testing.assert_array_equal(np.asarray(unbucketed.policy.log_probs), fitted)
    np.testing.assert_allclose(np.asarray(noisy.policy.log_probs), fitted, rtol=1e-10, atol=1e-13)
    assert not np.allclose(np.asarray(noisy.policy.log_probs), np.asarray(plain.policy.log_probs))
    np.testing.assert_array_equal(np.asarray(noisy.responses), np.asarray(plain.responses))
