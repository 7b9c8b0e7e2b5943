"""Figure ``adaptive_draws``: Lemma I.1 for App D's adaptive stopping rule.

``N_μ(x) = inf{k : 1/max_{j<=k} π_base(y_j|x) <= k/μ}``. Lemma I.1:
``E[N_μ] <= (μ + 1/|y*|)/P*`` with ``P* = max_y π_base(y|x)``, and the kept response misses
``y*(x)`` with probability at most ``e^{-|y*| μ}``.

Problems are single-prompt ``with_coverage`` instances (``|y*| = k`` tied arg-maxes of total
mass ``k P*``). Each cell runs the rule ``trials`` times through the oracle — literally
(``oracle.adaptive_best``: every draw) and exactly (``oracle.adaptive_best_exact``: record to
record) — and records the mean of ``N_μ`` with a normal-approximation interval and the miss
frequency with a Clopper–Pearson interval.

Panel "draws": ``E[N_μ]`` against ``1/P*`` at fixed μ. Panel "miss": ``P[miss y*]`` against μ at
fixed ``P*``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import zlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from sharpsim import bounds, oracle, problems
from sharpsim.experiments._plot import select
from sharpsim.experiments.protocol import Instance

NAME = "adaptive_draws"
DESCRIPTION = "E[N_mu] vs 1/P* and P[miss y*] vs mu for the adaptive rule, with Lemma I.1's bounds"
THEORY_NOTE = "theory/lemmaI1_adaptive.md"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      inv_p_stars: ``1/P*`` values of the "draws" panel.
      num_argmaxes: ``|y*|`` values (tied arg-maxes; one series each).
      stop_level: μ of the "draws" panel (``ln 20``: Thm D.1's ``ln(2/δ)`` at δ = 0.1).
      miss_stop_levels: μ values of the "miss" panel.
      miss_inv_p_star: ``1/P*`` of the "miss" panel.
      num_responses: ``|Y|``.
      trials: runs of the rule per cell and method.
      confidence: level of the intervals.
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    inv_p_stars: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
    num_argmaxes: tuple[int, ...] = (1, 4)
    stop_level: float = float(np.log(20.0))  # μ = ln(2/δ) with δ = 0.1 (Thm D.1)
    miss_stop_levels: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
    miss_inv_p_star: float = 16.0
    num_responses: int = 512
    trials: int = 4000
    confidence: float = 0.95
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(inv_p_stars=(2.0, 8.0), num_argmaxes=(1,), miss_stop_levels=(0.5, 1.0), num_responses=64,
                      trials=400),
    "quick": Config(),
    "full": Config(inv_p_stars=tuple(2.0 ** (k / 2) for k in range(2, 19)), num_argmaxes=(1, 2, 4, 8),
                   miss_stop_levels=(0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0), num_responses=1024,
                   trials=40000),
}


def cells(config: Config) -> list[dict]:
    """The "draws" cells (each ``1/P* > |y*|`` at ``config.stop_level``), then the "miss" cells, per
    ``|y*|`` and for both methods (``"literal"``, ``"exact"``)."""
    out = []
    for k in config.num_argmaxes:
        for inv in config.inv_p_stars:
            if inv <= k:  # |y*| P* must stay below 1
                continue
            for m in ("literal", "exact"):
                out.append({"panel": "draws", "num_argmax": k, "inv_p_star": inv, "stop_level": config.stop_level,
                            "method": m})
        for mu in config.miss_stop_levels:
            for m in ("literal", "exact"):
                out.append({"panel": "miss", "num_argmax": k, "inv_p_star": config.miss_inv_p_star,
                            "stop_level": mu, "method": m})
    return out


def _cell_id(cell: dict) -> int:
    """A stable 31-bit id of a cell (its key is folded from it)."""
    return zlib.crc32(json.dumps(cell, sort_keys=True).encode()) & 0x7FFFFFFF


def instance(config: Config, cell: dict) -> Instance:
    """The single-prompt problem of the cell's ``inv_p_star`` and ``num_argmax`` (no model class).

    Args:
      config: the sweep.
      cell: a dict with the keys ``inv_p_star`` and ``num_argmax``.

    Returns:
      ``Instance(problem, None)``: ``|y*| = num_argmax`` tied arg-maxes of probability ``P*`` each.
    """
    return Instance(_problem(config, float(cell["inv_p_star"]), int(cell["num_argmax"])))


@functools.lru_cache(maxsize=128)
def _problem(config: Config, inv_p_star: float, num_argmax: int):
    coverage = inv_p_star / num_argmax  # π(y*) = k P*
    key = jax.random.fold_in(jax.random.key(config.seed), _cell_id({"inv": inv_p_star, "k": num_argmax}))
    return problems.with_coverage(key, 1, config.num_responses, coverage, num_argmax=num_argmax)


@functools.partial(jax.jit, static_argnames=("n", "method"))
def _run(key, problem, n, stop_level, method):
    if method == "exact":
        batch = oracle.adaptive_best_exact(key, problem, n, stop_level=stop_level)
    else:
        batch = oracle.adaptive_best(key, problem, n, stop=oracle.adaptive_rule(stop_level))
    top = jnp.max(problem.base.log_probs, axis=-1)[batch.prompts]
    hit = batch.log_probs >= top + jnp.log1p(-1e-9)
    return batch.num_draws, hit


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs the rule ``config.trials`` times with the cell's method and stop level.

    Returns:
      One row: ``p_star``, the mean draws ``mean_draws`` with a normal-approximation interval
      (``draws_low``, ``draws_high``), the ``miss_rate`` with its Clopper–Pearson interval
      (``miss_low``, ``miss_high``), Lemma I.1's ``draws_bound`` and ``miss_bound``, and ``trials``.
    """
    k = int(cell["num_argmax"])
    problem = instance(config, cell).problem
    key = jax.random.fold_in(jax.random.key(config.seed + 1), _cell_id(cell))
    draws, hit = _run(key, problem, config.trials, float(cell["stop_level"]), cell["method"])
    draws, hit = np.asarray(draws, float), np.asarray(hit)
    mean, sem = draws.mean(), draws.std(ddof=1) / np.sqrt(draws.size)
    z = stats.norm.ppf(0.5 + config.confidence / 2)
    misses = int((~hit).sum())
    ci = stats.binomtest(misses, draws.size).proportion_ci(config.confidence, method="exact")
    p_star = float(np.exp(np.max(np.asarray(problem.base.log_probs))))
    return [{
        "p_star": p_star,
        "mean_draws": mean,
        "draws_low": mean - z * sem,
        "draws_high": mean + z * sem,
        "miss_rate": misses / draws.size,
        "miss_low": float(ci.low),
        "miss_high": float(ci.high),
        "draws_bound": bounds.lemma_i1_expected_draws(cell["stop_level"], p_star, k),
        "miss_bound": bounds.lemma_i1_miss_probability(cell["stop_level"], k),
        "trials": int(draws.size),
    }]


def draw(rows: list[dict], config: Config):
    """Both panels of Lemma I.1 (:func:`plot_panels`).

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    plot_panels(rows, axes)
    fig.suptitle(f"Lemma I.1: App D's adaptive rule, |Y|={config.num_responses}, {config.trials} runs per point "
                 "(95% intervals)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_panels(rows: list[dict], axes=None):
    """Lemma I.1: ``E[N_μ]`` against ``1/P*`` (left) and ``P[miss y*]`` against μ (right).

    Measured values (literal draws: filled; exact record-to-record draws: open) with their
    intervals, and the lemma's bounds (dashed). A cell without any miss is drawn at its upper
    confidence limit.

    Args:
      rows: the sweep's rows.
      axes: two axes to draw on (a new figure's when ``None``).

    Returns:
      The two axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    left, right = axes
    ks = sorted({r["num_argmax"] for r in rows})
    for i, k in enumerate(ks):
        color = f"C{i}"
        for method, fill, shift in (("literal", color, 0.97), ("exact", "white", 1.03)):
            d = sorted(select(rows, panel="draws", num_argmax=k, method=method), key=lambda r: r["inv_p_star"])
            if d:
                x = np.array([r["inv_p_star"] for r in d]) * shift
                y = np.array([r["mean_draws"] for r in d])
                err = [y - [r["draws_low"] for r in d], [r["draws_high"] for r in d] - y]
                left.errorbar(x, y, yerr=err, fmt="o", color=color, mfc=fill, ms=4, capsize=2,
                              label=f"|y*|={k}, measured ({method})")
            m = sorted(select(rows, panel="miss", num_argmax=k, method=method), key=lambda r: r["stop_level"])
            if m:
                x = np.array([r["stop_level"] for r in m]) * shift
                y = np.array([r["miss_rate"] for r in m])
                err = [y - [r["miss_low"] for r in m], [r["miss_high"] for r in m] - y]
                pos = y > 0
                right.errorbar(x[pos], y[pos], yerr=[e[pos] for e in np.asarray(err)], fmt="o", color=color,
                               mfc=fill, ms=4, capsize=2, label=f"|y*|={k}, measured ({method})")
                if (~pos).any():  # no miss observed: draw the upper confidence limit only
                    right.plot(x[~pos], np.array([r["miss_high"] for r in m])[~pos], "v", color=color, mfc=fill,
                               ms=5, ls="", label=f"|y*|={k}, 0 misses: 95% upper limit" if method == "literal" else None)
        d = sorted(select(rows, panel="draws", num_argmax=k, method="literal"), key=lambda r: r["inv_p_star"])
        if d:
            left.plot([r["inv_p_star"] for r in d], [r["draws_bound"] for r in d], color=color, ls="--",
                      label=f"Lemma I.1: $(\\mu + 1/{k})/P^*$")
        m = sorted(select(rows, panel="miss", num_argmax=k, method="literal"), key=lambda r: r["stop_level"])
        if m:
            right.plot([r["stop_level"] for r in m], [r["miss_bound"] for r in m], color=color, ls="--",
                       label=f"Lemma I.1: $e^{{-{k}\\mu}}$")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("$1/P^*$")
    left.set_ylabel("$E[N_\\mu]$ (draws until the rule stops)")
    mu = rows[0]["stop_level"] if rows else float("nan")
    draws_rows = select(rows, panel="draws")
    if draws_rows:
        mu = draws_rows[0]["stop_level"]
    left.set_title(f"expected draws, $\\mu$ = {mu:.3g}", fontsize=9)
    left.legend(fontsize=6.5)
    right.set_yscale("log")
    right.set_xlabel("stop level $\\mu$")
    right.set_ylabel("P[kept response misses $y^*$]")
    miss_rows = select(rows, panel="miss")
    if miss_rows:
        right.set_title(f"miss probability, $1/P^*$ = {miss_rows[0]['inv_p_star']:g}", fontsize=9)
    right.legend(fontsize=6.5)
    return axes
