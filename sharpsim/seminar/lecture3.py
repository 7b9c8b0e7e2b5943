"""Checkers of lecture 3 (SFT-Sharpening, Thm 4.1; adaptive SFT-Sharpening, Thm D.1).

Exercises:

* ``3.1`` ``bon_error(problem, N, delta) -> float``: the exact sharpening error of the best-of-N
  law, against ``sharpsim.sharpening_error(problem, sharpsim.bon_law(problem, N), delta=delta)``;
* ``3.2`` ``min_bon_N(problem, eps, delta) -> int``: the smallest N whose best-of-N law is
  (ε, δ)-sharpened, checked with the same exact quantities at N and N − 1;
* ``3.3`` ``expected_sft_error(problem, n, N, delta) -> float``: the exact expected error of
  SFT-Sharpening with the tabular class, against :func:`expected_tabular_sft_error` (itself
  checked against :func:`sharpsim.algorithms.sft_sharpening` by the tests);
* ``3.4`` ``stopping_time(revealed, stop_level) -> int``: App D's stopping time N_μ of a sequence of
  revealed base probabilities, against the predicate :func:`sharpsim.oracle.adaptive_rule`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

import sharpsim as ss
from sharpsim import oracle, problems
from sharpsim.seminar._core import exercise

__all__ = ["SHAPE", "bon_error_instances", "expected_error_instances", "expected_tabular_sft_error", "min_n_instances",
           "stopping_instances"]

#: The shape of the lecture's problems (the checkers use it too, so the exact functions compile once).
SHAPE = (8, 16)


def _problem(seed: int, coverage: float, *, heterogeneity: float = 1.0, num_argmax: int = 1) -> ss.Problem:
    return problems.with_coverage(jax.random.key(seed), *SHAPE, coverage, heterogeneity=heterogeneity,
                                  num_argmax=num_argmax, prompt_probs=_mu(seed))


def _mu(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(2.0 * np.ones(SHAPE[0]))


def _exact_bon_error(problem, N, delta) -> float:
    return float(ss.sharpening_error(problem, ss.bon_law(problem, N), delta=delta))


def bon_error_instances() -> list[tuple[ss.Problem, int, float]]:
    """Exercise 3.1's instances ``(problem, N, δ)``: heterogeneous ``[8, 16]`` problems (one with
    two tied arg-maxes per prompt) under a non-uniform μ, at several N and δ.

    Returns:
      The list of triples.
    """
    a = _problem(310, 4.0)
    b = _problem(311, 6.0, num_argmax=2)
    return [(a, 1, 0.5), (a, 4, 0.1), (a, 9, 0.2), (b, 2, 0.3), (b, 5, 0.1), (b, 12, 0.05)]


def _wrong_expected_miss(problem, N, delta):
    return 1.0 - ss.bon_success_probability(problem, N)


def _wrong_base_error(problem, N, delta):
    return float(ss.sharpening_error(problem, problem.base, delta=delta))


def _wrong_top_only(problem, N, delta):
    P = np.asarray(problem.probs)
    top = P.max(axis=1)
    return float(np.sum(np.asarray(problem.prompt_probs) * (1 - (1 - top) ** N < 1 - delta)))


@exercise("3.1", title="The exact sharpening error of the best-of-N law",
          wrong=[_wrong_expected_miss, _wrong_base_error, _wrong_top_only])
def _check_bon_error(answer):
    """``answer(problem, N, delta) -> float`` against the exact ``err_δ(π^BoN_N)``."""
    for k, (problem, N, delta) in enumerate(bon_error_instances()):
        want = _exact_bon_error(problem, N, delta)
        got = float(answer(problem, N, delta))
        if not np.isclose(got, want, rtol=0.0, atol=1e-12):
            tied = int(np.asarray(problem.base.num_argmax()).max()) > 1
            hint = ("here every prompt has two tied arg-maxes: y*(x) is a set" if tied else
                    "the error is the μ-mass of the prompts where the BoN law's mass on y*(x) is below 1 − δ, "
                    "not an average miss probability")
            return f"on instance {k + 1} (N = {N}, δ = {delta}) you gave {got:.6g}; {hint}"
    return None


# -------------------------------------------------------------------- 3.2: the smallest N for ε
def min_n_instances() -> list[tuple[ss.Problem, float, float]]:
    """Exercise 3.2's instances ``(problem, ε, δ)`` on heterogeneous ``[8, 16]`` problems.

    Returns:
      The list of triples.
    """
    a = _problem(320, 4.0)
    b = _problem(321, 8.0, heterogeneity=0.5)
    return [(a, 0.1, 0.1), (a, 0.3, 0.2), (b, 0.05, 0.1), (b, 0.4, 0.3)]


def _wrong_prescription(problem, eps, delta):
    return math.ceil(ss.coverage(problem) * math.log(2 / delta) / eps)


def _wrong_homogeneous(problem, eps, delta):
    return math.ceil(ss.coverage(problem) * math.log(1 / delta))


@exercise("3.2", title="The smallest N whose best-of-N law is (ε, δ)-sharpened",
          wrong=[lambda problem, eps, delta: 1, _wrong_prescription, _wrong_homogeneous])
def _check_min_bon_n(answer):
    """``answer(problem, eps, delta) -> int``: ``err_δ(π^BoN_N) <= ε`` at N and not at N − 1."""
    for k, (problem, eps, delta) in enumerate(min_n_instances()):
        got = answer(problem, eps, delta)
        if isinstance(got, bool) or int(got) != got or got < 1:
            return f"return a whole number N >= 1; got {got!r}"
        N = int(got)
        err = _exact_bon_error(problem, N, delta)
        if err > eps:
            return f"on instance {k + 1} (ε = {eps}, δ = {delta}) the BoN_{N} law has error {err:.4f} > ε: N is too small"
        if N > 1:
            before = _exact_bon_error(problem, N - 1, delta)
            if before <= eps:
                return (f"on instance {k + 1} (ε = {eps}, δ = {delta}) N − 1 = {N - 1} already has error "
                        f"{before:.4f} ≤ ε: find the smallest N (Thm 4.1's N is sufficient, not the smallest)")
    return None


# ------------------------------------------------- 3.3: the expected error of tabular SFT-Sharpening
def expected_tabular_sft_error(problem: ss.Problem, n: int, N: int, delta: float) -> float:
    """``E[err_δ(π̂)]`` of SFT-Sharpening with ``classes.TabularClass`` (empirical frequencies),
    exactly, by binomial sums.

    Prompt x is visited ``c ~ Binomial(n, μ(x))`` times; each visit's pick lands in ``y*(x)``
    independently with probability ``q_x = 1 − (1 − π_base(y*(x)|x))^N``, so the fitted mass on
    ``y*(x)`` is ``hits/c`` with ``hits ~ Binomial(c, q_x)``, and x fails iff ``hits < (1 − δ)c``.
    An unseen prompt gets the uniform law, which fails iff ``|y*(x)|/|Y| < 1 − δ``.

    Args:
      problem: a tabular problem.
      n: the number of prompts (``>= 1``).
      N: the draws per prompt (``>= 1``).
      delta: the level δ ∈ (0, 1); pick it so that ``(1 − δ)c`` is never an integer for
        ``c <= n`` (a frequency equal to ``1 − δ`` may round to either side in the simulation).

    Returns:
      The expected error.
    """
    return _expected_error(problem, n, N, delta)


def _expected_error(problem, n, N, delta, *, unseen_can_fail=True) -> float:
    P = np.asarray(problem.probs)
    mu = np.asarray(problem.prompt_probs)
    star = np.asarray(problem.base.argmax_set())
    p_star = np.where(star, P, 0.0).sum(axis=1)
    q = -np.expm1(N * np.log1p(-np.minimum(p_star, 1.0)))
    c = np.arange(n + 1)
    err = 0.0
    for x in np.flatnonzero(mu > 0):
        unseen_fails = unseen_can_fail and star[x].sum() / P.shape[1] < 1 - delta
        threshold = np.ceil((1 - delta) * c) - 1               # fails iff hits <= threshold
        fail = np.where(c == 0, float(unseen_fails), stats.binom.cdf(threshold, np.maximum(c, 1), q[x]))
        err += mu[x] * float(np.sum(stats.binom.pmf(c, n, mu[x]) * fail))
    return err


def expected_error_instances() -> list[tuple[ss.Problem, int, int, float]]:
    """Exercise 3.3's instances ``(problem, n, N, δ)`` (δ with no ``(1 − δ)c`` integer for ``c <= n``).

    Returns:
      The list of tuples.
    """
    a = _problem(330, 4.0)
    b = _problem(331, 6.0, num_argmax=2)
    return [(a, 20, 3, 0.1234), (a, 64, 8, 0.2345), (b, 30, 5, 0.3456), (b, 8, 12, 0.0987)]


def _wrong_seen_always(problem, n, N, delta):
    """Forgets the unseen prompts (an unseen prompt counted as a success)."""
    return _expected_error(problem, n, N, delta, unseen_can_fail=False)


def _wrong_limit(problem, n, N, delta):
    return _exact_bon_error(problem, N, delta)


def _wrong_no_bon(problem, n, N, delta):
    return expected_tabular_sft_error(problem, n, 1, delta)


@exercise("3.3", title="Predict the expected error of SFT-Sharpening (tabular class)",
          wrong=[_wrong_seen_always, _wrong_limit, _wrong_no_bon])
def _check_expected_error(answer):
    """``answer(problem, n, N, delta) -> float`` against :func:`expected_tabular_sft_error`."""
    for k, (problem, n, N, delta) in enumerate(expected_error_instances()):
        want = expected_tabular_sft_error(problem, n, N, delta)
        got = float(answer(problem, n, N, delta))
        if not np.isclose(got, want, rtol=1e-7, atol=1e-10):
            return (f"on instance {k + 1} (n = {n}, N = {N}, δ = {delta}) you predicted {got:.6g}; how many times "
                    "is each prompt visited, how often does a visit's pick land in y*(x), and what does the "
                    "tabular fit do at a prompt it never saw?")
    return None


# --------------------------------------------------------------- 3.4: App D's stopping time N_μ
def stopping_instances() -> list[tuple[np.ndarray, float]]:
    """Exercise 3.4's instances ``(revealed, μ)``: 400 revealed base probabilities drawn from
    Dirichlet rows of 16 responses, with stop levels ln 4, ln 20 and 5 (the rule always stops
    within the sequence).

    Returns:
      The list of pairs.
    """
    rng = np.random.default_rng(33)
    out = []
    for i in range(4):
        row = rng.dirichlet(np.full(SHAPE[1], 0.7 if i % 2 else 3.0))
        draws = rng.choice(SHAPE[1], size=400, p=row)
        for mu in (math.log(4), math.log(20), 5.0):
            out.append((row[draws], mu))
    return out


def _reference_stopping_time(revealed, mu) -> int:
    k = jnp.arange(1, revealed.size + 1)
    best = jnp.log(jnp.maximum.accumulate(jnp.asarray(revealed)))
    stop = np.asarray(oracle.adaptive_rule(mu)(k, best))
    return int(np.argmax(stop)) + 1


def _wrong_current(revealed, mu):
    k = np.arange(1, len(revealed) + 1)
    return int(np.argmax(k * np.asarray(revealed) >= mu)) + 1


def _wrong_zero_based(revealed, mu):
    k = np.arange(1, len(revealed) + 1)
    return int(np.argmax(k * np.maximum.accumulate(revealed) >= mu))


def _wrong_hindsight(revealed, mu):
    return math.ceil(mu / np.max(revealed))


@exercise("3.4", title="App D's adaptive stopping time N_μ",
          wrong=[_wrong_current, _wrong_zero_based, _wrong_hindsight])
def _check_stopping_time(answer):
    """``answer(revealed, stop_level) -> int`` against ``oracle.adaptive_rule`` on drawn sequences."""
    for k, (revealed, mu) in enumerate(stopping_instances()):
        want = _reference_stopping_time(revealed, mu)
        got = answer(revealed.copy(), mu)
        if isinstance(got, bool) or int(got) != got:
            return f"return the number of draws (an integer); got {got!r}"
        if int(got) != want:
            return (f"on sequence {k + 1} with μ = {mu:.3g} you stop after {int(got)} draws; the rule may only use "
                    "the draws revealed so far, and counts draws from 1")
    return None
