"""Figure ``separation``: the separation of Example J.1 — m* against d for SFT-Sharpening, RLHF-Sharpening
(offline Eq 8) and XPO, all fitting the same linear-softmax class.

Problem: ``problems.sphere_separation(key, d, radius=B)`` (one prompt, margin ``>= e^{B/2} - 1``,
``C_cov`` growing with ``|Y| = exp(Θ(d))``; the nested code makes both non-decreasing in d). Class: ``LinearSoftmaxClass(features, R)`` with
``R = 1.01 (1 + 1/β) B`` so that ``π*_β`` is in the class. Target: ``err_δ = 0`` (one prompt)
with probability ``>= 1 - ρ``.

* SFT-Sharpening: ``n`` BoN picks (one prompt) and the class's MLE; budget N (``m = n N``).
* RLHF-Sharpening: ``n`` pairs from ``π_base``, exact Eq 8 regression; budget n (``m = 2n``).
* XPO: ``T`` rounds of one pair (``y ~ π^(t)``, ``y' ~ π_base``), α-optimism, started at
  ``π_base`` (Alg 1); the output is chosen by the *charged* held-out estimate of ``J_β``
  (``m = 2T + (T + 1) heldout_samples``). The same runs give ``xpo_best`` rows, the iterate of
  largest *exact* ``J_β`` (free in simulation, ``m = 2T``), drawn only as a labelled reference.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import classes, problems
from sharpsim.algorithms import sft_sharpening
from sharpsim.coefficients import coverage
from sharpsim.experiments import engine, exploration
from sharpsim.experiments._plot import plot_m_star_by_algorithm
from sharpsim.experiments.protocol import Instance
from sharpsim.parallel import map_seeds

NAME = "separation"
DESCRIPTION = "Example J.1: m* vs d for SFT-Sharpening, RLHF-Sharpening (Eq 8) and XPO on the linear class"
THEORY_NOTE = "theory/linear_softmax.md"
#: The cell key of the budget: N for SFT, n pairs for RLHF, T rounds for XPO.
BUDGET = "budget"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      ds: dimensions d (one instance each).
      algorithms: any of ``"sft"``, ``"rlhf"``, ``"xpo"``.
      radius: B, the norm of the base's parameter.
      beta: β of RLHF-Sharpening and XPO.
      alpha: XPO's optimism weight α in Alg 1's normalisation (see ``theory/linear_softmax.md`` for
        its relation to ``bounds.xpo_alpha``).
      delta, rho: the target: ``err_δ = 0`` with probability ``>= 1 - ρ``.
      sft_prompts: SFT-Sharpening's number of prompts n.
      sft_multipliers: the SFT N grid is ``⌈C_cov · multiplier⌉``.
      rlhf_budgets: the RLHF n grid.
      xpo_max_rounds: ``T_max``: one XPO run of ``T_max`` rounds per seed, every T of
        ``engine.geometric_grid(1, T_max)`` read off its first T rounds.
      xpo_inner_steps: optimiser steps of XPO's inner solve per round.
      heldout_samples: draws per iterate of XPO's charged held-out selection.
      max_responses: the largest ``|Y|`` of ``sphere_separation``.
      seeds: seeds per budget (the same keys at every budget).
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    ds: tuple[int, ...] = (4, 8, 12)
    algorithms: tuple[str, ...] = ("sft", "rlhf", "xpo")
    radius: float = 1.0
    beta: float = 0.1
    alpha: float = 0.01
    delta: float = 0.1
    rho: float = 0.2
    sft_prompts: int = 4
    sft_multipliers: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)  # N = C_cov · mult
    rlhf_budgets: tuple[int, ...] = (4, 8, 16, 32)
    xpo_max_rounds: int = 32
    xpo_inner_steps: int = 60
    heldout_samples: int = 16
    max_responses: int = 2048
    seeds: int = 32
    seed: int = 0
    version: int = 4


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(ds=(4,), sft_multipliers=(4.0,), rlhf_budgets=(8,), xpo_max_rounds=4, seeds=4,
                      xpo_inner_steps=20),
    "quick": Config(),
    "full": Config(ds=(4, 8, 12, 16, 20), seeds=200, sft_multipliers=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
                   rlhf_budgets=(1, 2, 4, 8, 16, 32, 64), xpo_max_rounds=128),
}


def instance(config: Config, cell: dict) -> Instance:
    """Example J.1 in the cell's dimension ``d`` and the linear-softmax class that contains ``π*_β``.

    The class's radius is ``R = 1.01 (1 + 1/β) B``: ``π*_β`` of a base with parameter θ has
    parameter ``(1 + 1/β) θ``.

    Args:
      config: the sweep.
      cell: a dict with the key ``d``.

    Returns:
      ``Instance(problem, classes.LinearSoftmaxClass(features, R))``.
    """
    return _instance(config, int(cell["d"]))


@functools.lru_cache(maxsize=16)
def _instance(config: Config, d: int) -> Instance:
    problem, features = problems.sphere_separation(jax.random.key(config.seed), d, radius=config.radius,
                                                   max_responses=config.max_responses)
    radius = 1.01 * (1 + 1 / config.beta) * config.radius
    return Instance(problem, classes.LinearSoftmaxClass(features, radius))


def budgets(config: Config, cell: dict) -> list[int]:
    """The budget grid of the cell's ``algorithm`` (and, for SFT, its ``d``).

    Args:
      config: the sweep.
      cell: a dict with the key ``algorithm`` (and ``d`` for ``"sft"``).

    Returns:
      SFT: ``⌈C_cov(d) · multiplier⌉`` over ``config.sft_multipliers`` (sorted, distinct, at least
      1); RLHF: ``config.rlhf_budgets``; XPO: ``engine.geometric_grid(1, config.xpo_max_rounds)``.
    """
    algorithm = cell["algorithm"]
    if algorithm == "sft":
        c = coverage(instance(config, cell).problem)
        return sorted({max(1, math.ceil(c * m)) for m in config.sft_multipliers})
    if algorithm == "rlhf":
        return list(config.rlhf_budgets)
    return engine.geometric_grid(1, config.xpo_max_rounds)


def cells(config: Config) -> list[dict]:
    """One cell per (d, algorithm, budget) with the budget on the algorithm's grid (:func:`budgets`),
    plus the ``"xpo_best"`` reference cells (XPO's grid) when ``"xpo"`` is swept."""
    algs = list(config.algorithms) + (["xpo_best"] if "xpo" in config.algorithms else [])
    return [{"d": d, "algorithm": a, "budget": b} for d in config.ds for a in algs
            for b in budgets(config, {"d": d, "algorithm": "xpo" if a == "xpo_best" else a})]


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs the cell's algorithm at its budget over ``config.seeds`` seeds.

    XPO runs once per d for ``xpo_max_rounds`` rounds per seed (cached); every T of its grid is
    read off the first T rounds (``exploration.xpo_prefix_errors``), and the ``"xpo_best"`` cells
    read the free exact selection off the same runs.

    Returns:
      One row per seed: ``seed``, the exact ``error`` and the ``queries`` charged (XPO:
      ``2T + (T+1) heldout_samples``; ``xpo_best``: ``2T``).
    """
    problem, cls = instance(config, cell)
    b = int(cell["budget"])
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    alg = cell["algorithm"]
    if alg == "sft":
        err, q = _sft_errors(keys, problem, cls, config.sft_prompts, jnp.asarray(b), config.delta)
    elif alg == "rlhf":
        err, q = exploration.rlhf_errors(keys, problem, cls, b, config.beta, config.delta,
                                         max_n=max(config.rlhf_budgets))
    else:
        grid, err_all, best_all = _xpo_sweep(config, int(cell["d"]))
        i = grid.index(b)
        if alg == "xpo_best":
            err, q = best_all[:, i], np.full(config.seeds, 2 * b)
        else:
            err, q = err_all[:, i], np.full(config.seeds, 2 * b + (b + 1) * config.heldout_samples)
    err, q = np.asarray(err), np.asarray(q)
    return [{"seed": s, "error": float(err[s]), "queries": int(q[s])} for s in range(config.seeds)]


@functools.lru_cache(maxsize=8)
def _xpo_sweep(config: Config, d: int):
    """One XPO run of ``xpo_max_rounds`` rounds per seed; every T of the grid read off it (cached)."""
    problem, cls = instance(config, {"d": d})
    grid = budgets(config, {"d": d, "algorithm": "xpo"})
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)
    theta_base = jnp.zeros(d).at[0].set(config.radius)  # θ* = B e_1: π_base exactly
    err, best = exploration.xpo_prefix_errors(
        keys, problem, theta_base, config.alpha, config.beta, jnp.asarray(grid), cls=cls,
        T_max=config.xpo_max_rounds, inner_steps=config.xpo_inner_steps, delta=config.delta,
        heldout_samples=config.heldout_samples)
    return grid, err, best


def _sft_errors(keys, problem, cls, n, N, delta):  # N traced: one compilation per d, not per budget
    """``(error [S], queries [S])`` of SFT-Sharpening, one row per key (:func:`sharpsim.parallel.map_seeds`)."""
    return map_seeds(_sft_trial(cls, n, delta), keys, args=(problem, N))


@functools.cache
def _sft_trial(cls, n: int, delta: float):
    """One seed's SFT-Sharpening (one function object per static setting: compiled once)."""

    def one(k, problem, N):
        r = sft_sharpening(k, problem, cls, n=n, N=N, delta=delta, return_policy=False)
        return r.error, r.num_queries

    return one


def draw(rows: list[dict], config: Config):
    """m* against d per algorithm, with the measured ``C_cov(d)`` and the reference line ``d``.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    ds = list(config.ds)
    styles = {"sft": ("C0", "o", "SFT-Sharpening"), "rlhf": ("C2", "^", "RLHF-Sharpening (offline Eq 8)"),
              "xpo": ("C3", "s", f"XPO ($\\alpha$={config.alpha:g}; held-out selection, {config.heldout_samples} "
                                 "charged draws/iterate)"),
              "xpo_best": ("C1", "v", "reference, not an algorithm: XPO iterate of largest exact $J_\\beta$ (free)")}

    def not_reached(alg, missing):
        alg = "xpo" if alg == "xpo_best" else alg
        top = max(budgets(config, {"d": d, "algorithm": alg})[-1] for d in missing)
        return f"not reached at d={', '.join(map(str, missing))} within budget {top}"

    drawn = types.SimpleNamespace(algorithms=tuple(config.algorithms) + (("xpo_best",) if "xpo" in config.algorithms
                                                                          else ()), rho=config.rho)
    plot_m_star_by_algorithm(ax, rows, drawn, x_key="d", xs_all=ds, styles=styles, xlabel="dimension d",
                             not_reached=not_reached)
    covs = [coverage(instance(config, {"d": d}).problem) for d in ds]
    ax.plot(ds, covs, color="k", ls=":", lw=1.1, label="$C_{cov}(d)$ (measured; SFT needs $\\gtrsim C_{cov}$ draws)")
    ax.plot(ds, ds, color="k", ls="--", lw=1.1, label="$d$ (poly(d) reference)")
    ax.set_xscale("linear")
    ax.legend(fontsize=7, loc="upper left")
    sizes = ", ".join(f"{instance(config, {'d': d}).problem.num_responses}" for d in ds)
    ax.set_title(f"Example J.1: m* vs d (|Y| = {sizes}; B={config.radius:g}, $\\beta$={config.beta:g}, "
                 f"$\\delta$={config.delta:g}, $\\rho$={config.rho:g}, {config.seeds} seeds)", fontsize=8)
    fig.tight_layout()
    return fig
