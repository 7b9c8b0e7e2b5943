"""Unit tests for sharpsim.problems' Problem object: wrapping user arrays (``from_probs``) and policies
(``from_policy``)."""

from __future__ import annotations

import numpy as np
import pytest

from sharpsim import problems
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.problems import Problem


# ============================================================================ from_probs
def test_from_probs_default_mu_is_uniform():
    pr = problems.from_probs([[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]])
    assert isinstance(pr, Problem) and isinstance(pr.base, TabularPolicy)
    np.testing.assert_allclose(np.asarray(pr.prompt_probs), [1 / 3, 1 / 3, 1 / 3], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(pr.probs), [[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]], rtol=1e-15)
    assert pr.num_prompts == 3 and pr.num_responses == 2
    assert np.asarray(pr.prompt_probs).dtype == np.float64


def test_from_probs_keeps_given_mu_with_zero_mass_prompts():
    pr = problems.from_probs([[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]], [0.25, 0.0, 0.75])
    np.testing.assert_allclose(np.asarray(pr.prompt_probs), [0.25, 0.0, 0.75], rtol=1e-15)


def test_from_policy_wraps_both_kinds():
    tab = TabularPolicy.from_probs([[0.3, 0.7]])
    assert problems.from_policy(tab).base is tab
    ar = AutoregressivePolicy.from_conditionals(np.full((2, 1, 2, 2), 0.5))
    pr = problems.from_policy(ar, [1.0])
    assert pr.num_responses == 4
    with pytest.raises(TypeError, match="tabular base"):
        _ = pr.probs
    np.testing.assert_allclose(np.asarray(pr.tabular().probs), [[0.25] * 4], rtol=1e-14)
