"""The d-axis figure of Thm J.3 (``experiments.xpo_dimension``): fixed C_cov across d, every budget
read off one run, charged held-out queries, and the bound's d-shape."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import sharpsim as ss
from sharpsim.experiments import engine, xpo_dimension


def test_coverage_and_margin_do_not_depend_on_d():
    config = xpo_dimension.CONFIGS["quick"]
    covs = [ss.coverage(xpo_dimension.instance(config, {"d": d}).problem) for d in config.ds]
    want = (config.size - 1 + math.exp(config.bias)) / math.exp(config.bias)
    np.testing.assert_allclose(covs, want, rtol=1e-12)


def test_rows_cover_the_fixed_grid_and_charge_the_heldout_queries():
    config = xpo_dimension.CONFIGS["testing"]
    grid = xpo_dimension.budgets(config, {"d": 2})
    assert grid == engine.geometric_grid(1, config.T_max)
    cells = xpo_dimension.cells(config)
    assert len(cells) == 2 * len(grid) * len(config.ds)
    for alg in ("xpo", "xpo_best"):
        for T in grid:
            rows = xpo_dimension.run_cell(config, {"d": 2, "algorithm": alg, "budget": T})
            assert len(rows) == config.seeds
            want = 2 * T + (T + 1) * config.heldout_samples if alg == "xpo" else 2 * T
            assert all(r["queries"] == want and r["error"] in (0.0, 1.0) for r in rows)
    with pytest.raises(ValueError, match="unknown algorithm"):
        xpo_dimension.run_cell(config, {"d": 2, "algorithm": "rlhf", "budget": 1})


def test_thm_j3_bound_grows_polynomially_in_d():
    config = xpo_dimension.CONFIGS["quick"]
    b = [xpo_dimension.thm_j3_bound(config, d) for d in (4, 8, 16)]
    # SEC · log N ∝ d² up to logs: doubling d multiplies the bound by between 2 and 8
    for lo, hi in itertools.pairwise(b):
        assert 2 < hi / lo < 8
    with pytest.raises(ValueError, match="`dim`"):
        ss.bounds.xpo_linear_upper_bound(0, 1.0, None, 10, 0.5, T=1, margin=0.5, delta=0.1, rho=0.1)
