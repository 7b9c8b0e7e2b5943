"""Plot helpers shared by the figure modules: row selection, the ``m*`` series and bound styles.

Every plot draws what was measured, with its confidence interval, and the theory's curves on the
same axes; constants hidden by ``≲`` appear in the legend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np

from sharpsim.experiments import engine

__all__ = ["bound_style", "plot_joint_m_star", "plot_m_star", "plot_m_star_by_algorithm", "select"]


def select(rows: list[dict], **where) -> list[dict]:
    """The rows whose values equal ``where``'s (e.g. ``select(rows, method="exact")``)."""
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def bound_style(ls: str) -> dict:
    """The line style of a theory bound: black, line style ``ls``."""
    return {"color": "k", "ls": ls, "lw": 1.1}


def plot_m_star(ax, xs, stars, *, fit=None, bounds=None, label="measured $m^*$", color="C0", marker="o", xlabel="",
                faint=False):
    """Measured ``m*`` with its Clopper–Pearson-based interval against ``x`` on log-log axes.

    The fitted exponent (with its bootstrap interval) goes in the legend and the fitted line is
    drawn; points where ``m*`` was not reached are left out.

    Args:
      ax: the axes to draw on.
      xs: ``[C]`` x-values.
      stars: per x, the dict of :func:`sharpsim.experiments.engine.m_star`.
      fit: the dict of :func:`sharpsim.experiments.engine.fit_slope` (drawn as a line), or ``None``.
      bounds: ``{label: (xs, ys, style_dict)}`` theory curves, or ``None``.
      label, color, marker: the series' legend text and style.
      xlabel: the x-axis label.
      faint: draw a secondary series (open, translucent markers; no fitted line).

    Returns:
      The axes.
    """
    xs = np.asarray(xs, float)
    m = np.array([s["m_star"] for s in stars], float)
    lo = np.array([s["m_star_low"] for s in stars], float)
    hi = np.array([s["m_star_high"] for s in stars], float)
    ok = np.isfinite(m)
    lo_err = np.where(np.isfinite(lo), m - lo, 0)
    hi_err = np.where(np.isfinite(hi), hi - m, 0)
    text = label
    if fit is not None and np.isfinite(fit["slope"]):
        text += f": slope {fit['slope']:.2f} [{fit['slope_low']:.2f}, {fit['slope_high']:.2f}]"
    alpha = 0.45 if faint else 1.0
    ax.errorbar(xs[ok], m[ok], yerr=[lo_err[ok], hi_err[ok]], fmt=marker, color=color, capsize=3,
                ms=5 if not faint else 4, alpha=alpha, label=text, mfc="white" if faint else color)
    if fit is not None and np.isfinite(fit["slope"]) and not faint:
        grid = np.geomspace(xs.min(), xs.max(), 50)
        ax.plot(grid, np.exp(fit["intercept"]) * grid ** fit["slope"], color=color, lw=1, alpha=0.7)
    for blabel, (bx, by, style) in (bounds or {}).items():
        ax.plot(bx, by, label=blabel, **style)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("queries $m^*$ to reach $P[\\mathrm{err}_\\delta \\leq \\epsilon] \\geq 1-\\rho$")
    return ax


def plot_m_star_by_algorithm(ax, rows: list[dict], config, *, x_key: str, xs_all: Sequence, styles: dict,
                             xlabel: str, not_reached: Callable[[str, list], str]) -> None:
    """One ``m*`` series per algorithm of ``config.algorithms`` against ``x_key`` (target ``err_δ = 0``).

    An algorithm that misses the target at some x says so in its label rather than dropping the
    point silently.

    Args:
      ax: the axes to draw on.
      rows: the sweep's per-seed rows, with ``algorithm``, ``x_key``, ``budget``, ``seed``,
        ``error`` and ``queries``.
      config: the sweep (``algorithms`` and ``rho`` are read).
      x_key: the row key of the x-axis.
      xs_all: the x-values, in drawing order.
      styles: ``{algorithm: (color, marker, label)}``.
      xlabel: the x-axis label.
      not_reached: ``not_reached(algorithm, missing_xs)`` gives the label's note for the
        x-values where the target was not reached.
    """
    for alg in config.algorithms:
        tabs = engine.tables_from_rows(rows, x_key=x_key, budget_key="budget", eps=0.0, where={"algorithm": alg})
        xs = [x for x in xs_all if x in tabs]
        stars = [engine.m_star(*tabs[x], rho=config.rho) for x in xs]
        color, marker, label = styles[alg]
        missing = [x for x, st in zip(xs, stars) if not np.isfinite(st["m_star"])]
        if missing:
            label += f" ({not_reached(alg, missing)})"
        plot_m_star(ax, xs, stars, label=label, color=color, marker=marker, xlabel=xlabel)
        if len(missing) < len(xs):
            ax.plot(xs, [st["m_star"] for st in stars], color=color, lw=1, alpha=0.6)


def plot_joint_m_star(ax, xs, brackets, rate, fit, *, label: str, color: str = "C0", marker: str = "o"):
    """Measured ``m*`` with its grid bracket ``[last failing, first passing]`` and the fitted line.

    The legend gives the slope with its bootstrap and grid-resolution intervals (a degenerate
    interval says so); cells that never pass are left out and listed in the label.

    Args:
      ax: the axes to draw on.
      xs: ``[C]`` x-values.
      brackets: per x, the dict of :func:`sharpsim.experiments.engine.crossing_bracket`.
      rate: the :class:`sharpsim.experiments.engine.Rate` of the series.
      fit: the dict of :func:`sharpsim.experiments.engine.fit_slope` (its line is drawn).
      label, color, marker: the series' legend text and style.

    Returns:
      The axes.
    """
    xs = np.asarray(xs, float)
    m = np.array([b["m_star"] for b in brackets], float)
    lo = np.array([b["m_fail"] for b in brackets], float)
    ok = np.isfinite(m)
    lo_err = np.where(np.isfinite(lo), m - lo, 0)
    text = label
    if np.isfinite(rate.slope):
        text += (f": slope {rate.slope:.2f}, bootstrap {engine.format_interval(rate.boot_low, rate.boot_high)}, "
                 f"grid {engine.format_interval(rate.grid_low, rate.grid_high)}")
    if rate.edges:
        text += f"; crossing at a grid edge for x = {', '.join(f'{e:g}' for e in rate.edges)}"
    ax.errorbar(xs[ok], m[ok], yerr=[lo_err[ok], np.zeros(ok.sum())], fmt=marker, color=color, capsize=3, ms=5,
                label=text)
    if np.isfinite(fit["slope"]):
        grid = np.geomspace(xs.min(), xs.max(), 50)
        ax.plot(grid, np.exp(fit["intercept"]) * grid ** fit["slope"], color=color, lw=1, alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("queries $m^*$ (bar: last failing $m$ of the grid)")
    return ax
