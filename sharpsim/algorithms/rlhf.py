"""RLHF-Sharpening by reward-regression DPO (Sec 2.2, Eq 4 / Eq 8)."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from sharpsim import _validation as v
from sharpsim import classes, oracle
from sharpsim.algorithms._buckets import bucket, is_eager, take_first
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
    max_n: int | None = None,
    bucketed: bool = True,
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
      max_n: optional static capacity; then ``n <= max_n`` may be traced and one compiled
        function serves every ``n <= max_n`` (the data are the first ``n`` triples of ``max_n``,
        the rest masked; see ``oracle.sample_triples(num_active=...)``). Outputs then have
        ``max_n`` rows (``num_draws`` 0 on the masked ones).
      bucketed: on an eager call (no argument traced) without ``max_n``, run one jitted function
        per shape bucket: ``n`` padded to the next power of two (at least 16) and masked (as with
        ``max_n``), ``n``, ``beta``, ``delta``, ``gamma`` and ``reward_noise`` traced, outputs cut
        back to ``n`` rows. Same draws and result as the unbucketed call with the same key (the
        oracle's triples nest); a loop over many ``n`` (and levels) compiles once per bucket
        instead of once per shape (:mod:`sharpsim.algorithms._buckets`). ``False``: the plain path.

    Returns:
      An :class:`RLHFResult` (``responses: [n, 2]``, ``m = 2n``).

    Raises:
      TypeError: if ``model_class`` has no ``regress`` oracle.
      ValueError: on bad ``n``, ``max_n``, ``beta``, ``delta``, ``gamma`` or ``reward_noise``,
        ``n > max_n``, or a class not defined on ``problem``.
    """
    if v.is_concrete(n):
        v.check_positive_int("n", n)
    if max_n is not None:
        max_n = v.check_positive_int("max_n", max_n)
        if v.is_concrete(n) and n > max_n:
            raise ValueError(f"`n` must be <= `max_n` = {max_n}; got {n}")
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
    if bucketed and max_n is None and is_eager(key, problem, model_class, beta, delta, gamma, reward_noise):
        out = _rlhf_in_bucket(key, problem, model_class, int(n), float(beta), float(delta), float(gamma),
                              float(reward_noise), size=bucket(n))
        return dataclasses.replace(out, prompts=take_first(out.prompts, n),
                                   responses=take_first(out.responses, n), num_draws=take_first(out.num_draws, n))
    size, active = (n, None) if max_n is None else (max_n, n)
    triples, m = oracle.sample_triples(key, problem, size, reward_noise=reward_noise, num_active=active)
    policy = model_class.regress(triples, beta)
    err = sharpening_error(problem, policy, delta=delta, gamma=gamma)
    responses = jnp.stack([triples.responses, triples.other_responses], axis=1)
    draws = jnp.full((size,), 2, m.dtype)
    if active is not None:
        draws = jnp.where(jnp.arange(size) < active, draws, 0)
    return RLHFResult(policy, m, jnp.asarray(err), triples.prompts, responses, draws)


@functools.partial(jax.jit, static_argnames=("size",))
def _rlhf_in_bucket(key, problem, model_class, n, beta, delta, gamma, reward_noise, *, size):
    return rlhf_sharpening(key, problem, model_class, n=n, beta=beta, delta=delta, gamma=gamma,
                           reward_noise=reward_noise, max_n=size, bucketed=False)
