"""The hard family of App H behind the lower bounds of Thm 3.1 (and Thm 3.1′, Thm D.2).

A random member ``π^I`` of a product class ``Π = {π^I : I ∈ [M]^d}`` on ``d`` hard prompts of
total μ-mass ``Δ``; any algorithm in the sample-and-evaluate framework (Def 3.2) needs
``m ≳ C log|Π| / ε²`` queries to sharpen it.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.classes.finite import ProductClass
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float
from sharpsim.problems.core import Problem

__all__ = ["LEMMA_H3_MIN_M", "LowerBoundInstance", "hard_conditionals", "lower_bound_family"]

#: Lemma H.3 (the sample-and-evaluate lower bound) holds for ``M >= 8`` (Lemma H.4, the adaptive
#: one, for ``M >= 6``); :func:`lower_bound_family` never builds a smaller family.
LEMMA_H3_MIN_M = 8


@dataclasses.dataclass(frozen=True)
class LowerBoundInstance:
    """A member of the App H family and its class.

    Attributes:
      problem: the member ``π^I`` with its prompt distribution μ.
      model_class: the product class ``Π = {π^I : I ∈ [M]^d}`` (``log|Π| = d log M``).
      index: ``[d]`` the hidden indices ``I = (j_1, ..., j_d)`` (1-based, as in the paper).
      mass: ``Δ``, the total μ-mass of the d hard prompts.
      M: number of candidate responses per hard prompt (``|Y| = M + 1``).
      log_size: ``log|Π| = d log M``.
      gamma: the approximation level of the construction (1/2).
    """

    problem: Problem
    model_class: ProductClass
    index: np.ndarray
    mass: float
    M: int
    log_size: float
    gamma: float = 0.5


def hard_conditionals(M: int, gamma: float = 0.5) -> np.ndarray:
    """``[M + 1, M + 1]`` rows ``P_0, P_1, ..., P_M`` over ``Y = {y0, y1, ..., yM}``.

    ``P_0 = δ_{y0}``; ``P_i`` puts ``1/((1-γ)M)`` on ``y_i`` and
    ``(1/M)(1 - γ/((M-1)(1-γ)))`` on every other ``y_j``, ``j ∈ [M]``.

    Args:
      M: the number of candidate responses (an integer ``>= 2``).
      gamma: γ ∈ (0, 1) with ``γ <= (M − 1)(1 − γ)`` (so that the off-arg-max mass is ``>= 0``).

    Returns:
      The rows as a float array.

    Raises:
      ValueError: on ``M < 2``, γ outside (0, 1), or a γ too large for ``M``.
    """
    M = v.check_positive_int("M", M, minimum=2)
    gamma = v.check_open_unit_interval("gamma", gamma)
    if gamma > (M - 1) * (1.0 - gamma):
        raise ValueError(f"`gamma` = {gamma:g} is too large for M = {M}: the rows need γ <= (M - 1)(1 - γ)")
    P = np.zeros((M + 1, M + 1))
    P[0, 0] = 1.0
    other = (1.0 / M) * (1.0 - gamma / ((M - 1) * (1.0 - gamma)))
    P[1:, 1:] = other
    P[np.arange(1, M + 1), np.arange(1, M + 1)] = 1.0 / ((1.0 - gamma) * M)
    return P


def lower_bound_family(
    key: jax.Array,
    *,
    d: int,
    C: float,
    eps: float,
    p: float = 1,
    mass_constant: float = 16.0,
    size_constant: float = 1.0,
) -> LowerBoundInstance:
    """A random member of the App H hard family, with its product class.

    ``X = {x0, x1..xd}``, ``Y = {y0, y1..yM}``; ``μ = (1-Δ) δ_{x0} + (Δ/d) Σ_i δ_{xi}``;
    ``π^I(x0) = P_0`` and ``π^I(xi) = P_{j_i}`` with ``I`` uniform on ``[M]^d``; ``γ = 1/2``.
    The proof's choices: ``Δ = mass_constant · ε`` (16ε) and
    ``M = max(8, ⌈1 + size_constant · C ε^{-1/p}⌉)`` (``M ≍ 1 + C ε^{-1/p}``; the floor
    :data:`LEMMA_H3_MIN_M` = 8 is Lemma H.3's condition ``M >= 8``, under which the lower bound
    ``m ≳ dM/Δ`` is proved — a smaller ``C ε^{-1/p}`` is raised to it, which changes ``M`` only
    by a constant factor and keeps ``C_cov,γ,p ≲ C``).

    Every member has unique γ-arg-maxes and ``C_cov,γ,p = ((1-Δ) + Δ (M/2)^p)^{1/p} ≲ C``
    (for ``p = 1`` it is about ``1 + (mass_constant/2) · size_constant · C = 1 + 8C`` with the
    defaults: the constant hidden by ``≲``).

    No member puts more than ``2/M`` on a hard prompt's arg-max, so SFT-Sharpening must fit the
    BoN closure ``classes.bon_closure(instance.model_class, N)`` (Assumption 4.1), whose members
    can be sharpened.

    Args:
      key: PRNG key (the hidden index ``I``).
      d: the number of hard prompts (``>= 1``).
      C: the coverage level (``>= 1``).
      eps: the target error ε ∈ (0, 1/mass_constant).
      p: the moment of the coverage coefficient (``>= 1``).
      mass_constant: ``Δ/ε`` (default 16, the proof's).
      size_constant: the constant in ``M ≍ 1 + C ε^{-1/p}`` (default 1).

    Returns:
      A :class:`LowerBoundInstance`.

    Raises:
      ValueError: unless ``d >= 1``, ``C >= 1``, ``p >= 1`` and ``0 < Δ = mass_constant·ε < 1``.
    """
    d = v.check_positive_int("d", d)
    C = v.check_at_least("C", C, 1.0)
    eps = v.check_open_unit_interval("eps", eps)
    p = v.check_at_least("p", p, 1.0)
    mass_constant = v.check_positive("mass_constant", mass_constant)
    size_constant = v.check_positive("size_constant", size_constant)
    mass = mass_constant * eps
    if not mass < 1.0:
        raise ValueError(
            f"`eps` = {eps:g} is too large: the hard prompts' mass Δ = mass_constant·eps = {mass:g} "
            f"must be < 1, so eps < {1 / mass_constant:g}"
        )
    M = max(LEMMA_H3_MIN_M, math.ceil(1.0 + size_constant * C * eps ** (-1.0 / p)))
    P = hard_conditionals(M)
    index = np.asarray(jax.random.randint(key, (d,), 1, M + 1))
    X, Y = d + 1, M + 1
    base = np.concatenate([P[:1], P[index]], axis=0)  # [X, Y]
    mu = np.concatenate([[1.0 - mass], np.full(d, mass / d)])
    cands = np.zeros((X, M, Y))
    cands[0, :] = P[0]
    cands[1:, :, :] = P[1:][None]
    valid = np.zeros((X, M), bool)
    valid[0, 0] = True
    valid[1:, :] = True
    with np.errstate(divide="ignore"):
        problem = Problem(
            TabularPolicy(jnp.asarray(np.log(base), dtype=_float())), jnp.asarray(mu, dtype=_float())
        )
        model_class = ProductClass(log_probs=jnp.asarray(np.log(cands), dtype=_float()), valid=valid)
    return LowerBoundInstance(problem, model_class, index, float(mass), M, d * math.log(M))
