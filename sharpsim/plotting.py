"""Plotting: ``plot_*(rows, ax=None, **context) -> Axes`` from tidy rows (lists of dicts).

Each plot draws what was measured, with its confidence band, and the theory's curves on the
same axes; constants hidden by ``≲`` appear in the legend.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D


def _select(rows, **where):
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def plot_bon_inference(rows, ax=None, *, heterogeneity: float = 0.0, rho: float = 0.1, gamma: float = 0.0):
    """P(BoN_N pick ∈ y*_γ) against N: measured (literal and exact draws, Clopper–Pearson
    bars), the exact law, and Prop C.1's lower bound ``E_μ[1 - e^{-N π(y*_γ|x)}]`` with its
    threshold ``N = max_x log(1/ρ)/π(y*_γ(x)|x)`` (constant 1; Prop C.1 is sharp)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.2))
    rows = _select(rows, heterogeneity=heterogeneity)
    coverages = sorted({r["coverage"] for r in rows})
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, max(len(coverages), 1)))
    for color, c in zip(colors, coverages):
        lit = sorted(_select(rows, coverage=c, method="literal"), key=lambda r: r["N"])
        exa = sorted(_select(rows, coverage=c, method="exact"), key=lambda r: r["N"])
        Ns = np.array([r["N"] for r in lit], dtype=float)
        ax.plot(Ns, [r["exact"] for r in lit], color=color, lw=1.8, label=f"$C_{{cov}}={c:g}$")
        ax.plot(Ns, [r["prop_c1_bound"] for r in lit], color=color, lw=1.2, ls="--")
        for series, marker, fill, shift in ((lit, "o", color, 0.96), (exa, "s", "white", 1.04)):
            if not series:
                continue
            x = np.array([r["N"] for r in series], dtype=float) * shift
            p = np.array([r["p_hat"] for r in series])
            err = np.array([[r["p_hat"] - r["ci_low"] for r in series], [r["ci_high"] - r["p_hat"] for r in series]])
            ax.errorbar(x, p, yerr=err, fmt=marker, ms=4, color=color, mfc=fill, capsize=2, lw=0.8)
        if lit:
            ax.axvline(lit[0]["prop_c1_threshold"], color=color, ls=":", lw=1)
    ax.axhline(1 - rho, color="grey", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N (draws per prompt)")
    gamma_txt = "" if gamma == 0 else f"_{{\\gamma={gamma:g}}}"
    ax.set_ylabel(f"P(BoN pick $\\in y^*{gamma_txt}(x)$)")
    ax.set_ylim(-0.02, 1.02)
    style = [
        Line2D([], [], color="k", lw=1.8, label="exact law"),
        Line2D([], [], color="k", lw=1.2, ls="--", label="Prop C.1 bound $1-e^{-N\\pi(y^*)}$"),
        Line2D([], [], color="k", ls=":", lw=1, label=f"Prop C.1 N for $\\rho={rho:g}$ (const. 1)"),
        Line2D([], [], color="k", marker="o", ls="", ms=4, label="measured, literal N draws (95% CP)"),
        Line2D([], [], color="k", marker="s", mfc="white", ls="", ms=4, label="measured, exact O(log|Y|) draw"),
    ]
    first = ax.legend(loc="lower right", fontsize=7, title="coverage", title_fontsize=7)
    ax.add_artist(first)
    ax.legend(handles=style, loc="center right", fontsize=6.5, framealpha=0.9)
    title = "homogeneous prompts" if heterogeneity == 0 else f"heterogeneous prompts (h={heterogeneity:g})"
    ax.set_title(f"Inference-time BoN, {title}", fontsize=9)
    return ax


def plot_m_star(ax, xs, stars, *, fit=None, bounds=None, label="measured $m^*$", color="C0", marker="o", xlabel="", faint=False):
    """Measured ``m*`` with its Clopper–Pearson-based interval against ``x`` on log-log axes,
    the fitted exponent (with its bootstrap interval) in the legend, and bound curves.

    Args:
      xs: ``[C]`` x-values.
      stars: per x, the dict of :func:`sharpsim.experiments.engine.m_star`.
      fit: the dict of :func:`sharpsim.experiments.engine.fit_slope` (drawn as a line).
      bounds: ``{label: (xs, ys, style_dict)}`` theory curves.
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


def plot_adaptive_draws(rows, axes=None):
    """Lemma I.1: ``E[N_μ]`` against ``1/P*`` (left) and ``P[miss y*]`` against μ (right),
    measured (literal draws: filled; exact record-to-record draws: open) with intervals, and
    the lemma's bounds (dashed)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    left, right = axes
    ks = sorted({r["num_argmax"] for r in rows})
    for i, k in enumerate(ks):
        color = f"C{i}"
        for method, fill, shift in (("literal", color, 0.97), ("exact", "white", 1.03)):
            d = sorted(_select(rows, panel="draws", num_argmax=k, method=method), key=lambda r: r["inv_p_star"])
            if d:
                x = np.array([r["inv_p_star"] for r in d]) * shift
                y = np.array([r["mean_draws"] for r in d])
                err = [y - [r["draws_low"] for r in d], [r["draws_high"] for r in d] - y]
                left.errorbar(x, y, yerr=err, fmt="o", color=color, mfc=fill, ms=4, capsize=2,
                              label=f"|y*|={k}, measured ({method})")
            m = sorted(_select(rows, panel="miss", num_argmax=k, method=method), key=lambda r: r["stop_level"])
            if m:
                x = np.array([r["stop_level"] for r in m]) * shift
                y = np.array([r["miss_rate"] for r in m])
                err = [y - [r["miss_low"] for r in m], [r["miss_high"] for r in m] - y]
                pos = y > 0
                right.errorbar(x[pos], y[pos], yerr=[e[pos] for e in np.asarray(err)], fmt="o", color=color,
                               mfc=fill, ms=4, capsize=2, label=f"|y*|={k}, measured ({method})")
                if (~pos).any():  # no miss observed: draw the upper confidence limit only
                    right.plot(x[~pos], np.array([r["miss_high"] for r in m])[~pos], "v", color=color, mfc=fill,
                               ms=5, ls="", label=f"|y*|={k}, 0 misses: 95% upper limit" if method == "literal" else None)
        d = sorted(_select(rows, panel="draws", num_argmax=k, method="literal"), key=lambda r: r["inv_p_star"])
        if d:
            left.plot([r["inv_p_star"] for r in d], [r["draws_bound"] for r in d], color=color, ls="--",
                      label=f"Lemma I.1: $(\\mu + 1/{k})/P^*$")
        m = sorted(_select(rows, panel="miss", num_argmax=k, method="literal"), key=lambda r: r["stop_level"])
        if m:
            right.plot([r["stop_level"] for r in m], [r["miss_bound"] for r in m], color=color, ls="--",
                       label=f"Lemma I.1: $e^{{-{k}\\mu}}$")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("$1/P^*$")
    left.set_ylabel("$E[N_\\mu]$ (draws until the rule stops)")
    mu = rows[0]["stop_level"] if rows else float("nan")
    draws_rows = _select(rows, panel="draws")
    if draws_rows:
        mu = draws_rows[0]["stop_level"]
    left.set_title(f"expected draws, $\\mu$ = {mu:.3g}", fontsize=9)
    left.legend(fontsize=6.5)
    right.set_yscale("log")
    right.set_xlabel("stop level $\\mu$")
    right.set_ylabel("P[kept response misses $y^*$]")
    miss_rows = _select(rows, panel="miss")
    if miss_rows:
        right.set_title(f"miss probability, $1/P^*$ = {miss_rows[0]['inv_p_star']:g}", fontsize=9)
    right.legend(fontsize=6.5)
    return axes
