"""Figure ``sft_coverage``: sample complexity m* of SFT-Sharpening against the coverage C_cov (Thm 4.1).

Problems: ``with_coverage(..., heterogeneity=1)`` (unique arg-max; the per-prompt coverages
``1/π_base(y*|x)`` spread over ``[1, ≈ 2C − 1]`` with μ-mean exactly C), so ``err_δ`` of the
BoN_N law falls in steps of one prompt's mass as N grows and the target ε decides how many of
the hardest prompts may be given up.
Class: a product class with, per prompt, the base conditional and ``num_decoys`` decoys (the
same probabilities with the arg-max moved to another response: same coverage, wrong
arg-max), in random order with the true one never first (an unseen prompt gets candidate 0, a
decoy, so it fails), closed under BoN_N (Assumption 4.1 holds by construction); ``log|Π| = |X| log K``.

Budget split, searched jointly. N runs over a fixed geometric grid (powers of 2), n over a
fixed geometric grid of ratio 2^(1/4) (the same for every coverage: nothing scales with the
predicted rate); for each N that can reach the target at all (exactly: ``err_δ(π^BoN_N) <= ε``)
n is scanned coarse-to-fine up to its first passing value (:func:`engine.scan_splits`), and
``m* = min over N of n*(N)·N``. Thm 4.1's prescription ``(n, N)`` with constant 1 is only a
drawn check: its success rate is written beside its marker.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import sharpsim as ss
from sharpsim import bounds, classes, problems
from sharpsim.algorithms import sft_sharpening
from sharpsim.experiments import engine
from sharpsim.experiments._plot import plot_joint_m_star
from sharpsim.experiments.protocol import Instance
from sharpsim.parallel import map_seeds

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
      heterogeneity: ``with_coverage``'s spread of the per-prompt coverages (0: equally hard
        prompts; 1: spread over the feasible range with the same mean).
      n_range: ``(low, high)`` of the fixed geometric grid of prompts n.
      n_per_octave: points per doubling of the n grid (4: ratio 2^(1/4)).
      N_range: ``(low, high)`` of the fixed geometric grid of draws per prompt N.
      N_per_octave: points per doubling of the N grid.
      num_prompts, num_responses: problem size.
      num_decoys: wrong candidates per prompt in the product class.
      eps, delta, rho: the target: ``err_δ <= ε`` with probability ``>= 1 - ρ``.
      seeds: seeds per budget (the same keys at every budget and split).
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    coverages: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0)
    heterogeneity: float = 1.0
    n_range: tuple[int, int] = (8, 8192)
    n_per_octave: int = 4
    N_range: tuple[int, int] = (1, 1024)
    N_per_octave: int = 4
    num_prompts: int = 40
    num_responses: int = 128
    num_decoys: int = 3
    eps: float = 0.1
    delta: float = 0.1
    rho: float = 0.1
    seeds: int = 100
    seed: int = 0
    version: int = 4


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(coverages=(2.0, 8.0), num_prompts=10, num_responses=16, seeds=16, n_range=(4, 512),
                      N_range=(1, 64)),
    "quick": Config(),
    "full": Config(coverages=(2.0, 4.0, 8.0, 16.0, 32.0, 64.0), num_responses=256, seeds=400,
                   n_range=(8, 16384), N_range=(1, 2048)),
}


def log_class_size(config: Config) -> float:
    """``log|Π| = |X| log(num_decoys + 1)`` of the decoy product class."""
    return config.num_prompts * math.log(config.num_decoys + 1)


def prescription(config: Config, coverage: float) -> tuple[int, int]:
    """Thm 4.1's ``(n, N)`` with constant 1 (:func:`sharpsim.bounds.sft_prescription`) at the measured ``C_cov``.

    Args:
      config: the sweep (``eps``, ``delta``, ``rho`` and the class size are read).
      coverage: a value of ``config.coverages``.

    Returns:
      ``(n, N)`` = ``(⌈log(|Π|/ρ)/(δ ε)⌉, ⌈C_cov log(2/δ)/ε⌉)``.
    """
    problem = instance(config, {"coverage": coverage}).problem
    return bounds.sft_prescription(float(ss.coverage(problem)), log_class_size(config), config.eps,
                                   delta=config.delta, rho=config.rho)


def n_grid(config: Config) -> list[int]:
    """The fixed geometric grid of prompts n (the same for every coverage and split)."""
    return engine.geometric_grid(*config.n_range, per_octave=config.n_per_octave)


def N_grid(config: Config) -> list[int]:
    """The fixed geometric grid of draws per prompt N (the same for every coverage)."""
    return engine.geometric_grid(*config.N_range, per_octave=config.N_per_octave)


def budgets(config: Config, cell: dict) -> list[int]:
    """The budget grid scanned at every split: the fixed geometric grid of n (:func:`n_grid`).

    Args:
      config: the sweep.
      cell: a cell (its values are not read: the grid does not depend on the coverage).

    Returns:
      The increasing n grid.
    """
    return n_grid(config)


def cells(config: Config) -> list[dict]:
    """One cell per coverage; :func:`run_cell` scans the (n, N) splits itself."""
    return [{"coverage": c} for c in config.coverages]


def instance(config: Config, cell: dict) -> Instance:
    """The problem and the (not yet BoN-closed) decoy product class of the cell's ``coverage``.

    Args:
      config: the sweep.
      cell: a dict with the key ``coverage`` (a value of ``config.coverages``).

    Returns:
      ``Instance(problem, decoy_class)`` (:func:`sharpsim.classes.decoy_product_class`).
    """
    return _instance(config, cell["coverage"])


@functools.lru_cache(maxsize=64)
def _instance(config: Config, coverage: float) -> Instance:
    ci = config.coverages.index(coverage)
    k_prob, k_decoy = jax.random.split(jax.random.fold_in(jax.random.key(config.seed), ci))
    problem = problems.with_coverage(k_prob, config.num_prompts, config.num_responses, coverage,
                                     heterogeneity=config.heterogeneity)
    return Instance(problem, classes.decoy_product_class(k_decoy, problem, config.num_decoys))


def _errors(keys, problem, model_class, n, max_n, N, delta):
    """``(error [S], queries [S])`` of SFT-Sharpening with the class closed under BoN_N, one row per key
    (:func:`sharpsim.parallel.map_seeds`: the seeds sharded over the local devices)."""
    return map_seeds(_trial(max_n), keys, args=(problem, model_class, n, N, delta))


@functools.cache
def _trial(max_n: int):
    """One seed's trial at the static capacity ``max_n`` (one function object per capacity: compiled once)."""

    def one(key, problem, model_class, n, N, delta):
        closed = classes.bon_closure(model_class, N)
        r = sft_sharpening(key, problem, closed, n=n, N=N, delta=delta, max_n=max_n, return_policy=False)
        return r.error, r.num_queries

    return one


def _bucket(n: int) -> int:
    """The static capacity of n: the smallest power of 4 that is at least ``max(n, 256)`` (the first
    n of ``max_n`` prompts do not depend on ``max_n``, so the bucket never changes a row)."""
    cap = 256
    while cap < n:
        cap *= 4
    return cap


def feasible(config: Config, coverage: float, N: int) -> bool:
    """Whether some number of prompts can reach the target with N draws: ``err_δ(π^BoN_N) <= ε`` exactly.

    The closed class's true candidate is the BoN_N law and the decoys put less than ``1 - δ``
    on ``y*``, so a prompt where the BoN_N law does is failed by every fit: ``err_δ`` of
    SFT-Sharpening is at least ``err_δ(π^BoN_N)`` at every n.

    Args:
      config: the sweep.
      coverage: a value of ``config.coverages``.
      N: draws per prompt.

    Returns:
      ``err_δ(π^BoN_N) <= ε``.
    """
    problem = instance(config, {"coverage": coverage}).problem
    return float(ss.sharpening_error(problem, ss.bon_law(problem, N), delta=config.delta)) <= config.eps


def run_cell(config: Config, cell: dict) -> list[dict]:
    """The joint search over (n, N) at one coverage, and the drawn check at Thm 4.1's prescription.

    For each N of :func:`N_grid` that is :func:`feasible`, n is scanned coarse-to-fine on
    :func:`n_grid` (:func:`sharpsim.experiments.engine.scan_splits`), every budget over
    ``config.seeds`` seeds with the same keys (CRN), the class closed under BoN_N.

    Returns:
      One row per (split, n, seed): ``kind`` (``"search"`` or ``"prescription"``), ``N``, ``n``,
      ``seed``, the exact ``error`` and the ``queries`` charged.
    """
    problem, model_class = instance(config, cell)
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    n_presc, N_presc = prescription(config, cell["coverage"])
    def evaluate(n, N):  # n padded to a power-of-4 bucket: a few compilations for the whole figure
        err, q = _errors(keys, problem, model_class, jnp.asarray(int(n)), _bucket(n), jnp.asarray(int(N)),
                         config.delta)
        err = np.asarray(err)
        return err <= config.eps, np.asarray(q), err

    found = engine.scan_splits(evaluate, N_grid(config), n_grid(config), rho=config.rho, slack=2 ** 0.5,
                               feasible=lambda N: feasible(config, cell["coverage"], N))
    rows = []
    for N, res in found.items():
        for n, (_, q, err) in res.items():
            rows += [{"kind": "search", "N": N, "n": n, "seed": s, "error": float(err[s]), "queries": int(q[s])}
                     for s in range(config.seeds)]
    _, q, err = evaluate(n_presc, N_presc)
    rows += [{"kind": "prescription", "N": N_presc, "n": n_presc, "seed": s, "error": float(err[s]),
              "queries": int(q[s])} for s in range(config.seeds)]
    return rows


def split_tables(rows: list[dict], config: Config) -> dict:
    """Per coverage, the list of split tables ``[(n [B], successes [B, S], queries [B, S]), ...]`` of the search.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      ``{coverage: [table per N]}``.
    """
    out = {}
    search = [r for r in rows if r["kind"] == "search"]
    for c in config.coverages:
        sub = [r for r in search if r["coverage"] == c]
        tabs = engine.tables_from_rows(sub, x_key="N", budget_key="n", eps=config.eps)
        out[c] = [tabs[N] for N in sorted(tabs)]
    return out


def rates(rows: list[dict], config: Config) -> list[engine.Rate]:
    """The exponent of m* in C_cov (Thm 4.1 and Thm 3.1: 1) with both intervals.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      One :class:`sharpsim.experiments.engine.Rate`.
    """
    tabs = split_tables(rows, config)
    xs = list(config.coverages)
    return [engine.rate_from_tables(NAME, "SFT m* vs C_cov (joint n, N)", 1.0, xs, [tabs[c] for c in xs],
                                    rho=config.rho, source="Thm 4.1, Thm 3.1", split_ratio=split_ratio(config))]


def split_ratio(config: Config) -> float:
    """The ratio of the N grid (a split between grid values could cost up to this factor less)."""
    return 2 ** (1 / config.N_per_octave)


def draw(rows: list[dict], config: Config):
    """m* against C_cov (joint search), its slope with both intervals, the prescription check and the bounds.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    xs = list(config.coverages)
    log_size = log_class_size(config)
    tabs = split_tables(rows, config)
    rate = rates(rows, config)[0]
    brackets = [engine.crossing_bracket(tabs[c], rho=config.rho, split_ratio=split_ratio(config)) for c in xs]
    fit = engine.fit_slope(xs, [tabs[c] for c in xs], rho=config.rho, num_bootstrap=300)
    plot_joint_m_star(ax, xs, brackets, rate, fit, label="SFT-Sharpening, best (n, N)", color="C0")
    for c, br in zip(xs, brackets):
        if br["split"] is not None:
            ax.annotate(f"N={sorted(N for N in _split_Ns(rows, c))[br['split']]}", (c, br["m_star"]),
                        textcoords="offset points", xytext=(4, -10), fontsize=6, color="C0")
    presc = [r for r in rows if r["kind"] == "prescription"]
    for c in xs:
        sub = [r for r in presc if r["coverage"] == c]
        if sub:
            rate_c = np.mean([r["error"] <= config.eps for r in sub])
            m = sub[0]["n"] * sub[0]["N"]
            ax.plot([c], [m], marker="^", color="C2", mfc="white", ls="none")
            ax.annotate(f"{rate_c:.2f}", (c, m), textcoords="offset points", xytext=(4, 2), fontsize=6, color="C2")
    ax.plot([], [], marker="^", color="C2", mfc="white", ls="none",
            label="check: Thm 4.1's (n, N) (const. 1), success rate written")
    grid = np.geomspace(min(xs), max(xs), 50)
    upper = [bounds.sft_upper_bound(c, log_size, config.eps, delta=config.delta, rho=config.rho) for c in grid]
    lower = [bounds.sft_lower_bound(c, log_size, config.eps) for c in grid]
    ax.plot(grid, upper, color="k", ls="--", lw=1.2, label="Thm 4.1 upper bound (const. 1)")
    ax.plot(grid, lower, color="k", ls=":", lw=1.2, label="Thm 3.1 lower bound (const. 1)")
    ax.set_xlabel("coverage $C_{cov}$ (heterogeneous prompts)")
    ax.legend(fontsize=6.5, loc="upper left")
    ax.set_title(
        rf"SFT-Sharpening: m* vs coverage, (n, N) searched jointly" "\n" rf"(N grid ratio $2^{{1/{config.N_per_octave}}}$; $\epsilon$={config.eps:g}, $\delta$={config.delta:g}, "
        rf"$\rho$={config.rho:g}, |X|={config.num_prompts}, heterogeneity {config.heterogeneity:g}, "
        rf"log|$\Pi$|={log_size:.1f}, {config.seeds} seeds; n grid ratio $2^{{1/{config.n_per_octave}}}$)",
        fontsize=7,
    )
    fig.tight_layout()
    return fig


def _split_Ns(rows: list[dict], coverage: float) -> set:
    return {r["N"] for r in rows if r["kind"] == "search" and r["coverage"] == coverage}
