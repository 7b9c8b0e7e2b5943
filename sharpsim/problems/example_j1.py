"""Example J.1: a linear-softmax problem (Def J.3) with margin Ω(1) but coverage exponential in d.

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
from sharpsim.problems.core import Problem

__all__ = ["sign_code", "sphere_separation"]


def sign_code(key: jax.Array, d: int, *, min_distance: int | None = None, max_responses: int = 1024,
              max_tries: int | None = None) -> np.ndarray:
    """``[M, d]`` unit vectors ``{±1}^d/√d`` with pairwise Hamming distance ``>= min_distance``
    (default ``⌈d/4⌉``), drawn greedily at random; at most ``max_responses`` of them.

    Args:
      key: PRNG key.
      d: the dimension.
      min_distance: the minimum pairwise Hamming distance (default ``⌈d/4⌉``).
      max_responses: the cap on the code's size (``>= 2``).
      max_tries: random candidates to try (default ``50 · max_responses``).

    Returns:
      ``[M, d]`` the code words, ``M <= max_responses``.

    Raises:
      ValueError: on a non-positive ``d``, ``min_distance`` or ``max_responses < 2``.
    """
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
