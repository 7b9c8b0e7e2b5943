"""The linear-softmax class (Def J.3), its exact Eq 8 regression, its MLE, and RLHF-Sharpening."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as ss
from classes._reference import linear_problem
from sharpsim import classes, oracle, problems
from sharpsim.classes import ball_least_squares


@pytest.mark.parametrize("radius", [0.3, 1.0, 3.0, 100.0])
def test_ball_least_squares_satisfies_the_kkt_conditions(radius):
    rng = np.random.default_rng(int(radius * 10))
    A = rng.normal(size=(40, 5))
    b = rng.normal(size=40) * 4
    theta = np.asarray(ball_least_squares(jnp.asarray(A), jnp.asarray(b), radius))
    grad = A.T @ (A @ theta - b)  # half the gradient of ‖Aθ − b‖²
    norm = np.linalg.norm(theta)
    assert norm <= radius * (1 + 1e-9)
    if norm < radius * (1 - 1e-9):  # interior: unconstrained optimum
        assert np.linalg.norm(grad) <= 1e-8 * (1 + np.linalg.norm(A.T @ b))
    else:  # boundary: -grad = λ θ with λ >= 0
        lam = -(grad @ theta) / (norm**2)
        assert lam >= -1e-9
        assert np.linalg.norm(grad + lam * theta) <= 1e-7 * (1 + np.linalg.norm(grad))
    # and no feasible point on a fine random sample does better (a differential check)
    best = np.sum((A @ theta - b) ** 2)
    for _ in range(2000):
        t = rng.normal(size=5)
        t *= radius * rng.random() ** 0.2 / np.linalg.norm(t)
        assert np.sum((A @ t - b) ** 2) >= best - 1e-9


def test_rank_deficient_least_squares_gets_the_minimum_norm_solution():
    A = jnp.asarray([[1.0, 1.0], [2.0, 2.0]])
    b = jnp.asarray([1.0, 2.0])
    theta = np.asarray(ball_least_squares(A, b, 10.0))
    np.testing.assert_allclose(theta, [0.5, 0.5], atol=1e-12)


def test_regression_recovers_the_kl_optimum_exactly_without_noise():
    """With r = log π_base linear in φ, the Eq 8 minimiser over a ball containing
    θ_β = (1 + 1/β) θ* is π*_β exactly, from any data spanning the feature differences."""
    problem, feats, theta = linear_problem()
    beta = 0.5
    cls = classes.LinearSoftmaxClass(feats, 10.0)  # (1 + 1/β) ‖θ*‖ = 4.5 < 10
    triples, m = oracle.sample_triples(jax.random.key(0), problem, 50)
    assert int(m) == 100
    policy, info = cls.regress_with_info(triples, beta)
    fitted = info.theta
    np.testing.assert_array_equal(np.asarray(policy.probs), np.asarray(cls.regress(triples, beta).probs))
    np.testing.assert_allclose(np.asarray(fitted), (1 + 1 / beta) * theta, atol=1e-8)
    np.testing.assert_allclose(np.asarray(policy.probs), np.asarray(ss.kl_regularized_optimum(problem, beta).probs),
                               atol=1e-9)


def test_mle_converges_to_the_truth_with_many_samples():
    problem, feats, theta = linear_problem(seed=1)
    cls = classes.LinearSoftmaxClass(feats, 5.0)
    batch = oracle.sample_and_evaluate(jax.random.key(3), problem, 20000, 1)
    policy, info = cls.mle_with_info(batch.prompts, batch.responses[:, 0])
    assert bool(info.converged) and float(info.grad_map_norm) < 1e-6
    # 20000 samples, d = 3: the MLE is within a few 1/sqrt(n) of θ*; 0.15 fails w.p. < 1e-6
    assert np.linalg.norm(np.asarray(info.theta) - theta) < 0.15
    assert float(ss.kl_divergence(problem, problem.base, policy)) < 1e-2


def test_bounds_of_lemmas_j4_j5():
    cls = classes.LinearSoftmaxClass(np.ones((1, 2, 4)) / 2.0, 3.0)
    assert cls.log_covering_number(0.1) == pytest.approx(4 * math.log(6 * 3.0 / 0.1))
    assert cls.sec_bound(99) == pytest.approx(4 * math.log(100))
    assert cls.log_size == math.inf


@pytest.mark.parametrize(
    "features, radius, match",
    [
        (np.ones((1, 2, 2)), 1.0, "norm <= 1"),
        (np.full((1, 2, 2), np.nan), 1.0, "finite"),
        (np.zeros((1, 2, 2)), 0.0, "`radius`"),
        (np.zeros((2, 2)), 1.0, "3 dimension"),
    ],
)
def test_linear_class_bad_input(features, radius, match):
    with pytest.raises(ValueError, match=match):
        classes.LinearSoftmaxClass(features, radius)


def test_mle_on_the_sphere_fista_converges_where_projected_adam_stalls():
    """All data on one response: the optimum lies on the sphere ‖θ‖ = B. FISTA (default) meets the
    first-order condition; projected Adam hovers (step norm ~1e-3) and its loss is no better."""
    problem, feats = problems.sphere_separation(jax.random.key(0), 8, radius=1.0, max_responses=64)
    cls = classes.LinearSoftmaxClass(feats, 11.1)
    star = int(jnp.argmax(problem.base.log_probs[0]))
    x = jnp.zeros(4, jnp.int32)
    y = jnp.asarray([star, star, star, (star + 1) % cls.num_responses])
    _, fista = cls.mle_with_info(x, y)
    _, adam = cls.mle_with_info(x, y, method="adam", steps=1000)
    assert bool(fista.converged) and float(fista.grad_map_norm) < 1e-5
    assert float(jnp.linalg.norm(fista.theta)) == pytest.approx(11.1, rel=1e-9)  # on the sphere

    def nll(theta):
        return -float(jnp.mean(cls.log_probs(theta)[x, y]))

    assert nll(fista.theta) <= nll(adam.theta) + 1e-12
    with pytest.raises(ValueError, match="method"):
        cls.mle(x, y, method="sgd")
