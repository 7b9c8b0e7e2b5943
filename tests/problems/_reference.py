"""NumPy references for the problem tests: arg-max sets, coverage and margin recomputed from probability
tables by plain loops (never with sharpsim.coefficients), and the joint law of an autoregressive
problem multiplied out sequence by sequence."""

from __future__ import annotations

import itertools

import numpy as np

TIE = 1e-9  # the documented TIE_RTOL


def np_argmax_mask(probs):
    probs = np.asarray(probs)
    return probs >= (1 - TIE) * probs.max(axis=1, keepdims=True)


def np_coverage(probs, mu):
    """E_μ[1/π(y*(x)|x)] over the support of μ, by a plain loop."""
    probs, mu = np.asarray(probs), np.asarray(mu)
    mask = np_argmax_mask(probs)
    total = 0.0
    for x in range(probs.shape[0]):
        if mu[x] > 0:
            total += mu[x] / probs[x][mask[x]].sum()
    return total


def np_margin(probs, mu):
    probs, mu = np.asarray(probs), np.asarray(mu)
    mask = np_argmax_mask(probs)
    best = np.inf
    for x in range(probs.shape[0]):
        if mu[x] > 0 and (~mask[x]).any():
            second = probs[x][~mask[x]].max()
            if second > 0:
                best = min(best, probs[x].max() / second - 1)
    return best


def ar_joint(problem):
    """Joint law [X, V^H] of an autoregressive problem, multiplied out by loops."""
    pol = problem.base
    tables = np.exp(np.asarray(pol.log_tables))
    H, X, _, V = tables.shape
    k = pol.context_length
    out = np.empty((X, V**H))
    for x in range(X):
        for i, s in enumerate(itertools.product(range(V), repeat=H)):
            p = 1.0
            for h in range(H):
                ctx = 0
                for prev in s[max(0, h - k) : h]:
                    ctx = ctx * V + prev
                p *= tables[h, x, ctx, s[h]]
            out[x, i] = p
    return out
