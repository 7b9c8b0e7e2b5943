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


def test_tabular_regression_on_an_incomplete_graph_is_anchored_documented():
    """Only responses 0 and 1 of prompt 0 are compared (π_base = .5, .3, .2 on prompt 0). The Eq 8
    loss fixes only θ_0 − θ_1; the documented anchoring puts the compared pair at the revealed
    reward levels (θ = (1 + 1/β) log π_base there, noise-free self-reward), gives the unseen
    response the unseen base mass (log .2) plus the smallest fitted reward (log .3) over β, and
    the unseen prompt the uniform law. (Before the anchoring the pair was centred at 0 and the
    unseen response got logit 0.)"""
    t = oracle.Triples(
        prompts=jnp.array([0, 0]), responses=jnp.array([0, 1]), other_responses=jnp.array([1, 0]),
        base_log_probs=jnp.log(jnp.array([0.5, 0.3])), other_base_log_probs=jnp.log(jnp.array([0.3, 0.5])),
        rewards=jnp.log(jnp.array([0.5, 0.3])), other_rewards=jnp.log(jnp.array([0.3, 0.5])),
    )
    beta = 0.5
    policy = classes.TabularClass(2, 3).regress(t, beta)
    lp = np.asarray(policy.log_probs)
    theta = np.array([(1 + 1 / beta) * np.log(0.5), (1 + 1 / beta) * np.log(0.3), np.log(0.2) + np.log(0.3) / beta])
    np.testing.assert_allclose(lp[0], theta - np.log(np.exp(theta).sum()), atol=1e-12)
    np.testing.assert_allclose(np.exp(lp[1]), np.full(3, 1 / 3), atol=1e-12)
    # the Eq 8 residual still vanishes: the anchoring only moves the free constants
    assert _empirical_loss(lp, t, beta) <= 1e-20


def _two_components():
    """One prompt, π_base = (.30, .27, .23, .20 − 1e-3, 1e-3) = y*, b, c, d, e. Pairs (y*, b) and
    (c, e) only: two components, {y*, b} and {c, e}, and d unseen."""
    p = np.array([0.30, 0.27, 0.23, 0.20 - 1e-3, 1e-3])
    ys, zs = np.array([0, 2]), np.array([1, 4])
    lp = np.log(p)
    t = oracle.Triples(prompts=jnp.zeros(2, int), responses=jnp.asarray(ys), other_responses=jnp.asarray(zs),
                       base_log_probs=jnp.asarray(lp[ys]), other_base_log_probs=jnp.asarray(lp[zs]),
                       rewards=jnp.asarray(lp[ys]), other_rewards=jnp.asarray(lp[zs]))
    return p, t


def test_tabular_regression_y_star_wins_across_components():
    """y* and c sit in different components of the comparison graph. Minimum-norm logits (each
    component centred at 0, the previous behaviour) put c first: its partner e is far below it,
    so c − mean{c, e} > y* − mean{y*, b}. The anchored fit ranks every seen response as π*_β
    does, so y* wins; and it still minimises the Eq 8 loss (zero residual)."""
    p, t = _two_components()
    for beta in (0.01, 0.1, 1.0):
        lp = np.asarray(classes.TabularClass(1, 5).regress(t, beta).log_probs)[0]
        assert int(np.argmax(lp)) == 0
        opt = (1 + 1 / beta) * np.log(p)
        for a, b in ((0, 1), (2, 4), (0, 2), (1, 4)):  # within and across components
            assert lp[a] - lp[b] == pytest.approx(opt[a] - opt[b], rel=1e-9, abs=1e-9)
        assert lp[3] < lp[0]  # the unseen response does not beat y*
        assert _empirical_loss(lp[None], t, beta) <= 1e-18
        # what the minimum-norm choice did: c's centred logit beats y*'s
        d_star = (1 + 1 / beta) * (np.log(p[0]) - np.log(p[1])) / 2
        d_c = (1 + 1 / beta) * (np.log(p[2]) - np.log(p[4])) / 2
        assert d_c > d_star


def test_tabular_regression_noise_moves_only_what_the_rewards_say():
    """With noisy revealed rewards (σ = 0.5) the fit is still an exact Eq 8 minimiser (the loss
    equals the least-squares optimum: no table does better on random trials), and with σ = 0 it is
    π*_β on every response seen."""
    import jax

    problem = ss.problems.with_coverage(jax.random.key(0), 3, 6, 2.5)
    beta = 0.2
    tc = classes.TabularClass.for_problem(problem)
    t0, _ = oracle.sample_triples(jax.random.key(2), problem, 40)
    lp0 = np.asarray(tc.regress(t0, beta).log_probs)
    opt = (1 + 1 / beta) * np.log(np.asarray(problem.probs))
    for x in range(3):
        seen = np.unique(np.r_[np.asarray(t0.responses)[np.asarray(t0.prompts) == x],
                               np.asarray(t0.other_responses)[np.asarray(t0.prompts) == x]])
        diffs = lp0[x, seen] - opt[x, seen]
        np.testing.assert_allclose(diffs, diffs[0], atol=1e-9)
    t1, _ = oracle.sample_triples(jax.random.key(2), problem, 40, reward_noise=0.5)
    lp1 = np.asarray(tc.regress(t1, beta).log_probs)
    best = _empirical_loss(lp1, t1, beta)
    rng = np.random.default_rng(3)
    for _ in range(20):
        other = lp1 + 0.05 * rng.standard_normal(lp1.shape)
        assert _empirical_loss(other, t1, beta) >= best - 1e-9
