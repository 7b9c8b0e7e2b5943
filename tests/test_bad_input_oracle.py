"""oracle.evaluate refuses indices JAX would otherwise clamp silently."""

from __future__ import annotations

import numpy as np
import pytest

from sharpsim import oracle, problems


def test_evaluate_rejects_out_of_range_prompts_and_responses():
    problem = problems.from_probs([[0.5, 0.5], [0.9, 0.1]])
    good = oracle.evaluate(problem, np.array([0, 1]), np.array([[1], [0]]))
    assert good.num_queries == 2
    with pytest.raises(ValueError, match=r"`prompts` must lie in \[0, 2\)"):
        oracle.evaluate(problem, np.array([5]), np.array([0]))
    with pytest.raises(ValueError, match=r"`responses` must lie in \[0, 2\)"):
        oracle.evaluate(problem, np.array([0]), np.array([7]))
    with pytest.raises(TypeError, match="`responses` must hold integer indices"):
        oracle.evaluate(problem, np.array([0]), np.array([0.5]))


def test_evaluate_checks_sequence_shape_and_tokens():
    problem = problems.prop31_tightness()  # V = 2, H = 2
    assert oracle.evaluate(problem, np.array([0]), np.array([[1, 0]])).num_queries == 1
    with pytest.raises(ValueError, match="horizon = 2"):
        oracle.evaluate(problem, np.array([0]), np.array([[1, 0, 0]]))
    with pytest.raises(ValueError, match=r"`responses` must lie in \[0, 2\)"):
        oracle.evaluate(problem, np.array([0]), np.array([[3, 0]]))
