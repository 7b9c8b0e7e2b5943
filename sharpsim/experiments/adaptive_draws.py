"""Experiment: Lemma I.1 for App D's adaptive stopping rule.

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
import numpy as np
from scipy import stats

from sharpsim import bounds, oracle, problems


@dataclasses.dataclass(frozen=True)
class Config:
    inv_p_stars: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
    num_argmaxes: tuple[int, ...] = (1, 4)
    stop_level: float = float(np.log(20.0))  # μ = ln(2/δ) with δ = 0.1 (Thm D.1)
    miss_stop_levels: tuple[float, ...] = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
    miss_inv_p_star: float = 16.0
    num_responses: int = 512
    trials: int = 4000
    confidence: float = 0.95
    seed: int = 0
    #: Bumped when the experiment's meaning changes; part of the config hash, so rows computed
    #: by an older version are never reused for this one.
    version: int = 1


CONFIGS = {
    "testing": Config(inv_p_stars=(2.0, 8.0), num_argmaxes=(1,), miss_stop_levels=(0.5, 1.0), num_responses=64,
                      trials=400),
    "quick": Config(),
    "full": Config(inv_p_stars=tuple(2.0 ** (k / 2) for k in range(2, 19)), num_argmaxes=(1, 2, 4, 8),
                   miss_stop_levels=(0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0), num_responses=1024,
                   trials=40000),
}


def cells(config: Config) -> list[dict]:
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


def run_cell(config: Config, cell: dict) -> dict:
    k = int(cell["num_argmax"])
    problem = _problem(config, float(cell["inv_p_star"]), k)
    key = jax.random.fold_in(jax.random.key(config.seed + 1), _cell_id(cell))
    draws, hit = _run(key, problem, config.trials, float(cell["stop_level"]), cell["method"])
    draws, hit = np.asarray(draws, float), np.asarray(hit)
    mean, sem = draws.mean(), draws.std(ddof=1) / np.sqrt(draws.size)
    z = stats.norm.ppf(0.5 + config.confidence / 2)
    misses = int((~hit).sum())
    ci = stats.binomtest(misses, draws.size).proportion_ci(config.confidence, method="exact")
    p_star = float(np.exp(np.max(np.asarray(problem.base.log_probs))))
    return {
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
    }
