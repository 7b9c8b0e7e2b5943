"""NumPy references and small instances shared by the model-class tests (and the algorithm tests that
use those classes)."""

from __future__ import annotations

import math

import jax
import numpy as np

from sharpsim import problems


def linear_problem(seed=0, X=3, Y=6, d=3, scale=1.5):
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(X, Y, d))
    feats /= np.linalg.norm(feats, axis=-1, keepdims=True)
    theta = rng.normal(size=d)
    theta *= scale / np.linalg.norm(theta)
    logits = feats @ theta
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return problems.from_probs(probs), feats, theta


def np_bon_law(row, N, rtol=1e-9):
    """``(F(v)^N - F(v-)^N) / k_v`` for one distribution ``row`` (theory/bon_law.md), by a plain
    loop over responses; responses within a relative ``rtol`` of each other count as tied."""
    row = np.asarray(row, dtype=np.float64)
    out = np.zeros_like(row)
    for y, v in enumerate(row):
        if v == 0.0:
            continue
        tied = np.abs(row - v) <= rtol * v
        at_or_below = row[(row <= v) | tied].sum()
        below = row[(row < v) & ~tied].sum()
        out[y] = (at_or_below**N - below**N) / tied.sum()
    return out


def np_loglik(probs_xy, prompts, responses):
    """``Σ_i log p[x_i, y_i]`` over the revealed pairs (``y_i >= 0``), one term at a time."""
    total = 0.0
    for x, y in zip(prompts, responses):
        if y < 0:
            continue
        with np.errstate(divide="ignore"):
            total += math.log(probs_xy[x, y]) if probs_xy[x, y] > 0 else -math.inf
    return total


def tolerant_argmax_set(ll, allowed=None):
    """Indices whose log-likelihood is within a 1e-9 relative rounding slack of the maximum."""
    ll = np.asarray(ll, dtype=np.float64)
    if allowed is not None:
        ll = np.where(allowed, ll, -np.inf)
    top = ll.max()
    if top == -np.inf:
        return set(np.flatnonzero(allowed if allowed is not None else np.ones_like(ll, bool)).tolist())
    return set(np.flatnonzero(ll >= top - 1e-9 * (1.0 + abs(top))).tolist())


def random_tables(rng, shape, zero_frac=0.2):
    """Random distributions over the last axis with some exact zeros (each row keeps a
    positive entry)."""
    w = rng.gamma(0.7, size=shape)
    w[rng.random(shape) < zero_frac] = 0.0
    flat = w.reshape(-1, shape[-1])
    empty = flat.sum(axis=1) == 0
    flat[empty, rng.integers(0, shape[-1], empty.sum())] = 1.0
    return (flat / flat.sum(axis=1, keepdims=True)).reshape(shape)


def random_data(rng, n, X, Y, masked_frac=0.15):
    prompts = rng.integers(0, X, n)
    responses = rng.integers(0, Y, n)
    responses[rng.random(n) < masked_frac] = -1  # the oracle's mark for an unrevealed sample
    return prompts, responses


# one compilation each (the classes are pytrees; TabularClass's sizes and smoothing are static)
finite_mle = jax.jit(
    lambda c, p, r, m: (c.mle_index(p, r), c.log_likelihoods(p, r), c.mle(p, r).log_probs, c.mle_mass(p, r, m))
)
product_mle = jax.jit(lambda c, p, r, m: (c.mle_index(p, r), c.mle(p, r).log_probs, c.mle_mass(p, r, m)))
tabular_mle = jax.jit(lambda c, p, r, m: (c.mle(p, r).probs, c.mle_mass(p, r, m)))


K, X, Y, NDATA = 6, 3, 4, 12  # members, prompts, responses, data points of the random instances
