"""RLHF-Sharpening by reward-regression DPO (Sec 2.2, Eq 4 / Eq 8)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from sharpsim import _validation as v
from sharpsim import classes, oracle
from sharpsim.algorithms.results import RLHFResult
from sharpsim.laws import sharpening_error
from sharpsim.problems import Problem

__all__ = ["rlhf_sharpening"]


def rlhf_sharpening(
    key: jax.Array,
    problem: Problem,
    model_class,
    *,
    n: int,
    beta: float,
    delta: float = 0.1,
    gamma: float = 0.0,
    reward_noise=0.0,
) -> RLHFResult:
    """RLHF-Sharpening: ``n`` prompts, two responses each from ``π_base`` (``m = 2n``), then

        π̂ = argmin_{π∈Π} Σ_i (β log(π(y_i|x_i)/π_base(y_i|x_i)) − β log(π(y'_i|x_i)/π_base(y'_i|x_i))
                             − (r(y_i|x_i) − r(y'_i|x_i)))²

    with the self-reward ``r = log π_base`` (Eq 8), solved exactly by ``model_class.regress``.
    Its population minimiser over all policies is ``π*_β ∝ π_base^{1+1/β}`` (Thm 4.2).

    With ``reward_noise = σ > 0`` the revealed rewards are ``log π_base + σ ξ`` (independent
    standard Gaussians ``ξ``, :func:`sharpsim.oracle.sample_triples`): an estimated self-reward.
    The noise does not move the population minimiser (its mean is 0) but makes the regression's
    estimate of the gap ``log(1 + γ_margin)`` between ``y*`` and the runner-up noisy, which is
    where Thm 4.2's margin dependence shows.

    Args:
      model_class: a class with a ``regress(triples, beta)``: ``classes.LinearSoftmaxClass`` (exact),
        ``classes.TabularClass`` (exact; the constants the loss leaves free anchored to the revealed
        rewards), ``classes.FiniteClass`` (enumeration) or ``classes.AutoregressiveLinearSoftmaxClass``
        (Eq 11, projected Adam; its problem's base is an ``AutoregressivePolicy`` and the triples
        hold sequences).
      n: prompts (static under ``jit``); ``beta > 0``; ``delta``, ``gamma``: the level of the
        reported exact ``error``.
      reward_noise: σ >= 0, the standard deviation of the reward noise (0: the exact self-reward;
        the same key gives the same prompts and responses at every σ).

    Returns:
      An :class:`RLHFResult` (``responses: [n, 2]``, ``m = 2n``).

    Raises:
      TypeError: if ``model_class`` has no ``regress`` oracle.
      ValueError: on bad ``n``, ``beta``, ``delta``, ``gamma`` or ``reward_noise``, or a class not
        defined on ``problem``.
    """
    if v.is_concrete(n):
        v.check_positive_int("n", n)
    if v.is_concrete(beta):
        v.check_positive("beta", beta)
    if v.is_concrete(delta, gamma):
        v.check_unit_interval("delta", delta)
        v.check_unit_interval("gamma", gamma)
    if v.is_concrete(reward_noise):
        v.check_at_least("reward_noise", reward_noise, 0.0)
    if not classes.supports(model_class, classes.RegressionClass):
        raise TypeError(
            "`model_class` must be a class with an Eq 8 regression oracle `regress` (LinearSoftmaxClass, "
            f"AutoregressiveLinearSoftmaxClass, TabularClass or FiniteClass); got {type(model_class).__name__}"
        )
    model_class = classes.bind(model_class, problem)
    triples, m = oracle.sample_triples(key, problem, n, reward_noise=reward_noise)
    policy = model_class.regress(triples, beta)
    err = sharpening_error(problem, policy, delta=delta, gamma=gamma)
    responses = jnp.stack([triples.responses, triples.other_responses], axis=1)
    return RLHFResult(policy, m, jnp.asarray(err), triples.prompts, responses, jnp.full((n,), 2, m.dtype))
