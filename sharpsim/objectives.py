"""Exact objectives of RLHF-Sharpening (Sec 2.2): J_β (Eq 3), KL, Hellinger, the Eq 8 loss.

All take a :class:`~sharpsim.problems.Problem` (μ and π_base) and policies (or ``[X, Y]``
probability arrays) and return Python floats computed from probabilities in log space. The
self-reward is ``r_self(y|x) = log π_base(y|x)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from sharpsim import _validation as v
from sharpsim.coefficients import as_policy
from sharpsim.problems import Problem, as_tabular_base

__all__ = ["hellinger", "kl_divergence", "kl_objective", "regression_loss"]


def _expect_mu(problem: Problem, per_prompt) -> float:
    sup = problem.prompt_probs > 0
    return float(jnp.sum(jnp.where(sup, problem.prompt_probs * per_prompt, 0.0)))


def _kl_rows(lp, lq):
    """``[X]`` ``KL(p‖q)`` per row from log-probabilities (``0 log 0 = 0``; ``inf`` off-support)."""
    terms = jnp.where(lp == -jnp.inf, 0.0, jnp.exp(lp) * (lp - lq))
    return jnp.sum(terms, axis=-1)


def kl_divergence(problem: Problem, policy, reference) -> float:
    """``E_{x~μ}[KL(π(·|x) ‖ π'(·|x))]`` with ``π = policy``, ``π' = reference``; ``inf`` when π
    puts mass where π' has none."""
    p = as_policy(problem, policy)
    q = as_policy(problem, reference, "reference")
    return _expect_mu(problem, _kl_rows(p.log_probs, q.log_probs))


def hellinger(problem: Problem, policy, reference) -> float:
    """``E_{x~μ}[D²_H(π(·|x), π'(·|x))]`` with ``D²_H(p, q) = Σ_y (√p(y) − √q(y))²`` (in [0, 2])."""
    p = as_policy(problem, policy)
    q = as_policy(problem, reference, "reference")
    bc = jnp.exp(logsumexp(0.5 * (p.log_probs + q.log_probs), axis=-1))  # Bhattacharyya coefficient
    return _expect_mu(problem, 2.0 - 2.0 * bc)


def kl_objective(problem: Problem, policy, beta: float) -> float:
    """The KL-regularised objective of Eq 3 with the self-reward, exactly:

        J_β(π) = E_{x~μ}[ E_{y~π}[log π_base(y|x)] − β KL(π(·|x) ‖ π_base(·|x)) ].

    Its maximiser is ``π*_β ∝ π_base^{1+1/β}`` (:func:`sharpsim.kl_regularized_optimum`) and
    ``J_β(π*_β) − J_β(π) = β KL(π ‖ π*_β)``. ``-inf`` when π leaves π_base's support.
    """
    beta = v.check_positive("beta", beta)
    p = as_policy(problem, policy)
    return float(kl_objective_of_table(problem, p.log_probs, beta))


def kl_objective_of_table(problem: Problem, log_probs, beta) -> jax.Array:
    """:func:`kl_objective` of a ``[X, Y]`` log-probability table, as a traceable scalar (no
    argument checks; for use inside ``jit``/``vmap``, e.g. by XPO's output selection)."""
    lb = as_tabular_base(problem).log_probs
    reward = jnp.sum(jnp.where(log_probs == -jnp.inf, 0.0, jnp.exp(log_probs) * lb), axis=-1)
    per_x = reward - beta * _kl_rows(log_probs, lb)
    return jnp.sum(jnp.where(problem.prompt_probs > 0, problem.prompt_probs * per_x, 0.0))


def regression_loss(problem: Problem, policy, beta: float) -> float:
    """The population version of the Eq 8 square loss, exactly:

        L_β(π) = E_{x~μ} E_{y, y' ~ π_base}[ (β log(π(y|x)/π_base(y|x)) − β log(π(y'|x)/π_base(y'|x))
                                              − (r(y|x) − r(y'|x)))² ]

    with ``r = log π_base``. Writing ``f = β log π − (1 + β) log π_base``, the inner term is
    ``(f(y) − f(y'))²``, whose expectation over two independent draws is ``2 Var_{π_base}(f)``;
    it is 0 exactly at ``π*_β`` (where ``f`` is constant), so ``π*_β`` minimises it. ``inf`` if π
    gives zero mass to a response π_base can draw.
    """
    beta = v.check_positive("beta", beta)
    p = as_policy(problem, policy)
    base = as_tabular_base(problem)
    lb = base.log_probs
    on = lb > -jnp.inf
    f = jnp.where(on, beta * p.log_probs - (1.0 + beta) * lb, 0.0)
    w = jnp.exp(lb)
    mean = jnp.sum(w * f, axis=-1, keepdims=True)
    var = jnp.sum(jnp.where(on, w * (f - mean) ** 2, 0.0), axis=-1)
    off_support = jnp.any(on & (p.log_probs == -jnp.inf), axis=-1)
    return _expect_mu(problem, jnp.where(off_support, jnp.inf, 2.0 * var))
