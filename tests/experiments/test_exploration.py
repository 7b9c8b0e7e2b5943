"""The hidden-direction figure (``experiments.exploration``): the offline success reference is the
probability of drawing y* at least once."""

from __future__ import annotations

import math

import sharpsim as ss
from sharpsim.experiments import engine, exploration


def test_offline_success_reference_is_the_draw_probability():
    config = exploration.Config()
    c = float(ss.coverage(exploration.instance(config, {"size": 64}).problem))
    assert math.isclose(exploration.offline_success_probability(config, 64, 10), 1 - (1 - 1 / c) ** 20, rel_tol=1e-12)


def test_xpo_cells_draw_the_charged_heldout_selection_and_keep_the_free_one_as_reference():
    config = exploration.CONFIGS["testing"]
    grid = exploration.budgets(config, {"algorithm": "xpo"})
    assert grid == engine.geometric_grid(1, config.xpo_max_rounds)
    size = config.sizes[0]
    assert {c["budget"] for c in exploration.cells(config) if c["algorithm"] == "xpo_best"} == set(grid)
    for T in grid:
        held = exploration.run_cell(config, {"size": size, "algorithm": "xpo", "budget": T})
        ref = exploration.run_cell(config, {"size": size, "algorithm": "xpo_best", "budget": T})
        assert len(held) == len(ref) == config.seeds
        assert all(r["queries"] == 2 * T + (T + 1) * config.heldout_samples for r in held)
        assert all(r["queries"] == 2 * T for r in ref)


def test_theory_alpha_forms_differ_by_the_square_of_r_plus_v():
    config = exploration.Config()
    problem, cls = exploration.instance(config, {"size": 256})
    scale = float(ss.r_max(problem)) + 2 * config.beta * (cls.radius + config.bias)
    a1 = exploration.theory_alpha(config, 256, 8)
    aj = exploration.theory_alpha(config, 256, 8, form="thm_j1")
    assert math.isclose(a1 / aj, scale**2, rel_tol=1e-12)
