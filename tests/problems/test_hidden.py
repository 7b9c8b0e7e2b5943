"""The hidden-direction instance: offline Eq 8 cannot sharpen without drawing y*; XPO's optimism
finds it (Sec 4.2's XPO, Alg 1)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import sharpsim as ss
from sharpsim import classes, oracle, problems
from sharpsim.algorithms import xpo

BETA = 0.1


def _setup(size, bias=1.0, d=4):
    problem, feats = problems.hidden_direction(d, size, bias=bias)
    return problem, feats, classes.LinearSoftmaxClass(feats, 1.01 * (1 + 1 / BETA) * bias)


@pytest.mark.parametrize("size,bias,d", [(64, 1.0, 4), (300, 0.5, 3), (9, 2.0, 5)])
def test_construction_margin_and_coverage(size, bias, d):
    problem, feats, _ = _setup(size, bias, d)
    f = np.asarray(feats[0])
    assert f.shape == (size, d)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-12)
    assert np.all(f[1:, -1] == 0.0) and f[0, -1] == 1.0  # commons live in e_d^⊥
    assert len({tuple(r) for r in np.round(f, 12)}) == size  # distinct responses
    assert math.isclose(float(ss.margin(problem)), math.exp(bias) - 1, rel_tol=1e-9)
    assert math.isclose(float(ss.coverage(problem)), (size - 1 + math.exp(bias)) / math.exp(bias), rel_tol=1e-9)
    assert int(problem.base.argmax_set()[0].nonzero()[0][0]) == 0


def test_pi_star_beta_is_in_the_class_and_sharpened():
    problem, _, cls = _setup(1024)
    opt = ss.kl_regularized_optimum(problem, BETA)
    theta = jnp.zeros(4).at[-1].set(1 + 1 / BETA)
    np.testing.assert_allclose(np.asarray(cls.policy(theta).log_probs), np.asarray(opt.log_probs), atol=1e-10)
    assert float(ss.sharpening_error(problem, opt, delta=0.1)) == 0.0


def _triples(problem, ys, zs):
    ys, zs = jnp.asarray(ys), jnp.asarray(zs)
    x = jnp.zeros_like(ys)
    ly = problem.base.log_probs[0, ys]
    lz = problem.base.log_probs[0, zs]
    return oracle.Triples(x, ys, zs, ly, lz, ly, lz)


def test_offline_regression_without_y_star_fails_and_with_it_succeeds():
    problem, _, cls = _setup(256)
    commons = [1, 2, 3, 4, 5, 6, 7, 8]
    without = _triples(problem, commons, commons[::-1][:4] + commons[:4])
    pol, info = cls.regress_with_info(without, BETA)
    theta = info.theta
    assert abs(float(theta[-1])) < 1e-9  # e_d not identified: minimum norm sets it to 0
    assert float(pol.probs[0, 0]) < 0.5
    assert float(ss.sharpening_error(problem, pol, delta=0.1)) == 1.0
    with_star = _triples(problem, [0, *commons], [*commons[::-1], 3])
    pol = cls.regress(with_star, BETA)
    assert float(ss.sharpening_error(problem, pol, delta=0.1)) == 0.0


def test_xpo_explores_where_alpha_zero_does_not():
    """|Y| = 1024 (C_cov ≈ 377), T = 16 pairs, 16 seeds.

    XPO (α = 0.01): measured 32/32 successes in the committed figure; asserting >= 12/16 fails with
    probability < 1e-3 if the true rate is >= 0.95. α = 0: it can only succeed if y* is drawn in its 32
    draws (probability 1 − (1 − 1/377)^32 ≈ 0.082); asserting <= 6/16 fails with probability < 1e-3.
    """
    problem, _, cls = _setup(1024)
    theta_base = jnp.zeros(4).at[-1].set(1.0)
    keys = jax.random.split(jax.random.key(11), 16)

    def run(alpha):
        f = jax.jit(jax.vmap(lambda k: xpo(k, problem, cls, T=16, beta=BETA, alpha=alpha, theta_init=theta_base,
                                           inner_steps=60).error))
        return int((np.asarray(f(keys)) == 0).sum())

    assert stats.binom.cdf(11, 16, 0.95) < 1e-3 and stats.binom.sf(6, 16, 0.082) < 1e-3
    assert run(0.01) >= 12
    assert run(0.0) <= 6


@pytest.mark.parametrize("kwargs,match", [(dict(d=1, num_responses=10), "d"),
                                          (dict(d=3, num_responses=2), "num_responses"),
                                          (dict(d=3, num_responses=10, bias=0.0), "bias")])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        problems.hidden_direction(**kwargs)
