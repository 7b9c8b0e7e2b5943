"""Figure ``lower_bound_eps``: m* against ε on the App H family at fixed d and C.

SFT-Sharpening (Thm 3.1: ``m ≳ C log|Π| / ε²`` up to a log; its split (n, N) searched jointly)
and adaptive SFT-Sharpening (Thm D.2: ``E[m] ≳ C log|Π| / ε``), each with its measured slope, the
seed-bootstrap interval and the grid-resolution interval; the sweep is
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
    split_ratio,
    success_tables,
)
from sharpsim.experiments._lower_bound import CONFIGS_EPS as CONFIGS
from sharpsim.experiments._plot import bound_style, plot_joint_m_star

__all__ = ["BUDGET", "CONFIGS", "DELTA", "DESCRIPTION", "GAMMA", "NAME", "THEORY_NOTE", "Config", "budgets",
           "cells", "draw", "instance", "rates", "run_cell"]

NAME = "lower_bound_eps"
DESCRIPTION = "m* vs eps on the App H family: SFT (Thm 3.1) and adaptive SFT (Thm D.2)"
THEORY_NOTE = "theory/thm31_lower_bound.md"


def rates(rows: list[dict], config: Config) -> list[engine.Rate]:
    """The exponents of m* in ε with both intervals: SFT (Thm 3.1: −2) and adaptive (Thm D.2: −1).

    Success at a cell is ``error <=`` that cell's ε; the cells of ``config.ds[0]`` are fitted.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      One :class:`sharpsim.experiments.engine.Rate` per algorithm.
    """
    d = config.ds[0]
    xs = list(config.epsilons)
    theory = {"sft": (-2.0, "Thm 3.1, Thm 4.1"), "adaptive": (-1.0, "Thm D.2, Thm D.1")}
    out = []
    for alg in config.algorithms:
        tabs = success_tables(rows, x_key="eps", eps=None, where={"algorithm": alg, "d": d})
        label = "SFT m* vs eps (joint n, N)" if alg == "sft" else "adaptive SFT E[m]* vs eps"
        out.append(engine.rate_from_tables(NAME, label, theory[alg][0], xs, [tabs[e] for e in xs], rho=config.rho,
                                           source=theory[alg][1],
                                           split_ratio=split_ratio(config) if alg == "sft" else 1.0))
    return out


def draw(rows: list[dict], config: Config):
    """m* against ε per algorithm with the slopes (bootstrap and grid intervals), and Thm 3.1's and Thm D.2's lower bounds.

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
    styles = {"sft": ("C0", "o", "SFT-Sharpening, best (n, N)"), "adaptive": ("C3", "s", "adaptive SFT-Sharpening")}
    for alg, rate in zip(config.algorithms, rates(rows, config)):
        tabs = success_tables(rows, x_key="eps", eps=None, where={"algorithm": alg, "d": d})
        ratio = split_ratio(config) if alg == "sft" else 1.0
        brackets = [engine.crossing_bracket(tabs[e], rho=config.rho, split_ratio=ratio) for e in xs]
        fit = engine.fit_slope(xs, [tabs[e] for e in xs], rho=config.rho, num_bootstrap=300)
        color, marker, label = styles[alg]
        plot_joint_m_star(ax, xs, brackets, rate, fit, label=label, color=color, marker=marker)
    grid = np.geomspace(min(xs), max(xs), 40)
    insts = {e: instance(config, {"eps": float(e), "d": d}) for e in xs}
    log_sizes = np.interp(np.log(grid), np.log(xs[::-1]), [insts[e].log_size for e in xs[::-1]])
    ax.plot(grid, [bounds.sft_lower_bound(config.C, ls, e) for e, ls in zip(grid, log_sizes)],
            label="Thm 3.1 lower bound (const. 1)", **bound_style(":"))
    ax.plot(grid, [bounds.sft_lower_bound(config.C, ls, e, adaptive=True) for e, ls in zip(grid, log_sizes)],
            label="Thm D.2 adaptive lower bound (const. 1)", **bound_style("-."))
    ax.set_xlabel(r"target error $\epsilon$")
    ax.invert_xaxis()
    ax.legend(fontsize=6, loc="upper left")
    ax.set_title(rf"App H family: m* vs $\epsilon$ (d={d}, C={config.C:g}, $\gamma$=1/2, target $\hat\pi(y^*)>1/2$," "\n"
                 rf"$\rho$={config.rho:g}, {config.seeds} seeds; fixed grids: n ratio $2^{{1/{config.n_per_octave}}}$, "
                 rf"N ratio $2^{{1/{config.N_per_octave}}}$; theory slopes -2 and -1)", fontsize=7)
    fig.tight_layout()
    return fig
