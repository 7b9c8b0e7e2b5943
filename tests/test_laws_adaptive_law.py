"""The exact law of the response App D's adaptive rule keeps (``laws.adaptive_law``): by hand,
against the exact miss probability, and against sampled runs of the rule.

The sampled check states its false-failure probability.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import oracle, problems, strategies


def test_adaptive_law_by_hand():
    # (0.5, 0.3, 0.2), μ = 1/2: the rule stops at once on 0.5; on 0.3 it stops at k = 2 (2·0.3 >= 1/2)
    # keeping the better of the two; on 0.2 it stops at k = 2 if the second draw is 0.5 or 0.3, else
    # at k = 3. P(keep 0.2) = 0.2³; P(keep 0.5) = 0.5 + 0.3·0.5 + 0.2·(0.5 + 0.2·0.5) = 0.77.
    pr = problems.from_probs([[0.5, 0.3, 0.2], [0.75, 0.25, 0.0]])
    law = np.asarray(ss.laws.adaptive_law(pr, 0.5).probs)
    np.testing.assert_allclose(law[0], [0.77, 1 - 0.77 - 0.008, 0.008], rtol=1e-12)
    # (0.75, 0.25), μ = 1/2: keeps 0.25 only on two draws of 0.25 (it stops at k = 2 on anything)
    np.testing.assert_allclose(law[1], [1 - 0.25**2, 0.25**2, 0.0], rtol=1e-12, atol=0)


def test_adaptive_law_splits_tied_levels_evenly():
    pr = problems.from_probs([[0.4, 0.4, 0.2]])
    law = np.asarray(ss.laws.adaptive_law(pr, 1.0).probs)[0]
    assert law[0] == law[1] and law.sum() == pytest.approx(1.0, abs=1e-14)


@given(strategies.tabular_problems((1, 3), (1, 6), allow_zero_prompts=False), st.floats(0.05, 8.0))
def test_adaptive_law_is_a_law_and_agrees_with_the_miss_probability(problem, mu):
    law = ss.laws.adaptive_law(problem, mu)
    probs = np.asarray(law.probs)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    assert (probs[np.asarray(problem.base.probs) == 0] == 0).all()
    top = np.asarray(problem.base.argmax_set(0.0))
    miss = ss.laws.adaptive_miss_probability(problem, mu)
    np.testing.assert_allclose(1 - (probs * top).sum(axis=1), miss, atol=1e-12)


def test_adaptive_law_matches_the_sampled_rule():
    # 400,000 exact draws of the rule (oracle.adaptive_best_exact): every response's frequency within
    # 5 standard errors of the exact law (4 responses: false-failure probability <= 4 · 6e-7)
    pr = problems.from_probs([[0.4, 0.3, 0.2, 0.1]])
    want = np.asarray(ss.laws.adaptive_law(pr, 2.0).probs)[0]
    kept = np.asarray(oracle.adaptive_best_exact(jax.random.key(2), pr, 400_000, stop_level=2.0).responses)
    freq = np.bincount(kept, minlength=4) / kept.size
    assert np.all(np.abs(freq - want) <= 5 * np.sqrt(want * (1 - want) / kept.size))


def test_adaptive_law_bad_input():
    pr = problems.from_probs([[0.5, 0.5]])
    with pytest.raises(ValueError, match="`stop_level`"):
        ss.laws.adaptive_law(pr, 0.0)
    with pytest.raises(ValueError, match="`tol`"):
        ss.laws.adaptive_law(pr, 1.0, tol=0.5)
