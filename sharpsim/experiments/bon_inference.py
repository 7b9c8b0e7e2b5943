"""Figure ``bon_inference``: inference-time best-of-N against Prop C.1.

For problems of several coverages (built exactly by ``problems.with_coverage``), and for each
N, it measures ``P_{x~μ}[BoN_N pick ∈ y*_γ(x)]`` from draws through the oracle — literal N
draws and the exact O(log |Y|) path, each with a Clopper–Pearson interval — and records the
exact probability (from ``bon_law``), the Prop C.1 lower bound ``E_μ[1 - e^{-N π(y*_γ|x)}]``
and the Prop C.1 threshold ``max_x log(1/ρ)/π(y*_γ(x)|x)``.

Common random numbers: the problem of a (coverage, heterogeneity) pair is the same for every
N and both methods, and the draw keys depend only on the cell.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from scipy import stats

from sharpsim import bounds, problems
from sharpsim.algorithms import best_of_n
from sharpsim.experiments._plot import select
from sharpsim.experiments.protocol import Instance
from sharpsim.laws import bon_success_probability

NAME = "bon_inference"
DESCRIPTION = "P(BoN pick in y*) vs N for several coverages: measured, exact law, Prop C.1 bound"
THEORY_NOTE = "theory/propC1_bon_inference.md"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      coverages: target ``C_cov`` values.
      heterogeneities: ``with_coverage`` heterogeneity values (one panel each).
      Ns: numbers of draws.
      num_prompts, num_responses: problem size.
      gamma: approximation level of the target set ``y*_γ``.
      rho: failure probability for the Prop C.1 threshold.
      trials: BoN runs (prompts drawn from μ) per cell and method.
      confidence: level of the Clopper–Pearson intervals.
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    coverages: tuple[float, ...] = (2.0, 8.0, 32.0)
    heterogeneities: tuple[float, ...] = (0.0, 1.0)
    Ns: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    num_prompts: int = 100
    num_responses: int = 64
    gamma: float = 0.0
    rho: float = 0.1
    trials: int = 2000
    confidence: float = 0.95
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(coverages=(4.0,), heterogeneities=(0.0,), Ns=(1, 4), num_prompts=8,
                      num_responses=16, trials=200),
    "quick": Config(),
    "full": Config(
        coverages=(2.0, 8.0, 32.0, 128.0),
        Ns=tuple(sorted({round(2 ** (k / 2)) for k in range(0, 21)})),
        num_prompts=500,
        num_responses=256,
        trials=10000,
    ),
}


def cells(config: Config) -> list[dict]:
    """One cell per (heterogeneity, coverage, N, method), ``method`` being ``"literal"`` or ``"exact"``."""
    return [
        {"heterogeneity": h, "coverage": c, "N": N, "method": m}
        for h in config.heterogeneities
        for c in config.coverages
        for N in config.Ns
        for m in ("literal", "exact")
    ]


def instance(config: Config, cell: dict) -> Instance:
    """The ``with_coverage`` problem of the cell's ``coverage`` and ``heterogeneity`` (no model class).

    Args:
      config: the sweep.
      cell: a dict with the keys ``coverage`` and ``heterogeneity`` (values from ``config``).

    Returns:
      ``Instance(problem, None)``.
    """
    return Instance(_problem(config, cell["coverage"], cell["heterogeneity"]))


@functools.lru_cache(maxsize=32)
def _problem(config: Config, coverage: float, heterogeneity: float):
    ci = config.coverages.index(coverage)
    hi = config.heterogeneities.index(heterogeneity)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed), ci), hi)
    return problems.with_coverage(
        key, config.num_prompts, config.num_responses, coverage, heterogeneity=heterogeneity
    )


_literal = jax.jit(
    lambda key, problem, n, N, gamma: jnp.sum(best_of_n(key, problem, n=n, N=N, gamma=gamma, method="literal").hit),
    static_argnames=("n", "N"),
)
_exact = jax.jit(
    lambda key, problem, n, N, gamma: jnp.sum(best_of_n(key, problem, n=n, N=N, gamma=gamma, method="exact").hit),
    static_argnames=("n",),
)


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Measures one (heterogeneity, coverage, N, method) cell.

    Returns:
      One row: ``trials``, ``hits``, ``p_hat`` with its Clopper–Pearson limits ``ci_low`` /
      ``ci_high``, the ``exact`` probability, Prop C.1's ``prop_c1_bound`` and
      ``prop_c1_threshold``, and ``num_queries``.
    """
    problem = instance(config, cell).problem
    N = int(cell["N"])
    key = jax.random.key(config.seed + 1)
    for part in (
        config.coverages.index(cell["coverage"]),
        config.heterogeneities.index(cell["heterogeneity"]),
        N,
        0 if cell["method"] == "literal" else 1,
    ):
        key = jax.random.fold_in(key, part)
    if cell["method"] == "literal":
        hits = int(_literal(key, problem, config.trials, N, config.gamma))
    else:
        hits = int(_exact(key, problem, config.trials, jnp.asarray(N), config.gamma))
    ci = stats.binomtest(hits, config.trials).proportion_ci(config.confidence, method="exact")
    thresholds = bounds.bon_inference(problem, rho=config.rho, gamma=config.gamma)
    return [{
        "trials": config.trials,
        "hits": hits,
        "p_hat": hits / config.trials,
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "exact": bon_success_probability(problem, N, gamma=config.gamma),
        "prop_c1_bound": bounds.bon_inference_guarantee(problem, N, gamma=config.gamma),
        "prop_c1_threshold": float(np.max(thresholds)),
        "num_queries": config.trials * N,
    }]


def draw(rows: list[dict], config: Config):
    """One panel per heterogeneity (:func:`plot_panel`).

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    panels = list(config.heterogeneities)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False)
    for ax, h in zip(axes[0], panels):
        plot_panel(rows, ax, heterogeneity=h, rho=config.rho, gamma=config.gamma)
    fig.suptitle(
        f"Prop C.1: best-of-N by self-likelihood, |Y|={config.num_responses}, |X|={config.num_prompts}, "
        f"{config.trials} runs per point",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def plot_panel(rows: list[dict], ax=None, *, heterogeneity: float = 0.0, rho: float = 0.1, gamma: float = 0.0):
    """P(BoN_N pick ∈ y*_γ) against N at one heterogeneity.

    Draws what was measured (literal and exact draws, Clopper–Pearson bars), the exact law, and
    Prop C.1's lower bound ``E_μ[1 - e^{-N π(y*_γ|x)}]`` with its threshold
    ``N = max_x log(1/ρ)/π(y*_γ(x)|x)`` (constant 1; Prop C.1 is sharp).

    Args:
      rows: the sweep's rows.
      ax: the axes to draw on (a new figure's when ``None``).
      heterogeneity: the panel's heterogeneity (rows of other values are ignored).
      rho: ρ of the threshold, drawn as the line ``1 - ρ``.
      gamma: the approximation level of ``y*_γ`` (for the axis label).

    Returns:
      The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.2))
    rows = select(rows, heterogeneity=heterogeneity)
    coverages = sorted({r["coverage"] for r in rows})
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, max(len(coverages), 1)))
    for color, c in zip(colors, coverages):
        lit = sorted(select(rows, coverage=c, method="literal"), key=lambda r: r["N"])
        exa = sorted(select(rows, coverage=c, method="exact"), key=lambda r: r["N"])
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
