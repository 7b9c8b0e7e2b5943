"""Checkers of lecture 7 (real LMs through the bridge: pass@k, best-of-N by self-likelihood).

The checkers need no torch: they compare the student's functions with the bridge's pure-numpy
:mod:`sharpsim.bridge.analysis` and :mod:`sharpsim.bridge.rewards` on deterministic instances.

* 7.1 — the self-likelihood best-of-N pick among the first N of a prompt's draws (with ties);
* 7.2 — the exact accuracy of best-of-N when the N draws are a uniformly random subset of the
  N_max draws at hand (the rank formula of the subsampling analysis);
* 7.3 — the unbiased pass@k estimator ``1 − C(n − c, k) / C(n, k)`` on a grid of ``(n, c, k)``.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from sharpsim.bridge import analysis, rewards
from sharpsim.seminar._core import exercise

__all__ = ["instance_draws", "pass_at_k_grid"]


def pass_at_k_grid() -> list[tuple[int, int, int]]:
    """The ``(n, c, k)`` triples the checker of 7.3 uses (every ``1 <= k <= n``, ``0 <= c <= n``).

    Returns:
      All triples with ``n`` in 1..8, and a deterministic sample with ``n`` up to 60.
    """
    triples = [(n, c, k) for n in range(1, 9) for c in range(n + 1) for k in range(1, n + 1)]
    rng = np.random.default_rng(71)
    for _ in range(60):
        n = int(rng.integers(9, 61))
        triples.append((n, int(rng.integers(0, n + 1)), int(rng.integers(1, n + 1))))
    return triples


@exercise("7.3", title="the unbiased pass@k estimator",
          wrong=[lambda n, c, k: 1.0 - (1.0 - c / n) ** k, lambda n, c, k: c / n,
                 lambda n, c, k: 1.0 - math.comb(n - c, k - 1) / math.comb(n, k - 1)])
def _check_pass_at_k(answer):
    """``answer(n, c, k) -> float``: compared with ``analysis.pass_at_k`` on :func:`pass_at_k_grid`."""
    for n, c, k in pass_at_k_grid():
        want = analysis.pass_at_k(n, c, k)
        got = float(answer(n, c, k))
        if not np.isclose(got, want, rtol=1e-9, atol=1e-12):
            return (f"for n = {n} draws with c = {c} correct and k = {k} you gave {got:.6g}. Hint: count the "
                    f"k-subsets of the n draws that contain no correct draw; the plug-in 1 − (1 − c/n)^k is "
                    f"biased.")
    return None


def instance_draws(*, distinct: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-prompt draws ``(log_probs [N_max], correct [N_max])`` the checkers of 7.1 and 7.2 use.

    Args:
      distinct: all log-probabilities distinct (7.2) or rounded so that ties occur (7.1).

    Returns:
      A deterministic list of ``(log_probs, correct)`` with ``N_max`` from 1 to 24.
    """
    rng = np.random.default_rng(72 if distinct else 73)
    out = []
    for n_max in (1, 2, 3, 5, 8, 8, 12, 16, 24):
        lp = -rng.gamma(2.0, 1.5, size=n_max)
        if not distinct:
            lp = np.round(lp, 0)
        correct = rng.random(n_max) < 1 / (1 + np.exp(-(lp + 3.0)))
        out.append((lp, correct))
    return out


def _pick(log_probs, N: int) -> int:
    lp = np.asarray(log_probs, dtype=np.float64)[:N]
    return rewards.pick("loglik", lp, np.ones(N, dtype=int), [None] * N)


@exercise("7.1", title="the self-likelihood best-of-N pick",
          wrong=[lambda lp, N: int(np.argmax(lp)), lambda lp, N: int(np.argmin(lp[:N])),
                 lambda lp, N: int(N - 1 - np.argmax(np.asarray(lp[:N])[::-1]))])
def _check_bon_pick(answer):
    """``answer(log_probs, N) -> int``: the index (into the first N draws) of the BoN pick by
    log-likelihood, ties to the earliest draw; compared with ``rewards.pick("loglik", ...)``."""
    for lp, _ in instance_draws(distinct=False):
        for N in sorted({1, max(1, lp.size // 2), lp.size}):
            want = _pick(lp, N)
            got = answer(lp.copy(), N)
            try:
                got = operator.index(got)
            except TypeError:
                return f"return the index of the pick as an integer (0..N-1); got {got!r}"
            if got != want:
                return (f"with the log-probabilities {np.round(lp, 2).tolist()} and N = {N} you picked {got!r}; "
                        f"hint: only the first N draws are available, the pick maximises log π(y|x), and "
                        f"among equal log-probabilities the earliest draw wins.")
    return None


def _bon_accuracy(lp, correct, N: int) -> float:
    draws = analysis.PromptDraws("x", np.asarray(lp, dtype=np.float64), np.ones(lp.size, dtype=int),
                                 (None,) * lp.size, np.asarray(correct, dtype=bool))
    probs, _ = analysis.pick_probabilities(draws, "loglik", N)
    return float(np.dot(probs, correct))


@exercise("7.2", title="exact best-of-N accuracy by subsampling the draws",
          wrong=[lambda lp, correct, N: float(np.asarray(correct)[int(np.argmax(lp))]),
                 lambda lp, correct, N: float(np.mean(correct)),
                 lambda lp, correct, N: 1.0 - (1.0 - float(np.mean(correct))) ** N])
def _check_bon_accuracy(answer):
    """``answer(log_probs, correct, N) -> float``: the probability that the BoN_N pick from a uniformly
    random N-subset of the N_max draws is correct; compared with ``analysis.pick_probabilities``."""
    for lp, correct in instance_draws(distinct=True):
        for N in range(1, lp.size + 1):
            want = _bon_accuracy(lp, correct, N)
            got = float(answer(lp.copy(), correct.copy(), N))
            if not np.isclose(got, want, rtol=1e-9, atol=1e-12):
                return (f"with N_max = {lp.size} draws ({int(correct.sum())} correct) and N = {N} you gave "
                        f"{got:.6g}. Hint: draw j is the pick iff it is in the subset and the other N − 1 "
                        f"members are all less likely than j; count those subsets.")
    return None
