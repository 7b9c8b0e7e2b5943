"""Every registered figure module follows the figure protocol of ``sharpsim.experiments.protocol``."""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path

import numpy as np
import pytest

from sharpsim import figures
from sharpsim.experiments import _runner, protocol

ROOT = Path(__file__).resolve().parents[2]


def test_registry_holds_every_figure_in_order():
    assert list(figures.FIGURES) == ["bon_inference", "sft_coverage", "lower_bound_eps", "lower_bound_size",
                                     "adaptive_draws", "separation", "exploration", "xpo_dimension", "rlhf_beta", "rlhf_margin",
                                     "iterated", "power_sampling", "passk_crossover", "amortization"]
    assert figures.MODES == protocol.MODES == ("testing", "quick", "full")


@pytest.mark.parametrize("name", sorted(figures.FIGURES))
def test_figure_module_satisfies_the_protocol(name):
    module = figures.FIGURES[name]
    assert protocol.check_figure(module) is module
    assert isinstance(module, protocol.FigureModule)
    assert module.NAME == name
    assert module.DESCRIPTION.strip() and "\n" not in module.DESCRIPTION
    assert module.THEORY_NOTE.startswith("theory/") and module.THEORY_NOTE.endswith(".md")
    assert (ROOT / module.THEORY_NOTE).is_file(), module.THEORY_NOTE
    for fn in ("cells", "run_cell", "instance", "draw"):
        assert getattr(module, fn).__doc__, f"{name}.{fn} has no docstring"
    config = module.CONFIGS["testing"]
    cells = module.cells(config)
    assert cells and all(isinstance(c, dict) and list(c) == list(cells[0]) for c in cells)
    inst = module.instance(config, cells[0])
    assert inst.problem is not None and hasattr(inst, "model_class")
    assert module.instance(config, cells[0]).problem is inst.problem  # cached: a setting has one problem


@pytest.mark.parametrize("name", sorted(n for n, m in figures.FIGURES.items() if hasattr(m, "BUDGET")))
def test_budgeted_figures_sweep_their_budget_grid(name):
    module = figures.FIGURES[name]
    assert isinstance(module, protocol.BudgetedFigureModule)
    config = module.CONFIGS["testing"]
    cells = module.cells(config)
    for cell in cells:
        grid = module.budgets(config, cell)
        assert grid == sorted(grid) and all(b >= 1 for b in grid)
        if module.BUDGET in cell:
            assert cell[module.BUDGET] in grid


@pytest.mark.parametrize("name", ["sft_coverage", "lower_bound_eps", "lower_bound_size"])
def test_scanning_figures_use_a_fixed_grid_and_rows_carry_the_budget(name):
    """The n grid of the m* figures is the same for every cell: it does not scale with a predicted rate."""
    module = figures.FIGURES[name]
    config = module.CONFIGS["testing"]
    cells = module.cells(config)
    assert module.BUDGET not in cells[0]
    grids = {tuple(module.budgets(config, c)) for c in cells}
    assert len(grids) == 1
    grid = np.array(grids.pop(), float)
    assert np.all(grid[1:] / grid[:-1] <= 2 ** (1 / config.n_per_octave) * 1.5)  # rounding of small integers
    rows = [r for r in module.run_cell(config, cells[0]) if r.get("kind", "search") == "search"]
    assert rows and all(r[module.BUDGET] in set(grid) for r in rows)


@pytest.mark.parametrize("name", sorted(figures.FIGURES))
def test_rates_hook_is_callable_where_defined(name):
    module = figures.FIGURES[name]
    assert not hasattr(module, "rates") or callable(module.rates)


def test_budgeted_figures_are_the_m_star_figures():
    budgeted = {n for n, m in figures.FIGURES.items() if isinstance(m, protocol.BudgetedFigureModule)}
    assert budgeted == {"sft_coverage", "lower_bound_eps", "lower_bound_size", "separation", "exploration",
                        "xpo_dimension", "rlhf_margin"}


@pytest.mark.parametrize("name", ["adaptive_draws", "bon_inference"])
def test_run_cell_returns_a_list_of_rows(name):
    module = figures.FIGURES[name]
    config = module.CONFIGS["testing"]
    rows = module.run_cell(config, module.cells(config)[0])
    assert isinstance(rows, list) and len(rows) == 1 and isinstance(rows[0], dict)


def test_config_hashes_of_the_quick_settings_are_stable():
    """The committed figures/*.csv rows carry these digests; a change would orphan them."""
    expected = {"adaptive_draws": "4449e6751b00", "bon_inference": "f008fefdb3c7", "exploration": "c50a4127545f",
                "lower_bound_eps": "a3b0385cb6e5", "lower_bound_size": "2fb57a45d3f0", "rlhf_beta": "8d6a5c4b1d4a",
                "rlhf_margin": "ef074dcf253f", "separation": "28f61bc5d5ea", "sft_coverage": "6ff7b7ca8e6c",
                "xpo_dimension": "eb709cef233d", "iterated": "1b637a784d89", "passk_crossover": "7c550983530d",
                "power_sampling": "b29cea0d2ed6", "amortization": "80cc23bb833d"}
    got = {name: _runner.config_hash(m.CONFIGS["quick"]) for name, m in figures.FIGURES.items()}
    assert got == expected


def _module(**members):
    module = types.ModuleType("fake_figure")
    for k, val in members.items():
        setattr(module, k, val)
    return module


def _valid_members():
    @dataclasses.dataclass(frozen=True)
    class Config:
        seed: int = 0

    return {"NAME": "fake", "DESCRIPTION": "a fake figure", "THEORY_NOTE": "theory/x.md", "Config": Config,
            "CONFIGS": {m: Config() for m in protocol.MODES}, "cells": lambda c: [], "run_cell": lambda c, cell: [],
            "instance": lambda c, cell: None, "draw": lambda rows, c: None}


def test_check_figure_accepts_a_minimal_module():
    module = _module(**_valid_members())
    assert protocol.check_figure(module) is module


@pytest.mark.parametrize(
    "change,match",
    [
        ({"NAME": None}, "NAME"),
        ({"DESCRIPTION": ""}, "DESCRIPTION"),
        ({"THEORY_NOTE": 3}, "THEORY_NOTE"),
        ({"Config": dict}, "Config"),
        ({"CONFIGS": {"quick": None}}, "CONFIGS"),
        ({"draw": "not callable"}, "draw"),
        ({"BUDGET": "n"}, "BUDGET"),
        ({"budgets": lambda c, cell: []}, "BUDGET"),
        ({"rates": "not callable"}, "rates"),
    ],
)
def test_check_figure_names_what_is_wrong(change, match):
    members = {**_valid_members(), **change}
    members = {k: val for k, val in members.items() if val is not None}
    with pytest.raises(TypeError, match=match):
        protocol.check_figure(_module(**members))


def test_check_figure_rejects_a_config_of_another_type():
    members = _valid_members()
    members["CONFIGS"] = {**members["CONFIGS"], "full": object()}
    with pytest.raises(TypeError, match=r"CONFIGS\['full'\]"):
        protocol.check_figure(_module(**members))
