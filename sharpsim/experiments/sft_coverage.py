"""Experiment: sample complexity m* of SFT-Sharpening against the coverage C_cov (Thm 4.1).

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
import numpy as np

from sharpsim import classes, problems
from sharpsim.algorithms import sft_sharpening

NAME = "sft_coverage"


@dataclasses.dataclass(frozen=True)
class Config:
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
    #: Bumped when the experiment's meaning changes; part of the config hash, so rows computed
    #: by an older version are never reused for this one.
    version: int = 2


CONFIGS = {
    "testing": Config(coverages=(2.0, 4.0), n_factors=(1.0,), N_multipliers=(0.5, 1.0, 2.0, 4.0, 8.0),
                      num_prompts=10, num_responses=16, seeds=16),
    "quick": Config(),
    "full": Config(coverages=(2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0), num_responses=256, seeds=400,
                   N_multipliers=tuple(2 ** (k / 4) for k in range(-8, 13))),
}


def log_class_size(config: Config) -> float:
    return config.num_prompts * math.log(config.num_decoys + 1)


def prescribed_n(config: Config, n_factor: float = 1.0) -> int:
    """Thm 4.1's ``n = ⌈log(|Π|/ρ)/(δ ε)⌉`` (constant 1), scaled by ``n_factor``."""
    return max(1, math.ceil(n_factor * (log_class_size(config) + math.log(1 / config.rho)) / (config.delta * config.eps)))


def budgets_N(config: Config, coverage: float) -> list[int]:
    return sorted({max(1, round(coverage * m)) for m in config.N_multipliers})


def cells(config: Config) -> list[dict]:
    return [
        {"coverage": c, "n_factor": f, "N": N}
        for c in config.coverages
        for f in config.n_factors
        for N in budgets_N(config, c)
    ]


@functools.lru_cache(maxsize=64)
def setup(config: Config, coverage: float):
    """The problem and the (un-closed) decoy product class of one coverage."""
    ci = config.coverages.index(coverage)
    k_prob, k_decoy = jax.random.split(jax.random.fold_in(jax.random.key(config.seed), ci))
    problem = problems.with_coverage(k_prob, config.num_prompts, config.num_responses, coverage)
    return problem, decoy_class(k_decoy, problem, config.num_decoys)


def decoy_class(key, problem, num_decoys: int) -> classes.ProductClass:
    """Per prompt: the base conditional and ``num_decoys`` copies whose arg-max probability is
    swapped with a random other response, in a random order. (The true candidate must not sit
    at index 0: the class gives an unseen prompt candidate 0, which would otherwise be the right
    answer for free and make the number of prompts n irrelevant.)"""
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
    problem, model_class = setup(config, cell["coverage"])
    n = prescribed_n(config, cell["n_factor"])
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    err, q = _errors(keys, problem, model_class, n, jnp.asarray(int(cell["N"])), config.delta)
    err, q = np.asarray(err), np.asarray(q)
    return [{"n": n, "seed": s, "error": float(err[s]), "queries": int(q[s])} for s in range(config.seeds)]
