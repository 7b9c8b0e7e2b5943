"""Experiment: m* of RLHF-Sharpening against the margin γ_margin (Thm 4.2).

Problems: ``with_coverage`` at a fixed coverage with margin at least γ for γ on a grid (the
measured ``margin(problem)`` is recorded). RLHF-Sharpening with the tabular class (exact
minimum-norm Eq 8 regression) and Thm 4.2's ``β = γ δ ε`` (constant 1); budget: the number of
pairs n (``m = 2n``). Thm 4.2's bound grows like ``1/γ²``.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import numpy as np

from sharpsim import classes, problems
from sharpsim.algorithms import rlhf_sharpening
from sharpsim.coefficients import margin as margin_of


@dataclasses.dataclass(frozen=True)
class Config:
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
    #: Bumped when the experiment's meaning changes (part of the config hash).
    version: int = 1


CONFIGS = {
    "testing": Config(margins=(0.2, 0.8), ns=(20, 160), seeds=4),
    "quick": Config(),
    "full": Config(margins=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.4), ns=tuple(round(10 * 2 ** (k / 2)) for k in range(15)),
                   seeds=256),
}


@functools.lru_cache(maxsize=16)
def problem_of(config: Config, gamma: float):
    key = jax.random.fold_in(jax.random.key(config.seed), config.margins.index(gamma))
    return problems.with_coverage(key, config.num_prompts, config.num_responses, config.coverage, margin=gamma)


def beta_of(config: Config, gamma: float) -> float:
    return gamma * config.delta * config.eps  # Thm 4.2's β ≲ γ δ ε, constant 1


def cells(config: Config) -> list[dict]:
    return [{"margin": g, "n": n} for g in config.margins for n in config.ns]


@functools.partial(jax.jit, static_argnames=("n", "delta"))
def _errors(keys, problem, n, beta, delta):
    cls = classes.TabularClass(problem.num_prompts, problem.num_responses)

    def one(k):
        r = rlhf_sharpening(k, problem, cls, n=n, beta=beta, delta=delta)
        return r.error, r.num_queries

    return jax.vmap(one)(keys)


def run_cell(config: Config, cell: dict) -> list[dict]:
    gamma = float(cell["margin"])
    problem = problem_of(config, gamma)
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    err, q = _errors(keys, problem, int(cell["n"]), beta_of(config, gamma), config.delta)
    err, q = np.asarray(err), np.asarray(q)
    measured = margin_of(problem)
    return [{"measured_margin": measured, "seed": s, "error": float(err[s]), "queries": int(q[s])}
            for s in range(config.seeds)]
