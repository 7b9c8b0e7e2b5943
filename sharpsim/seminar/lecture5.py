"""Checkers of lecture 5 (exploration: XPO, Example J.1, the hidden direction).

Exercises (ids ``5.k``):

* ``5.1`` ``C_cov`` of a linear-softmax base ``π_θ ∝ exp(⟨φ, θ⟩)`` (Def J.3) from its features,
  compared with ``sharpsim.coverage`` on Example J.1, the hidden direction and random instances;
* ``5.2`` the probability that ``n`` base pairs (2n draws) contain y* on a one-prompt problem,
  ``1 − (1 − π_base(y*))^{2n}``, with ``π_base(y*) = 1/C_cov``;
* ``5.3`` the fewest pairs after which that probability reaches ``1 − ρ`` (what offline Eq 8 pays
  on the hidden direction), checked by the property "enough at n, not enough at n − 1".

Every check runs on deterministic problems (fixed keys), so a verdict is reproducible.
"""

from __future__ import annotations

import functools
import math

import jax
import numpy as np

import sharpsim as ss
from sharpsim import problems
from sharpsim.seminar._core import exercise

__all__: list[str] = []


# ----------------------------------------------------------------------------- drawn problems
@functools.lru_cache(maxsize=1)
def _one_prompt_problems() -> tuple:
    """One-prompt problems with a unique arg-max and C_cov from 2 to about 380 (the hidden direction with
    |Y| = 1024 at four biases, and a three-response table)."""
    out = [problems.hidden_direction(4, 1024, bias=bias)[0] for bias in (1.0, 2.4, 3.8, 6.0)]
    out.append(problems.from_probs(np.array([[0.5, 0.3, 0.2]])))
    return tuple(out)


def _p_star(problem) -> float:
    return float(np.asarray(problem.probs).max())  # one prompt: π_base(y*) = 1/C_cov


def _hit(p: float, n: int) -> float:
    return -math.expm1(2 * n * math.log1p(-p))


# ---------------------------------------------------------------- 5.2: y* among 2n draws
@exercise(
    "5.2",
    title="P[y* among the 2n base draws of n pairs] on a one-prompt problem",
    wrong=[
        lambda problem, n: 1 - (1 - 1 / float(ss.coverage(problem))) ** n,
        lambda problem, n: min(1.0, 2 * n / float(ss.coverage(problem))),
        lambda problem, n: 1 - math.exp(-2 * n / float(ss.coverage(problem))),
    ],
    right_message="the probability matches 1 − (1 − π_base(y*))^{2n} on 5 problems (C_cov 2 to 380) and 5 values of n",
)
def _check_hit(answer):
    """``answer(problem, n) -> float``: compared with ``1 − (1 − 1/C_cov)^{2n}``."""
    for i, problem in enumerate(_one_prompt_problems()):
        p = _p_star(problem)
        for n in (1, 3, 40, 500, 20000):
            got, want = float(answer(problem, n)), _hit(p, n)
            if not np.isclose(got, want, rtol=1e-9, atol=1e-15):
                return (f"problem {i} (C_cov = {1 / p:.4g}), n = {n} pairs: you gave {got:.10g}, the exact value is "
                        f"{want:.10g}; hint: each pair is two independent draws from π_base, and y* is missed only "
                        "if every draw misses it (give the exact value, not an approximation)")
    return None


# ---------------------------------------------------------- 5.3: pairs for probability 1 − ρ
@exercise(
    "5.3",
    title="The fewest pairs after which y* has been drawn with probability ≥ 1 − ρ",
    wrong=[
        lambda problem, rho: math.ceil(float(ss.coverage(problem)) * math.log(1 / rho) / 2),
        lambda problem, rho: math.ceil(math.log(rho) / math.log1p(-1 / float(ss.coverage(problem)))),
        lambda problem, rho: math.ceil(float(ss.coverage(problem)) / (2 * rho)),
    ],
    right_message="your n reaches 1 − ρ and n − 1 does not, on 5 problems and ρ ∈ {0.5, 0.2, 0.01}",
)
def _check_pairs(answer):
    """``answer(problem, rho) -> int``: the smallest n with ``1 − (1 − π(y*))^{2n} >= 1 − ρ``."""
    for i, problem in enumerate(_one_prompt_problems()):
        p = _p_star(problem)
        for rho in (0.5, 0.2, 0.01):
            got = answer(problem, rho)
            if not float(got).is_integer() or got < 1:
                return f"problem {i}, ρ = {rho}: give a whole number of pairs ≥ 1; got {got!r}"
            n = int(got)
            if _hit(p, n) < 1 - rho:
                return (f"problem {i} (C_cov = {1 / p:.4g}), ρ = {rho}: with {n} pairs y* is drawn with probability "
                        f"{_hit(p, n):.4f} < 1 − ρ: too few pairs")
            if n > 1 and _hit(p, n - 1) >= 1 - rho:
                return (f"problem {i} (C_cov = {1 / p:.4g}), ρ = {rho}: {n - 1} pairs already reach 1 − ρ, so {n} is "
                        "not the fewest; hint: solve (1 − π(y*))^{2n} ≤ ρ exactly, without the approximation "
                        "log(1 − p) ≈ −p")
    return None


# ------------------------------------------------------------- 5.1: C_cov of a linear softmax
def _random_linear_instance(seed: int):
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(3, 10, 4))
    feats /= np.linalg.norm(feats, axis=-1, keepdims=True) * rng.uniform(1.0, 2.0, size=(3, 10, 1))
    theta = rng.normal(size=4) * 2.0
    mu = np.array([0.5, 0.3, 0.2])
    return feats, theta, mu


@functools.lru_cache(maxsize=1)
def _linear_instances() -> tuple:
    """``(features [X, Y, d], theta [d], mu [X], problem)``: Example J.1 at d = 3, 5 (B = 1, 3), the hidden
    direction (b = 2) and two random three-prompt instances with a non-uniform μ."""
    out = []
    for d, radius in ((3, 1.0), (5, 1.0), (5, 3.0)):
        problem, feats = problems.sphere_separation(jax.random.key(0), d, radius=radius)
        feats = np.asarray(feats)
        out.append((feats, radius * feats[0, 0], np.ones(1), problem))
    problem, feats = problems.hidden_direction(3, 64, bias=2.0)
    out.append((np.asarray(feats), np.array([0.0, 0.0, 2.0]), np.ones(1), problem))
    for seed in (51, 52):
        feats, theta, mu = _random_linear_instance(seed)
        logits = feats @ theta
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        out.append((feats, theta, mu, problems.from_probs(probs / probs.sum(axis=1, keepdims=True), mu)))
    return tuple(out)


def _jensen_wrong(features, theta, prompt_probs):  # 1/E_μ[max π] instead of E_μ[1/max π]
    logits = np.asarray(features) @ np.asarray(theta)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return 1.0 / float(np.asarray(prompt_probs) @ probs.max(axis=1))


@exercise(
    "5.1",
    title="C_cov of a linear-softmax base π_θ ∝ exp(⟨φ(x, y), θ⟩) from its features (Def J.3, Eq 6)",
    wrong=[
        lambda features, theta, prompt_probs: float(np.asarray(features).shape[1]),
        lambda features, theta, prompt_probs: float(np.asarray(prompt_probs)
                                                    @ np.exp(np.asarray(features) @ np.asarray(theta)).sum(axis=1)),
        _jensen_wrong,
    ],
    right_message="C_cov matches sharpsim.coverage on Example J.1 (d = 3, 5; B = 1, 3), the hidden direction and two random instances",
)
def _check_linear_coverage(answer):
    """``answer(features, theta, prompt_probs) -> float``: compared with ``ss.coverage``."""
    for i, (feats, theta, mu, problem) in enumerate(_linear_instances()):
        got, want = float(answer(feats, theta, mu)), float(ss.coverage(problem))
        if not np.isclose(got, want, rtol=1e-9):
            return (f"instance {i} ({feats.shape[0]} prompt(s), {feats.shape[1]} responses, d = {feats.shape[2]}): you "
                    f"gave {got:.6g}, C_cov is {want:.6g}; hint: C_cov = E_μ[1/π_θ(y*(x)|x)], and 1/max_y π_θ(y|x) "
                    "is a ratio of exponentials in which the normaliser cancels")
    return None
