"""Experiment: exploration inside the linear-softmax family — offline RLHF-Sharpening (Eq 8)
against XPO on ``problems.hidden_direction`` as ``|Y|`` (hence ``C_cov``) grows.

Problem: ``hidden_direction(d, Y, bias=b)``: ``y*`` has feature ``e_d``, the ``Y − 1`` common
responses live in ``e_d^⊥``; ``π_base = π_{b e_d}``, margin ``e^b − 1``, ``C_cov ≈ Y e^{−b}``.
Class: ``LinearSoftmaxClass(features, R)``, ``R = 1.01 (1 + 1/β) b`` (so ``π*_β`` is in it).
Target: ``err_δ = 0`` with probability ``>= 1 − ρ``.

* ``rlhf``: offline Eq 8 on ``n`` base pairs (exact ball regression; ``m = 2n``).
* ``xpo``: Alg 1 started at ``π_base``, ``T`` rounds of one pair (``m = 2T``), α as set.
* ``online``: the same loop with ``α = 0`` — online RLHF without the optimism term (control).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp

from sharpsim import bounds, classes, problems
from sharpsim.algorithms import rlhf_sharpening, xpo
from sharpsim.coefficients import coverage, r_max


@dataclasses.dataclass(frozen=True)
class Config:
    sizes: tuple[int, ...] = (64, 256, 1024, 4096)
    d: int = 4
    bias: float = 1.0
    beta: float = 0.1
    alpha: float = 0.01
    delta: float = 0.1
    rho: float = 0.2
    algorithms: tuple[str, ...] = ("rlhf", "xpo", "online")
    rlhf_budgets: tuple[int, ...] = (4, 16, 64, 256, 1024, 4096)
    xpo_budgets: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    inner_steps: int = 60
    seeds: int = 32
    seed: int = 0
    #: Bumped when the experiment's meaning changes (part of the config hash).
    version: int = 1


CONFIGS = {
    "testing": Config(sizes=(64,), rlhf_budgets=(4, 64), xpo_budgets=(8,), seeds=4, inner_steps=30),
    "quick": Config(),
    "full": Config(sizes=(64, 256, 1024, 4096, 16384), seeds=200, beta=0.08,
                   rlhf_budgets=(4, 16, 64, 256, 1024, 4096, 16384), xpo_budgets=(1, 2, 4, 8, 16, 32, 64)),
}


@functools.lru_cache(maxsize=16)
def setup(config: Config, size: int):
    problem, features = problems.hidden_direction(config.d, size, bias=config.bias)
    radius = 1.01 * (1 + 1 / config.beta) * config.bias
    return problem, classes.LinearSoftmaxClass(features, radius)


def theory_alpha(config: Config, size: int, T: int, *, eps_disc: float = 1e-2) -> float:
    """Alg 1's ``α`` for this instance (``bounds.xpo_alpha``) with ``V_max = 2β(R + b)``, the bound on
    ``β|log π_θ/π_base|`` over the ball, and Lemmas J.4/J.5 for the covering number and SEC."""
    problem, cls = setup(config, size)
    return bounds.xpo_alpha(config.beta, r_max=float(r_max(problem)), v_max=2 * config.beta * (cls.radius + config.bias),
                            log_covering=cls.log_covering_number(eps_disc), sec=cls.sec_bound(T), T=T, rho=config.rho)


def budgets(config: Config, algorithm: str) -> list[int]:
    return list(config.rlhf_budgets if algorithm == "rlhf" else config.xpo_budgets)


def cells(config: Config) -> list[dict]:
    return [{"size": s, "algorithm": a, "budget": b} for s in config.sizes for a in config.algorithms
            for b in budgets(config, a)]


def run_cell(config: Config, cell: dict) -> list[dict]:
    problem, cls = setup(config, cell["size"])
    b = cell["budget"]
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    alg = cell["algorithm"]
    if alg == "rlhf":
        run = jax.jit(jax.vmap(lambda k: _pack(rlhf_sharpening(k, problem, cls, n=b, beta=config.beta,
                                                                delta=config.delta))))
    elif alg in ("xpo", "online"):
        alpha = config.alpha if alg == "xpo" else 0.0
        theta_base = jnp.zeros(config.d).at[-1].set(config.bias)  # Alg 1 starts at π_base
        return _rows(config, problem, *_xpo_errors(keys, problem, theta_base, cls, b, config.beta, alpha,
                                                   config.inner_steps, config.delta))
    else:
        raise ValueError(f"unknown algorithm {alg!r}; expected 'rlhf', 'xpo' or 'online'")
    return _rows(config, problem, *run(keys))


def _rows(config, problem, err, q):
    c = float(coverage(problem))
    return [{"seed": s, "error": float(err[s]), "queries": int(q[s]), "coverage": c} for s in range(config.seeds)]


@functools.partial(jax.jit, static_argnames=("cls", "T", "beta", "alpha", "inner_steps", "delta"))
def _xpo_errors(keys, problem, theta_init, cls, T, beta, alpha, inner_steps, delta):
    # ``problem`` traced (not closed over): XLA would otherwise constant-fold the sampling tables.
    def one(k):
        return _pack(xpo(k, problem, cls, T=T, beta=beta, alpha=alpha, theta_init=theta_init,
                         inner_steps=inner_steps, delta=delta))

    return jax.vmap(one)(keys)


def _pack(result):
    return result.error, result.num_queries


def offline_success_probability(config: Config, size: int, n: int) -> float:
    """``P[y* among the 2n base draws] = 1 − (1 − π_base(y*))^{2n}``, an upper bound on the success
    probability of offline Eq 8 here: without ``y*`` in the data every feature difference is
    orthogonal to ``e_d``, the minimum-norm solution has ``θ_d = 0`` and ``π̂(y*) = 1/(1 + Σ_{y≠y*}
    e^{⟨φ(y), θ̂⟩}) < 1/2`` (the commons include ``±e_i``, whose weights sum to at least 2)."""
    p = 1.0 / float(coverage(setup(config, size)[0]))
    return 1.0 - math.exp(2 * n * math.log1p(-p))


def offline_queries_needed(config: Config, size: int) -> int:
    """The fewest queries ``m = 2n`` with :func:`offline_success_probability` ``>= 1 − ρ``:
    ``2 ⌈ln ρ / ln(1 − π_base(y*))⌉`` (about ``C_cov ln(1/ρ)``), the reference line of the figure."""
    p = 1.0 / float(coverage(setup(config, size)[0]))
    return 2 * math.ceil(math.log(config.rho) / math.log1p(-p))
