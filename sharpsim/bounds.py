"""The paper's guarantees, one function per result, every hidden constant a parameter.

Each function cites the result it implements. Constants hidden by ``≲`` in the paper are
keyword arguments named ``constant`` (default 1) and are shown in figure legends.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.coefficients import argmax_mass
from sharpsim.problems import Problem

__all__ = ["bon_inference", "bon_inference_guarantee"]


def bon_inference(problem: Problem, *, rho: float, gamma: float = 0.0, constant: float = 1.0) -> np.ndarray:
    """Prop C.1: the number of draws after which inference-time BoN succeeds w.p. ``>= 1 - ρ``.

    If ``N >= log(1/ρ) / π_base(y*_γ(x)|x)`` then the best of N draws lies in ``y*_γ(x)`` with
    probability at least ``1 - ρ`` (because ``(1 - p)^N <= e^{-Np}``). Prop C.1 is sharp
    (``constant = 1``); the parameter is kept for uniformity with the other bounds.

    Returns:
      ``[num_prompts]`` float array: ``constant · log(1/ρ) / π_base(y*_γ(x)|x)`` per prompt.
    """
    rho = v.check_open_unit_interval("rho", rho)
    constant = v.check_positive("constant", constant)
    log_mass = argmax_mass(problem, gamma=gamma)
    return np.asarray(constant * jnp.log(1.0 / rho) * jnp.exp(-log_mass))


def bon_inference_guarantee(problem: Problem, N, *, gamma: float = 0.0) -> float:
    """Prop C.1 read the other way: ``P_{x~μ}[BoN_N pick ∈ y*_γ(x)] >= E_μ[1 - e^{-N π_base(y*_γ(x)|x)}]``.

    ``N`` is a number of draws (``>= 1``); the right-hand side is returned.
    """
    N = v.check_at_least("N", N, 1.0)
    mass = jnp.exp(argmax_mass(problem, gamma=gamma))
    return float(jnp.sum(problem.prompt_probs * -jnp.expm1(-N * mass)))
