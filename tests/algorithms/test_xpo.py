"""XPO (Alg 1) with the linear-softmax class: query accounting, convergence, selection, errors."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import bounds, classes, problems
from sharpsim.algorithms import xpo
from sharpsim.algorithms.xpo import base_projection

BETA = 0.1


@pytest.fixture(scope="module")
def setup():
    problem, feats = problems.sphere_separation(jax.random.key(0), 6, radius=3.0, max_responses=64)
    return problem, classes.LinearSoftmaxClass(feats, 3.0 * (1 + 1 / BETA) * 1.01)


@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_xpo_reaches_the_kl_optimum_and_charges_two_queries_per_pair(setup, alpha):
    problem, cls = setup
    result = xpo(jax.random.key(1), problem, cls, T=12, beta=BETA, alpha=alpha, batch=2, inner_steps=150)
    assert int(result.num_queries) == 2 * 12 * 2
    assert result.thetas.shape == (13, 6) and result.objectives.shape == (13,)
    best = ss.kl_objective(problem, ss.kl_regularized_optimum(problem, BETA), BETA)
    # the selected iterate's exact J_β, recomputed by the public function, is within 1e-6 of
    # the optimum J_β(π*_β) (the gap equals β KL(π ‖ π*_β) >= 0)
    j = ss.kl_objective(problem, result.policy, BETA)
    assert j == pytest.approx(float(result.objectives[int(result.selected)]), abs=1e-9)
    assert best - 1e-6 <= j <= best + 1e-9
    assert float(result.error) == ss.sharpening_error(problem, result.policy, delta=0.1)


def test_selection_rules(setup):
    problem, cls = setup
    best = xpo(jax.random.key(2), problem, cls, T=5, beta=BETA, alpha=0.2, inner_steps=50)
    last = xpo(jax.random.key(2), problem, cls, T=5, beta=BETA, alpha=0.2, inner_steps=50, select="last")
    assert int(last.selected) == 5
    assert int(best.selected) == int(np.argmax(np.asarray(best.objectives)))
    np.testing.assert_array_equal(np.asarray(best.thetas), np.asarray(last.thetas))  # same run, same key
    fresh = xpo(jax.random.key(2), problem, cls, T=5, beta=BETA, alpha=0.2, inner_steps=50, fresh_data_only=True)
    assert fresh.thetas.shape == best.thetas.shape


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"T": 0}, ValueError, "`T`"),
        ({"beta": 0.0}, ValueError, "`beta`"),
        ({"alpha": -0.1}, ValueError, "`alpha`"),
        ({"batch": 0}, ValueError, "`batch`"),
        ({"select": "first"}, ValueError, "`select`"),
    ],
)
def test_xpo_bad_input(setup, kwargs, error, match):
    problem, cls = setup
    args = {"T": 2, "beta": BETA, "alpha": 0.1, **kwargs}
    with pytest.raises(error, match=match):
        xpo(jax.random.key(0), problem, cls, **args)


def test_xpo_needs_a_linear_class(setup):
    problem, _ = setup
    with pytest.raises(TypeError, match="LinearSoftmaxClass"):
        xpo(jax.random.key(0), problem, classes.TabularClass(), T=2, beta=BETA, alpha=0.1)


def test_heldout_selection_charges_its_queries_and_picks_a_good_iterate(setup):
    problem, cls = setup
    T, h = 6, 200
    result = xpo(jax.random.key(5), problem, cls, T=T, beta=BETA, alpha=0.05, inner_steps=100, select="heldout",
                 heldout_samples=h)
    assert int(result.num_queries) == 2 * T + (T + 1) * h
    exact = np.asarray(result.objectives)
    chosen = exact[int(result.selected)]
    # the estimate has sd ~ (spread of the summand)/sqrt(200); the chosen iterate's exact J_β is
    # within 0.5 of the best one (|log π_base| <= ~5 here, so a 0.5 miss needs a > 4 sd error in
    # the estimates; false-failure probability < 1e-4)
    assert chosen >= exact.max() - 0.5
    with pytest.raises(ValueError, match="`heldout_samples`"):
        xpo(jax.random.key(5), problem, cls, T=2, beta=BETA, alpha=0.1, select="heldout", heldout_samples=0)


def test_rebel_style_variant_runs_and_reaches_the_optimum(setup):
    """The variant anchored at π_t: both responses from the iterate, charged 2 per pair, and on
    this noise-free linear problem, started at the uniform member, its best iterate's exact J_β is
    within 1e-3 of the optimum."""
    problem, cls = setup
    result = xpo(jax.random.key(7), problem, cls, T=12, beta=BETA, alpha=0.0, batch=2, inner_steps=150,
                 anchor="iterate", theta_init="uniform")
    assert int(result.num_queries) == 2 * 12 * 2
    best = ss.kl_objective(problem, ss.kl_regularized_optimum(problem, BETA), BETA)
    assert float(result.objectives.max()) >= best - 1e-3
    with pytest.raises(ValueError, match="`anchor`"):
        xpo(jax.random.key(7), problem, cls, T=2, beta=BETA, alpha=0.1, anchor="pi_t")


def test_xpo_starts_at_pi_base_by_default(setup):
    """Alg 1's π^(1) = π_base: the default first iterate is the base (in the class here: θ* = B y*),
    exactly up to the solver (max log-ratio < 1e-9); ``"uniform"`` starts at θ = 0."""
    problem, cls = setup
    result = xpo(jax.random.key(3), problem, cls, T=2, beta=BETA, alpha=0.05, inner_steps=10)
    first = np.asarray(cls.log_probs(result.thetas[0]))
    np.testing.assert_allclose(first, np.asarray(problem.base.log_probs), atol=1e-9)
    theta_b = np.asarray(base_projection(problem, cls))
    np.testing.assert_allclose(np.asarray(result.thetas[0]), theta_b, atol=0)
    uniform = xpo(jax.random.key(3), problem, cls, T=2, beta=BETA, alpha=0.05, inner_steps=10, theta_init="uniform")
    np.testing.assert_array_equal(np.asarray(uniform.thetas[0]), 0.0)
    with pytest.raises(ValueError, match="`theta_init` must be 'base', 'uniform'"):
        xpo(jax.random.key(3), problem, cls, T=2, beta=BETA, alpha=0.05, theta_init="zero")


def test_base_projection_is_the_kl_projection_when_the_base_is_outside_the_class():
    # hidden direction with bias 1 and a class of radius 0.5 < 1: the KL projection lies on the
    # sphere along e_d (by symmetry the common coordinates stay 0), θ = 0.5 e_d
    problem, feats = problems.hidden_direction(3, 5, bias=1.0)  # commons ±e_1, ±e_2 only
    theta = np.asarray(base_projection(problem, classes.LinearSoftmaxClass(feats, 0.5)))
    np.testing.assert_allclose(theta, [0.0, 0.0, 0.5], atol=1e-9)
    with pytest.raises(TypeError, match="parametric"):
        base_projection(problem, classes.TabularClass())


def test_beta_none_is_thm_j2_beta(setup):
    problem, cls = setup
    want = bounds.margin_lemma_beta(ss.margin(problem), problem.num_responses, delta=0.1)
    got = xpo(jax.random.key(4), problem, cls, T=1, beta=None, alpha=0.0, inner_steps=5)
    ref = xpo(jax.random.key(4), problem, cls, T=1, beta=want, alpha=0.0, inner_steps=5)
    np.testing.assert_array_equal(np.asarray(got.objectives), np.asarray(ref.objectives))


def test_the_first_rounds_of_a_longer_run_are_the_shorter_run(setup):
    """Round t never looks ahead and the round keys are a prefix-consistent split, so with the same
    key the first T + 1 iterates of a T_max-round run are the T-round run's (what the
    ``xpo_dimension`` figure reads every budget off one run by)."""
    problem, cls = setup
    short = xpo(jax.random.key(9), problem, cls, T=3, beta=BETA, alpha=0.05, inner_steps=20, select="last")
    long = xpo(jax.random.key(9), problem, cls, T=6, beta=BETA, alpha=0.05, inner_steps=20, select="last")
    np.testing.assert_allclose(np.asarray(long.thetas[:4]), np.asarray(short.thetas), rtol=0, atol=1e-12)
