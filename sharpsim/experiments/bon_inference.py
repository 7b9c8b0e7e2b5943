"""Experiment: inference-time best-of-N against Prop C.1.

For problems of several coverages (built exactly by ``problems.with_coverage``), and for each
N, it measures ``P_{x~μ}[BoN_N pick ∈ y*_γ(x)]`` from draws through the oracle — literal N
draws and the exact O(log |Y|) path, each with a Clopper–Pearson interval — and records the
exact probability (from ``bon_law``), the Prop C.1 lower bound ``E_μ[1 - e^{-N π(y*_γ|x)}]``
and the Prop C.1 threshold ``max_x log(1/ρ)/π(y*_γ(x)|x)``.

Common random numbers: the problem of a (coverage, heterogeneity) pair is the same for every
N and both methods, and the draw keys depend only on the cell.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from sharpsim import bounds, problems
from sharpsim.algorithms import best_of_n
from sharpsim.laws import bon_success_probability

NAME = "bon_inference"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      coverages: target ``C_cov`` values.
      heterogeneities: ``with_coverage`` heterogeneity values (one panel each).
      Ns: numbers of draws.
      num_prompts, num_responses: problem size.
      gamma: approximation level of the target set ``y*_γ``.
      rho: failure probability for the Prop C.1 threshold.
      trials: BoN runs (prompts drawn from μ) per cell and method.
      confidence: level of the Clopper–Pearson intervals.
      seed: base seed.
    """

    coverages: tuple[float, ...] = (2.0, 8.0, 32.0)
    heterogeneities: tuple[float, ...] = (0.0, 1.0)
    Ns: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    num_prompts: int = 100
    num_responses: int = 64
    gamma: float = 0.0
    rho: float = 0.1
    trials: int = 2000
    confidence: float = 0.95
    seed: int = 0
    #: Bumped when the experiment's meaning changes; part of the config hash, so rows computed
    #: by an older version are never reused for this one.
    version: int = 1


CONFIGS = {
    "testing": Config(coverages=(4.0,), heterogeneities=(0.0,), Ns=(1, 4), num_prompts=8,
                      num_responses=16, trials=200),
    "quick": Config(),
    "full": Config(
        coverages=(2.0, 8.0, 32.0, 128.0),
        Ns=tuple(sorted({round(2 ** (k / 2)) for k in range(0, 21)})),
        num_prompts=500,
        num_responses=256,
        trials=10000,
    ),
}


def cells(config: Config) -> list[dict]:
    return [
        {"heterogeneity": h, "coverage": c, "N": N, "method": m}
        for h in config.heterogeneities
        for c in config.coverages
        for N in config.Ns
        for m in ("literal", "exact")
    ]


@functools.lru_cache(maxsize=32)
def _problem(config: Config, coverage: float, heterogeneity: float):
    ci = config.coverages.index(coverage)
    hi = config.heterogeneities.index(heterogeneity)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed), ci), hi)
    return problems.with_coverage(
        key, config.num_prompts, config.num_responses, coverage, heterogeneity=heterogeneity
    )


_literal = jax.jit(
    lambda key, problem, n, N, gamma: jnp.sum(best_of_n(key, problem, n=n, N=N, gamma=gamma, method="literal").hit),
    static_argnames=("n", "N"),
)
_exact = jax.jit(
    lambda key, problem, n, N, gamma: jnp.sum(best_of_n(key, problem, n=n, N=N, gamma=gamma, method="exact").hit),
    static_argnames=("n",),
)


def run_cell(config: Config, cell: dict) -> dict:
    """Measures one (heterogeneity, coverage, N, method) cell; returns its tidy row."""
    problem = _problem(config, cell["coverage"], cell["heterogeneity"])
    N = int(cell["N"])
    key = jax.random.key(config.seed + 1)
    for part in (
        config.coverages.index(cell["coverage"]),
        config.heterogeneities.index(cell["heterogeneity"]),
        N,
        0 if cell["method"] == "literal" else 1,
    ):
        key = jax.random.fold_in(key, part)
    if cell["method"] == "literal":
        hits = int(_literal(key, problem, config.trials, N, config.gamma))
    else:
        hits = int(_exact(key, problem, config.trials, jnp.asarray(N), config.gamma))
    ci = stats.binomtest(hits, config.trials).proportion_ci(config.confidence, method="exact")
    thresholds = bounds.bon_inference(problem, rho=config.rho, gamma=config.gamma)
    return {
        "trials": config.trials,
        "hits": hits,
        "p_hat": hits / config.trials,
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
        "exact": bon_success_probability(problem, N, gamma=config.gamma),
        "prop_c1_bound": bounds.bon_inference_guarantee(problem, N, gamma=config.gamma),
        "prop_c1_threshold": float(np.max(thresholds)),
        "num_queries": config.trials * N,
    }
