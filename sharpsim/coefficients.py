"""Exact coefficients of the theory (Huang et al., ICLR 2025): coverage (Eq 6), margin
(Assumption 4.2), concentrability (Eq 9), ``R_max`` (Assumption 4.5).

All functions take a :class:`~sharpsim.problems.Problem` (an autoregressive base is enumerated,
within the enumeration limit) and return Python floats. Expectations over ``x ~ μ`` ignore
prompts with ``μ(x) = 0``; sums are taken in log space.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from sharpsim import _validation as v
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.problems import Problem, as_tabular_base

__all__ = [
    "adaptive_coverage",
    "argmax_mass",
    "concentrability",
    "coverage",
    "margin",
    "power_concentrability",
    "r_max",
]


def as_policy(problem: Problem, policy, name: str = "policy") -> TabularPolicy:
    """Coerces ``policy`` (a policy or a ``[X, Y]`` probability array) to a table matching
    ``problem``'s shape."""
    if isinstance(policy, AutoregressivePolicy):
        policy = policy.to_tabular()
    elif not isinstance(policy, TabularPolicy):
        try:
            policy = TabularPolicy.from_probs(policy)
        except ValueError as err:
            raise ValueError(str(err).replace("`probs`", f"`{name}`")) from None
    base_shape = (problem.num_prompts, problem.num_responses)
    if tuple(policy.log_probs.shape) != base_shape:
        raise ValueError(
            f"`{name}` has shape {tuple(policy.log_probs.shape)} but the problem has "
            f"[num_prompts, num_responses] = {list(base_shape)}"
        )
    return policy


def _log_mu(problem: Problem) -> jax.Array:
    return jnp.log(problem.prompt_probs)


def _support(problem: Problem) -> jax.Array:
    return problem.prompt_probs > 0


def argmax_mass(problem: Problem, *, gamma: float = 0.0, policy=None) -> jax.Array:
    """``[num_prompts]`` ``log π(y^π_γ(x) | x)`` — the log-mass a model puts on its own
    γ-approximate arg-max set (``π = π_base`` when ``policy`` is omitted)."""
    gamma = v.check_unit_interval("gamma", gamma)
    model = as_tabular_base(problem) if policy is None else as_policy(problem, policy)
    mask = model.argmax_set(gamma)
    return logsumexp(jnp.where(mask, model.log_probs, -jnp.inf), axis=-1)


def coverage(problem: Problem, *, gamma: float = 0.0, p: float = 1, policy=None) -> float:
    """The coverage coefficient ``C_cov,γ,p`` (Eq 6 and its γ-, p-versions).

    ``C_cov,γ,p(π) = (E_{x~μ}[π(y^π_γ(x)|x)^{-p}])^{1/p}`` with ``y^π_γ`` the γ-approximate
    arg-max set of ``π``; ``π = π_base`` by default, so ``coverage(problem)`` is ``C_cov``.

    Args:
      problem: the problem (gives μ and, by default, π).
      gamma: approximation level in [0, 1).
      p: moment, ``p >= 1``.
      policy: optional model π (policy or ``[X, Y]`` probabilities) whose coverage to report.
    """
    p = v.check_at_least("p", p, 1.0)
    log_mass = argmax_mass(problem, gamma=gamma, policy=policy)
    sup = _support(problem)
    terms = jnp.where(sup, _log_mu(problem) - p * log_mass, -jnp.inf)
    return float(jnp.exp(logsumexp(terms) / p))


def adaptive_coverage(problem: Problem) -> float:
    """``C̄_cov = E_{x~μ}[1 / max_y π_base(y|x)]`` (App D; the adaptive algorithm's coefficient)."""
    base = as_tabular_base(problem)
    terms = jnp.where(_support(problem), _log_mu(problem) - base.max_log_prob(), -jnp.inf)
    return float(jnp.exp(logsumexp(terms)))


def margin(problem: Problem) -> float:
    """The largest ``γ_margin`` of Assumption 4.2.

    ``max_y π_base(y|x) >= (1 + γ) π_base(y'|x)`` for all ``y' ∉ y*(x)`` and x in the support
    of μ; the largest such γ is ``min_x (max_y π / max_{y' ∉ y*} π) - 1``. ``inf`` when no
    prompt has a response outside its arg-max set (or all such responses have probability 0).
    """
    base = as_tabular_base(problem)
    mask = base.argmax_set(0.0)
    top = base.max_log_prob()
    second = jnp.max(jnp.where(mask, -jnp.inf, base.log_probs), axis=-1)
    gap = jnp.where(_support(problem), top - second, jnp.inf)
    return float(jnp.expm1(jnp.min(gap)))


def concentrability(problem: Problem, policy) -> float:
    """``C_π = E_{x~μ, y~π}[π(y|x) / π_base(y|x)]`` (Eq 9). ``inf`` if π leaves π_base's support."""
    pi = as_policy(problem, policy)
    base = as_tabular_base(problem)
    return _power_ratio(problem, pi, base, 1.0)


def power_concentrability(problem: Problem, policy, reference, *, beta: float) -> float:
    """``C_{π/π';β} = E_{x~μ, y~π}[(π(y|x) / π'(y|x))^β]`` (Eq 9), ``π = policy``, ``π' = reference``."""
    beta = v.check_positive("beta", beta)
    pi = as_policy(problem, policy)
    ref = as_policy(problem, reference, "reference")
    return _power_ratio(problem, pi, ref, beta)


def _power_ratio(problem: Problem, pi: TabularPolicy, ref: TabularPolicy, beta: float) -> float:
    lp, lr = pi.log_probs, ref.log_probs
    inner = jnp.where(lp == -jnp.inf, -jnp.inf, (1.0 + beta) * lp - beta * lr)
    per_x = logsumexp(inner, axis=-1)
    terms = jnp.where(_support(problem), _log_mu(problem) + per_x, -jnp.inf)
    return float(jnp.exp(logsumexp(terms)))


def r_max(problem: Problem) -> float:
    """``R_max = max_{x ∈ supp μ, y} log(1/π_base(y|x))`` (Assumption 4.5); ``inf`` if some
    ``π_base(y|x) = 0``."""
    base = as_tabular_base(problem)
    worst = -jnp.min(base.log_probs, axis=-1)
    return float(np.max(np.asarray(jnp.where(_support(problem), worst, -jnp.inf))))
