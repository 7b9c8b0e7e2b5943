"""The sweep shared by the two figures on the App H lower-bound family (Thm 3.1 / 3.1′ / D.2).

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

The figure modules ``lower_bound_eps`` (m* against ε at fixed d, C) and ``lower_bound_size``
(m* against log|Π| = d log M at fixed ε, C; SFT only) take ``Config``, ``cells``, ``run_cell``,
``instance`` and ``budgets`` from here.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import bounds, classes, problems
from sharpsim.algorithms import adaptive_sft_sharpening, sft_sharpening
from sharpsim.experiments import engine
from sharpsim.policies import TabularPolicy

#: The cell key of the budget: n, the number of prompts.
BUDGET = "n"

#: The approximation level γ of the target set ``y*_γ``.
GAMMA = 0.5
#: The theorem asks for π̂(y*_γ|x) > 1/2; ``err_δ`` fails a prompt when π̂ < 1 - δ, so
#: δ = 1/2 - 1e-9 makes a mass of exactly 1/2 (frequent for empirical frequencies) a failure.
DELTA = 0.5 - 1e-9


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition (one of ``epsilons`` / ``ds`` has several values).

    Attributes:
      epsilons: target errors ε (one family each).
      ds: numbers of hard prompts d (one family each).
      algorithms: ``"sft"`` and/or ``"adaptive"``.
      C: the family's coverage level.
      N_factor: SFT draws per prompt ``N = ⌈N_factor · M⌉``.
      n_grid: the n grid is ``⌈g · d/Δ⌉`` for ``g`` in it (``d/Δ``: one visit per hard prompt on average).
      rho: the target's failure probability.
      seeds: seeds per budget (the same keys at every budget).
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    epsilons: tuple[float, ...] = (0.04, 0.02, 0.01, 0.005)
    ds: tuple[int, ...] = (16,)
    algorithms: tuple[str, ...] = ("sft", "adaptive")
    C: float = 2.0
    N_factor: float = 1.0
    n_grid: tuple[float, ...] = tuple(2 ** (k / 2) for k in range(0, 10))  # n = grid · d/Δ
    rho: float = 0.1
    seeds: int = 100
    seed: int = 0
    version: int = 3


#: The sweep of each mode for ``lower_bound_eps``.
CONFIGS_EPS = {
    "testing": Config(epsilons=(0.04, 0.02), ds=(4,), seeds=16, n_grid=tuple(2 ** (k / 2) for k in range(0, 13, 2))),
    "quick": Config(),
    "full": Config(epsilons=(0.05, 0.04, 0.03, 0.02, 0.014, 0.01, 0.007, 0.005, 0.0035), seeds=400,
                   n_grid=tuple(2 ** (k / 4) for k in range(0, 29))),
}
#: The sweep of each mode for ``lower_bound_size``.
CONFIGS_SIZE = {
    "testing": Config(epsilons=(0.04,), ds=(2, 8), algorithms=("sft",), seeds=16,
                      n_grid=tuple(2 ** (k / 2) for k in range(0, 13, 2))),
    "quick": Config(epsilons=(0.02,), ds=(4, 8, 16, 32, 64), algorithms=("sft",)),
    "full": Config(epsilons=(0.02,), ds=(2, 4, 8, 16, 32, 64, 128, 256), algorithms=("sft",), seeds=400,
                   n_grid=tuple(2 ** (k / 4) for k in range(0, 29))),
}


def instance(config: Config, cell: dict):
    """The family of the cell's ``eps`` and ``d``: its product class and parameters.

    The hidden member is drawn per seed inside :func:`run_cell`; the instance's ``problem`` is the
    family's reference member.

    Args:
      config: the sweep.
      cell: a dict with the keys ``eps`` and ``d``.

    Returns:
      The ``problems.LowerBoundInstance`` (``problem``, ``model_class``, ``M``, ``mass``,
      ``log_size``, ...).
    """
    return _instance(config, cell["eps"], cell["d"])


@functools.lru_cache(maxsize=64)
def _instance(config: Config, eps: float, d: int):
    return problems.lower_bound_family(jax.random.key(config.seed), d=d, C=config.C, eps=eps)


def budgets(config: Config, cell: dict) -> list[int]:
    """The n grid of the cell's family: ``⌈g · d/Δ⌉`` for ``g`` in ``config.n_grid``.

    Args:
      config: the sweep.
      cell: a dict with the keys ``eps`` and ``d``.

    Returns:
      The sorted distinct n values (each at least 1).
    """
    inst = instance(config, cell)
    n0 = cell["d"] / inst.mass  # one visit per hard prompt on average
    return sorted({max(1, math.ceil(g * n0)) for g in config.n_grid})


def cells(config: Config) -> list[dict]:
    """One cell per (eps, d, algorithm, n) with n on the family's grid (:func:`budgets`)."""
    return [
        {"eps": e, "d": d, "algorithm": a, "n": n}
        for e in config.epsilons
        for d in config.ds
        for a in config.algorithms
        for n in budgets(config, {"eps": e, "d": d})
    ]


def member_coverage(inst) -> float:
    """``C_cov,1/2`` of every member of the family: ``(1 − mass) + mass · M/2``.

    Args:
      inst: a ``problems.LowerBoundInstance``.

    Returns:
      The coverage at γ = 1/2 (hard prompts carry ``mass`` and have ``π(y*_{1/2}) = 2/M``; the
      easy prompt has coverage 1).
    """
    return (1 - inst.mass) + inst.mass * inst.M / 2


def success_tables(rows: list[dict], *, x_key: str, eps: float, where: dict) -> dict:
    """:func:`sharpsim.experiments.engine.tables_from_rows` over the budget n, success being ``error <= eps``."""
    return engine.tables_from_rows(rows, x_key=x_key, budget_key=BUDGET, eps=eps, where=where)


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
        problem = problems.Problem(TabularPolicy(cand_log_probs[jnp.arange(X), member]), mu)
        if algorithm == "sft":
            r = sft_sharpening(k_run, problem, model_class, n=n, N=N, delta=DELTA, gamma=GAMMA, max_n=max_n)
        else:
            r = adaptive_sft_sharpening(k_run, problem, model_class, n=n, stop_level=stop_level,
                                        delta=DELTA, gamma=GAMMA, max_n=max_n)
        return r.error, r.num_queries

    return jax.vmap(one)(keys)


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs the cell's algorithm with n prompts over ``config.seeds`` seeds, each on a fresh member.

    Returns:
      One row per seed: the family's ``M``, ``log_size`` and ``mass``, SFT's ``N`` (``-1`` for the
      adaptive rule), ``seed``, the exact ``error`` and the ``queries`` charged.
    """
    inst = instance(config, cell)
    N = math.ceil(config.N_factor * inst.M)
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    max_n = max(budgets(config, cell))  # one compilation for all budgets
    stop_level = bounds.adaptive_stop_level(0.5)  # Thm D.1's μ = ln(2/δ) at δ = 1/2
    err, q = _errors(keys, inst.model_class.log_probs, inst.model_class.valid, inst.problem.prompt_probs,
                     jnp.asarray(int(cell["n"])), max_n, jnp.asarray(N), stop_level, cell["algorithm"])
    err, q = np.asarray(err), np.asarray(q)
    extra = {"M": inst.M, "log_size": inst.log_size, "mass": inst.mass, "N": N if cell["algorithm"] == "sft" else -1}
    return [{**extra, "seed": s, "error": float(err[s]), "queries": int(q[s])} for s in range(config.seeds)]
