"""The figure registry behind ``sharpsim figures``.

Each figure is an experiment (``sharpsim.experiments.<name>``: ``Config``, ``CONFIGS``,
``cells``, ``run_cell``) plus a plot function. :func:`generate` runs the sweep resumably into
``<out>/<name>.csv``, draws ``<out>/<name>.png`` and ``.pdf`` and writes
``<out>/<name>.manifest.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sharpsim import bounds, plotting
from sharpsim.experiments import _runner, bon_inference, engine, sft_coverage

MODES = ("testing", "quick", "full")


@dataclasses.dataclass(frozen=True)
class Figure:
    name: str
    description: str
    experiment: object  # module with Config, CONFIGS, cells, run_cell
    draw: Callable  # draw(rows, config) -> matplotlib Figure


def _draw_bon_inference(rows, config):
    panels = list(config.heterogeneities)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False)
    for ax, h in zip(axes[0], panels):
        plotting.plot_bon_inference(rows, ax, heterogeneity=h, rho=config.rho, gamma=config.gamma)
    fig.suptitle(
        f"Prop C.1: best-of-N by self-likelihood, |Y|={config.num_responses}, |X|={config.num_prompts}, "
        f"{config.trials} runs per point",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def _draw_sft_coverage(rows, config):
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    xs = list(config.coverages)
    log_size = sft_coverage.log_class_size(config)
    for i, f in enumerate(config.n_factors):
        tabs = engine.tables_from_rows(rows, x_key="coverage", budget_key="N", eps=config.eps, where={"n_factor": f})
        stars = [engine.m_star(*tabs[c], rho=config.rho) for c in xs]
        main = f == 1.0
        fit = engine.fit_slope(xs, [tabs[c] for c in xs], rho=config.rho, num_bootstrap=300) if main else None
        label = "SFT-Sharpening, n by Thm 4.1" if main else f"check: n x {f:g}"
        plotting.plot_m_star(ax, xs, stars, fit=fit, label=label, color="C0" if main else f"C{i + 2}",
                             marker="o" if main else "^", faint=not main, xlabel="coverage $C_{cov}$")
    grid = np.geomspace(min(xs), max(xs), 50)
    upper = [bounds.sft_upper_bound(c, log_size, config.eps, delta=config.delta, rho=config.rho) for c in grid]
    lower = [bounds.sft_lower_bound(c, log_size, config.eps) for c in grid]
    ax.plot(grid, upper, color="k", ls="--", lw=1.2, label="Thm 4.1 upper bound (const. 1)")
    ax.plot(grid, lower, color="k", ls=":", lw=1.2, label="Thm 3.1 lower bound (const. 1)")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(
        f"SFT-Sharpening: m* vs coverage ($\\epsilon$={config.eps:g}, $\\delta$={config.delta:g}, "
        f"$\\rho$={config.rho:g}, |X|={config.num_prompts}, log|$\\Pi$|={log_size:.1f}, {config.seeds} seeds)",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


FIGURES: dict[str, Figure] = {
    "bon_inference": Figure(
        "bon_inference",
        "P(BoN pick in y*) vs N for several coverages: measured, exact law, Prop C.1 bound",
        bon_inference,
        _draw_bon_inference,
    ),
    "sft_coverage": Figure(
        "sft_coverage",
        "m* of SFT-Sharpening vs C_cov with Thm 4.1 (upper) and Thm 3.1 (lower) bounds",
        sft_coverage,
        _draw_sft_coverage,
    ),
}


def generate(
    names: list[str] | None = None,
    *,
    out: str | Path = "figures",
    mode: str = "quick",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Runs (or resumes) and draws the named figures; returns the files written.

    Raises:
      ValueError: on an unknown figure name or mode.
    """
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {MODES}; got {mode!r}")
    names = list(FIGURES) if not names else names
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; available: {sorted(FIGURES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in names:
        fig_def = FIGURES[name]
        exp = fig_def.experiment
        config = exp.CONFIGS[mode]
        start = time.perf_counter()
        rows = _runner.run_sweep(
            exp.cells(config),
            functools.partial(exp.run_cell, config),
            out / f"{name}.csv",
            config=config,
            progress=progress,
            desc=name,
        )
        fig = fig_def.draw(rows, config)
        files = [out / f"{name}.png", out / f"{name}.pdf"]
        fig.savefig(files[0], dpi=150)
        fig.savefig(files[1])
        plt.close(fig)
        files.append(out / f"{name}.csv")
        manifest = out / f"{name}.manifest.json"
        _runner.write_manifest(
            manifest,
            name=name,
            mode=mode,
            config=config,
            files=[f.name for f in files],
            seconds=time.perf_counter() - start,
        )
        written += [*files, manifest]
        log(f"{name}: {len(rows)} rows, {time.perf_counter() - start:.1f}s -> {out}/{name}.png")
    return written
