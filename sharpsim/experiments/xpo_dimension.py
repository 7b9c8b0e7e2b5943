"""Figure ``xpo_dimension``: the d-axis of Thm J.3 — XPO's m* against the dimension d at fixed
``C_cov`` on the hidden-direction family, with the poly(d) bound.

Problem: ``problems.hidden_direction(d, Y, bias=b)`` for each d with the same ``Y`` and ``b``, so
``C_cov = (Y − 1 + e^b)/e^b`` and the margin ``e^b − 1`` do not depend on d (measured per row).
Class: ``LinearSoftmaxClass(features, R)``, ``R = 1.01 (1 + 1/β) b`` (so ``π*_β`` is in it).
Target: ``err_δ = 0`` (one prompt) with probability ``>= 1 − ρ``.

Each seed runs XPO (Alg 1, started at ``π_base``, one pair per round) once for ``T_max`` rounds;
the run's first T rounds *are* the T-round run with the same key (round t never looks ahead;
``exploration.xpo_prefix_errors``), so every budget T of the fixed geometric grid ``engine.geometric_grid(1, T_max)`` (ratio ``2^{1/4}``, rounded to
integers) is read off the same run (common random numbers across T). Two outputs per T:

* ``xpo``: the iterate among ``π^(1..T+1)`` with the largest *charged* held-out estimate of
  ``J_β`` (``heldout_samples`` fresh draws per iterate): ``m = 2T + (T + 1) heldout_samples``;
* ``xpo_best``: the iterate of largest *exact* ``J_β`` (free in simulation, ``m = 2T``) — a
  labelled reference, not an algorithm.

The fitted exponent of ``m*`` in d (``rates``) is compared with Thm J.3's: ``m ∝ R_max² SEC
log N``, with ``SEC <= d log(T+1)`` (Lemma J.5) and ``log N <= d log(6B/ε_disc)`` (Lemma J.4), i.e.
``d²`` up to logarithms — an upper bound, so a smaller measured exponent agrees with it.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import bounds, classes, problems
from sharpsim.coefficients import coverage, margin
from sharpsim.experiments import engine, exploration
from sharpsim.experiments._plot import plot_m_star
from sharpsim.experiments.protocol import Instance

__all__ = ["BUDGET", "CONFIGS", "DESCRIPTION", "NAME", "THEORY_NOTE", "Config", "budgets", "cells", "draw",
           "instance", "rates", "run_cell", "thm_j3_bound"]

NAME = "xpo_dimension"
DESCRIPTION = "Hidden direction at fixed C_cov: XPO's m* vs d (Thm J.3's poly(d) axis)"
THEORY_NOTE = "theory/linear_softmax.md"
#: The row key of the budget: T rounds (read off one T_max run per seed).
BUDGET = "budget"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      ds: the dimensions d (one instance each).
      size: ``|Y|`` (the same for every d: fixed ``C_cov``; needs ``size >= 2 max(ds) − 1``).
      bias: b, the base's weight on the hidden direction (margin ``e^b − 1``).
      beta: β.
      alpha: XPO's optimism weight, in Alg 1's normalisation.
      delta, rho: the target: ``err_δ = 0`` with probability ``>= 1 − ρ``.
      T_max: rounds of each run; the budgets are ``engine.geometric_grid(1, T_max)``.
      inner_steps: optimiser steps of the inner solve per round.
      heldout_samples: draws per iterate of the charged held-out selection.
      seeds: seeds per d.
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes.
    """

    ds: tuple[int, ...] = (2, 4, 8, 12, 16)
    size: int = 256
    bias: float = 1.0
    beta: float = 0.1
    alpha: float = 0.01
    delta: float = 0.1
    rho: float = 0.2
    T_max: int = 48
    inner_steps: int = 60
    heldout_samples: int = 16
    seeds: int = 32
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(ds=(2, 4), size=16, T_max=8, inner_steps=20, seeds=4),
    "quick": Config(),
    "full": Config(ds=(2, 4, 8, 12, 16, 24, 32), size=256, T_max=256, seeds=200),
}


def instance(config: Config, cell: dict) -> Instance:
    """The hidden-direction problem in the cell's dimension ``d`` and the class containing ``π*_β``.

    Args:
      config: the sweep.
      cell: a dict with the key ``d``.

    Returns:
      ``Instance(problem, classes.LinearSoftmaxClass(features, 1.01 (1 + 1/β) b))``.
    """
    return _instance(config, int(cell["d"]))


@functools.lru_cache(maxsize=16)
def _instance(config: Config, d: int) -> Instance:
    problem, features = problems.hidden_direction(d, config.size, bias=config.bias)
    return Instance(problem, classes.LinearSoftmaxClass(features, 1.01 * (1 + 1 / config.beta) * config.bias))


def budgets(config: Config, cell: dict) -> list[int]:
    """The T grid: ``engine.geometric_grid(1, config.T_max)`` (fixed, the same for every d).

    Args:
      config: the sweep.
      cell: unused (the grid does not depend on d).

    Returns:
      The grid as a list.
    """
    return engine.geometric_grid(1, config.T_max)


def cells(config: Config) -> list[dict]:
    """One cell per (d, algorithm, budget): ``"xpo"`` and the ``"xpo_best"`` reference on :func:`budgets`."""
    return [{"d": d, "algorithm": a, "budget": T} for d in config.ds for a in ("xpo", "xpo_best")
            for T in budgets(config, {"d": d})]


def run_cell(config: Config, cell: dict) -> list[dict]:
    """The cell's rows, read off one ``T_max``-round XPO run per seed and d (cached).

    Returns:
      One row per seed: ``seed``, the exact ``error``, the ``queries`` charged (``xpo``:
      ``2T + (T+1) heldout_samples``; ``xpo_best``: ``2T``), ``coverage`` and ``margin``.

    Raises:
      ValueError: on an unknown ``algorithm``.
    """
    alg, T = cell["algorithm"], int(cell["budget"])
    if alg not in ("xpo", "xpo_best"):
        raise ValueError(f"unknown algorithm {alg!r}; expected 'xpo' or 'xpo_best'")
    problem, _ = instance(config, cell)
    grid, err, err_best = _sweep(config, int(cell["d"]))
    i = grid.index(T)
    e = err[:, i] if alg == "xpo" else err_best[:, i]
    q = 2 * T + (T + 1) * config.heldout_samples if alg == "xpo" else 2 * T
    c, g = float(coverage(problem)), float(margin(problem))
    return [{"seed": s, "error": float(e[s]), "queries": q, "coverage": c, "margin": g} for s in range(config.seeds)]


@functools.lru_cache(maxsize=8)
def _sweep(config: Config, d: int):
    problem, cls = instance(config, {"d": d})
    grid = budgets(config, {"d": d})
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)
    theta_base = jnp.zeros(d).at[-1].set(config.bias)  # π_base exactly (base_projection agrees to 3e-11)
    err, best = exploration.xpo_prefix_errors(keys, problem, theta_base, config.alpha, config.beta, jnp.asarray(grid),
                                              cls=cls, T_max=config.T_max, inner_steps=config.inner_steps,
                                              delta=config.delta, heldout_samples=config.heldout_samples)
    return grid, err, best


def thm_j3_bound(config: Config, d: int, *, constant: float = 1.0) -> float:
    """Thm J.3's query bound at dimension d (``bounds.xpo_linear_upper_bound``, its own β, ``R_max``
    and ``ε_disc``; ε = 1/2, which for one prompt means ``err_δ = 0``), with ``T`` set to the
    bound itself (five fixed-point iterations of ``T ← m``; the dependence on T is logarithmic).

    Args:
      config: the sweep.
      d: the dimension.
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The number of queries.
    """
    problem, cls = instance(config, {"d": d})
    T = 1000
    for _ in range(5):
        m = bounds.xpo_linear_upper_bound(d, cls.radius, None, problem.num_responses, 0.5, T=T,
                                          margin=float(margin(problem)), delta=config.delta, rho=config.rho,
                                          constant=constant)
        T = max(1, int(m))
    return m


def _tables(rows: list[dict], algorithm: str) -> dict:
    return engine.tables_from_rows(rows, x_key="d", budget_key=BUDGET, eps=0.0, where={"algorithm": algorithm})


def rates(rows: list[dict], config: Config) -> list[engine.Rate]:
    """The exponent of XPO's ``m*`` (held-out selection) in d against Thm J.3's ``d²`` (upper bound).

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      One :class:`~sharpsim.experiments.engine.Rate`.
    """
    tabs = _tables(rows, "xpo")
    xs = [d for d in config.ds if d in tabs]
    return [engine.rate_from_tables(NAME, "m* vs d at fixed C_cov (XPO, held-out selection)", 2.0, xs,
                                    [tabs[d] for d in xs], rho=config.rho,
                                    source="Thm J.3 upper bound: SEC·log N ∝ d², up to logs")]


def draw(rows: list[dict], config: Config):
    """m* against d (log-log) for XPO and the free-selection reference, with Thm J.3's bound.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    rate = rates(rows, config)[0]
    for alg, color, marker, label in [
        ("xpo", "C3", "s", f"XPO ($\\alpha$={config.alpha:g}; held-out selection, {config.heldout_samples} charged "
                           f"draws/iterate); slope {rate.slope:.2f}, bootstrap "
                           f"{engine.format_interval(rate.boot_low, rate.boot_high)}, grid "
                           f"{engine.format_interval(rate.grid_low, rate.grid_high)}"),
        ("xpo_best", "C1", "v", "reference, not an algorithm: iterate of largest exact $J_\\beta$ (free)"),
    ]:
        tabs = _tables(rows, alg)
        xs = [d for d in config.ds if d in tabs]
        stars = [engine.m_star(*tabs[d], rho=config.rho) for d in xs]
        missing = [d for d, st in zip(xs, stars) if not np.isfinite(st["m_star"])]
        if missing:
            label += f" (not reached at d={', '.join(map(str, missing))} within T={config.T_max})"
        plot_m_star(ax, xs, stars, label=label, color=color, marker=marker, xlabel="dimension d",
                    faint=alg == "xpo_best")
    ds = np.asarray(config.ds, float)
    bound = np.asarray([thm_j3_bound(config, int(d)) for d in config.ds])
    tabs = _tables(rows, "xpo")
    first = engine.m_star(*tabs[config.ds[0]], rho=config.rho)["m_star"] if config.ds[0] in tabs else np.nan
    if np.isfinite(first):
        ax.plot(ds, bound * first / bound[0], color="k", ls="--", lw=1.1,
                label=f"Thm J.3 bound, d-shape only (matched at d={config.ds[0]}; constant 1 gives "
                      f"{bound[0]:.1e} at d={config.ds[0]})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize=6.5, loc="upper left")
    problem = instance(config, {"d": config.ds[0]}).problem
    ax.set_title(f"Hidden direction, |Y|={config.size} (C_cov={float(coverage(problem)):.1f}, margin "
                 f"$e^{{{config.bias:g}}}-1$ for every d): XPO m* vs d ($\\beta$={config.beta:g}, "
                 f"$\\delta$={config.delta:g}, $\\rho$={config.rho:g}, {config.seeds} seeds)", fontsize=8)
    fig.tight_layout()
    return fig
