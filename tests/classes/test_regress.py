"""Exact Eq 8 regression oracles of the finite and tabular classes, and RLHF-Sharpening with them."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import classes, oracle


def _empirical_loss(log_table, t, beta):
    """Σ_i (β(log π(y_i) − log π_base(y_i)) − β(log π(y'_i) − log π_base(y'_i)) − (r_i − r'_i))², by a loop."""
    total = 0.0
    for x, y, z, ly, lz, ry, rz in zip(*(np.asarray(a) for a in (t.prompts, t.responses, t.other_responses,
                                                                    t.base_log_probs, t.other_base_log_probs,
                                                                    t.rewards, t.other_rewards))):
        d = beta * (log_table[x, y] - ly) - beta * (log_table[x, z] - lz) - (ry - rz)
        total += d * d
    return total


def test_finite_class_regression_is_exact_enumeration(eq8_setup):
    problem, triples, _ = eq8_setup
    beta = 0.3
    rng = np.random.default_rng(0)
    members = [np.asarray(problem.probs), np.asarray(ss.kl_regularized_optimum(problem, beta).probs)]
    members += [rng.dirichlet(np.ones(5), size=3) for _ in range(3)]
    fc = classes.FiniteClass(np.stack(members))
    losses = np.asarray(fc.regression_losses(triples, beta))
    expected = [_empirical_loss(np.log(mem), triples, beta) for mem in members]
    np.testing.assert_allclose(losses, expected, rtol=1e-10, atol=1e-20)
    assert int(np.argmin(losses)) == 1  # π*_β has zero residual on noise-free self-reward data
    np.testing.assert_allclose(np.asarray(fc.regress(triples, beta).probs), members[1], atol=1e-12)


def test_tabular_regression_recovers_the_kl_optimum_and_beats_other_tables(eq8_setup):
    problem, triples, m = eq8_setup
    assert m == 120
    beta = 0.3
    tc = classes.TabularClass.for_problem(problem)
    fitted = np.asarray(tc.regress(triples, beta).log_probs)
    # noise-free self-reward data: the residual vanishes, and on every compared pair the fitted
    # log-ratio equals π*_β's (responses never compared are not identified by the data)
    best = _empirical_loss(fitted, triples, beta)
    assert best <= 1e-18
    opt = np.log(np.asarray(ss.kl_regularized_optimum(problem, beta).probs))
    for x, y, z in zip(np.asarray(triples.prompts), np.asarray(triples.responses), np.asarray(triples.other_responses)):
        assert fitted[x, y] - fitted[x, z] == pytest.approx(opt[x, y] - opt[x, z], abs=1e-9)
    rng = np.random.default_rng(1)
    for _ in range(20):
        other = np.log(rng.dirichlet(np.ones(5), size=3))
        assert _empirical_loss(other, triples, beta) >= best - 1e-12


def test_tabular_regression_minimum_norm_on_an_incomplete_graph():
    """Only responses 0 and 1 of prompt 0 are compared: their logits are centred, the unseen
    response and the unseen prompt get logit 0 (the minimum-norm choice, documented)."""
    t = oracle.Triples(
        prompts=jnp.array([0, 0]), responses=jnp.array([0, 1]), other_responses=jnp.array([1, 0]),
        base_log_probs=jnp.log(jnp.array([0.5, 0.3])), other_base_log_probs=jnp.log(jnp.array([0.3, 0.5])),
        rewards=jnp.log(jnp.array([0.5, 0.3])), other_rewards=jnp.log(jnp.array([0.3, 0.5])),
    )
    beta = 0.5
    policy = classes.TabularClass(2, 3).regress(t, beta)
    lp = np.asarray(policy.log_probs)
    # θ_0 − θ_1 = (1 + 1/β)(log .5 − log .3); θ_0 + θ_1 = 0; θ_2 = 0
    diff = (1 + 1 / beta) * (np.log(0.5) - np.log(0.3))
    theta = np.array([diff / 2, -diff / 2, 0.0])
    np.testing.assert_allclose(lp[0], theta - np.log(np.exp(theta).sum()), atol=1e-12)
    np.testing.assert_allclose(np.exp(lp[1]), np.full(3, 1 / 3), atol=1e-12)
