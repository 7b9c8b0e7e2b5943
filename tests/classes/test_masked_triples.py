"""Every class's Eq 8 ``regress`` ignores masked triples (the oracle's ``num_active`` padding:
responses ``-1``, log-probs and rewards ``-inf``): the fit on padded data equals the fit on the
unpadded data. No test here is statistical."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import sharpsim as ss
from classes._reference import linear_problem
from sharpsim import classes, oracle, problems


def _pair(problem, n=17, size=32, sigma=0.5, seed=4):
    key = jax.random.key(seed)
    plain, _ = oracle.sample_triples(key, problem, n, reward_noise=sigma)
    padded, m = oracle.sample_triples(key, problem, size, reward_noise=sigma, num_active=n)
    assert int(m) == 2 * n
    return plain, padded


@pytest.mark.parametrize("sigma", [0.0, 0.5])
def test_tabular_regress_ignores_masked_triples(sigma):
    problem = problems.with_coverage(jax.random.key(0), 3, 5, 2.5)
    plain, padded = _pair(problem, sigma=sigma)
    tc = classes.TabularClass.for_problem(problem)
    a, b = np.asarray(tc.regress(plain, 0.3).log_probs), np.asarray(tc.regress(padded, 0.3).log_probs)
    assert np.all(np.isfinite(b))
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sigma", [0.0, 0.5])
def test_linear_softmax_regress_ignores_masked_triples(sigma):
    problem, feats, _ = linear_problem()
    cls = classes.LinearSoftmaxClass(feats, 10.0)
    plain, padded = _pair(problem, sigma=sigma)
    (pa, ia), (pb, ib) = cls.regress_with_info(plain, 0.5), cls.regress_with_info(padded, 0.5)
    assert np.all(np.isfinite(np.asarray(ib.theta)))
    np.testing.assert_allclose(np.asarray(ib.theta), np.asarray(ia.theta), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(float(ib.loss), float(ia.loss), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.asarray(pb.probs), np.asarray(pa.probs), rtol=1e-10, atol=1e-14)


def test_finite_regress_ignores_masked_triples():
    problem = problems.with_coverage(jax.random.key(0), 3, 5, 2.5)
    rng = np.random.default_rng(0)
    members = [np.asarray(problem.probs), np.asarray(ss.kl_regularized_optimum(problem, 0.3).probs)]
    members += [rng.dirichlet(np.ones(5), size=3) for _ in range(3)]
    fc = classes.FiniteClass(np.stack(members))
    plain, padded = _pair(problem)
    la, lb = np.asarray(fc.regression_losses(plain, 0.3)), np.asarray(fc.regression_losses(padded, 0.3))
    np.testing.assert_allclose(lb, la, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(fc.regress(padded, 0.3).probs), np.asarray(fc.regress(plain, 0.3).probs))


def test_autoregressive_regress_ignores_masked_triples():
    H, V, d = 2, 3, 2
    f = np.asarray(jax.random.normal(jax.random.key(8), (H, 1, V, V, d)))
    f = f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1.0) * 0.9
    cls = classes.AutoregressiveLinearSoftmaxClass(f, 2.0)
    problem = problems.from_policy(cls.policy(np.asarray([[0.8, -0.3], [-0.5, 0.6]])))
    plain, padded = _pair(problem, n=9, size=16)
    assert padded.responses.shape == (16, H)
    (_, ia), (_, ib) = (cls.regress_with_info(t, 0.5, steps=200) for t in (plain, padded))
    assert np.all(np.isfinite(np.asarray(ib.theta)))
    np.testing.assert_allclose(np.asarray(ib.theta), np.asarray(ia.theta), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(float(ib.loss), float(ia.loss), rtol=1e-9, atol=1e-14)
