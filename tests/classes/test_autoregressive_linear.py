"""The multi-layer linear-softmax autoregressive class (Eq 11): law, oracles, XPO, Prop E.2."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import classes, oracle, problems
from sharpsim.algorithms import rlhf_sharpening, xpo
from sharpsim.policies import AutoregressivePolicy

ARClass = classes.AutoregressiveLinearSoftmaxClass


def _features(key, H, X, V, k, d):
    f = np.asarray(jax.random.normal(key, (H, X, V**k, V, d)))
    return f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1.0) * 0.9


def _problem_of(cls, theta):
    return problems.from_policy(cls.policy(theta))


def test_law_matches_a_hand_computation():
    H, X, V, k, d = 3, 2, 3, 2, 4
    f = _features(jax.random.key(0), H, X, V, k, d)
    cls = ARClass(f, 2.0)
    theta = np.asarray(jax.random.normal(jax.random.key(1), (H, d)))
    joint = np.exp(np.asarray(cls.log_probs(theta)))
    np.testing.assert_allclose(joint.sum(axis=1), 1.0, atol=1e-12)
    for x in range(X):
        for idx, seq in enumerate(itertools.product(range(V), repeat=H)):
            p = 1.0
            for h in range(H):
                c = 0
                for t in seq[max(0, h - k):h]:  # last min(h, k) tokens, most recent least significant
                    c = c * V + t
                logits = f[h, x, c] @ theta[h]
                p *= math.exp(logits[seq[h]]) / np.exp(logits).sum()
            assert math.isclose(joint[x, idx], p, rel_tol=1e-10)
    seqs = jnp.asarray([[0, 1, 2], [2, 2, 0]])
    np.testing.assert_allclose(np.asarray(cls.sequence_log_probs(theta, jnp.asarray([1, 0]), seqs)),
                               np.log([joint[1, 0 * 9 + 1 * 3 + 2], joint[0, 2 * 9 + 2 * 3 + 0]]), rtol=1e-10)


def test_horizon_one_is_the_linear_softmax_class():
    X, V, d = 2, 6, 3
    f = _features(jax.random.key(2), 1, X, V, 0, d)
    ar, lin = ARClass(f, 3.0), classes.LinearSoftmaxClass(f[0, :, 0], 3.0)
    theta = jnp.asarray([0.5, -1.0, 2.0])
    np.testing.assert_allclose(np.asarray(ar.log_probs(theta[None])), np.asarray(lin.log_probs(theta)), atol=1e-12)
    x = jnp.asarray([0, 0, 1, 1, 1])
    y = jnp.asarray([1, 2, 3, 3, 0])
    _, info_ar = ar.mle_with_info(x, y[:, None], steps=1500)
    _, info_lin = lin.mle_with_info(x, y, steps=1500)
    assert bool(info_ar.converged) and bool(info_lin.converged)
    np.testing.assert_allclose(np.asarray(info_ar.theta[0]), np.asarray(info_lin.theta), atol=1e-4)
    # XPO on the same problem and key follows the same trajectory with either class.
    problem_ar = _problem_of(ar, theta[None])
    problem_tab = problems.from_policy(lin.policy(theta))
    r_ar = xpo(jax.random.key(3), problem_ar, ar, T=3, beta=0.2, alpha=0.01, inner_steps=20)
    r_lin = xpo(jax.random.key(3), problem_tab, lin, T=3, beta=0.2, alpha=0.01, inner_steps=20)
    assert r_ar.thetas.shape == (4, 1, d)
    np.testing.assert_allclose(np.asarray(r_ar.thetas[:, 0]), np.asarray(r_lin.thetas), atol=1e-8)
    assert float(r_ar.error) == float(r_lin.error)


def test_mle_beats_the_truth_on_its_own_data_and_converges():
    H, X, V, k, d, B = 2, 2, 3, 1, 3, 2.0
    cls = ARClass(_features(jax.random.key(4), H, X, V, k, d), B)
    theta_star = cls.project(jax.random.normal(jax.random.key(5), (H, d)) * 2.0)
    x = jax.random.randint(jax.random.key(6), (400,), 0, X)
    y = cls.policy(theta_star).sample(jax.random.key(7), x)
    _, info = cls.mle_with_info(x, y, steps=1500)
    assert bool(info.converged), float(info.grad_map_norm)
    assert np.all(np.linalg.norm(np.asarray(info.theta), axis=-1) <= B + 1e-9)
    nll_star = -float(jnp.mean(cls.sequence_log_probs(theta_star, x, y)))
    assert float(info.loss) <= nll_star + 1e-8  # the MLE maximises the empirical likelihood over the class
    masked = y.at[:5].set(-1)  # masked rows are ignored
    _, info_m = cls.mle_with_info(x, masked, steps=1500)
    assert abs(float(info_m.loss) + float(jnp.mean(cls.sequence_log_probs(info_m.theta, x[5:], y[5:])))) < 1e-10


def test_regression_recovers_pi_star_beta_when_layers_ignore_the_context():
    """With context-free layers (k = 0), π*_β = π_{(1+1/β)θ_base} is in the class and Eq 8's
    population minimiser; on exact rewards from enough pairs the fit recovers it."""
    H, V, d, beta = 2, 4, 3, 0.5
    f = _features(jax.random.key(8), H, 1, V, 0, d)
    theta_base = jnp.asarray([[0.8, -0.3, 0.2], [-0.5, 0.6, 0.1]])
    cls = ARClass(f, 1.01 * (1 + 1 / beta) * float(jnp.linalg.norm(theta_base, axis=-1).max()))
    problem = _problem_of(cls, theta_base)
    opt = ss.kl_regularized_optimum(problem.tabular(), beta)
    in_class = cls.tabular_policy((1 + 1 / beta) * theta_base)
    np.testing.assert_allclose(np.asarray(in_class.log_probs), np.asarray(opt.log_probs), atol=1e-10)
    triples, _ = oracle.sample_triples(jax.random.key(9), problem, 200)
    pol, info = cls.regress_with_info(triples, beta, steps=3000)
    assert float(info.loss) < 1e-8 and bool(info.converged)
    np.testing.assert_allclose(np.asarray(pol.joint_log_probs()), np.asarray(opt.log_probs), atol=1e-3)


def test_pi_star_beta_leaves_the_class_with_context():
    """With full-history layers, powering the joint is not powering each conditional."""
    H, V, d, beta = 2, 3, 2, 0.5
    f = _features(jax.random.key(10), H, 1, V, 1, d)
    theta_base = jnp.asarray([[1.0, 0.0], [0.0, 1.0]])
    cls = ARClass(f, 10.0)
    problem = _problem_of(cls, theta_base)
    opt = ss.kl_regularized_optimum(problem.tabular(), beta)
    naive = cls.tabular_policy((1 + 1 / beta) * theta_base)
    assert float(jnp.max(jnp.abs(naive.log_probs - opt.log_probs))) > 1e-3


def test_rlhf_and_xpo_run_with_the_class():
    H, V, d, beta = 2, 3, 2, 0.5
    f = _features(jax.random.key(11), H, 1, V, 1, d)
    cls = ARClass(f, 5.0)
    problem = _problem_of(cls, jnp.asarray([[1.0, 0.5], [0.5, -1.0]]))
    r = rlhf_sharpening(jax.random.key(12), problem, cls, n=20, beta=beta)
    assert isinstance(r.policy, AutoregressivePolicy) and int(r.num_queries) == 40
    assert r.responses.shape == (20, 2, H)
    out = xpo(jax.random.key(13), problem, cls, T=3, beta=beta, alpha=0.01, inner_steps=20)
    assert isinstance(out.policy, AutoregressivePolicy) and out.thetas.shape == (4, H, d)
    assert int(out.num_queries) == 6 and float(out.error) in (0.0, 1.0)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(features=np.ones((1, 1, 1, 2, 2)), radius=1.0), ValueError, "norm <= 1"),
    (dict(features=np.full((1, 1, 1, 2, 2), np.nan), radius=1.0), ValueError, "finite"),
    (dict(features=np.zeros((1, 1, 1, 2, 2)), radius=0.0), ValueError, "radius"),
    (dict(features=np.zeros((2, 1, 3, 2, 2)), radius=1.0), ValueError, "vocab_size\\*\\*context_length"),
    (dict(features=np.zeros((2, 2, 2)), radius=1.0), ValueError, "features"),
])
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ARClass(**kwargs)


def test_xpo_refuses_a_tabular_problem_with_the_autoregressive_class():
    cls = ARClass(np.zeros((1, 1, 1, 3, 2)), 1.0)
    tab = problems.from_probs(np.full((1, 3), 1 / 3))
    with pytest.raises(TypeError, match="AutoregressivePolicy"):
        xpo(jax.random.key(0), tab, cls, T=1, beta=0.1, alpha=0.0)
