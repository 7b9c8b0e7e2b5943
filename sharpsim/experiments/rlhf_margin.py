"""Figure ``rlhf_margin``: m* of RLHF-Sharpening against the margin γ_margin, with noisy rewards (Thm 4.2).

Problems: ``planted_runner_up`` (|X| = 10, |Y| = 20, ``π_base(y*) = 0.25`` on every prompt, so
``C_cov = 4`` at every margin, and a runner-up at exactly ``0.25/(1 + γ)``: the measured margin is
the requested one). RLHF-Sharpening with the tabular class (exact Eq 8 regression, components
anchored to the revealed rewards) and Thm 4.2's ``β = γ δ ε`` (constant 1), with revealed rewards
``log π_base + σ ξ`` for several σ (σ = 0 is the exact self-reward, the control). Budget: the number
of pairs n (``m = 2n``) on a fixed geometric grid, the same for every (σ, γ) (ratio ``2^{1/4}``).
The budgets of one seed are nested: the first n
pairs of one stream of pairs drawn at the largest budget (common random numbers; each prefix is
an i.i.d. sample of n pairs, so each budget is RLHF-Sharpening run on n pairs). Theory:
Thm 4.2's ``m ∝ γ_margin^{-2}``; its proof's last step gives ``m ∝ 1/log²(1 + γ_margin)``.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import bounds, classes, oracle, problems
from sharpsim.coefficients import margin as margin_of
from sharpsim.experiments import engine
from sharpsim.experiments.protocol import Instance
from sharpsim.laws import sharpening_error

NAME = "rlhf_margin"
DESCRIPTION = "m* of RLHF-Sharpening vs the margin for several reward-noise levels, with Thm 4.2's rates"
THEORY_NOTE = "theory/rlhf_margin.md"
#: The cell key of the budget: n, the number of pairs.
BUDGET = "n"


def _grid(ratio_log2: float, count: int, start: int = 10) -> tuple[int, ...]:
    return tuple(round(start * 2 ** (k * ratio_log2)) for k in range(count))


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      margins: the planted margins γ (one problem each).
      noises: the reward-noise levels σ (0 is the exact self-reward).
      ns: the grid of the number of pairs n (fixed, geometric, the same for every cell).
      num_prompts, num_responses: problem size.
      top_prob: ``π_base(y*|x)`` on every prompt (``C_cov = 1/top_prob``).
      eps, delta, rho: the target: ``err_δ <= ε`` with probability ``>= 1 - ρ``.
      seeds: seeds per budget (the same keys at every budget, σ and γ).
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    margins: tuple[float, ...] = (0.1, 0.2, 0.4, 0.8)
    noises: tuple[float, ...] = (0.0, 0.25, 0.5)
    ns: tuple[int, ...] = _grid(0.25, 45)  # 10 ... 20480, ratio 2^(1/4)
    num_prompts: int = 10
    num_responses: int = 20
    top_prob: float = 0.25
    eps: float = 0.1
    delta: float = 0.1
    rho: float = 0.2
    seeds: int = 32
    seed: int = 0
    version: int = 3


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(margins=(0.2, 0.8), noises=(0.0, 0.5), ns=(20, 160, 1280), seeds=4),
    "quick": Config(),
    "full": Config(margins=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6), noises=(0.0, 0.25, 0.5, 1.0), ns=_grid(0.25, 57),
                   seeds=128),
}


def instance(config: Config, cell: dict) -> Instance:
    """The ``planted_runner_up`` problem of the cell's ``margin`` and the tabular class.

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
    problem = problems.planted_runner_up(key, config.num_prompts, config.num_responses, top_prob=config.top_prob,
                                         margin=gamma)
    return Instance(problem, classes.TabularClass(problem.num_prompts, problem.num_responses))


def beta_of(config: Config, gamma: float) -> float:
    """Thm 4.2's ``β = γ δ ε`` (constant 1; :func:`sharpsim.bounds.rlhf_beta`) at margin ``gamma``."""
    return bounds.rlhf_beta(gamma, eps=config.eps, delta=config.delta)


def budgets(config: Config, cell: dict) -> list[int]:
    """The n grid, ``config.ns``, the same for every (σ, γ)."""
    return list(config.ns)


def cells(config: Config) -> list[dict]:
    """One cell per (σ, γ, n)."""
    return [{"reward_noise": s, "margin": g, "n": n} for s in config.noises for g in config.margins
            for n in budgets(config, {"margin": g})]


@functools.partial(jax.jit, static_argnames=("n_max", "delta"))
def nested_errors(keys, problem, ns, n_max, beta, delta, reward_noise):
    """Exact errors ``[S, B]`` of RLHF-Sharpening (tabular class) on the first ``ns[b]`` pairs of one
    stream of ``n_max`` pairs per seed (``oracle.sample_triples(key, problem, n_max, reward_noise=σ)``).

    Args:
      keys: ``[S]`` PRNG keys (one stream each).
      problem: a tabular problem.
      ns: ``[B]`` budgets, each ``<= n_max``.
      n_max: the stream's length (static).
      beta: β > 0; delta: the level of ``err_δ`` (static); reward_noise: σ >= 0.

    Returns:
      ``[S, B]`` errors; the first ``n`` pairs of a stream are exactly what ``TabularClass.regress``
      sees when called on those ``n`` triples alone.
    """
    cls = classes.TabularClass(problem.num_prompts, problem.num_responses)

    def one_seed(key):
        triples, _ = oracle.sample_triples(key, problem, n_max, reward_noise=reward_noise)
        index = jnp.arange(n_max)

        def at(n):
            keep = index < n
            t = dataclasses.replace(triples, responses=jnp.where(keep, triples.responses, -1),
                                    other_responses=jnp.where(keep, triples.other_responses, -1))
            return sharpening_error(problem, cls.regress(t, beta), delta=delta)

        return jax.lax.map(at, jnp.asarray(ns))

    return jax.lax.map(one_seed, keys)


@functools.lru_cache(maxsize=64)
def _setting(config: Config, sigma: float, gamma: float) -> np.ndarray:
    problem = instance(config, {"margin": gamma}).problem
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets, σ and γ
    ns = np.asarray(config.ns)
    return np.asarray(nested_errors(keys, problem, ns, int(ns.max()), beta_of(config, gamma), config.delta, sigma))


def run_cell(config: Config, cell: dict) -> list[dict]:
    """RLHF-Sharpening on the cell's first n pairs, σ and Thm 4.2's β, over ``config.seeds`` seeds.

    Returns:
      One row per seed: the problem's ``measured_margin``, ``seed``, the exact ``error`` and the
      ``queries`` charged (``2n``).
    """
    sigma, gamma, n = float(cell["reward_noise"]), float(cell["margin"]), int(cell["n"])
    errors = _setting(config, sigma, gamma)[:, list(config.ns).index(n)]
    measured = margin_of(instance(config, cell).problem)
    return [{"measured_margin": measured, "seed": s, "error": float(errors[s]), "queries": 2 * n}
            for s in range(config.seeds)]


def _tables(rows: list[dict], config: Config, sigma: float) -> dict:
    return engine.tables_from_rows(rows, x_key="margin", budget_key=BUDGET, eps=config.eps, where={"reward_noise": sigma})


def rates(rows: list[dict], config: Config) -> list[engine.Rate]:
    """Per σ, the exponent of m* against ``log(1 + γ)`` (the proof's form) and against ``γ`` (Thm 4.2's
    statement), theory −2 for both, with the seed-bootstrap and grid-resolution intervals
    (:func:`sharpsim.experiments.engine.rate_from_tables`). For σ = 0 the bound is an upper bound
    that the noise-free control does not reach (the quantity says so).

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      Two :class:`sharpsim.experiments.engine.Rate` per σ with rows, in the order of ``config.noises``.
    """
    out = []
    for sigma in config.noises:
        tabs = _tables(rows, config, sigma)
        xs = [g for g in config.margins if g in tabs]
        if len(xs) < 2:
            continue
        tables = [tabs[g] for g in xs]
        note = " (control)" if sigma == 0 else ""
        out.append(engine.rate_from_tables(NAME, f"RLHF m* vs log(1+γ), σ = {sigma:g}{note}", -2.0, np.log1p(xs),
                                           tables, rho=config.rho, source="proof of Thm 4.2′"))
        out.append(engine.rate_from_tables(NAME, f"RLHF m* vs γ, σ = {sigma:g}{note}", -2.0, xs, tables,
                                           rho=config.rho, source="Thm 4.2"))
    return out


def draw(rows: list[dict], config: Config):
    """m* against the margin, one curve per σ (Clopper–Pearson-based interval), with the theory's
    ``1/log²(1 + γ)`` and ``γ^{-2}`` drawn through one measured point (the largest σ's m* at the
    smallest margin), and the fitted exponents with both intervals in the legend.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(7.0, 5.0))
    fitted = {r.quantity: r for r in rates(rows, config)}
    anchor = None
    for i, sigma in enumerate(config.noises):
        tabs = _tables(rows, config, sigma)
        xs = np.asarray([g for g in config.margins if g in tabs], float)
        if not xs.size:
            continue
        stars = [engine.m_star(*tabs[g], rho=config.rho) for g in xs]
        m = np.array([st["m_star"] for st in stars], float)
        lo = np.array([st["m_star_low"] for st in stars], float)
        hi = np.array([st["m_star_high"] for st in stars], float)
        label = f"$\\sigma$ = {sigma:g}"
        rate = fitted.get(f"RLHF m* vs log(1+γ), σ = {sigma:g}" + (" (control)" if sigma == 0 else ""))
        if rate is not None and np.isfinite(rate.slope):
            label += (f": slope vs log(1+$\\gamma$) {rate.slope:.2f}, seeds {engine.format_interval(rate.boot_low, rate.boot_high)}, "
                      f"grid {engine.format_interval(rate.grid_low, rate.grid_high)}"
                      + (f" (crossing at a grid edge: {', '.join(f'{e:.3g}' for e in rate.edges)})" if rate.edges else ""))
        ok = np.isfinite(m)
        yerr = np.vstack([np.where(np.isfinite(lo), m - lo, 0), np.where(np.isfinite(hi), hi - m, 0)])
        ax.errorbar(xs[ok], m[ok], yerr=yerr[:, ok], fmt="o-", color=f"C{i}", ms=4, capsize=2, label=label)
        if np.any(~ok):
            ax.plot(xs[~ok], np.full((~ok).sum(), 4 * max(config.ns)), "x", color=f"C{i}")
        if sigma > 0 and ok[0]:
            anchor = (xs[0], m[0], sigma)
    if anchor is not None:
        grid = np.geomspace(min(config.margins), max(config.margins), 50)
        g0, m0, s0 = anchor
        ax.plot(grid, m0 * (np.log1p(g0) / np.log1p(grid)) ** 2, color="k", ls="--", lw=1.1,
                label=f"proof's form $1/\\log^2(1+\\gamma)$, through $\\sigma$={s0:g}, $\\gamma$={g0:g}")
        ax.plot(grid, m0 * (g0 / grid) ** 2, color="k", ls=":", lw=1.1,
                label="Thm 4.2 $\\gamma^{-2}$, through the same point")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("margin $\\gamma_{margin}$ (planted runner-up; measured margin equals it)")
    ax.set_ylabel("$m^* = 2n^*$ (queries)")
    ax.legend(fontsize=6, loc="upper right")
    ratio = (config.ns[-1] / config.ns[0]) ** (1 / max(1, len(config.ns) - 1))  # mean ratio (rounded grid)
    ax.set_title(f"RLHF-Sharpening with noisy self-rewards: m* vs margin\n(|X|={config.num_prompts}, "
                 f"|Y|={config.num_responses}, $\\pi(y^*)$={config.top_prob:g}, $\\beta=\\gamma\\delta\\epsilon$, "
                 f"$\\epsilon$={config.eps:g}, $\\delta$={config.delta:g}, $\\rho$={config.rho:g}, {config.seeds} seeds, "
                 f"n grid ratio {ratio:.3g}; x: never reached)", fontsize=7)
    fig.tight_layout()
    return fig
