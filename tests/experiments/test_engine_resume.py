"""Adding budgets to a stored sample-complexity sweep resumes it; num_active is range-checked."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from sharpsim import oracle, problems
from sharpsim.experiments import sample_complexity


def _trial(key, budget):
    u = jax.random.uniform(key)
    return jnp.where(budget * u > 0.5, 0.0, 1.0), budget * 10


def test_adding_budgets_resumes_instead_of_recomputing(tmp_path):
    path = tmp_path / "rows.csv"
    kwargs = dict(eps=0.1, rho=0.1, num_seeds=8, static_budget=False, progress=False, csv_path=path, config={"t": 1})
    first = sample_complexity(_trial, [1.0, 2.0], **kwargs)
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 2 * 8
    second = sample_complexity(_trial, [1.0, 2.0, 4.0], **kwargs)
    new_lines = path.read_text().splitlines()
    assert new_lines[: len(lines)] == lines  # the finished budgets are kept as they were
    assert len(new_lines) == 1 + 3 * 8  # only the new budget was computed
    assert (second.errors[:2] == first.errors).all()


def test_num_active_must_lie_in_range():
    problem = problems.from_probs([[0.5, 0.5]])
    with pytest.raises(ValueError, match="`num_active`"):
        oracle.sample_best_of_n(jax.random.key(0), problem, 4, 2, num_active=5)
