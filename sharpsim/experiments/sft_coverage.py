"""Figure ``sft_coverage``: sample complexity m* of SFT-Sharpening against the coverage C_cov (Thm 4.1).

Problems: ``with_coverage`` (homogeneous prompts, unique arg-max), so ``π_base(y*|x) = 1/C``.
Class: a product class with, per prompt, the base conditional and ``num_decoys`` decoys (the
same probabilities with the arg-max moved to another response: same coverage, wrong
arg-max), in random order with the true one never first (an unseen prompt gets candidate 0, a
decoy, so it fails), closed under BoN_N (Assumption 4.1 holds by construction); ``log|Π| = |X| log K``.

Budget split. The number of prompts follows Thm 4.1's prescription
``n = ⌈n_factor · log(|Π|/ρ)/(δ ε)⌉`` and the sweep searches N on a grid proportional to C
(``m = n N``). As a check, ``n_factors`` other than 1 rerun the search with n scaled; their m*
are drawn as faint markers (the prescription is not the optimum split, and the check shows
by how much).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import bounds, classes, problems
from sharpsim.algorithms import sft_sharpening
from sharpsim.experiments import engine
from sharpsim.experiments._plot import plot_m_star
from sharpsim.experiments.protocol import Instance

NAME = "sft_coverage"
DESCRIPTION = "m* of SFT-Sharpening vs C_cov with Thm 4.1 (upper) and Thm 3.1 (lower) bounds"
THEORY_NOTE = "theory/thm41_sft.md"
#: The cell key of the budget: N, the draws per prompt.
BUDGET = "N"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      coverages: target ``C_cov`` values (one problem each).
      n_factors: multipliers of Thm 4.1's prescribed ``n`` (1 is the prescription; others check it).
      N_multipliers: the N grid of a coverage C is ``round(C · multiplier)``.
      num_prompts, num_responses: problem size.
      num_decoys: wrong candidates per prompt in the product class.
      eps, delta, rho: the target: ``err_δ <= ε`` with probability ``>= 1 - ρ``.
      seeds: seeds per budget (the same keys at every budget).
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    coverages: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0)
    n_factors: tuple[float, ...] = (1.0, 0.5, 2.0)
    N_multipliers: tuple[float, ...] = tuple(2 ** (k / 2) for k in range(-4, 7))  # N = C · mult
    num_prompts: int = 20
    num_responses: int = 128
    num_decoys: int = 3
    eps: float = 0.1
    delta: float = 0.1
    rho: float = 0.1
    seeds: int = 100
    seed: int = 0
    version: int = 2


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(coverages=(2.0, 4.0), n_factors=(1.0,), N_multipliers=(0.5, 1.0, 2.0, 4.0, 8.0),
                      num_prompts=10, num_responses=16, seeds=16),
    "quick": Config(),
    "full": Config(coverages=(2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0), num_responses=256, seeds=400,
                   N_multipliers=tuple(2 ** (k / 4) for k in range(-8, 13))),
}


def log_class_size(config: Config) -> float:
    """``log|Π| = |X| log(num_decoys + 1)`` of the decoy product class."""
    return config.num_prompts * math.log(config.num_decoys + 1)


def prescribed_n(config: Config, n_factor: float = 1.0) -> int:
    """Thm 4.1's number of prompts (:func:`sharpsim.bounds.sft_num_prompts`, constant ``n_factor``).

    Args:
      config: the sweep (``eps``, ``delta``, ``rho`` and the class size are read).
      n_factor: the multiplier of the prescription (1 is Thm 4.1's with constant 1).

    Returns:
      ``max(1, ⌈n_factor · log(|Π|/ρ)/(δ ε)⌉)``.
    """
    return bounds.sft_num_prompts(log_class_size(config), config.eps, delta=config.delta, rho=config.rho,
                                  constant=n_factor)


def budgets(config: Config, cell: dict) -> list[int]:
    """The N grid of the cell's ``coverage``: ``round(C · multiplier)`` over ``config.N_multipliers``.

    Args:
      config: the sweep.
      cell: a dict with the key ``coverage``.

    Returns:
      The sorted distinct N values (each at least 1).
    """
    coverage = cell["coverage"]
    return sorted({max(1, round(coverage * m)) for m in config.N_multipliers})


def cells(config: Config) -> list[dict]:
    """One cell per (coverage, n_factor, N) with N on the coverage's grid (:func:`budgets`)."""
    return [
        {"coverage": c, "n_factor": f, "N": N}
        for c in config.coverages
        for f in config.n_factors
        for N in budgets(config, {"coverage": c})
    ]


def instance(config: Config, cell: dict) -> Instance:
    """The problem and the (not yet BoN-closed) decoy product class of the cell's ``coverage``.

    Args:
      config: the sweep.
      cell: a dict with the key ``coverage`` (a value of ``config.coverages``).

    Returns:
      ``Instance(problem, decoy_class)``.
    """
    return _instance(config, cell["coverage"])


@functools.lru_cache(maxsize=64)
def _instance(config: Config, coverage: float) -> Instance:
    ci = config.coverages.index(coverage)
    k_prob, k_decoy = jax.random.split(jax.random.fold_in(jax.random.key(config.seed), ci))
    problem = problems.with_coverage(k_prob, config.num_prompts, config.num_responses, coverage)
    return Instance(problem, decoy_class(k_decoy, problem, config.num_decoys))


def decoy_class(key, problem, num_decoys: int) -> classes.ProductClass:
    """The decoy product class of a problem.

    Per prompt: the base conditional and ``num_decoys`` copies whose arg-max probability is
    swapped with a random other response, in a random order. The true candidate never sits at
    index 0: the class gives an unseen prompt candidate 0, which would otherwise be the right
    answer for free and make the number of prompts n irrelevant.

    Args:
      key: PRNG key of the decoys and the order.
      problem: a tabular problem.
      num_decoys: wrong candidates per prompt.

    Returns:
      A ``classes.ProductClass`` with ``num_decoys + 1`` candidates per prompt.
    """
    lp = np.asarray(problem.base.log_probs)
    X, Y = lp.shape
    k_other, k_pos = jax.random.split(key)
    star = lp.argmax(axis=1)
    cands = np.repeat(lp[:, None, :], num_decoys + 1, axis=1)
    others = np.asarray(jax.random.randint(k_other, (X, num_decoys), 1, Y))
    for x in range(X):
        for k in range(num_decoys):
            j = (star[x] + others[x, k]) % Y
            cands[x, k + 1, [star[x], j]] = cands[x, k + 1, [j, star[x]]]
    true_at = np.asarray(jax.random.randint(k_pos, (X,), 1, num_decoys + 1))  # never index 0
    order = np.tile(np.arange(num_decoys + 1), (X, 1))
    order[np.arange(X), 0], order[np.arange(X), true_at] = true_at, 0
    cands = np.take_along_axis(cands, order[:, :, None], axis=1)
    return classes.ProductClass(log_probs=jnp.asarray(cands))


@functools.partial(jax.jit, static_argnames=("n",))
def _errors(keys, problem, model_class, n, N, delta):
    closed = classes.bon_closure(model_class, N)

    def one(key):
        r = sft_sharpening(key, problem, closed, n=n, N=N, delta=delta)
        return r.error, r.num_queries

    return jax.vmap(one)(keys)


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs SFT-Sharpening with the class closed under BoN_N over ``config.seeds`` seeds.

    Returns:
      One row per seed: ``n`` (the prompts used), ``seed``, the exact ``error`` and the
      ``queries`` charged.
    """
    problem, model_class = instance(config, cell)
    n = prescribed_n(config, cell["n_factor"])
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    err, q = _errors(keys, problem, model_class, n, jnp.asarray(int(cell["N"])), config.delta)
    err, q = np.asarray(err), np.asarray(q)
    return [{"n": n, "seed": s, "error": float(err[s]), "queries": int(q[s])} for s in range(config.seeds)]


def draw(rows: list[dict], config: Config):
    """m* against C_cov per n_factor, the fitted slope, and Thm 4.1's and Thm 3.1's bounds (constant 1).

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    xs = list(config.coverages)
    log_size = log_class_size(config)
    for i, f in enumerate(config.n_factors):
        tabs = engine.tables_from_rows(rows, x_key="coverage", budget_key=BUDGET, eps=config.eps,
                                       where={"n_factor": f})
        stars = [engine.m_star(*tabs[c], rho=config.rho) for c in xs]
        main = f == 1.0
        fit = engine.fit_slope(xs, [tabs[c] for c in xs], rho=config.rho, num_bootstrap=300) if main else None
        label = "SFT-Sharpening, n by Thm 4.1" if main else f"check: n x {f:g}"
        plot_m_star(ax, xs, stars, fit=fit, label=label, color="C0" if main else f"C{i + 2}",
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
