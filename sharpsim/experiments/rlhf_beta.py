"""Experiment: RLHF-Sharpening's error against β at fixed data (the trade-off behind β ≲ γ δ ε).

Problem: ``with_coverage`` with a chosen margin. For each β and number of pairs n, RLHF-Sharpening
(offline Eq 8, exact minimum-norm regression over all softmax tables) runs over seeds and the exact
sharpening error ``err_δ`` of each output is recorded; the exact error of the population optimum
``π*_β`` is recorded alongside.

Two forces: a large β keeps ``π*_β`` close to ``π_base`` (not sharpened: bias); a small β scales the
fitted log-ratios by ``1 + 1/β``, so whatever the data did not pin down — responses never compared,
which the minimum-norm solution leaves at logit 0 — becomes comparatively heavy (variance from
missing coverage). The margin lemma's ``β = γ/(2 log(2|Y|/δ))`` and Thm 4.2's ``β = γ δ ε`` are
marked.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import numpy as np

from sharpsim import classes, problems
from sharpsim.algorithms import rlhf_sharpening
from sharpsim.laws import kl_regularized_optimum, sharpening_error


@dataclasses.dataclass(frozen=True)
class Config:
    betas: tuple[float, ...] = tuple(float(10 ** (k / 4)) for k in range(-12, 5))
    ns: tuple[int, ...] = (25, 100, 400)
    num_prompts: int = 10
    num_responses: int = 20
    coverage: float = 4.0
    margin: float = 0.5
    delta: float = 0.1
    eps: float = 0.1
    seeds: int = 32
    seed: int = 0
    #: Bumped when the experiment's meaning changes (part of the config hash).
    version: int = 1


CONFIGS = {
    "testing": Config(betas=(0.01, 1.0), ns=(25,), seeds=4),
    "quick": Config(),
    "full": Config(betas=tuple(float(10 ** (k / 8)) for k in range(-24, 9)), ns=(25, 50, 100, 200, 400, 800),
                   seeds=256),
}


@functools.lru_cache(maxsize=4)
def problem_of(config: Config):
    return problems.with_coverage(jax.random.key(config.seed), config.num_prompts, config.num_responses,
                                  config.coverage, margin=config.margin)


def cells(config: Config) -> list[dict]:
    return [{"n": n, "beta": b} for n in config.ns for b in config.betas]


@functools.partial(jax.jit, static_argnames=("n", "delta"))
def _errors(keys, problem, n, beta, delta):  # β traced: one compilation per n
    cls = classes.TabularClass(problem.num_prompts, problem.num_responses)
    return jax.vmap(lambda k: rlhf_sharpening(k, problem, cls, n=n, beta=beta, delta=delta).error)(keys)


def run_cell(config: Config, cell: dict) -> list[dict]:
    problem = problem_of(config)
    n, beta = int(cell["n"]), float(cell["beta"])
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across β
    errors = np.asarray(_errors(keys, problem, n, beta, config.delta))
    optimum = sharpening_error(problem, kl_regularized_optimum(problem, beta), delta=config.delta)
    return [{"seed": s, "error": float(errors[s]), "optimum_error": optimum} for s in range(config.seeds)]
