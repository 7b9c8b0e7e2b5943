"""Figure ``lower_bound_size``: m* of SFT-Sharpening against log|Π| = d log M on the App H family.

ε and C are fixed and d varies; Thm 3.1's lower bound and Thm 4.1's upper bound both grow
linearly in log|Π|. The split (n, N) is searched jointly on fixed geometric grids; the slope
carries the seed-bootstrap and the grid-resolution intervals. The sweep is :mod:`sharpsim.experiments._lower_bound`'s.
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
    split_ratio,
    success_tables,
)
from sharpsim.experiments._lower_bound import CONFIGS_SIZE as CONFIGS
from sharpsim.experiments._plot import bound_style, plot_joint_m_star

__all__ = ["BUDGET", "CONFIGS", "DELTA", "DESCRIPTION", "GAMMA", "NAME", "THEORY_NOTE", "Config", "budgets",
           "cells", "draw", "instance", "rates", "run_cell"]

NAME = "lower_bound_size"
DESCRIPTION = "m* vs log|Pi| on the App H family (vary d): SFT-Sharpening"
THEORY_NOTE = "theory/thm31_lower_bound.md"


def rates(rows: list[dict], config: Config) -> list[engine.Rate]:
    """The exponent of SFT's m* in log|Π| (Thm 3.1 and Thm 4.1: 1) with both intervals.

    Args:
      rows: the sweep's rows.
      config: the sweep (its first ``epsilons`` value is fitted).

    Returns:
      One :class:`sharpsim.experiments.engine.Rate`.
    """
    eps = config.epsilons[0]
    tabs = success_tables(rows, x_key="d", eps=eps, where={"algorithm": "sft", "eps": eps})
    ds = sorted(tabs)
    log_sizes = [instance(config, {"eps": eps, "d": d}).log_size for d in ds]
    return [engine.rate_from_tables(NAME, "SFT m* vs log|Pi| (joint n, N)", 1.0, log_sizes, [tabs[d] for d in ds],
                                    rho=config.rho, source="Thm 3.1, Thm 4.1", split_ratio=split_ratio(config))]


def draw(rows: list[dict], config: Config):
    """m* against log|Π| with its slope (bootstrap and grid intervals), Thm 3.1's lower and Thm 4.1's upper bound.

    Args:
      rows: the sweep's rows.
      config: the sweep (its first ``epsilons`` value is drawn).

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    eps = config.epsilons[0]
    tabs = success_tables(rows, x_key="d", eps=eps, where={"algorithm": "sft", "eps": eps})
    ds = sorted(tabs)
    log_sizes = [instance(config, {"eps": eps, "d": d}).log_size for d in ds]
    brackets = [engine.crossing_bracket(tabs[d], rho=config.rho, split_ratio=split_ratio(config)) for d in ds]
    fit = engine.fit_slope(log_sizes, [tabs[d] for d in ds], rho=config.rho, num_bootstrap=300)
    plot_joint_m_star(ax, log_sizes, brackets, rates(rows, config)[0], fit, label="SFT-Sharpening, best (n, N)")
    inst = instance(config, {"eps": eps, "d": ds[0]})
    cov = member_coverage(inst)
    grid = np.geomspace(min(log_sizes), max(log_sizes), 40)
    ax.plot(grid, [bounds.sft_lower_bound(config.C, ls, eps) for ls in grid], label="Thm 3.1 lower bound (const. 1)",
            **bound_style(":"))
    ax.plot(grid, [bounds.sft_upper_bound(cov, ls, eps, delta=0.5, rho=config.rho) for ls in grid],
            label=f"Thm 4.1 upper bound (const. 1, $C_{{cov}}$={cov:.1f})", **bound_style("--"))
    ax.set_xlabel(r"log|$\Pi$| = d log M")
    ax.legend(fontsize=6, loc="upper left")
    ax.set_title(rf"App H family: m* vs log|$\Pi$| ($\epsilon$={eps:g}, M={inst.M}, C={config.C:g}," "\n"
                 rf"{config.seeds} seeds; fixed grids: n ratio $2^{{1/{config.n_per_octave}}}$, "
                 rf"N ratio $2^{{1/{config.N_per_octave}}}$; theory slope 1)", fontsize=7)
    fig.tight_layout()
    return fig
