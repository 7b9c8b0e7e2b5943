"""Figure ``lower_bound_size``: m* of SFT-Sharpening against log|Π| = d log M on the App H family.

ε and C are fixed and d varies; Thm 3.1's lower bound and Thm 4.1's upper bound both grow
linearly in log|Π|. The sweep is :mod:`sharpsim.experiments._lower_bound`'s.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from sharpsim import bounds
from sharpsim.experiments import engine
from sharpsim.experiments._lower_bound import (
    BUDGET,
    DELTA,
    GAMMA,
    Config,
    budgets,
    cells,
    instance,
    member_coverage,
    run_cell,
    success_tables,
)
from sharpsim.experiments._lower_bound import CONFIGS_SIZE as CONFIGS
from sharpsim.experiments._plot import bound_style, plot_m_star

__all__ = ["BUDGET", "CONFIGS", "DELTA", "DESCRIPTION", "GAMMA", "NAME", "THEORY_NOTE", "Config", "budgets",
           "cells", "draw", "instance", "run_cell"]

NAME = "lower_bound_size"
DESCRIPTION = "m* vs log|Pi| on the App H family (vary d): SFT-Sharpening"
THEORY_NOTE = "theory/thm31_lower_bound.md"


def draw(rows: list[dict], config: Config):
    """m* against log|Π| with its fitted slope, Thm 3.1's lower bound and Thm 4.1's upper bound (constant 1).

    Args:
      rows: the sweep's rows.
      config: the sweep (its first ``epsilons`` value is drawn).

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    eps = config.epsilons[0]
    tabs = success_tables(rows, x_key="d", eps=eps, where={"algorithm": "sft"})
    ds = sorted(tabs)
    log_sizes = [instance(config, {"eps": eps, "d": d}).log_size for d in ds]
    stars = [engine.m_star(*tabs[d], rho=config.rho) for d in ds]
    fit = engine.fit_slope(log_sizes, [tabs[d] for d in ds], rho=config.rho, num_bootstrap=300)
    plot_m_star(ax, log_sizes, stars, fit=fit, label="SFT-Sharpening (N = M)", xlabel="log|$\\Pi$| = d log M")
    inst = instance(config, {"eps": eps, "d": ds[0]})
    cov = member_coverage(inst)
    grid = np.geomspace(min(log_sizes), max(log_sizes), 40)
    ax.plot(grid, [bounds.sft_lower_bound(config.C, ls, eps) for ls in grid], label="Thm 3.1 lower bound (const. 1)",
            **bound_style(":"))
    ax.plot(grid, [bounds.sft_upper_bound(cov, ls, eps, delta=0.5, rho=config.rho) for ls in grid],
            label=f"Thm 4.1 upper bound (const. 1, $C_{{cov}}$={cov:.1f})", **bound_style("--"))
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"App H family: m* vs log|$\\Pi$| ($\\epsilon$={eps:g}, M={inst.M}, C={config.C:g}, "
                 f"{config.seeds} seeds; theory slope 1)", fontsize=8)
    fig.tight_layout()
    return fig
