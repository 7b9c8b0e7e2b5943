"""Checkers of lecture 4 (RLHF-Sharpening: the KL-regularised objective, the margin, noisy rewards).

Exercises (ids ``4.k``):

* ``4.1`` π*_β from π_base (Eq 3's maximiser), compared with ``sharpsim.kl_regularized_optimum``;
* ``4.2`` J_β of a policy (Eq 3), compared with ``sharpsim.kl_objective``;
* ``4.3`` the largest β at which π*_β keeps at least ``1 − δ`` on y*(x), per prompt, checked by
  evaluating ``sharpsim.kl_regularized_optimum`` just below and just above the answer;
* ``4.4`` the probability that k noisy comparisons rank the runner-up above y* (the mechanism of
  Thm 4.2's margin dependence), compared with the Gaussian closed form.

Every check runs on a few deterministic problems (fixed keys), so a verdict is reproducible.
"""

from __future__ import annotations

import functools
import math

import numpy as np

import sharpsim as ss
from sharpsim import bounds, problems
from sharpsim.seminar._core import exercise

__all__: list[str] = []


# ----------------------------------------------------------------------------- drawn problems
def _planted(rng, num_prompts, num_responses, top, margin, prompt_probs=None):
    """A table with y* at ``top`` and a runner-up at exactly ``top/(1 + margin)`` on every prompt (the rest
    below the runner-up), at random positions; built in NumPy (no compilation)."""
    second = top / (1.0 + margin)
    rest = rng.dirichlet(np.full(num_responses - 2, 2.0), size=num_prompts) * (1.0 - top - second)
    rows = np.concatenate([np.full((num_prompts, 1), top), np.full((num_prompts, 1), second), rest], axis=1)
    table = np.empty_like(rows)
    for x in range(num_prompts):
        table[x, rng.permutation(num_responses)] = rows[x]
    return problems.from_probs(table, prompt_probs)


@functools.lru_cache(maxsize=1)
def _problems() -> tuple:
    """Four problems (4 prompts × 8 responses, unique arg-max, π(y*) < 0.7): three with an exact runner-up
    (margins 0.2, 0.8, 0.05; one with a non-uniform μ) and one Dirichlet table with a wide spread."""
    rng = np.random.default_rng(2025)
    out = [
        _planted(rng, 4, 8, 0.3, 0.2),
        _planted(rng, 4, 8, 0.25, 0.8, np.array([0.1, 0.2, 0.3, 0.4])),
        _planted(rng, 4, 8, 0.4, 0.05),
    ]
    table = rng.dirichlet(np.full(8, 0.5), size=4)
    table[:, 0] += 0.2  # a clear unique arg-max on every prompt
    table /= table.sum(axis=1, keepdims=True)
    out.append(problems.from_probs(table, np.array([0.4, 0.3, 0.2, 0.1])))
    return tuple(out)


def _as_probs(answer, shape, what: str) -> np.ndarray:
    arr = np.asarray(getattr(answer, "probs", answer), dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{what} must be a {shape[0]}×{shape[1]} array of probabilities; got shape {arr.shape}")
    return arr


# ---------------------------------------------------------------------------- 4.1: π*_β
def _tempered_wrong(problem, beta):  # π^{1/β}: the exponent without the "1 +"
    p = np.asarray(problem.probs) ** (1.0 / beta)
    return p / p.sum(axis=1, keepdims=True)


@exercise(
    "4.1",
    title="π*_β ∝ π_base^{1+1/β} from the base table (Eq 3)",
    wrong=[
        lambda problem, beta: np.asarray(problem.probs),
        _tempered_wrong,
        lambda problem, beta: np.asarray(problem.probs) ** (1.0 + 1.0 / beta),
    ],
    right_message="π*_β matches sharpsim.kl_regularized_optimum on 4 problems at β = 1, 0.1, 0.01 and 0.001",
)
def _check_kl_optimum(answer):
    """``answer(problem, beta) -> [num_prompts, num_responses]`` probabilities of π*_β."""
    for i, problem in enumerate(_problems()):
        for beta in (1.0, 0.1, 0.01, 0.001):
            want = np.asarray(ss.kl_regularized_optimum(problem, beta).probs)
            got = _as_probs(answer(problem, beta), want.shape, "π*_β")
            if not np.all(np.isfinite(got)):
                return (f"problem {i}, β = {beta}: your table has NaN or inf entries; hint: at small β, "
                        "π^{1+1/β} underflows — work with logarithms and subtract each row's maximum first")
            if not np.allclose(got.sum(axis=1), 1.0, atol=1e-9):
                return f"problem {i}, β = {beta}: your rows sum to {np.round(got.sum(axis=1), 4)}; π*_β(·|x) is a distribution"
            if not np.allclose(got, want, rtol=1e-7, atol=1e-12):
                worst = int(np.argmax(np.abs(got - want).max(axis=1)))
                return (f"problem {i}, β = {beta}, prompt {worst}: your π*_β differs from the maximiser of J_β "
                        f"(largest gap {np.abs(got - want).max():.3g}); hint: the reward is log π_base and the "
                        "maximiser of E_π[r] − β KL(π‖π_base) is π_base·exp(r/β), normalised")
    return None


# ------------------------------------------------------------------- 4.3: the largest β
def _y_star_mass(problem, beta) -> np.ndarray:
    opt = ss.kl_regularized_optimum(problem, float(beta))
    return np.asarray(opt.mass(problem.base.argmax_set()))


def _runner_up_only_beta(problem, delta):  # wrong: ignores every response but the runner-up
    p = np.sort(np.asarray(problem.probs), axis=1)
    ratio = p[:, -2] / p[:, -1]
    s = np.log(delta / (1 - delta)) / np.log(ratio)
    return 1.0 / (s - 1.0)


def _lemma_beta(problem, delta):  # wrong: the margin lemma's β is safe but not the largest
    beta = bounds.margin_lemma_beta(ss.margin(problem), problem.num_responses, delta=2 * delta)
    return np.full(problem.num_prompts, beta)


@exercise(
    "4.3",
    title="The largest β at which π*_β(y*(x)|x) ≥ 1 − δ, per prompt",
    wrong=[_lemma_beta, _runner_up_only_beta, lambda problem, delta: np.full(problem.num_prompts, delta)],
    right_message=("on 4 problems and δ ∈ {0.1, 0.3}, π*_β keeps ≥ 1 − δ on y* at 0.999 999 × your β and "
                   "less at 1.000 001 × your β, on every prompt"),
)
def _check_largest_beta(answer):
    """``answer(problem, delta) -> [num_prompts]``: the threshold β_x of each prompt."""
    for i, problem in enumerate(_problems()):
        for delta in (0.1, 0.3):
            got = np.asarray(answer(problem, delta), dtype=np.float64).reshape(-1)
            if got.shape != (problem.num_prompts,):
                return f"problem {i}: give one β per prompt ({problem.num_prompts} numbers); got shape {got.shape}"
            if not np.all(np.isfinite(got) & (got > 0)):
                return f"problem {i}, δ = {delta}: every β_x must be a finite positive number; got {got}"
            for x, b in enumerate(got):
                below = _y_star_mass(problem, b * (1 - 1e-6))[x]
                above = _y_star_mass(problem, b * (1 + 1e-6))[x]
                if below < 1 - delta:
                    return (f"problem {i}, δ = {delta}, prompt {x}: at your β = {b:.6g}, π*_β(y*) = {below:.6f} "
                            f"< 1 − δ: your β is too large; hint: every response outside y* takes some mass, "
                            "not only the runner-up")
                if above >= 1 - delta:
                    return (f"problem {i}, δ = {delta}, prompt {x}: π*_β(y*) is still {above:.6f} ≥ 1 − δ just "
                            f"above your β = {b:.6g}: a larger β still works; hint: π*_β(y*|x) decreases "
                            "continuously in β — solve π*_β(y*|x) = 1 − δ (bisection, in log space)")
    return None


# --------------------------------------------------------------------------- 4.2: J_β(π)
def _policies(problem) -> list[np.ndarray]:
    rng = np.random.default_rng(int(problem.num_prompts * 1000 + problem.num_responses))
    full = rng.dirichlet(np.ones(problem.num_responses), size=problem.num_prompts)
    sparse = full.copy()
    sparse[:, -1] = 0.0  # a response the policy never picks: 0·log 0 = 0
    sparse /= sparse.sum(axis=1, keepdims=True)
    return [full, sparse, np.asarray(ss.kl_regularized_optimum(problem, 0.2).probs), np.asarray(problem.probs)]


def _j_wrong_uniform_mu(problem, policy, beta):  # averages prompts uniformly instead of by μ
    p, b = np.asarray(policy), np.asarray(problem.probs)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.sum(np.where(p > 0, p * (np.log(b) - beta * np.log(p / b)), 0.0), axis=1)
    return float(per.mean())


def _j_wrong_reverse_kl(problem, policy, beta):  # KL(π_base‖π) instead of KL(π‖π_base)
    p, b, mu = np.asarray(policy), np.asarray(problem.probs), np.asarray(problem.prompt_probs)
    with np.errstate(divide="ignore", invalid="ignore"):
        reward = np.sum(np.where(p > 0, p * np.log(b), 0.0), axis=1)
        kl = np.sum(b * np.log(b / p), axis=1)
    return float(mu @ (reward - beta * kl))


@exercise(
    "4.2",
    title="J_β(π) = E_μ[E_π log π_base − β KL(π‖π_base)] of a policy table (Eq 3)",
    wrong=[
        _j_wrong_uniform_mu,
        _j_wrong_reverse_kl,
        lambda problem, policy, beta: float(np.sum(np.asarray(problem.prompt_probs)
                                                 * np.sum(np.asarray(policy) * np.log(np.asarray(problem.probs)), 1))),
    ],
    right_message="J_β matches sharpsim.kl_objective for 4 policies (one with a zero entry) on 4 problems, β = 0.05 and 0.5",
)
def _check_objective(answer):
    """``answer(problem, policy_probs, beta) -> float``: compared with ``ss.kl_objective``."""
    for i, problem in enumerate(_problems()):
        for k, policy in enumerate(_policies(problem)):
            for beta in (0.05, 0.5):
                want = float(ss.kl_objective(problem, ss.TabularPolicy.from_probs(policy), beta))
                got = float(answer(problem, policy, beta))
                if not np.isclose(got, want, rtol=1e-8, atol=1e-12):
                    extra = " (this policy has a zero entry: 0·log 0 = 0)" if k == 1 else ""
                    return (f"problem {i}, policy {k}{extra}, β = {beta}: you gave {got:.6g}, J_β is {want:.6g}; "
                            "hint: weigh the prompts by μ, and KL(π‖π_base) averages log(π/π_base) under π")
    return None


# ------------------------------------------------------------ 4.4: noisy comparisons flip
def _flip(margin, sigma, k):
    z = math.sqrt(k) * math.log1p(margin) / (sigma * math.sqrt(2.0))
    return 0.5 * math.erfc(z / math.sqrt(2.0))


_FLIP_GRID = [(0.1, 0.5, 1), (0.1, 0.5, 100), (0.4, 0.25, 3), (0.8, 1.0, 10), (1.6, 0.5, 2), (0.05, 2.0, 1000)]


@exercise(
    "4.4",
    title="P[k noisy comparisons rank the runner-up above y*] (Thm 4.2's margin, by number)",
    wrong=[
        lambda margin, sigma, k: 0.5 * math.erfc(math.sqrt(k) * margin / (sigma * math.sqrt(2.0)) / math.sqrt(2.0)),
        lambda margin, sigma, k: 0.5 * math.erfc(math.sqrt(k) * math.log1p(margin) / sigma / math.sqrt(2.0)),
        lambda margin, sigma, k: 0.5 * math.erfc(math.log1p(margin) / (sigma * math.sqrt(2.0)) / math.sqrt(2.0)),
    ],
    right_message="the flip probability matches Φ(−√k log(1 + γ)/(σ√2)) on 6 (γ, σ, k) triples",
)
def _check_flip(answer):
    """``answer(margin, sigma, k) -> float``: compared with the Gaussian closed form."""
    for margin, sigma, k in _FLIP_GRID:
        got, want = float(answer(margin, sigma, k)), _flip(margin, sigma, k)
        if not np.isclose(got, want, rtol=1e-6, atol=1e-12):
            return (f"at γ = {margin}, σ = {sigma}, k = {k} you gave {got:.6g}; hint: the reward gap of y* over the "
                    "runner-up is log π_base(y*) − log π_base(y') = log(1 + γ), and each revealed reward carries its "
                    "own noise, so a difference of two has variance 2σ²; averaging k differences divides it by k")
    return None
