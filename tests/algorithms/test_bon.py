"""Best-of-N as an algorithm (``sharpsim.algorithms.best_of_n``, Prop C.1): hits are counted against
the exact arg-max set, and the hit rate matches the exact success probability. The statistical
test is a two-sided binomial test at level 1e-6 (false-failure probability about 1e-6)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy import stats

import sharpsim as ss
from sharpsim import algorithms, problems

ALPHA = 1e-6  # false-failure probability of the binomial test

TABLE = np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
MU = np.array([0.5, 0.0, 0.5])  # prompt 1 has zero mass and must never be drawn


@pytest.fixture(scope="module")
def problem():
    return problems.from_probs(TABLE, MU)


# ============================================================== algorithms.best_of_n
@pytest.mark.parametrize("method", ["literal", "exact"])
def test_algorithm_best_of_n_reports_hits_against_exact_arg_max(problem, method):
    n, N = 300, 2
    res = algorithms.best_of_n(jax.random.key(4), problem, n=n, N=N, method=method)
    assert int(res.num_queries) == n * N
    prompts, responses, hit = np.asarray(res.prompts), np.asarray(res.responses), np.asarray(res.hit)
    # y*(x0) = {0}; y*(x2) = everything (all tied)
    expected = np.where(prompts == 0, responses == 0, True)
    np.testing.assert_array_equal(hit, expected)
    assert hit.any() and not hit.all()  # x0 misses w.p. 0.25 per prompt


def test_algorithm_best_of_n_gamma_widens_the_target(problem):
    res = algorithms.best_of_n(jax.random.key(5), problem, n=300, N=1, gamma=0.45)
    prompts, responses = np.asarray(res.prompts), np.asarray(res.responses)
    # y*_0.45(x0) = {0, 1} (threshold 0.275)
    expected = np.where(prompts == 0, np.isin(responses, [0, 1]), True)
    np.testing.assert_array_equal(np.asarray(res.hit), expected)


def test_algorithm_best_of_n_hit_rate_matches_exact_success_probability():
    # hit rate over 20000 prompts vs bon_success_probability = 0.25·0.75 + 0.75·0.96 (by hand);
    # a two-sided binomial test at level ALPHA: false-failure probability ~1e-6
    pr = problems.from_probs([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]], [0.25, 0.75])
    p = 0.25 * 0.75 + 0.75 * 0.96
    assert ss.bon_success_probability(pr, 2) == pytest.approx(p, rel=1e-14)
    res = algorithms.best_of_n(jax.random.key(6), pr, n=20_000, N=2)
    hits = int(np.asarray(res.hit).sum())
    assert stats.binomtest(hits, 20_000, p).pvalue > ALPHA
