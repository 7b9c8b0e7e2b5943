"""Problems with an exact margin: a planted runner-up at ``π(y*)/(1 + γ_margin)`` on every prompt.

:func:`planted_runner_up` builds the instance on which Thm 4.2's margin dependence can be
measured: the margin of Assumption 4.2 is exactly the one requested on every prompt (not merely a
lower bound, as with :func:`sharpsim.problems.with_coverage`), and the coverage is
``C_cov = 1/top_prob`` whatever the margin, so a sweep over the margin changes nothing else that
the theorem names. Its feasible range is :func:`runner_up_range`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.policies import TabularPolicy
from sharpsim.problems.core import Problem, _prompt_probs

__all__ = ["planted_runner_up", "runner_up_range"]


def runner_up_range(num_responses: int, margin: float) -> tuple[float, float]:
    """The open interval of ``top_prob`` for which :func:`planted_runner_up` is feasible.

    With ``t = top_prob``, the runner-up has ``t/(1+γ)`` and the other ``|Y| − 2`` responses share
    ``R = 1 − t − t/(1+γ)``, each strictly below the runner-up. That needs ``R > 0`` and
    ``R/(|Y| − 2) < t/(1+γ)``, i.e. ``(1+γ)/(|Y|+γ) < t < (1+γ)/(2+γ)``.

    Args:
      num_responses: ``|Y| >= 3``.
      margin: ``γ > 0``.

    Returns:
      ``(low, high)``, both excluded.

    Raises:
      ValueError: on ``num_responses < 3`` or a margin that is not a finite positive number.
    """
    num_responses = v.check_positive_int("num_responses", num_responses, minimum=3)
    margin = v.check_positive("margin", margin)
    return (1.0 + margin) / (num_responses + margin), (1.0 + margin) / (2.0 + margin)


def planted_runner_up(
    key: jax.Array, num_prompts: int, num_responses: int, *, top_prob: float, margin: float, prompt_probs=None
) -> Problem:
    """A tabular problem with ``π(y*|x) = top_prob`` and a runner-up at exactly ``top_prob/(1 + margin)``.

    On every prompt: ``y*`` at a random position with ``top_prob``; one runner-up, at another
    random position, with ``top_prob/(1 + margin)``; the other ``|Y| − 2`` responses share the rest
    with random (Dirichlet) weights mixed towards uniform just enough that each stays strictly
    below the runner-up (at most halfway between the rest's mean and the runner-up). So
    ``sharpsim.margin(problem) == margin`` (up to float64 rounding) and ``C_cov = 1/top_prob``.

    Args:
      key: PRNG key.
      num_prompts: ``|X| >= 1``.
      num_responses: ``|Y| >= 3``.
      top_prob: ``π_base(y*|x)``, in the open interval :func:`runner_up_range`.
      margin: ``γ_margin > 0`` (Assumption 4.2), exact.
      prompt_probs: μ (uniform when omitted).

    Returns:
      The :class:`Problem`.

    Raises:
      ValueError: on a bad size or margin, or a ``top_prob`` outside the feasible range (stated
        in the message).
    """
    num_prompts = v.check_positive_int("num_prompts", num_prompts)
    lo, hi = runner_up_range(num_responses, margin)
    top_prob = v.check_open_unit_interval("top_prob", top_prob)
    if not lo < top_prob < hi:
        raise ValueError(
            f"`top_prob` must lie in the open interval ({lo:.6g}, {hi:.6g}) = ((1+γ)/(|Y|+γ), (1+γ)/(2+γ)) "
            f"for num_responses = {num_responses} and margin = {margin:g} (the runner-up at top_prob/(1+γ) "
            f"and the other responses strictly below it must fit in the remaining mass); got {top_prob:g}"
        )
    mu = _prompt_probs(prompt_probs, num_prompts)
    second = top_prob / (1.0 + margin)
    rest = 1.0 - top_prob - second
    k_rest = num_responses - 2
    k_perm, k_w = jax.random.split(key)
    w = np.asarray(jax.random.dirichlet(k_w, jnp.ones(k_rest), shape=(num_prompts,)), np.float64)
    mean, cap = rest / k_rest, 0.5 * (rest / k_rest + second)
    top_w = rest * w.max(axis=1)
    lam = np.where(top_w > cap, (top_w - cap) / np.maximum(top_w - mean, 1e-300), 0.0)
    w = (1.0 - lam[:, None]) * w + lam[:, None] / k_rest
    w = w / w.sum(axis=1, keepdims=True)
    rows = np.concatenate([np.full((num_prompts, 1), top_prob), np.full((num_prompts, 1), second), rest * w], axis=1)
    perm = np.asarray(jax.vmap(lambda k: jax.random.permutation(k, num_responses))(jax.random.split(k_perm, num_prompts)))
    probs = np.empty_like(rows)
    np.put_along_axis(probs, perm, rows, axis=1)
    return Problem(TabularPolicy(jnp.log(jnp.asarray(probs))), jnp.asarray(mu))
