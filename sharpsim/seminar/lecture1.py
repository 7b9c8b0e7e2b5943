"""Checkers of lecture 1 (sharpening and coverage; the best-of-N law; Prop C.1).

Exercises (each compares the student's answer with an exact sharpsim quantity on deterministic
drawn instances):

* ``1.1`` ``my_coverage(base_probs, prompt_probs) -> float``: the coverage coefficient C_cov (Eq 6),
  against :func:`sharpsim.coverage`;
* ``1.2`` ``my_margin(base_probs, prompt_probs) -> float``: the largest margin of Assumption 4.2,
  against :func:`sharpsim.margin`;
* ``1.3`` ``my_bon_law(probs, N) -> array``: the best-of-N law of one prompt from the CDF formula,
  against :func:`sharpsim.bon_law`;
* ``1.4`` ``min_bon_draws(problem, delta) -> int``: the smallest N with exact BoN success
  probability at least ``1 - δ``, against :func:`sharpsim.bon_success_probability`.
"""

from __future__ import annotations

import math

import jax
import numpy as np

import sharpsim as ss
from sharpsim import bounds, problems
from sharpsim.seminar._core import exercise

__all__ = ["bon_instances", "coverage_instances", "draws_instances", "margin_instances"]

#: The shape of the small instances of exercises 1.1 to 1.3 (the lecture's toy problem has it too,
#: so the exact functions compile once).
SMALL_SHAPE = (4, 6)
#: The shape of exercise 1.4's problems (the lecture's figures use it too).
BON_SHAPE = (20, 32)


def coverage_instances() -> list[tuple[np.ndarray, np.ndarray]]:
    """Exercise 1.1's instances: ``(base_probs [4, 6], prompt_probs [4])`` pairs.

    Deterministic (NumPy seed 11): Dirichlet rows under a uniform and a non-uniform μ, a table with
    tied arg-maxes (exactly equal top probabilities) and zeros, and a nearly deterministic one.

    Returns:
      The list of pairs.
    """
    rng = np.random.default_rng(11)
    X, Y = SMALL_SHAPE
    out = [(rng.dirichlet(np.ones(Y), size=X), np.full(X, 1.0 / X))]
    out.append((rng.dirichlet(0.5 * np.ones(Y), size=X), rng.dirichlet(np.ones(X))))
    tied = np.array([
        [0.3, 0.3, 0.2, 0.1, 0.1, 0.0],
        [0.25, 0.25, 0.25, 0.1, 0.1, 0.05],
        [0.5, 0.1, 0.1, 0.1, 0.1, 0.1],
        [0.05, 0.15, 0.15, 0.2, 0.2, 0.25],
    ])
    out.append((tied, np.array([0.1, 0.4, 0.3, 0.2])))
    sharp = rng.dirichlet(np.ones(Y), size=X) * 0.02
    sharp[np.arange(X), rng.integers(0, Y, X)] += 0.98
    out.append((sharp, rng.dirichlet(np.ones(X))))
    return out


def _wrong_mean_of_max(P, mu):
    return float(np.mean(1.0 / np.asarray(P).max(axis=1)))


def _wrong_adaptive(P, mu):
    return float(np.sum(np.asarray(mu) / np.asarray(P).max(axis=1)))


def _wrong_jensen(P, mu):
    return float(1.0 / np.sum(np.asarray(mu) * np.asarray(P).max(axis=1)))


@exercise("1.1", title="The coverage coefficient C_cov from the base probabilities",
          wrong=[_wrong_mean_of_max, _wrong_adaptive, _wrong_jensen])
def _check_coverage(answer):
    """``answer(base_probs, prompt_probs) -> float`` against ``ss.coverage`` on four tables."""
    for k, (P, mu) in enumerate(coverage_instances()):
        want = float(ss.coverage(problems.from_probs(P, mu)))
        got = float(answer(P.copy(), mu.copy()))
        if not np.isclose(got, want, rtol=1e-9, atol=0.0):
            hints = {
                1: "is every prompt weighted by its probability μ(x)?",
                2: "on this table some prompts have several responses of equal top probability: "
                   "π_base(y*(x)|x) is the mass of the whole arg-max set",
            }
            hint = hints.get(k, "C_cov is an average over prompts x ~ μ of one over the base's mass on y*(x)")
            return f"on instance {k + 1} (a {P.shape[0]}×{P.shape[1]} table) you gave {got:.6g}; {hint}"
    return None


# ------------------------------------------------------------------------------- 1.2: the margin
def margin_instances() -> list[tuple[np.ndarray, np.ndarray]]:
    """Exercise 1.2's instances: ``(base_probs [4, 6], prompt_probs [4])`` pairs.

    Deterministic (NumPy seed 13): a Dirichlet table; a table with tied arg-maxes; a table whose
    closest call is on a prompt of probability 0 (outside the support of μ, so it does not count);
    and a table with no positive mass outside the arg-max sets (margin +∞).

    Returns:
      The list of pairs.
    """
    rng = np.random.default_rng(13)
    X, Y = SMALL_SHAPE
    out = [(rng.dirichlet(np.ones(Y), size=X), np.full(X, 1.0 / X))]
    out.append((coverage_instances()[2][0], np.array([0.1, 0.4, 0.3, 0.2])))
    close = np.array([
        [0.50, 0.10, 0.10, 0.10, 0.10, 0.10],
        [0.05, 0.35, 0.20, 0.20, 0.10, 0.10],
        [0.21, 0.20, 0.20, 0.20, 0.10, 0.09],
        [0.30, 0.29, 0.11, 0.10, 0.10, 0.10],
    ])
    out.append((close, np.array([0.5, 0.5, 0.0, 0.0])))
    flat = np.array([
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.5, 0.5, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        [0.25, 0.25, 0.25, 0.25, 0.0, 0.0],
    ])
    out.append((flat, np.full(X, 1.0 / X)))
    return out


def _wrong_second_entry(P, mu):
    s = np.sort(np.asarray(P), axis=1)
    return float(np.min(s[:, -1] / s[:, -2]) - 1)


def _margins_per_prompt(P):
    P = np.asarray(P, float)
    top = P.max(axis=1, keepdims=True)
    outside = np.where(P < top, P, 0.0).max(axis=1)
    with np.errstate(divide="ignore"):
        return np.where(outside > 0, top[:, 0] / outside - 1, np.inf)


def _wrong_whole_table(P, mu):
    return float(np.min(_margins_per_prompt(P)))


def _wrong_largest(P, mu):
    g = _margins_per_prompt(P)[np.asarray(mu) > 0]
    return float(np.max(g))


@exercise("1.2", title="The margin of Assumption 4.2 from the base probabilities",
          wrong=[_wrong_second_entry, _wrong_whole_table, _wrong_largest])
def _check_margin(answer):
    """``answer(base_probs, prompt_probs) -> float`` against ``ss.margin`` on four tables."""
    for k, (P, mu) in enumerate(margin_instances()):
        want = float(ss.margin(problems.from_probs(P, mu)))
        got = float(answer(P.copy(), mu.copy()))
        if not (got == want or np.isclose(got, want, rtol=1e-9, atol=0.0)):
            hints = {
                1: "responses tied with the top belong to y*(x): compare the top with the best response outside y*(x)",
                2: "Assumption 4.2 asks the inequality only for prompts in the support of μ",
                3: "when no response outside y*(x) has positive probability, no γ is too large",
            }
            hint = hints.get(k, "the margin is the largest γ that works on every prompt at once")
            return f"on instance {k + 1} (a {P.shape[0]}×{P.shape[1]} table) you gave {got:.6g}; {hint}"
    return None


# ----------------------------------------------------------------------------- 1.3: the BoN law
def bon_instances() -> list[tuple[np.ndarray, int]]:
    """Exercise 1.3's instances: ``(probs [6], N)`` pairs, rows with and without ties and zeros.

    Returns:
      The list of ``(row, N)`` pairs (four rows, each with N in 1, 2, 3, 10, 50).
    """
    rng = np.random.default_rng(12)
    rows = [
        rng.dirichlet(np.ones(SMALL_SHAPE[1])),
        np.array([0.3, 0.3, 0.2, 0.1, 0.1, 0.0]),
        np.array([0.1, 0.25, 0.1, 0.25, 0.2, 0.1]),
        np.array([0.05, 0.15, 0.15, 0.2, 0.2, 0.25]),
    ]
    return [(row, N) for row in rows for N in (1, 2, 3, 10, 50)]


def _reference_laws(rows: np.ndarray, Ns) -> dict[int, np.ndarray]:
    problem = problems.from_probs(rows)
    return {N: np.asarray(ss.bon_law(problem, N).probs) for N in Ns}


def _wrong_power(p, N):
    q = np.asarray(p, float) ** N
    return q / q.sum()


def _wrong_no_split(p, N):
    p = np.asarray(p, float)
    F = np.array([p[p <= v].sum() for v in p])
    F_minus = np.array([p[p < v].sum() for v in p])
    return np.where(p > 0, F**N - F_minus**N, 0.0)


def _wrong_first_index(p, N):
    """Ties broken towards the lowest index (not uniformly): the first tied response takes the level."""
    p = np.asarray(p, float)
    out = np.zeros_like(p)
    for i, v in enumerate(p):
        if v > 0 and not np.any(p[:i] == v):
            out[i] = p[p <= v].sum() ** N - p[p < v].sum() ** N
    return out


@exercise("1.3", title="The best-of-N law of one prompt from the CDF formula",
          wrong=[lambda p, N: np.asarray(p, float), _wrong_power, _wrong_no_split, _wrong_first_index])
def _check_bon_law(answer):
    """``answer(probs, N) -> [Y] array`` against ``ss.bon_law`` row by row."""
    cases = bon_instances()
    rows = np.stack([r for r, N in cases if N == 1])
    laws = _reference_laws(rows, sorted({N for _, N in cases}))
    row_index = {r.tobytes(): i for i, r in enumerate(rows)}
    for row, N in cases:
        want = laws[N][row_index[row.tobytes()]]
        got = np.asarray(answer(row.copy(), N), float)
        if got.shape != want.shape:
            return f"for a row of {row.size} probabilities you returned shape {got.shape}; return one probability per response"
        if not np.allclose(got, want, rtol=1e-7, atol=1e-12):
            i = int(np.argmax(np.abs(got - want)))
            ties = np.sum(row == row[i]) > 1
            hint = ("this response shares its probability with others: the level's mass is split evenly among them"
                    if ties and row[i] > 0 else
                    "the kept response has probability ≤ v exactly when all N draws do, which happens w.p. F(v)^N")
            return (f"on the row {np.round(row, 3).tolist()} with N = {N}, response {i} gets {got[i]:.6g} "
                    f"(the total is {got.sum():.6g}); {hint}")
    return None


# ---------------------------------------------------------------- 1.4: the smallest N for 1 - δ
def draws_instances() -> list[tuple[ss.Problem, float]]:
    """Exercise 1.4's instances: ``(problem, δ)`` on ``[20, 32]`` problems of ``problems.with_coverage``.

    Returns:
      Three pairs: homogeneous C_cov = 4 with δ = 0.1, heterogeneous C_cov = 8 with δ = 0.05, and
      half-heterogeneous C_cov = 16 with δ = 0.2.
    """
    X, Y = BON_SHAPE
    specs = [(4.0, 0.0, 0.1), (8.0, 1.0, 0.05), (16.0, 0.5, 0.2)]
    return [(problems.with_coverage(jax.random.key(130 + i), X, Y, C, heterogeneity=h), delta)
            for i, (C, h, delta) in enumerate(specs)]


def _wrong_average_threshold(problem, delta):
    return math.ceil(math.log(1 / delta) * ss.coverage(problem))


def _wrong_worst_threshold(problem, delta):
    return math.ceil(float(np.max(bounds.bon_inference(problem, rho=delta))))


@exercise("1.4", title="The smallest N with best-of-N success at least 1 − δ",
          wrong=[lambda problem, delta: 1, _wrong_average_threshold, _wrong_worst_threshold])
def _check_min_draws(answer):
    """``answer(problem, delta) -> int``: the exact success reaches ``1 − δ`` at N and not at N − 1."""
    for k, (problem, delta) in enumerate(draws_instances()):
        got = answer(problem, delta)
        if isinstance(got, bool) or int(got) != got or got < 1:
            return f"return a whole number of draws N >= 1; got {got!r}"
        N = int(got)
        here = float(ss.bon_success_probability(problem, N))
        if here < 1 - delta:
            return (f"on instance {k + 1} (C_cov = {ss.coverage(problem):.3g}, δ = {delta}) the best of N = {N} "
                    f"succeeds with probability {here:.4f} < 1 − δ: N is too small")
        if N > 1:
            before = float(ss.bon_success_probability(problem, N - 1))
            if before >= 1 - delta:
                return (f"on instance {k + 1} (C_cov = {ss.coverage(problem):.3g}, δ = {delta}) N − 1 = {N - 1} "
                        f"already succeeds with probability {before:.4f} ≥ 1 − δ: find the smallest N "
                        "(a sufficient condition such as Prop C.1's is not the smallest)")
    return None
