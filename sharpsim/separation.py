"""Example J.1: a linear-softmax problem with margin Ω(1) but coverage exponential in d.

Exposed as ``sharpsim.problems.sphere_separation(key, d)``.

Construction (ours; the paper takes a 1/4-packing of the sphere): responses are sign vectors
``y ∈ {±1}^d / √d`` chosen greedily at random so that every pair differs in at least
``⌈d/4⌉`` coordinates, i.e. ``⟨y, y'⟩ <= 1 - 2⌈d/4⌉/d <= 1/2``; pairwise distances are then at
least 1, a packing of the unit sphere. By the Gilbert–Varshamov argument the greedy code has
``exp(Θ(d))`` members; it is capped at ``max_responses`` so that exact computations stay cheap.
One prompt; features ``φ(x, y) = y`` (``‖φ‖ = 1``); ``θ* = B y*`` for a random code word ``y*``;
``π_base(y) ∝ exp(⟨y, θ*⟩)``. Then

* ``π_base(y*)/π_base(y') = exp(B (1 - ⟨y', y*⟩)) >= exp(B/2)``, so ``γ_margin >= e^{B/2} - 1``;
* ``C_cov = 1/π_base(y*) = Σ_y exp(B(⟨y, y*⟩ - 1))``, which grows like ``|Y|`` (each other
  response contributes at most ``e^{-B/2}`` and typically about ``e^{-B}``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float
from sharpsim.problems import Problem


def sign_code(key: jax.Array, d: int, *, min_distance: int | None = None, max_responses: int = 1024,
              max_tries: int | None = None) -> np.ndarray:
    """``[M, d]`` unit vectors ``{±1}^d/√d`` with pairwise Hamming distance ``>= min_distance``
    (default ``⌈d/4⌉``), drawn greedily at random; at most ``max_responses`` of them."""
    d = v.check_positive_int("d", d)
    max_responses = v.check_positive_int("max_responses", max_responses, minimum=2)
    min_distance = (d + 3) // 4 if min_distance is None else v.check_positive_int("min_distance", min_distance)
    tries = max_tries or 50 * max_responses
    cands = np.asarray(jax.random.rademacher(key, (tries, d), dtype=jnp.int8), dtype=np.int64)
    kept: list[np.ndarray] = []
    for c in cands:
        if kept:
            ham = (d - np.asarray(kept) @ c) // 2
            if ham.min() < min_distance:
                continue
        kept.append(c)
        if len(kept) == max_responses:
            break
    return np.asarray(kept, dtype=np.float64) / np.sqrt(d)


def sphere_separation(key: jax.Array, d: int, *, radius: float = 4.0, max_responses: int = 1024):
    """Example J.1: ``(problem, features)`` with ``features: [1, Y, d]``.

    Args:
      key: PRNG key (the code and the planted ``y*``).
      d: feature dimension (``>= 2``).
      radius: ``B = ‖θ*‖``; the margin is at least ``e^{B/2} - 1``.
      max_responses: cap on ``|Y|`` (the greedy code would otherwise grow like ``exp(Θ(d))``).

    Returns:
      ``problem`` (one prompt, ``π_base ∝ exp(⟨φ(y), θ*⟩)``) and ``features``.
    """
    d = v.check_positive_int("d", d, minimum=2)
    radius = v.check_positive("radius", radius)
    k_code, k_star = jax.random.split(key)
    code = sign_code(k_code, d, max_responses=max_responses)
    star = int(jax.random.randint(k_star, (), 0, code.shape[0]))
    theta = radius * code[star]
    logits = code @ theta
    policy = TabularPolicy(jax.nn.log_softmax(jnp.asarray(logits[None, :], dtype=_float()), axis=-1))
    problem = Problem(policy, jnp.ones((1,), dtype=_float()))
    return problem, jnp.asarray(code[None], dtype=_float())


def hidden_direction(d: int, num_responses: int, *, bias: float = 1.0, key: jax.Array | None = None):
    """An instance inside the linear-softmax family where offline Eq 8 fails without exploration.

    ``(problem, features)`` with ``features: [1, Y, d]`` and ``Y = num_responses``:

    * ``y*`` (response 0) has ``φ(y*) = e_d``;
    * the ``Y − 1`` *common* responses have ``φ(y) = (u_y, 0)`` with ``u_y`` unit vectors of
      ``R^{d−1}`` (random, from ``key``; the standard basis and its negatives first);
    * ``π_base = π_{θ_b}`` with ``θ_b = bias · e_d``, so every common response has logit 0 and
      ``y*`` logit ``bias``: ``γ_margin = e^{bias} − 1`` and ``C_cov = (Y − 1 + e^{bias})/e^{bias}``.

    Every feature difference between two common responses lies in ``e_d^⊥``: data drawn from
    ``π_base`` identify ``θ`` along ``e_d`` only through pairs that contain ``y*``, which appear with
    probability about ``2/C_cov`` per pair. Conditioned on ``y*`` never being drawn, the data
    (responses and rewards) have the same law under ``θ_b`` and under ``−θ_b`` (where ``y*`` is the
    *least* likely response), so no method that sees only base samples can sharpen both; the
    exact Eq 8 regression returns the minimum-norm ``θ_d = 0`` (the uniform policy) then. See
    ``theory/linear_softmax.md`` for the measured consequence.
    """
    d = v.check_positive_int("d", d, minimum=2)
    num_responses = v.check_positive_int("num_responses", num_responses, minimum=3)
    bias = v.check_positive("bias", bias)
    commons = num_responses - 1
    k = d - 1
    basis = np.concatenate([np.eye(k), -np.eye(k)])[: min(2 * k, commons)]
    extra = commons - basis.shape[0]
    if extra > 0:
        key = jax.random.key(0) if key is None else key
        g = np.array(jax.random.normal(key, (extra, k)), dtype=np.float64)
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        basis = np.concatenate([basis, g])
    feats = np.zeros((num_responses, d))
    feats[0, -1] = 1.0
    feats[1:, :k] = basis
    theta = np.zeros(d)
    theta[-1] = bias
    logits = feats @ theta
    policy = TabularPolicy(jax.nn.log_softmax(jnp.asarray(logits[None, :], dtype=_float()), axis=-1))
    problem = Problem(policy, jnp.ones((1,), dtype=_float()))
    return problem, jnp.asarray(feats[None], dtype=_float())
