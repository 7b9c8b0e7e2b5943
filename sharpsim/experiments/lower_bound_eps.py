"""Figure ``lower_bound_eps``: m* against ε on the App H family at fixed d and C.

SFT-Sharpening (Thm 3.1: ``m ≳ C log|Π| / ε²`` up to a log) and adaptive SFT-Sharpening
(Thm D.2: ``E[m] ≳ C log|Π| / ε``), each with its measured slope; the sweep is
:mod:`sharpsim.experiments._lower_bound`'s.
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
    run_cell,
    success_tables,
)
from sharpsim.experiments._lower_bound import CONFIGS_EPS as CONFIGS
from sharpsim.experiments._plot import bound_style, plot_m_star

__all__ = ["BUDGET", "CONFIGS", "DELTA", "DESCRIPTION", "GAMMA", "NAME", "THEORY_NOTE", "Config", "budgets",
           "cells", "draw", "instance", "run_cell"]

NAME = "lower_bound_eps"
DESCRIPTION = "m* vs eps on the App H family: SFT (Thm 3.1) and adaptive SFT (Thm D.2)"
THEORY_NOTE = "theory/thm31_lower_bound.md"


def draw(rows: list[dict], config: Config):
    """m* against ε per algorithm with fitted slopes, and Thm 3.1's and Thm D.2's lower bounds (constant 1).

    Success at a cell is ``error <= `` that cell's ε.

    Args:
      rows: the sweep's rows.
      config: the sweep (its first ``ds`` value is drawn).

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    d = config.ds[0]
    xs = list(config.epsilons)
    styles = {"sft": ("C0", "o", "SFT-Sharpening (N = M)"), "adaptive": ("C3", "s", "adaptive SFT-Sharpening")}
    for alg in config.algorithms:
        tabs = {e: success_tables(rows, x_key="eps", eps=e, where={"algorithm": alg, "d": d})[e] for e in xs}
        stars = [engine.m_star(*tabs[e], rho=config.rho) for e in xs]
        fit = engine.fit_slope(xs, [tabs[e] for e in xs], rho=config.rho, num_bootstrap=300)
        color, marker, label = styles[alg]
        plot_m_star(ax, xs, stars, fit=fit, label=label, color=color, marker=marker, xlabel="target error $\\epsilon$")
    grid = np.geomspace(min(xs), max(xs), 40)
    insts = {e: instance(config, {"eps": float(e), "d": d}) for e in xs}
    log_sizes = np.interp(np.log(grid), np.log(xs[::-1]), [insts[e].log_size for e in xs[::-1]])
    ax.plot(grid, [bounds.sft_lower_bound(config.C, ls, e) for e, ls in zip(grid, log_sizes)],
            label="Thm 3.1 lower bound (const. 1)", **bound_style(":"))
    ax.plot(grid, [bounds.sft_lower_bound(config.C, ls, e, adaptive=True) for e, ls in zip(grid, log_sizes)],
            label="Thm D.2 adaptive lower bound (const. 1)", **bound_style("-."))
    ax.invert_xaxis()
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"App H family: m* vs $\\epsilon$ (d={d}, C={config.C:g}, $\\gamma$=1/2, target $\\hat\\pi(y^*)>1/2$, "
                 f"$\\rho$={config.rho:g}, {config.seeds} seeds; theory slopes -2 and -1)", fontsize=8)
    fig.tight_layout()
    return fig
