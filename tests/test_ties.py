"""Tie conventions agree across functions, including on a chain of near-ties."""

from __future__ import annotations

import jax
import numpy as np

import sharpsim as ss
from sharpsim import bounds, oracle, problems

EPS = 6e-10  # below TIE_RTOL = 1e-9: neighbours tie, the chain's ends (1.2e-9 apart) do not


def _chain_problem():
    top = [0.3, 0.3 * (1 - EPS), 0.3 * (1 - 2 * EPS)]
    return problems.from_probs([[*top, 1 - sum(top)]])


def test_bon_top_level_is_the_argmax_set_on_a_chain():
    problem = _chain_problem()
    mask = np.asarray(problem.base.argmax_set())[0]
    assert mask.tolist() == [True, True, False, False]
    N = 5
    # y* = the first two responses, mass 0.6(1 - EPS/2); BoN succeeds unless all 5 draws miss.
    p_star = 0.3 * (2 - EPS)
    expected = 1 - (1 - p_star) ** N
    got = ss.bon_success_probability(problem, N)
    assert abs(got - expected) < 1e-12
    assert got >= bounds.bon_inference_guarantee(problem, N) - 1e-15  # Prop C.1
    law = np.asarray(ss.bon_law(problem, N).probs)[0]
    assert law[0] == law[1]  # one level, split evenly
    assert law[2] != law[0]  # the end of the chain is a level of its own


def test_exact_draws_respect_the_chain_levels():
    problem = _chain_problem()
    picks = np.asarray(oracle.sample_best_of_n(jax.random.key(0), problem, 20000, 5).responses)
    law = np.asarray(ss.bon_law(problem, 5).probs)[0]
    freq = np.bincount(picks, minlength=4) / picks.size
    # 20000 draws: |freq - law| > 0.02 has probability < 2 exp(-2 * 20000 * 0.02^2) ≈ 2e-7
    # per response (Hoeffding), so the false-failure probability of this test is < 1e-6.
    assert np.all(np.abs(freq - law) < 0.02)
