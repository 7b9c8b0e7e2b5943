"""Example J.1: a linear-softmax problem (Def J.3) with margin Ω(1) but coverage exponential in d.

Construction (ours; the paper takes a 1/4-packing of the sphere): the responses are a *nested*
spherical code (:func:`nested_spherical_code`): unit vectors of ``R^d`` with pairwise inner
products ``<= 1/2`` (pairwise distances ``>= 1``), built dimension by dimension — the code of
``R^{k-1}`` is embedded in ``R^k`` (a zero appended) and extended greedily by random unit vectors
of ``R^k`` — so ``|Y|`` is non-decreasing in d by construction and grows like ``exp(Θ(d))``
(capped at ``max_responses``). One prompt; features ``φ(x, y) = y`` (``‖φ‖ = 1``); ``y* = e_1``
(the code's first word, shared by every d); ``θ* = B y*``; ``π_base(y) ∝ exp(⟨y, θ*⟩)``. Then

* ``π_base(y*)/π_base(y') = exp(B (1 - ⟨y', y*⟩)) >= exp(B/2)``, so ``γ_margin >= e^{B/2} - 1``;
* ``C_cov = 1/π_base(y*) = Σ_y exp(B(⟨y, y*⟩ - 1))``, non-decreasing in d (the code is nested
  and y* fixed) and growing like ``|Y| e^{-B}``; the margin is exactly ``e^{B/2} - 1`` (the
  code's second word has inner product 1/2 with y*).

The default ``B = 1`` is the separating regime: margin ``>= e^{1/2} − 1 ≈ 0.65`` and ``C_cov``
from 6 (d = 4) to over 100 (d = 16); a large B concentrates ``π_base`` on ``y*`` (``C_cov ≈ 1``
until ``|Y| ≳ e^B``) and shows no separation at practical d. :func:`sign_code` (random greedy
sign vectors with Hamming distance ``>= ⌈d/4⌉``) is kept as a second packing; its size is not
monotone in d (the distance threshold jumps at multiples of 4).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float
from sharpsim.problems.core import Problem

__all__ = ["nested_spherical_code", "sign_code", "sphere_separation"]


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


def nested_spherical_code(key: jax.Array, d: int, *, max_inner: float = 0.5, max_responses: int = 1024,
                          tries: int = 50_000) -> np.ndarray:
    """``[M, d]`` unit vectors with pairwise inner products ``<= max_inner``, nested in d.

    Starts from ``e_1`` and ``(1/2, √3/2)`` in ``R^2`` (inner product exactly ``1/2``, so the
    margin of :func:`sphere_separation` is exactly ``e^{B/2} − 1``, and ``{e_1, (1/2, √3/2)}`` is an
    exposed edge of the features' hull); for ``k = 2, ..., d`` the code of ``R^{k-1}`` is embedded in
    ``R^k`` (a zero appended, inner products unchanged) and extended greedily by ``tries``
    uniform random unit vectors of ``R^k`` (numpy's PCG64 seeded by ``key`` and ``k``), each kept
    if its inner product with every kept word is at most ``max_inner``. The code of ``R^d``
    therefore contains the code of every smaller dimension (the same ``key``): its size is
    non-decreasing in d, and its first word is ``e_1``.

    Args:
      key: PRNG key.
      d: the dimension (``>= 2``).
      max_inner: the largest allowed inner product, in ``[0, 1)`` (1/2: distances ``>= 1``).
      max_responses: the cap on the code's size (``>= 2``).
      tries: random candidates per dimension (``>= 1``).

    Returns:
      ``[M, d]`` the code words (float64), ``M <= max_responses``.

    Raises:
      ValueError: on ``d < 2``, ``max_inner`` outside ``[0, 1)``, ``max_responses < 2`` or
        ``tries < 1``.
    """
    d = v.check_positive_int("d", d, minimum=2)
    max_responses = v.check_positive_int("max_responses", max_responses, minimum=2)
    tries = v.check_positive_int("tries", tries)
    max_inner = v.check_at_least("max_inner", max_inner, 0.0)
    if not max_inner < 1.0:
        raise ValueError(f"`max_inner` must lie in [0, 1); got {max_inner}")
    seed = [int(w) for w in np.asarray(jax.random.key_data(key)).ravel()]
    kept = np.array([[1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])  # e_1 and a word at inner product exactly 1/2
    chunk = 512
    for k in range(2, d + 1):
        if k > 2:
            kept = np.concatenate([kept, np.zeros((kept.shape[0], 1))], axis=1)
        if kept.shape[0] >= max_responses:
            continue
        cands = np.random.default_rng([*seed, k]).standard_normal((tries, k))
        cands /= np.linalg.norm(cands, axis=1, keepdims=True)
        for start in range(0, tries, chunk):
            block = cands[start:start + chunk]
            block = block[(block @ kept.T).max(axis=1) <= max_inner]
            new: list[np.ndarray] = []
            for c in block:
                if new and float(np.max(np.asarray(new) @ c)) > max_inner:
                    continue
                new.append(c)
                if kept.shape[0] + len(new) >= max_responses:
                    break
            if new:
                kept = np.concatenate([kept, np.asarray(new)])
            if kept.shape[0] >= max_responses:
                break
    return kept


def sphere_separation(key: jax.Array, d: int, *, radius: float = 1.0, max_responses: int = 1024):
    """Example J.1: ``(problem, features)`` with ``features: [1, Y, d]``.

    The responses are :func:`nested_spherical_code` ``(key, d)`` (pairwise inner products
    ``<= 1/2``, ``|Y|`` non-decreasing in d), ``y* = e_1`` (response 0) and ``θ* = B y*``.

    Args:
      key: PRNG key (the code).
      d: feature dimension (``>= 2``).
      radius: ``B = ‖θ*‖`` (default 1, the separating regime); the margin is at least
        ``e^{B/2} - 1``.
      max_responses: cap on ``|Y|`` (the code would otherwise grow like ``exp(Θ(d))``).

    Returns:
      ``problem`` (one prompt, ``π_base ∝ exp(⟨φ(y), θ*⟩)``) and ``features``.

    Raises:
      ValueError: on ``d < 2``, a non-positive ``radius`` or ``max_responses < 2``.
    """
    d = v.check_positive_int("d", d, minimum=2)
    radius = v.check_positive("radius", radius)
    code = nested_spherical_code(key, d, max_responses=max_responses)
    theta = radius * code[0]
    logits = code @ theta
    policy = TabularPolicy(jax.nn.log_softmax(jnp.asarray(logits[None, :], dtype=_float()), axis=-1))
    problem = Problem(policy, jnp.ones((1,), dtype=_float()))
    return problem, jnp.asarray(code[None], dtype=_float())
