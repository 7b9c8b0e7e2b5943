"""Bad input to the problem constructors: every invalid argument raises an error naming the argument
and the constraint it broke; an infeasible coverage request states the feasible range."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from sharpsim import problems
from sharpsim.policies import AutoregressivePolicy

KEY = jax.random.key(0)
GOOD = [[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]]


# =========================================================== shapes: prompts vs policies
def test_prompt_probs_length_must_match_policy():
    with pytest.raises(ValueError, match=r"`prompt_probs` has 3 entries but the policy has 2 prompts"):
        problems.from_probs(GOOD, [0.2, 0.3, 0.5])
    ar = AutoregressivePolicy.from_conditionals(np.full((2, 2, 2, 2), 0.5))
    with pytest.raises(ValueError, match=r"`prompt_probs` has 1 entries but the policy has 2 prompts"):
        problems.from_policy(ar, [1.0])
    with pytest.raises(ValueError, match=r"`prompt_probs` must have 1 dimension\(s\)"):
        problems.from_probs(GOOD, [[0.5, 0.5]])


# ============================================================ coverage < 1 or infeasible
@pytest.mark.parametrize("coverage", [0.5, 0.0, -2.0, 50.0, 10.0])
def test_with_coverage_infeasible_states_the_range(coverage):
    # |Y| = 10, one arg-max, margin 0: feasible range [1, 1 + 9/(1 + 1e-6)] = [1, 9.999991]
    with pytest.raises(
        ValueError, match=r"`coverage` = .* is infeasible .*the feasible range is \[1, 9\.999991"
    ):
        problems.with_coverage(KEY, 3, 10, coverage)


def test_with_coverage_infeasible_with_margin_and_ties_states_the_range():
    # |Y| = 50, k = 2, margin 0.3: 1 + 48 / (2 · 1.3) = 19.4615...
    with pytest.raises(
        ValueError, match=r"num_argmax = 2 and margin = 0\.3: the feasible range is \[1, 19\.4615"
    ):
        problems.with_coverage(KEY, 3, 50, 20.0, margin=0.3, num_argmax=2)


@pytest.mark.parametrize("coverage", [0.5, 9.0])
def test_planted_autoregressive_infeasible_states_the_range(coverage):
    # V = 2, H = 3: ((2 + g)/(1 + g))^3 with g = 1e-6 (1 + 1e-9): 7.999988...
    with pytest.raises(
        ValueError, match=r"`coverage` = .* is infeasible .*the feasible range is \[1, 7\.99998"
    ):
        problems.planted_autoregressive(KEY, 2, 2, 3, coverage)


CONSTRUCTOR_ROWS = [
    (lambda: problems.with_coverage(KEY, 2, 5, float("nan")), ValueError, r"`coverage` must be finite; got nan"),
    (lambda: problems.with_coverage(KEY, 2, 5, 1.0, num_argmax=6), ValueError, r"`num_argmax` must be <= num_responses = 5; got 6"),
    (lambda: problems.with_coverage(KEY, 2, 5, 2.0, margin=-0.1), ValueError, r"`margin` must be >= 0; got -0\.1"),
    (lambda: problems.with_coverage(KEY, 2, 5, 2.0, heterogeneity=1.5), ValueError, r"`heterogeneity` must lie in \[0, 1\]; got 1\.5"),
    (lambda: problems.with_coverage(KEY, 0, 5, 2.0), ValueError, r"`num_prompts` must be an integer >= 1; got 0"),
    (lambda: problems.planted_autoregressive(KEY, 2, 1, 3, 1.0), ValueError, r"`vocab_size` must be an integer >= 2; got 1"),
    (lambda: problems.planted_autoregressive(KEY, 2, 2, 3, 2.0, margin=-1.0), ValueError, r"`margin` must be >= 0"),
]


@pytest.mark.parametrize("call,exc,match", CONSTRUCTOR_ROWS)
def test_other_bad_constructor_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
