"""Figure ``exploration``: exploration inside the linear-softmax family — offline RLHF-Sharpening (Eq 8)
against XPO on ``problems.hidden_direction`` as ``|Y|`` (hence ``C_cov``) grows.

Problem: ``hidden_direction(d, Y, bias=b)``: ``y*`` has feature ``e_d``, the ``Y − 1`` common
responses live in ``e_d^⊥``; ``π_base = π_{b e_d}``, margin ``e^b − 1``, ``C_cov ≈ Y e^{−b}``.
Class: ``LinearSoftmaxClass(features, R)``, ``R = 1.01 (1 + 1/β) b`` (so ``π*_β`` is in it).
Target: ``err_δ = 0`` with probability ``>= 1 − ρ``.

* ``rlhf``: offline Eq 8 on ``n`` base pairs (exact ball regression; ``m = 2n``).
* ``xpo``: Alg 1 started at ``π_base``, ``T`` rounds of one pair, α as set, output chosen by the
  *charged* held-out estimate of ``J_β`` (``select="heldout"``: ``heldout_samples`` draws per
  iterate, so ``m = 2T + (T + 1) heldout_samples``). The same runs also give ``xpo_best`` rows:
  the iterate of largest *exact* ``J_β`` (``select="best"``, ``m = 2T``), which no algorithm can
  compute without queries — drawn only as a labelled reference.
* ``online``: the same loop with ``α = 0`` — online RLHF without the optimism term (control;
  held-out selection, charged).

:func:`alpha_table` sweeps α on a log grid through ``bounds.xpo_alpha`` in both normalisations
(the table in ``theory/linear_softmax.md``).
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

from sharpsim import bounds, classes, problems
from sharpsim.algorithms import rlhf_sharpening, xpo
from sharpsim.algorithms.xpo import heldout_objective
from sharpsim.coefficients import coverage, r_max
from sharpsim.experiments import engine
from sharpsim.experiments._plot import plot_m_star_by_algorithm
from sharpsim.experiments.protocol import Instance
from sharpsim.laws import sharpening_error
from sharpsim.parallel import map_seeds

NAME = "exploration"
DESCRIPTION = "Hidden direction: m* vs |Y| for offline Eq 8, XPO and online Eq 8 without optimism (linear class)"
THEORY_NOTE = "theory/linear_softmax.md"
#: The cell key of the budget: n pairs for offline Eq 8, T rounds for XPO and online Eq 8.
BUDGET = "budget"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      sizes: ``|Y|`` values (one instance each).
      d: the feature dimension.
      bias: b, the base's weight on the hidden direction ``e_d`` (margin ``e^b - 1``).
      beta: β of all three algorithms.
      alpha: XPO's optimism weight α.
      delta, rho: the target: ``err_δ = 0`` with probability ``>= 1 - ρ``.
      algorithms: any of ``"rlhf"``, ``"xpo"``, ``"online"``.
      rlhf_budgets: the n grid of offline Eq 8.
      xpo_max_rounds: ``T_max`` of XPO and online Eq 8: one run of ``T_max`` rounds per seed, every
        budget T of ``engine.geometric_grid(1, T_max)`` read off its first T rounds.
      inner_steps: optimiser steps of the inner solve per round.
      heldout_samples: draws per iterate of XPO's charged held-out selection.
      seeds: seeds per budget (the same keys at every budget).
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    sizes: tuple[int, ...] = (64, 256, 1024, 4096)
    d: int = 4
    bias: float = 1.0
    beta: float = 0.1
    alpha: float = 0.01
    delta: float = 0.1
    rho: float = 0.2
    algorithms: tuple[str, ...] = ("rlhf", "xpo", "online")
    rlhf_budgets: tuple[int, ...] = (16, 64, 256, 1024, 4096)
    xpo_max_rounds: int = 32
    inner_steps: int = 60
    heldout_samples: int = 16
    seeds: int = 32
    seed: int = 0
    version: int = 2


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(sizes=(64,), rlhf_budgets=(4, 64), xpo_max_rounds=4, seeds=4, inner_steps=30),
    "quick": Config(),
    "full": Config(sizes=(64, 256, 1024, 4096, 16384), seeds=200, beta=0.08,
                   rlhf_budgets=(4, 16, 64, 256, 1024, 4096, 16384), xpo_max_rounds=64),
}


def instance(config: Config, cell: dict) -> Instance:
    """The hidden-direction problem of the cell's ``size`` and the linear-softmax class containing ``π*_β``.

    The class's radius is ``R = 1.01 (1 + 1/β) b``: ``π*_β`` of a base with parameter θ has
    parameter ``(1 + 1/β) θ``.

    Args:
      config: the sweep.
      cell: a dict with the key ``size`` (``|Y|``).

    Returns:
      ``Instance(problem, classes.LinearSoftmaxClass(features, R))``.
    """
    return _instance(config, int(cell["size"]))


@functools.lru_cache(maxsize=16)
def _instance(config: Config, size: int) -> Instance:
    problem, features = problems.hidden_direction(config.d, size, bias=config.bias)
    radius = 1.01 * (1 + 1 / config.beta) * config.bias
    return Instance(problem, classes.LinearSoftmaxClass(features, radius))


def theory_alpha(config: Config, size: int, T: int, *, eps_disc: float = 1e-2, form: str = "alg1") -> float:
    """Thm J.1's ``α`` for this instance (``bounds.xpo_alpha``) in the normalisation ``form``.

    Uses ``R_max = max |log π_base|``, ``V_max = 2β(R + b)`` (the bound on ``β|log π_θ/π_base|``
    over the ball) and Lemmas J.4/J.5 for the covering number and SEC. ``form="alg1"`` (default)
    is the coefficient for Alg 1's normalisation, which ``algorithms.xpo`` minimises;
    ``"thm_j1"`` is the printed value, smaller by ``(R_max + V_max)²``.

    Args:
      config: the sweep.
      size: ``|Y|``.
      T: the number of rounds.
      eps_disc: the discretisation of the covering number.
      form: ``"alg1"`` or ``"thm_j1"``.

    Returns:
      α.
    """
    problem, cls = instance(config, {"size": size})
    return bounds.xpo_alpha(config.beta, r_max=float(r_max(problem)), v_max=2 * config.beta * (cls.radius + config.bias),
                            log_covering=cls.log_covering_number(eps_disc), sec=cls.sec_bound(T), T=T, rho=config.rho,
                            form=form)


def alpha_table(config: Config, *, size: int, T: int, alphas, seeds: int | None = None) -> list[dict]:
    """XPO's success at one ``(|Y|, T)`` for each α (the α sweep of ``theory/linear_softmax.md``).

    Same runs as the figure's ``xpo`` cells (start at ``π_base``, ``config.inner_steps``, one pair
    per round, the same keys for every α).

    Args:
      config: the sweep (β, δ, bias, d, inner steps, held-out draws).
      size: ``|Y|``.
      T: the number of rounds.
      alphas: the α grid.
      seeds: seeds (default ``config.seeds``).

    Returns:
      One dict per α: ``alpha``, ``success_heldout`` and ``success_best`` (fractions of seeds with
      ``err_δ = 0`` under the charged held-out and the free exact selections), ``queries_heldout``.
    """
    problem, cls = instance(config, {"size": size})
    keys = jax.random.split(jax.random.key(config.seed + 1), seeds or config.seeds)
    out = []
    for a in alphas:
        err, err_best = xpo_prefix_errors(keys, problem, _theta_base(config), float(a), float(config.beta),
                                          jnp.asarray([T]), cls=cls, T_max=T, inner_steps=config.inner_steps,
                                          delta=config.delta, heldout_samples=config.heldout_samples)
        out.append({"alpha": float(a), "success_heldout": float(np.mean(err == 0)),
                    "success_best": float(np.mean(err_best == 0)),
                    "queries_heldout": 2 * T + (T + 1) * config.heldout_samples})
    return out


def _theta_base(config: Config) -> jax.Array:
    """``θ_b = b e_d``: ``π_base`` exactly (``algorithms.xpo.base_projection`` returns it to 3e-11)."""
    return jnp.zeros(config.d).at[-1].set(config.bias)


def budgets(config: Config, cell: dict) -> list[int]:
    """The budget grid of the cell's ``algorithm``: ``config.rlhf_budgets`` (n) for ``"rlhf"``;
    ``engine.geometric_grid(1, config.xpo_max_rounds)`` (T, ratio ``2^{1/4}``) for ``"xpo"`` and
    ``"online"``.

    Args:
      config: the sweep.
      cell: a dict with the key ``algorithm``.

    Returns:
      The grid as a list.
    """
    if cell["algorithm"] == "rlhf":
        return list(config.rlhf_budgets)
    return engine.geometric_grid(1, config.xpo_max_rounds)


def cells(config: Config) -> list[dict]:
    """One cell per (size, algorithm, budget) on the algorithm's grid (:func:`budgets`), plus the
    ``"xpo_best"`` reference cells (same grid as ``"xpo"``) when ``"xpo"`` is swept."""
    algs = list(config.algorithms) + (["xpo_best"] if "xpo" in config.algorithms else [])
    return [{"size": s, "algorithm": a, "budget": b} for s in config.sizes for a in algs
            for b in budgets(config, {"algorithm": "xpo" if a == "xpo_best" else a})]


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs the cell's algorithm at its budget over ``config.seeds`` seeds.

    XPO and online Eq 8 run once per (size, algorithm) for ``xpo_max_rounds`` rounds per seed
    (cached); every T of the grid is read off the first T rounds (:func:`xpo_prefix_errors`), and
    the ``"xpo_best"`` cells read the free exact selection off the same XPO runs.

    Returns:
      One row per seed: ``seed``, the exact ``error``, the ``queries`` charged (XPO, online:
      ``2T + (T+1) heldout_samples``; ``xpo_best``: ``2T``) and the instance's ``coverage``.

    Raises:
      ValueError: on an unknown ``algorithm``.
    """
    problem, cls = instance(config, cell)
    b = int(cell["budget"])
    alg = cell["algorithm"]
    if alg == "rlhf":
        keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
        err, q = rlhf_errors(keys, problem, cls, b, config.beta, config.delta, max_n=max(config.rlhf_budgets))
        return _rows(config, problem, err, q)
    if alg not in ("xpo", "online", "xpo_best"):
        raise ValueError(f"unknown algorithm {alg!r}; expected 'rlhf', 'xpo', 'xpo_best' or 'online'")
    grid, err, err_best = _xpo_sweep(config, int(cell["size"]), "online" if alg == "online" else "xpo")
    i = grid.index(b)
    if alg == "xpo_best":
        return _rows(config, problem, err_best[:, i], [2 * b] * config.seeds)
    return _rows(config, problem, err[:, i], [2 * b + (b + 1) * config.heldout_samples] * config.seeds)


@functools.lru_cache(maxsize=8)
def _xpo_sweep(config: Config, size: int, alg: str):
    problem, cls = instance(config, {"size": size})
    grid = budgets(config, {"algorithm": alg})
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)
    err, best = xpo_prefix_errors(keys, problem, _theta_base(config), config.alpha if alg == "xpo" else 0.0,
                                  config.beta, jnp.asarray(grid), cls=cls, T_max=config.xpo_max_rounds,
                                  inner_steps=config.inner_steps, delta=config.delta,
                                  heldout_samples=config.heldout_samples)
    return grid, err, best


def _rows(config, problem, err, q):
    c = float(coverage(problem))
    return [{"seed": s, "error": float(err[s]), "queries": int(q[s]), "coverage": c} for s in range(config.seeds)]


def xpo_prefix_errors(keys, problem, theta_init, alpha, beta, grid, *, cls, T_max, inner_steps, delta, heldout_samples):
    """XPO (Alg 1) run once for ``T_max`` rounds per key; every budget ``T`` of ``grid`` read off it.

    Round t of ``algorithms.xpo`` never looks ahead and its round keys are a prefix-consistent
    split, so the first ``T + 1`` iterates of the ``T_max`` run are exactly a ``T``-round run with
    the same key (tested). For each T the output is chosen among ``π^(1..T+1)`` by the charged
    held-out estimate (``algorithms.xpo.heldout_objective``, ``heldout_samples`` fresh draws per
    iterate: ``m = 2T + (T+1) heldout_samples``) and, as a free reference, by the exact ``J_β``.
    One compilation per shape (α, β, the grid traced); the seeds are sharded over the local devices
    (:func:`sharpsim.parallel.map_seeds`).

    Args:
      keys: ``[S]`` PRNG keys.
      problem: the problem (traced, not closed over: XLA would otherwise constant-fold its tables).
      theta_init: the starting parameter.
      alpha, beta: XPO's α and β.
      grid: ``[G]`` the budgets T (each ``<= T_max``).
      cls: the linear-softmax class (static).
      T_max, inner_steps, delta, heldout_samples: as in ``algorithms.xpo`` (static).

    Returns:
      ``(error, error_best)``, each ``[S, G]`` (numpy): the exact ``err_δ`` of the held-out
      selection and of the iterate of largest exact ``J_β`` among the first ``T + 1``.
    """
    err, best = map_seeds(_xpo_trial(cls, T_max, inner_steps, delta, heldout_samples), keys,
                          args=(problem, theta_init, alpha, beta, grid))
    return np.asarray(err), np.asarray(best)


@functools.cache
def _xpo_trial(cls, T_max, inner_steps, delta, heldout_samples):
    """One seed's XPO run read at every T of the grid (one function object per static setting: compiled once)."""

    def one(k, problem, theta_init, alpha, beta, grid):
        k_run, k_hold = jax.random.split(k)
        r = xpo(k_run, problem, cls, T=T_max, beta=beta, alpha=alpha, theta_init=theta_init,
                inner_steps=inner_steps, delta=delta, select="last")
        est = jax.vmap(lambda th, kk: heldout_objective(kk, problem, cls, th, beta, heldout_samples))(
            r.thetas, jax.random.split(k_hold, T_max + 1))
        idx = jnp.arange(T_max + 1)

        def at(T):
            visible = idx <= T
            held = cls.policy(r.thetas[jnp.argmax(jnp.where(visible, est, -jnp.inf))])
            best = cls.policy(r.thetas[jnp.argmax(jnp.where(visible, r.objectives, -jnp.inf))])
            return sharpening_error(problem, held, delta=delta), sharpening_error(problem, best, delta=delta)

        return jax.vmap(at)(grid)

    return one


def rlhf_errors(keys, problem, cls, n, beta, delta, *, max_n):
    """Offline RLHF-Sharpening (Eq 8) on ``n`` pairs per key: ``(error [S], queries [S])``.

    ``n`` (``<= max_n``), β and δ are traced, so a figure compiles this once per instance shape
    instead of once per budget (``rlhf_sharpening(max_n=...)``: the oracle draws ``max_n`` pairs and
    reveals the first ``n``, the same pairs as a run on ``n``; the fit equals that run's up to
    rounding in the padded regression).

    Args:
      keys: ``[S]`` PRNG keys.
      problem, cls: the instance and its class (traced).
      n, beta, delta: pairs, KL weight and the error's level.
      max_n: the static capacity.

    Returns:
      The exact ``err_δ`` and the queries charged (``2n``) per key (NumPy arrays; the seeds are
      sharded over the local devices by :func:`sharpsim.parallel.map_seeds`).
    """
    return map_seeds(_rlhf_trial(max_n), keys, args=(problem, cls, n, beta, delta))


@functools.cache
def _rlhf_trial(max_n: int):
    """One seed's offline RLHF-Sharpening at the static capacity ``max_n`` (compiled once per capacity)."""

    def one(k, problem, cls, n, beta, delta):
        r = rlhf_sharpening(k, problem, cls, n=n, beta=beta, delta=delta, max_n=max_n)
        return r.error, r.num_queries

    return one


def offline_success_probability(config: Config, size: int, n: int) -> float:
    """``P[y* among the 2n base draws] = 1 − (1 − π_base(y*))^{2n}``, an upper bound on the success
    probability of offline Eq 8 here: without ``y*`` in the data every feature difference is
    orthogonal to ``e_d``, the minimum-norm solution has ``θ_d = 0`` and ``π̂(y*) = 1/(1 + Σ_{y≠y*}
    e^{⟨φ(y), θ̂⟩}) < 1/2`` (the commons include ``±e_i``, whose weights sum to at least 2)."""
    p = 1.0 / float(coverage(instance(config, {"size": size}).problem))
    return 1.0 - math.exp(2 * n * math.log1p(-p))


def offline_queries_needed(config: Config, size: int) -> int:
    """The fewest queries ``m = 2n`` with :func:`offline_success_probability` ``>= 1 − ρ``:
    ``2 ⌈ln ρ / ln(1 − π_base(y*))⌉`` (about ``C_cov ln(1/ρ)``), the reference line of the figure."""
    p = 1.0 / float(coverage(instance(config, {"size": size}).problem))
    return 2 * math.ceil(math.log(config.rho) / math.log1p(-p))


def draw(rows: list[dict], config: Config):
    """m* against |Y| per algorithm, with the offline reference :func:`offline_queries_needed`.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    sizes = list(config.sizes)
    styles = {"rlhf": ("C2", "^", "RLHF-Sharpening (offline Eq 8)"),
              "xpo": ("C3", "s", f"XPO ($\\alpha$={config.alpha:g}; held-out selection, {config.heldout_samples} "
                                 "charged draws/iterate)"),
              "online": ("C7", "x", "online Eq 8 without optimism ($\\alpha$=0; held-out selection)"),
              "xpo_best": ("C1", "v", "reference, not an algorithm: XPO iterate of largest exact $J_\\beta$ (free)")}

    def not_reached(alg, missing):
        top = budgets(config, {"algorithm": "xpo" if alg == "xpo_best" else alg})[-1]  # n or T
        return f"not reached at |Y|={', '.join(map(str, missing))} within budget {top}"

    drawn = types.SimpleNamespace(algorithms=tuple(config.algorithms) + (("xpo_best",) if "xpo" in config.algorithms
                                                                          else ()), rho=config.rho)
    plot_m_star_by_algorithm(ax, rows, drawn, x_key="size", xs_all=sizes, styles=styles, xlabel="|Y|",
                             not_reached=not_reached)
    ax.plot(sizes, [offline_queries_needed(config, s) for s in sizes], color="k", ls=":", lw=1.1,
            label="offline needs $y^*$ drawn w.p. $1-\\rho$: $m \\approx C_{cov}\\ln(1/\\rho)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"Hidden direction (linear softmax, d={config.d}): m* vs |Y| (margin $e^{{{config.bias:g}}}-1$, "
                 f"$\\beta$={config.beta:g}, $\\delta$={config.delta:g}, $\\rho$={config.rho:g}, {config.seeds} seeds)",
                 fontsize=8)
    fig.tight_layout()
    return fig
