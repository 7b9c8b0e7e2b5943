"""Checkers of lecture 2 (the sample-and-evaluate model and the lower bound, Thm 3.1 / App H).

Exercises:

* ``2.1`` ``my_lower_bound(C, log_size, eps, p) -> float``: Thm 3.1′ with constant 1, against
  :func:`sharpsim.bounds.sft_lower_bound` on a grid of arguments;
* ``2.2`` ``family_coverage(M, mass, p) -> float``: ``C_cov,1/2,p`` of a member of the App H
  family, against :func:`sharpsim.coverage` of members drawn by
  :func:`sharpsim.problems.lower_bound_family`;
* ``2.3`` ``min_draws_hard(M) -> int``: the smallest N for which the best-of-N law of a hard
  prompt puts more than 1/2 on its arg-max, against :func:`sharpsim.bon_law` of the rows of
  :func:`sharpsim.problems.hard_conditionals`.
"""

from __future__ import annotations

import math

import jax
import numpy as np

import sharpsim as ss
from sharpsim import bounds, problems
from sharpsim.seminar._core import exercise

__all__ = ["HARD_SIZES", "family_instances", "lower_bound_grid"]


def lower_bound_grid() -> list[tuple[float, float, float, float]]:
    """Exercise 2.1's arguments ``(C, log_size, eps, p)``: p = 1, 2, 3 and a spread of C, log|Π|, ε.

    Returns:
      The list of tuples.
    """
    return [(C, L, eps, p) for C in (1.0, 4.0, 30.0) for L in (2.0, 50.0) for eps in (0.3, 0.01)
            for p in (1, 2, 3)]


def _wrong_no_log(C, log_size, eps, p):
    return C * log_size / eps ** (1 + 1 / p)


def _wrong_theorem_31_only(C, log_size, eps, p):
    return C * log_size / (eps**2 * (1 + math.log(C / eps)))


def _wrong_adaptive(C, log_size, eps, p):
    return C * log_size / (eps ** (1 / p) * (1 + math.log(C * eps ** (-1 / p))))


@exercise("2.1", title="The lower bound of Thm 3.1′",
          wrong=[_wrong_no_log, _wrong_theorem_31_only, _wrong_adaptive])
def _check_lower_bound(answer):
    """``answer(C, log_size, eps, p) -> float`` against ``bounds.sft_lower_bound`` (constant 1)."""
    for C, L, eps, p in lower_bound_grid():
        want = bounds.sft_lower_bound(C, L, eps, p=p)
        got = float(answer(C, L, eps, p))
        if not np.isclose(got, want, rtol=1e-9, atol=0.0):
            hint = ("check how ε enters the logarithm for p > 1" if p > 1 else
                    "check the exponent of ε and the logarithmic factor")
            return f"at C = {C:g}, log|Π| = {L:g}, ε = {eps:g}, p = {p} you gave {got:.6g}; {hint}"
    return None


# ------------------------------------------------------------------ 2.2: the family's coverage
def family_instances() -> list[tuple[problems.LowerBoundInstance, float]]:
    """Exercise 2.2's members of the App H family with the moment p of each check.

    Returns:
      ``(instance, p)`` pairs from ``problems.lower_bound_family`` (d = 4; three (C, ε, p)).
    """
    specs = [(2.0, 0.04, 1), (2.0, 0.04, 2), (1.0, 0.05, 1), (3.0, 0.02, 3)]
    return [(problems.lower_bound_family(jax.random.key(220 + i), d=4, C=C, eps=eps, p=p), p)
            for i, (C, eps, p) in enumerate(specs)]


def _wrong_bump_one_over_m(M, mass, p):
    return ((1 - mass) + mass * M**p) ** (1 / p)


def _wrong_ignores_p(M, mass, p):
    return (1 - mass) + mass * M / 2


def _wrong_hard_only(M, mass, p):
    return M / 2


@exercise("2.2", title="The coverage of a member of the App H family",
          wrong=[_wrong_bump_one_over_m, _wrong_ignores_p, _wrong_hard_only])
def _check_family_coverage(answer):
    """``answer(M, mass, p) -> float`` against ``ss.coverage(member, gamma=1/2, p=p)``."""
    for inst, p in family_instances():
        want = float(ss.coverage(inst.problem, gamma=inst.gamma, p=p))
        got = float(answer(inst.M, inst.mass, p))
        if not np.isclose(got, want, rtol=1e-9, atol=0.0):
            return (f"for M = {inst.M}, Δ = {inst.mass:g}, p = {p} you gave {got:.6g}; what mass does a member "
                    "put on y*_γ at the easy prompt, and at a hard one? Then take the p-th moment over μ")
    return None


# ---------------------------------------------------------- 2.3: draws needed at a hard prompt
#: The numbers of candidate responses M of exercise 2.3.
HARD_SIZES = (8, 21, 51, 300, 1000)


def _bump_masses(Ns) -> dict[int, np.ndarray]:
    """``{N: [len(HARD_SIZES)]}`` the exact BoN_N mass on the bump of ``P_1`` for each M."""
    width = max(HARD_SIZES) + 1
    rows = np.zeros((len(HARD_SIZES), width))
    for i, M in enumerate(HARD_SIZES):
        rows[i, : M + 1] = problems.hard_conditionals(M)[1]  # P_1: the bump is y_1
    problem = problems.from_probs(rows)
    return {N: np.asarray(ss.bon_law(problem, N).probs)[:, 1] for N in Ns}


@exercise("2.3", title="How many draws before best-of-N finds the bump of a hard prompt",
          wrong=[lambda M: M, lambda M: math.ceil(M / 2), lambda M: math.ceil(M * math.log(2) / 2)])
def _check_min_draws_hard(answer):
    """``answer(M) -> int``: the BoN_N law of ``P_j`` puts more than 1/2 on ``y_j`` at N, not at N − 1."""
    got = []
    for M in HARD_SIZES:
        N = answer(M)
        if isinstance(N, bool) or int(N) != N or N < 1:
            return f"return a whole number of draws N >= 1; for M = {M} you gave {N!r}"
        got.append(int(N))
    Ns = sorted({N for N in got} | {N - 1 for N in got if N > 1})
    masses = _bump_masses(Ns)
    for i, (M, N) in enumerate(zip(HARD_SIZES, got)):
        here = masses[N][i]
        if not here > 0.5:
            return f"for M = {M}, the best of N = {N} puts {here:.4f} ≤ 1/2 on the bump: N is too small"
        if N > 1 and masses[N - 1][i] > 0.5:
            return (f"for M = {M}, N − 1 = {N - 1} already puts {masses[N - 1][i]:.4f} > 1/2 on the bump; "
                    "find the smallest N (a sufficient N, such as the one 1 − p ≤ e^{−p} gives, may be larger)")
    return None
