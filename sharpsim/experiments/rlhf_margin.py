"""Figure ``rlhf_margin``: m* of RLHF-Sharpening against the margin γ_margin (Thm 4.2).

Problems: ``with_coverage`` at a fixed coverage with margin at least γ for γ on a grid (the
measured ``margin(problem)`` is recorded). RLHF-Sharpening with the tabular class (exact
minimum-norm Eq 8 regression) and Thm 4.2's ``β = γ δ ε`` (constant 1); budget: the number of
pairs n (``m = 2n``). Thm 4.2's bound grows like ``1/γ²``.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import bounds, classes, problems
from sharpsim.algorithms import rlhf_sharpening
from sharpsim.coefficients import concentrability
from sharpsim.coefficients import margin as margin_of
from sharpsim.experiments import engine
from sharpsim.experiments._plot import plot_m_star
from sharpsim.experiments.protocol import Instance
from sharpsim.laws import kl_regularized_optimum

NAME = "rlhf_margin"
DESCRIPTION = "m* of RLHF-Sharpening vs the margin, with Thm 4.2's bound"
THEORY_NOTE = "theory/linear_softmax.md"
#: The cell key of the budget: n, the number of pairs.
BUDGET = "n"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      margins: requested minimum margins γ (one problem each).
      ns: the grid of the number of pairs n.
      num_prompts, num_responses: problem size.
      coverage: the problems' ``C_cov``.
      eps, delta, rho: the target: ``err_δ <= ε`` with probability ``>= 1 - ρ``.
      seeds: seeds per budget (the same keys at every budget).
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    margins: tuple[float, ...] = (0.1, 0.2, 0.4, 0.8, 1.6)
    ns: tuple[int, ...] = (10, 20, 40, 80, 160, 320, 640)
    num_prompts: int = 10
    num_responses: int = 20
    coverage: float = 4.0
    eps: float = 0.1
    delta: float = 0.1
    rho: float = 0.2
    seeds: int = 32
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(margins=(0.2, 0.8), ns=(20, 160), seeds=4),
    "quick": Config(),
    "full": Config(margins=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.4), ns=tuple(round(10 * 2 ** (k / 2)) for k in range(15)),
                   seeds=256),
}


def instance(config: Config, cell: dict) -> Instance:
    """The ``with_coverage`` problem of the cell's requested ``margin`` and the tabular class.

    Args:
      config: the sweep.
      cell: a dict with the key ``margin`` (a value of ``config.margins``).

    Returns:
      ``Instance(problem, classes.TabularClass(|X|, |Y|))``.
    """
    return _instance(config, float(cell["margin"]))


@functools.lru_cache(maxsize=16)
def _instance(config: Config, gamma: float) -> Instance:
    key = jax.random.fold_in(jax.random.key(config.seed), config.margins.index(gamma))
    problem = problems.with_coverage(key, config.num_prompts, config.num_responses, config.coverage, margin=gamma)
    return Instance(problem, classes.TabularClass(problem.num_prompts, problem.num_responses))


def beta_of(config: Config, gamma: float) -> float:
    """Thm 4.2's ``β = γ δ ε`` (constant 1; :func:`sharpsim.bounds.rlhf_beta`) at margin ``gamma``."""
    return bounds.rlhf_beta(gamma, eps=config.eps, delta=config.delta)


def budgets(config: Config, cell: dict) -> list[int]:
    """The n grid, ``config.ns``, the same for every margin."""
    return list(config.ns)


def cells(config: Config) -> list[dict]:
    """One cell per (margin, n)."""
    return [{"margin": g, "n": n} for g in config.margins for n in budgets(config, {"margin": g})]


@functools.partial(jax.jit, static_argnames=("n", "delta"))
def _errors(keys, problem, n, beta, delta):
    cls = classes.TabularClass(problem.num_prompts, problem.num_responses)

    def one(k):
        r = rlhf_sharpening(k, problem, cls, n=n, beta=beta, delta=delta)
        return r.error, r.num_queries

    return jax.vmap(one)(keys)


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs RLHF-Sharpening with the cell's n pairs and Thm 4.2's β over ``config.seeds`` seeds.

    Returns:
      One row per seed: the problem's ``measured_margin``, ``seed``, the exact ``error`` and the
      ``queries`` charged.
    """
    gamma = float(cell["margin"])
    problem = instance(config, cell).problem
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    err, q = _errors(keys, problem, int(cell["n"]), beta_of(config, gamma), config.delta)
    err, q = np.asarray(err), np.asarray(q)
    measured = margin_of(problem)
    return [{"measured_margin": measured, "seed": s, "error": float(err[s]), "queries": int(q[s])}
            for s in range(config.seeds)]


def draw(rows: list[dict], config: Config):
    """m* against the margin with its fitted slope and Thm 4.2's bound (constant 1).

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    tabs = engine.tables_from_rows(rows, x_key="margin", budget_key=BUDGET, eps=config.eps)
    xs = [g for g in config.margins if g in tabs]
    stars = [engine.m_star(*tabs[g], rho=config.rho) for g in xs]
    fit = engine.fit_slope(xs, [tabs[g] for g in xs], rho=config.rho, num_bootstrap=300)
    plot_m_star(ax, xs, stars, fit=fit, label="RLHF-Sharpening, $\\beta = \\gamma\\delta\\epsilon$",
                xlabel="margin $\\gamma_{margin}$ (requested; measured margin is at least this)")
    grid = np.geomspace(min(xs), max(xs), 40)
    problem = instance(config, {"margin": xs[0]}).problem
    c_conc = max(concentrability(problem, kl_regularized_optimum(problem, beta_of(config, xs[0]))), 1.0)
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
