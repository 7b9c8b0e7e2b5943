"""Experiments on the App H lower-bound family (Thm 3.1 / 3.1′ / D.2).

Each seed draws a fresh hidden member ``π^I`` of the family (``I`` uniform on ``[M]^d``), so the
success probability is averaged over the family as in the proof.

* SFT-Sharpening: ``N = ⌈N_factor · M⌉`` draws per prompt (``N ≍ C_cov/ε``: every member has
  ``π(y*|x_i) = 2/M`` on hard prompts), the number of prompts ``n`` searched on a grid; the
  learner is MLE over the family's product class closed under BoN_N (``classes.bon_closure``),
  so Assumption 4.1 holds and ``log|Π| = d log M`` is the class size of Thm 4.1;
* adaptive SFT-Sharpening: the App D rule with ``μ = ln 4`` (Thm D.1's ``ln(2/δ)`` at δ = 1/2),
  ``n`` searched; sharpsim has no closure of the adaptive law, so the learner is MLE over all
  conditionals (``TabularClass``: empirical frequencies; an unseen prompt gets the uniform law).

The target is the paper's: ``π̂(y*_γ(x)|x) > 1/2`` with ``γ = 1/2``, i.e. ``err_δ`` with
``δ = 1/2 - 1e-9`` (a mass of exactly 1/2 fails), at most ε with probability at least ``1 - ρ``.

Two figures use this module: ``lower_bound_eps`` (m* against ε at fixed d, C) and
``lower_bound_size`` (m* against log|Π| = d log M at fixed ε, C; SFT only).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import classes
from sharpsim.algorithms import adaptive_sft_sharpening, sft_sharpening
from sharpsim.hard_family import lower_bound_family
from sharpsim.policies import TabularPolicy
from sharpsim.problems import Problem

GAMMA = 0.5
#: The theorem asks for π̂(y*_γ|x) > 1/2; ``err_δ`` fails a prompt when π̂ < 1 - δ, so
#: δ = 1/2 - 1e-9 makes a mass of exactly 1/2 (frequent for empirical frequencies) a failure.
DELTA = 0.5 - 1e-9


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition (one of ``epsilons`` / ``ds`` has several values)."""

    epsilons: tuple[float, ...] = (0.04, 0.02, 0.01, 0.005)
    ds: tuple[int, ...] = (16,)
    algorithms: tuple[str, ...] = ("sft", "adaptive")
    C: float = 2.0
    N_factor: float = 1.0
    n_grid: tuple[float, ...] = tuple(2 ** (k / 2) for k in range(0, 10))  # n = grid · d/Δ
    rho: float = 0.1
    seeds: int = 100
    seed: int = 0
    #: Bumped when the experiment's meaning changes; part of the config hash, so rows computed
    #: by an older version are never reused for this one.
    version: int = 3


CONFIGS_EPS = {
    "testing": Config(epsilons=(0.04, 0.02), ds=(4,), seeds=16, n_grid=tuple(2 ** (k / 2) for k in range(0, 13, 2))),
    "quick": Config(),
    "full": Config(epsilons=(0.05, 0.04, 0.03, 0.02, 0.014, 0.01, 0.007, 0.005, 0.0035), seeds=400,
                   n_grid=tuple(2 ** (k / 4) for k in range(0, 29))),
}
CONFIGS_SIZE = {
    "testing": Config(epsilons=(0.04,), ds=(2, 8), algorithms=("sft",), seeds=16,
                      n_grid=tuple(2 ** (k / 2) for k in range(0, 13, 2))),
    "quick": Config(epsilons=(0.02,), ds=(4, 8, 16, 32, 64), algorithms=("sft",)),
    "full": Config(epsilons=(0.02,), ds=(2, 4, 8, 16, 32, 64, 128, 256), algorithms=("sft",), seeds=400,
                   n_grid=tuple(2 ** (k / 4) for k in range(0, 29))),
}


@functools.lru_cache(maxsize=64)
def instance(config: Config, eps: float, d: int):
    """The family's product class and parameters (the hidden member is drawn per seed)."""
    return lower_bound_family(jax.random.key(config.seed), d=d, C=config.C, eps=eps)


def n_budgets(config: Config, eps: float, d: int) -> list[int]:
    inst = instance(config, eps, d)
    n0 = d / inst.mass  # one visit per hard prompt on average
    return sorted({max(1, math.ceil(g * n0)) for g in config.n_grid})


def cells(config: Config) -> list[dict]:
    return [
        {"eps": e, "d": d, "algorithm": a, "n": n}
        for e in config.epsilons
        for d in config.ds
        for a in config.algorithms
        for n in n_budgets(config, e, d)
    ]


@functools.partial(jax.jit, static_argnames=("max_n", "algorithm"))
def _errors(keys, cand_log_probs, valid, mu, n, max_n, N, stop_level, algorithm):
    X, M, Y = cand_log_probs.shape
    if algorithm == "sft":  # the family's class closed under BoN_N: Assumption 4.1 holds
        model_class = classes.bon_closure(classes.ProductClass(log_probs=cand_log_probs, valid=valid), N)
    else:  # no closure of the adaptive law is implemented: all conditionals (improper)
        model_class = classes.TabularClass(X, Y)

    def one(key):
        k_member, k_run = jax.random.split(key)
        hidden = jax.random.randint(k_member, (X - 1,), 0, M)  # candidate j_i - 1
        member = jnp.concatenate([jnp.zeros((1,), hidden.dtype), hidden])
        problem = Problem(TabularPolicy(cand_log_probs[jnp.arange(X), member]), mu)
        if algorithm == "sft":
            r = sft_sharpening(k_run, problem, model_class, n=n, N=N, delta=DELTA, gamma=GAMMA, max_n=max_n)
        else:
            r = adaptive_sft_sharpening(k_run, problem, model_class, n=n, stop_level=stop_level,
                                        delta=DELTA, gamma=GAMMA, max_n=max_n)
        return r.error, r.num_queries

    return jax.vmap(one)(keys)


def run_cell(config: Config, cell: dict) -> list[dict]:
    inst = instance(config, cell["eps"], cell["d"])
    N = math.ceil(config.N_factor * inst.M)
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    max_n = max(n_budgets(config, cell["eps"], cell["d"]))  # one compilation for all budgets
    err, q = _errors(keys, inst.model_class.log_probs, inst.model_class.valid, inst.problem.prompt_probs,
                     jnp.asarray(int(cell["n"])), max_n, jnp.asarray(N), math.log(2 / 0.5), cell["algorithm"])
    err, q = np.asarray(err), np.asarray(q)
    extra = {"M": inst.M, "log_size": inst.log_size, "mass": inst.mass, "N": N if cell["algorithm"] == "sft" else -1}
    return [{**extra, "seed": s, "error": float(err[s]), "queries": int(q[s])} for s in range(config.seeds)]
