"""J_β, KL, Hellinger and the population Eq 8 loss: hand computations and the identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import problems, strategies


def test_hand_computed_values():
    pr = problems.from_probs([[0.5, 0.25, 0.25]])
    point = [[1.0, 0.0, 0.0]]
    beta = 0.3
    # J_β(δ_{y0}) = log 0.5 - β KL(δ_{y0} ‖ π_base) = log 0.5 - β log 2
    assert ss.kl_objective(pr, point, beta) == pytest.approx(math.log(0.5) - beta * math.log(2), abs=1e-15)
    # J_β(π_base) = E_base[log π_base] = -H(π_base) = 0.5 log 0.5 + 2 * 0.25 log 0.25
    assert ss.kl_objective(pr, pr.base, beta) == pytest.approx(0.5 * math.log(0.5) + 0.5 * math.log(0.25), abs=1e-15)
    # KL(δ_{y0} ‖ π_base) = log 2; Hellinger: (1 - sqrt .5)^2 + 2 * .25 = 2 - 2 sqrt .5
    assert ss.kl_divergence(pr, point, pr.base) == pytest.approx(math.log(2), abs=1e-15)
    assert ss.hellinger(pr, point, pr.base) == pytest.approx(2 - 2 * math.sqrt(0.5), abs=1e-15)
    # KL(π_base ‖ δ_{y0}) is infinite (mass off the reference's support)
    assert ss.kl_divergence(pr, pr.base, point) == math.inf
    # Eq 8 loss of π_base itself: f = β log π - (1+β) log π_base = -log π_base; 2 Var_{π_base}
    f = -np.log([0.5, 0.25, 0.25])
    w = np.array([0.5, 0.25, 0.25])
    var = float(w @ (f - w @ f) ** 2)
    assert ss.regression_loss(pr, pr.base, beta) == pytest.approx(2 * var, rel=1e-13)
    # a policy with zero mass on a response π_base can draw has infinite loss
    assert ss.regression_loss(pr, point, beta) == math.inf


def test_regression_loss_is_the_pairwise_expectation():
    """Differential check of the 2 Var identity against the literal double sum over (y, y')."""
    rng = np.random.default_rng(0)
    base = rng.dirichlet(np.ones(5), size=3)
    pi = rng.dirichlet(np.ones(5), size=3)
    mu = rng.dirichlet(np.ones(3))
    beta = 0.7
    pr = problems.from_probs(base, mu)
    literal = 0.0
    for x in range(3):
        for y in range(5):
            for z in range(5):
                d = (beta * math.log(pi[x, y] / base[x, y]) - beta * math.log(pi[x, z] / base[x, z])
                     - (math.log(base[x, y]) - math.log(base[x, z])))
                literal += mu[x] * base[x, y] * base[x, z] * d * d
    assert ss.regression_loss(pr, pi, beta) == pytest.approx(literal, rel=1e-12)


@settings(max_examples=40)
@given(
    pr=strategies.tabular_problems(num_prompts=(1, 3), num_responses=(2, 6), min_prob=1e-6),
    other=st.integers(0, 2**31 - 1),
    beta=st.floats(1e-3, 10.0),
)
@example(pr=problems.from_probs([[0.5, 0.5]]), other=0, beta=1.0)
def test_optimum_gap_is_beta_kl(pr, other, beta):
    """J_β(π*_β) − J_β(π) = β KL(π ‖ π*_β) for every π (exact identity; checked to 1e-9)."""
    rng = np.random.default_rng(other)
    pi = rng.dirichlet(np.ones(pr.num_responses), size=pr.num_prompts)
    opt = ss.kl_regularized_optimum(pr, beta)
    gap = ss.kl_objective(pr, opt, beta) - ss.kl_objective(pr, pi, beta)
    assert gap == pytest.approx(beta * ss.kl_divergence(pr, pi, opt), rel=1e-9, abs=1e-9)
    assert gap >= -1e-12


@settings(max_examples=40)
@given(
    pr=strategies.tabular_problems(num_prompts=(1, 3), num_responses=(2, 6), min_prob=1e-6),
    other=st.integers(0, 2**31 - 1),
    beta=st.floats(1e-2, 10.0),
)
def test_eq8_population_loss_is_minimised_at_the_kl_optimum(pr, other, beta):
    opt = ss.kl_regularized_optimum(pr, beta)
    assert ss.regression_loss(pr, opt, beta) <= 1e-12 * (1 + beta) ** 2  # 0 up to rounding
    rng = np.random.default_rng(other)
    pi = rng.dirichlet(np.ones(pr.num_responses), size=pr.num_prompts)
    assert ss.regression_loss(pr, pi, beta) >= ss.regression_loss(pr, opt, beta)


@settings(max_examples=40)
@given(pr=strategies.tabular_problems(num_prompts=(1, 3), num_responses=(2, 6)), other=st.integers(0, 2**31 - 1))
def test_divergences_are_nonnegative_and_vanish_on_equality(pr, other):
    rng = np.random.default_rng(other)
    pi = rng.dirichlet(np.ones(pr.num_responses), size=pr.num_prompts)
    assert ss.kl_divergence(pr, pr.base, pr.base) == pytest.approx(0.0, abs=1e-12)
    assert ss.hellinger(pr, pr.base, pr.base) == pytest.approx(0.0, abs=1e-12)
    h = ss.hellinger(pr, pi, pr.base)
    assert -1e-12 <= h <= 2 + 1e-12
    assert h == pytest.approx(ss.hellinger(pr, pr.base, pi), abs=1e-12)
    assert ss.kl_divergence(pr, pi, pr.base) >= -1e-12


@pytest.mark.parametrize("fn", [ss.kl_objective, ss.regression_loss])
@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_beta_is_refused(fn, beta):
    pr = problems.from_probs([[0.5, 0.5]])
    with pytest.raises(ValueError, match="`beta`"):
        fn(pr, pr.base, beta)
