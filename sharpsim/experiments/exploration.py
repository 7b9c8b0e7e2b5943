"""Figure ``exploration``: exploration inside the linear-softmax family — offline RLHF-Sharpening (Eq 8)
against XPO on ``problems.hidden_direction`` as ``|Y|`` (hence ``C_cov``) grows.

Problem: ``hidden_direction(d, Y, bias=b)``: ``y*`` has feature ``e_d``, the ``Y − 1`` common
responses live in ``e_d^⊥``; ``π_base = π_{b e_d}``, margin ``e^b − 1``, ``C_cov ≈ Y e^{−b}``.
Class: ``LinearSoftmaxClass(features, R)``, ``R = 1.01 (1 + 1/β) b`` (so ``π*_β`` is in it).
Target: ``err_δ = 0`` with probability ``>= 1 − ρ``.

* ``rlhf``: offline Eq 8 on ``n`` base pairs (exact ball regression; ``m = 2n``).
* ``xpo``: Alg 1 started at ``π_base``, ``T`` rounds of one pair (``m = 2T``), α as set.
* ``online``: the same loop with ``α = 0`` — online RLHF without the optimism term (control).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt

from sharpsim import bounds, classes, problems
from sharpsim.algorithms import rlhf_sharpening, xpo
from sharpsim.coefficients import coverage, r_max
from sharpsim.experiments._plot import plot_m_star_by_algorithm
from sharpsim.experiments.protocol import Instance

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
      xpo_budgets: the T grid of XPO and online Eq 8.
      inner_steps: optimiser steps of the inner solve per round.
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
    rlhf_budgets: tuple[int, ...] = (4, 16, 64, 256, 1024, 4096)
    xpo_budgets: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    inner_steps: int = 60
    seeds: int = 32
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(sizes=(64,), rlhf_budgets=(4, 64), xpo_budgets=(8,), seeds=4, inner_steps=30),
    "quick": Config(),
    "full": Config(sizes=(64, 256, 1024, 4096, 16384), seeds=200, beta=0.08,
                   rlhf_budgets=(4, 16, 64, 256, 1024, 4096, 16384), xpo_budgets=(1, 2, 4, 8, 16, 32, 64)),
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


def theory_alpha(config: Config, size: int, T: int, *, eps_disc: float = 1e-2) -> float:
    """Alg 1's ``α`` for this instance (``bounds.xpo_alpha``).

    Uses ``V_max = 2β(R + b)``, the bound on ``β|log π_θ/π_base|`` over the ball, and Lemmas J.4/J.5
    for the covering number and SEC.

    Args:
      config: the sweep.
      size: ``|Y|``.
      T: the number of rounds.
      eps_disc: the discretisation of the covering number.

    Returns:
      α.
    """
    problem, cls = instance(config, {"size": size})
    return bounds.xpo_alpha(config.beta, r_max=float(r_max(problem)), v_max=2 * config.beta * (cls.radius + config.bias),
                            log_covering=cls.log_covering_number(eps_disc), sec=cls.sec_bound(T), T=T, rho=config.rho)


def budgets(config: Config, cell: dict) -> list[int]:
    """The budget grid of the cell's ``algorithm``: ``config.rlhf_budgets`` for ``"rlhf"``,
    ``config.xpo_budgets`` for ``"xpo"`` and ``"online"``.

    Args:
      config: the sweep.
      cell: a dict with the key ``algorithm``.

    Returns:
      The grid as a list.
    """
    return list(config.rlhf_budgets if cell["algorithm"] == "rlhf" else config.xpo_budgets)


def cells(config: Config) -> list[dict]:
    """One cell per (size, algorithm, budget) with the budget on the algorithm's grid (:func:`budgets`)."""
    return [{"size": s, "algorithm": a, "budget": b} for s in config.sizes for a in config.algorithms
            for b in budgets(config, {"algorithm": a})]


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs the cell's algorithm at its budget over ``config.seeds`` seeds.

    Returns:
      One row per seed: ``seed``, the exact ``error``, the ``queries`` charged and the instance's
      ``coverage``.

    Raises:
      ValueError: on an unknown ``algorithm``.
    """
    problem, cls = instance(config, cell)
    b = cell["budget"]
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    alg = cell["algorithm"]
    if alg == "rlhf":
        run = jax.jit(jax.vmap(lambda k: _pack(rlhf_sharpening(k, problem, cls, n=b, beta=config.beta,
                                                                delta=config.delta))))
    elif alg in ("xpo", "online"):
        alpha = config.alpha if alg == "xpo" else 0.0
        theta_base = jnp.zeros(config.d).at[-1].set(config.bias)  # Alg 1 starts at π_base
        return _rows(config, problem, *_xpo_errors(keys, problem, theta_base, cls, b, config.beta, alpha,
                                                   config.inner_steps, config.delta))
    else:
        raise ValueError(f"unknown algorithm {alg!r}; expected 'rlhf', 'xpo' or 'online'")
    return _rows(config, problem, *run(keys))


def _rows(config, problem, err, q):
    c = float(coverage(problem))
    return [{"seed": s, "error": float(err[s]), "queries": int(q[s]), "coverage": c} for s in range(config.seeds)]


@functools.partial(jax.jit, static_argnames=("cls", "T", "beta", "alpha", "inner_steps", "delta"))
def _xpo_errors(keys, problem, theta_init, cls, T, beta, alpha, inner_steps, delta):
    # ``problem`` traced (not closed over): XLA would otherwise constant-fold the sampling tables.
    def one(k):
        return _pack(xpo(k, problem, cls, T=T, beta=beta, alpha=alpha, theta_init=theta_init,
                         inner_steps=inner_steps, delta=delta))

    return jax.vmap(one)(keys)


def _pack(result):
    return result.error, result.num_queries


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
              "xpo": ("C3", "s", f"XPO ($\\alpha$={config.alpha:g})"),
              "online": ("C7", "x", "online Eq 8 without optimism ($\\alpha$=0)")}

    def not_reached(alg, missing):
        return (f"not reached at |Y|={', '.join(map(str, missing))} within "
                f"m = {2 * budgets(config, {'algorithm': alg})[-1]}")

    plot_m_star_by_algorithm(ax, rows, config, x_key="size", xs_all=sizes, styles=styles, xlabel="|Y|",
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
