"""The figure registry behind ``sharpsim figures``.

Each figure is an experiment (a module of ``sharpsim.experiments`` giving its configurations
per mode, ``cells(config)`` and ``run_cell(config, cell)``) plus a draw function. :func:`generate` runs the sweep resumably into
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
from sharpsim.experiments import (
    _runner,
    adaptive_draws,
    bon_inference,
    engine,
    exploration,
    lower_bound,
    rlhf_beta,
    rlhf_margin,
    separation,
    sft_coverage,
)

MODES = ("testing", "quick", "full")


@dataclasses.dataclass(frozen=True)
class Figure:
    name: str
    description: str
    configs: dict  # mode -> config
    cells: Callable  # cells(config) -> list of cell dicts
    run_cell: Callable  # run_cell(config, cell) -> row or rows
    draw: Callable  # draw(rows, config) -> matplotlib Figure


def _figure(name, description, module, draw, configs=None):
    return Figure(name, description, configs or module.CONFIGS, module.cells, module.run_cell, draw)


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


def _bound_style(ls):
    return {"color": "k", "ls": ls, "lw": 1.1}


def _draw_lower_bound_eps(rows, config):
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    d = config.ds[0]
    xs = list(config.epsilons)
    styles = {"sft": ("C0", "o", "SFT-Sharpening (N = M)"), "adaptive": ("C3", "s", "adaptive SFT-Sharpening")}
    for alg in config.algorithms:
        tabs = {e: _success_at(rows, alg, e, d) for e in xs}  # success: err <= that cell's ε
        stars = [engine.m_star(*tabs[e], rho=config.rho) for e in xs]
        fit = engine.fit_slope(xs, [tabs[e] for e in xs], rho=config.rho, num_bootstrap=300)
        color, marker, label = styles[alg]
        plotting.plot_m_star(ax, xs, stars, fit=fit, label=label, color=color, marker=marker, xlabel="target error $\\epsilon$")
    grid = np.geomspace(min(xs), max(xs), 40)
    insts = {e: lower_bound.instance(config, float(e), d) for e in xs}
    log_sizes = np.interp(np.log(grid), np.log(xs[::-1]), [insts[e].log_size for e in xs[::-1]])
    ax.plot(grid, [bounds.sft_lower_bound(config.C, ls, e) for e, ls in zip(grid, log_sizes)],
            label="Thm 3.1 lower bound (const. 1)", **_bound_style(":"))
    ax.plot(grid, [bounds.sft_lower_bound(config.C, ls, e, adaptive=True) for e, ls in zip(grid, log_sizes)],
            label="Thm D.2 adaptive lower bound (const. 1)", **_bound_style("-."))
    ax.invert_xaxis()
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"App H family: m* vs $\\epsilon$ (d={d}, C={config.C:g}, $\\gamma$=1/2, target $\\hat\\pi(y^*)>1/2$, "
                 f"$\\rho$={config.rho:g}, {config.seeds} seeds; theory slopes -2 and -1)", fontsize=8)
    fig.tight_layout()
    return fig


def _success_at(rows, alg, eps, d):
    tabs = engine.tables_from_rows(rows, x_key="eps", budget_key="n", eps=eps, where={"algorithm": alg, "d": d})
    return tabs[eps]


def _draw_lower_bound_size(rows, config):
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    eps = config.epsilons[0]
    tabs = engine.tables_from_rows(rows, x_key="d", budget_key="n", eps=eps, where={"algorithm": "sft"})
    ds = sorted(tabs)
    log_sizes = [lower_bound.instance(config, eps, d).log_size for d in ds]
    stars = [engine.m_star(*tabs[d], rho=config.rho) for d in ds]
    fit = engine.fit_slope(log_sizes, [tabs[d] for d in ds], rho=config.rho, num_bootstrap=300)
    plotting.plot_m_star(ax, log_sizes, stars, fit=fit, label="SFT-Sharpening (N = M)", xlabel="log|$\\Pi$| = d log M")
    inst = lower_bound.instance(config, eps, ds[0])
    cov = (1 - inst.mass) + inst.mass * inst.M / 2  # C_cov,1/2 of every member
    grid = np.geomspace(min(log_sizes), max(log_sizes), 40)
    ax.plot(grid, [bounds.sft_lower_bound(config.C, ls, eps) for ls in grid], label="Thm 3.1 lower bound (const. 1)",
            **_bound_style(":"))
    ax.plot(grid, [bounds.sft_upper_bound(cov, ls, eps, delta=0.5, rho=config.rho) for ls in grid],
            label=f"Thm 4.1 upper bound (const. 1, $C_{{cov}}$={cov:.1f})", **_bound_style("--"))
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"App H family: m* vs log|$\\Pi$| ($\\epsilon$={eps:g}, M={inst.M}, C={config.C:g}, "
                 f"{config.seeds} seeds; theory slope 1)", fontsize=8)
    fig.tight_layout()
    return fig


def _draw_adaptive_draws(rows, config):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    plotting.plot_adaptive_draws(rows, axes)
    fig.suptitle(f"Lemma I.1: App D's adaptive rule, |Y|={config.num_responses}, {config.trials} runs per point "
                 "(95% intervals)", fontsize=10)
    fig.tight_layout()
    return fig


def _plot_m_star_by_algorithm(ax, rows, config, *, x_key, xs_all, styles, xlabel, not_reached):
    """One m* series per algorithm of ``config`` against ``x_key`` (target err_δ = 0); an algorithm
    that misses the target at some x says so in its label (``not_reached(alg, missing)`` gives the
    text) rather than dropping the point silently."""
    for alg in config.algorithms:
        tabs = engine.tables_from_rows(rows, x_key=x_key, budget_key="budget", eps=0.0, where={"algorithm": alg})
        xs = [x for x in xs_all if x in tabs]
        stars = [engine.m_star(*tabs[x], rho=config.rho) for x in xs]
        color, marker, label = styles[alg]
        missing = [x for x, st in zip(xs, stars) if not np.isfinite(st["m_star"])]
        if missing:
            label += f" ({not_reached(alg, missing)})"
        plotting.plot_m_star(ax, xs, stars, label=label, color=color, marker=marker, xlabel=xlabel)
        if len(missing) < len(xs):
            ax.plot(xs, [st["m_star"] for st in stars], color=color, lw=1, alpha=0.6)


def _draw_separation(rows, config):
    from sharpsim.coefficients import coverage

    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    ds = list(config.ds)
    styles = {"sft": ("C0", "o", "SFT-Sharpening"), "rlhf": ("C2", "^", "RLHF-Sharpening (offline Eq 8)"),
              "xpo": ("C3", "s", f"XPO ($\\alpha$={config.alpha:g})")}

    def not_reached(alg, missing):
        top = max(separation.budgets(config, d, alg)[-1] for d in missing)
        return f"not reached at d={', '.join(map(str, missing))} within budget {top}"

    _plot_m_star_by_algorithm(ax, rows, config, x_key="d", xs_all=ds, styles=styles, xlabel="dimension d",
                              not_reached=not_reached)
    covs = [coverage(separation.setup(config, d)[0]) for d in ds]
    ax.plot(ds, covs, color="k", ls=":", lw=1.1, label="$C_{cov}(d)$ (measured; SFT needs $\\gtrsim C_{cov}$ draws)")
    ax.plot(ds, ds, color="k", ls="--", lw=1.1, label="$d$ (poly(d) reference)")
    ax.set_xscale("linear")
    ax.legend(fontsize=7, loc="upper left")
    sizes = ", ".join(f"{separation.setup(config, d)[1].num_responses}" for d in ds)
    ax.set_title(f"Example J.1: m* vs d (|Y| = {sizes}; B={config.radius:g}, $\\beta$={config.beta:g}, "
                 f"$\\delta$={config.delta:g}, $\\rho$={config.rho:g}, {config.seeds} seeds)", fontsize=8)
    fig.tight_layout()
    return fig


def _draw_exploration(rows, config):
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    sizes = list(config.sizes)
    styles = {"rlhf": ("C2", "^", "RLHF-Sharpening (offline Eq 8)"),
              "xpo": ("C3", "s", f"XPO ($\\alpha$={config.alpha:g})"),
              "online": ("C7", "x", "online Eq 8 without optimism ($\\alpha$=0)")}

    def not_reached(alg, missing):
        return (f"not reached at |Y|={', '.join(map(str, missing))} within "
                f"m = {2 * exploration.budgets(config, alg)[-1]}")

    _plot_m_star_by_algorithm(ax, rows, config, x_key="size", xs_all=sizes, styles=styles, xlabel="|Y|",
                              not_reached=not_reached)
    ax.plot(sizes, [exploration.offline_queries_needed(config, s) for s in sizes], color="k", ls=":", lw=1.1,
            label="offline needs $y^*$ drawn w.p. $1-\\rho$: $m \\approx C_{cov}\\ln(1/\\rho)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"Hidden direction (linear softmax, d={config.d}): m* vs |Y| (margin $e^{{{config.bias:g}}}-1$, "
                 f"$\\beta$={config.beta:g}, $\\delta$={config.delta:g}, $\\rho$={config.rho:g}, {config.seeds} seeds)",
                 fontsize=8)
    fig.tight_layout()
    return fig


def _draw_rlhf_beta(rows, config):
    from sharpsim.coefficients import margin as margin_of

    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    problem = rlhf_beta.problem_of(config)
    for i, n in enumerate(config.ns):
        sub = [r for r in rows if r["n"] == n]
        betas = sorted({r["beta"] for r in sub})
        mean = np.array([np.mean([r["error"] for r in sub if r["beta"] == b]) for b in betas])
        sd = np.array([np.std([r["error"] for r in sub if r["beta"] == b], ddof=1) for b in betas])
        half = 1.96 * sd / np.sqrt(config.seeds)
        ax.plot(betas, mean, "o-", color=f"C{i}", ms=4, label=f"RLHF-Sharpening, n = {n} pairs (m = {2 * n})")
        ax.fill_between(betas, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1), color=f"C{i}", alpha=0.2)
    first = sorted({r["beta"] for r in rows})
    opt = [next(r["optimum_error"] for r in rows if r["beta"] == b) for b in first]
    ax.plot(first, opt, "k-", lw=1.5, drawstyle="steps-mid", label="$\\pi^*_\\beta$ itself (exact)")
    gamma = min(margin_of(problem), 2.5128)
    b_lemma = gamma / (2 * np.log(2 * config.num_responses / config.delta))
    b_thm = config.margin * config.delta * config.eps
    ax.axvline(b_lemma, color="grey", ls="--", lw=1, label=f"margin lemma $\\beta = \\gamma/(2\\log(2|Y|/\\delta))$ = {b_lemma:.3g}")
    ax.axvline(b_thm, color="grey", ls=":", lw=1, label=f"Thm 4.2 $\\beta = \\gamma\\delta\\epsilon$ (const. 1) = {b_thm:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("$\\beta$")
    ax.set_ylabel(f"mean exact err$_\\delta$ ($\\delta$ = {config.delta:g}), 95% band")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=6.5, loc="center right")
    ax.set_title(f"RLHF-Sharpening: error vs $\\beta$ (|X|={config.num_prompts}, |Y|={config.num_responses}, "
                 f"$C_{{cov}}$={config.coverage:g}, margin $\\geq$ {config.margin:g}, {config.seeds} seeds)", fontsize=8)
    fig.tight_layout()
    return fig


def _draw_rlhf_margin(rows, config):
    from sharpsim.coefficients import concentrability

    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    tabs = engine.tables_from_rows(rows, x_key="margin", budget_key="n", eps=config.eps)
    xs = [g for g in config.margins if g in tabs]
    stars = [engine.m_star(*tabs[g], rho=config.rho) for g in xs]
    fit = engine.fit_slope(xs, [tabs[g] for g in xs], rho=config.rho, num_bootstrap=300)
    plotting.plot_m_star(ax, xs, stars, fit=fit, label="RLHF-Sharpening, $\\beta = \\gamma\\delta\\epsilon$",
                         xlabel="margin $\\gamma_{margin}$ (requested; measured margin is at least this)")
    grid = np.geomspace(min(xs), max(xs), 40)
    from sharpsim.laws import kl_regularized_optimum

    problem = rlhf_margin.problem_of(config, xs[0])
    c_conc = max(concentrability(problem, kl_regularized_optimum(problem, rlhf_margin.beta_of(config, xs[0]))), 1.0)
    upper = [bounds.rlhf_upper_bound(c_conc, config.num_responses, config.num_prompts * np.log(config.num_responses),
                                     config.eps, margin=g, delta=config.delta, rho=config.rho) for g in grid]
    ax.plot(grid, upper, color="k", ls="--", lw=1.1,
            label=f"Thm 4.2 (const. 1; $C_{{conc}}$={c_conc:.2g}, $C_{{loss}}$=|Y|, stand-in log|$\\Pi$| = |X| log |Y| for the infinite tabular class): slope -2")
    ax.legend(fontsize=6.5, loc="upper right")
    ax.set_title(f"RLHF-Sharpening: m* vs margin (|X|={config.num_prompts}, |Y|={config.num_responses}, "
                 f"$C_{{cov}}$={config.coverage:g}, $\\epsilon$={config.eps:g}, $\\delta$={config.delta:g}, "
                 f"$\\rho$={config.rho:g}, {config.seeds} seeds)", fontsize=8)
    fig.tight_layout()
    return fig


FIGURES: dict[str, Figure] = {
    "bon_inference": _figure(
        "bon_inference",
        "P(BoN pick in y*) vs N for several coverages: measured, exact law, Prop C.1 bound",
        bon_inference,
        _draw_bon_inference,
    ),
    "sft_coverage": _figure(
        "sft_coverage",
        "m* of SFT-Sharpening vs C_cov with Thm 4.1 (upper) and Thm 3.1 (lower) bounds",
        sft_coverage,
        _draw_sft_coverage,
    ),
    "lower_bound_eps": _figure(
        "lower_bound_eps",
        "m* vs eps on the App H family: SFT (Thm 3.1) and adaptive SFT (Thm D.2)",
        lower_bound,
        _draw_lower_bound_eps,
        lower_bound.CONFIGS_EPS,
    ),
    "lower_bound_size": _figure(
        "lower_bound_size",
        "m* vs log|Pi| on the App H family (vary d): SFT-Sharpening",
        lower_bound,
        _draw_lower_bound_size,
        lower_bound.CONFIGS_SIZE,
    ),
    "adaptive_draws": _figure(
        "adaptive_draws",
        "E[N_mu] vs 1/P* and P[miss y*] vs mu for the adaptive rule, with Lemma I.1's bounds",
        adaptive_draws,
        _draw_adaptive_draws,
    ),
    "separation": _figure(
        "separation",
        "Example J.1: m* vs d for SFT-Sharpening, RLHF-Sharpening (Eq 8) and XPO on the linear class",
        separation,
        _draw_separation,
    ),
    "exploration": _figure(
        "exploration",
        "Hidden direction: m* vs |Y| for offline Eq 8, XPO and online Eq 8 without optimism (linear class)",
        exploration,
        _draw_exploration,
    ),
    "rlhf_beta": _figure(
        "rlhf_beta",
        "RLHF-Sharpening: exact error vs beta at fixed data, with pi*_beta's error and the beta prescriptions",
        rlhf_beta,
        _draw_rlhf_beta,
    ),
    "rlhf_margin": _figure(
        "rlhf_margin",
        "m* of RLHF-Sharpening vs the margin, with Thm 4.2's bound",
        rlhf_margin,
        _draw_rlhf_margin,
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
        config = fig_def.configs[mode]
        start = time.perf_counter()
        rows = _runner.run_sweep(
            fig_def.cells(config),
            functools.partial(fig_def.run_cell, config),
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
