"""A flawed self-verifier: problems whose base arg-max is wrong on a chosen number of prompts.

The paper (Huang et al., ICLR 2025, Sec 2) takes the arg-max set ``y*(x)`` of ``π_base`` to be
the right answer: the self-reward ``log π_base`` is then a perfect verifier, and sharpening can
only help. :func:`flawed_verifier` breaks that on purpose. A :class:`~sharpsim.problems.Problem`
carries a correctness mask ``C(x)`` (``Problem.correct``); on ``wrong_prompts`` prompts the
correct answer is a response other than the arg-max, holding a chosen fraction of the arg-max's
mass. Sharpening then concentrates on the wrong answer there (see ``theory/iterated_self_improvement.md``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float
from sharpsim.problems.core import Problem
from sharpsim.problems.coverage import _capped_fill, _construction_gap, with_coverage

__all__ = ["flawed_verifier"]


def flawed_verifier(
    key: jax.Array,
    num_prompts: int,
    num_responses: int,
    coverage: float,
    *,
    wrong_prompts: int,
    correct_ratio: float = 0.5,
    margin: float = 0.0,
    prompt_probs=None,
) -> Problem:
    """A :func:`~sharpsim.problems.with_coverage` problem whose arg-max is wrong on ``wrong_prompts`` prompts.

    The base is :func:`~sharpsim.problems.with_coverage` (homogeneous: ``π_base(y*(x)|x) = 1/coverage``
    on every prompt, a unique arg-max, margin at least ``margin``). On ``wrong_prompts`` prompts
    chosen uniformly at random, the correct set ``C(x)`` is one other response ``y_c`` chosen
    uniformly among the non-arg-maxes, given mass ``π_base(y_c|x) = correct_ratio · π_base(y*(x)|x)``;
    the remaining non-arg-max mass is refilled (same random weights, same cap) so the row stays a
    distribution with the same arg-max, coverage and margin. On every other prompt ``C(x) = y*(x)``.

    Args:
      key: PRNG key.
      num_prompts: ``|X|``.
      num_responses: ``|Y| >= 2``.
      coverage: ``C_cov`` (Eq 6) of the base, in :func:`~sharpsim.problems.coverage_range`.
      wrong_prompts: the number of prompts whose arg-max is wrong, in ``[0, num_prompts]``.
      correct_ratio: ``π_base(y_c|x) / π_base(y*(x)|x)`` on a wrong prompt, in
        ``(0, 1/(1+γ')]`` with ``γ' = max(margin, 1e-6)(1 + 1e-9)`` (so ``y_c`` stays below the
        arg-max by the margin).
      margin: a lower bound on the base's margin (Assumption 4.2).
      prompt_probs: μ (uniform when omitted).

    Returns:
      A :class:`~sharpsim.problems.Problem` with a tabular base and ``correct`` set.

    Raises:
      ValueError: on an infeasible coverage, a ``wrong_prompts`` outside ``[0, num_prompts]``,
        a ``correct_ratio`` outside its range, or a coverage too small to give ``y_c`` that mass
        (``correct_ratio / coverage`` must not exceed ``1 − 1/coverage``, and the rest must fit
        under the cap: ``1 − (1 + correct_ratio)/coverage <= (|Y| − 2)/(coverage (1+γ'))``).
    """
    X = v.check_positive_int("num_prompts", num_prompts)
    Y = v.check_positive_int("num_responses", num_responses, minimum=2)
    W = v.check_positive_int("wrong_prompts", wrong_prompts, minimum=0)
    if W > X:
        raise ValueError(f"`wrong_prompts` must lie in [0, num_prompts = {X}]; got {W}")
    gap = _construction_gap(v.check_at_least("margin", margin, 0.0))
    s = v.check_positive("correct_ratio", correct_ratio)
    if s > 1.0 / (1.0 + gap):
        raise ValueError(f"`correct_ratio` must lie in (0, 1/(1+margin')] = (0, {1.0 / (1.0 + gap):.12g}]; got {s}")
    k_base, k_wrong, k_pick = jax.random.split(key, 3)
    base = with_coverage(k_base, X, Y, coverage, margin=margin, prompt_probs=prompt_probs)
    probs = np.array(base.probs, dtype=np.float64)
    star = np.argmax(probs, axis=1)
    correct = np.zeros((X, Y), dtype=bool)
    correct[np.arange(X), star] = True
    if W == 0:
        return Problem(base.base, base.prompt_probs, jnp.asarray(correct))
    top = probs[np.arange(X), star]
    c = 1.0 / top[0]
    rest = 1.0 - (1.0 + s) * top[0]
    if rest < -1e-12 or rest > (Y - 2) * top[0] / (1.0 + gap) * (1 + 1e-12):
        raise ValueError(
            f"`correct_ratio` = {s:g} is infeasible with coverage = {c:g} and num_responses = {Y}: the other "
            f"responses must hold 1 - (1 + correct_ratio)/coverage = {rest:g}, which must lie in "
            f"[0, (num_responses - 2)/(coverage (1 + margin'))]"
        )
    wrong = np.sort(np.asarray(jax.random.choice(k_wrong, X, (W,), replace=False)))
    # y_c: uniform among the non-arg-maxes of each wrong prompt
    offsets = np.asarray(jax.random.randint(k_pick, (W,), 1, Y))
    picks = (star[wrong] + offsets) % Y
    for row, x in enumerate(wrong):
        others = np.ones(Y, dtype=bool)
        others[[star[x], picks[row]]] = False
        if Y > 2:
            w = probs[x, others][None, :]
            probs[x, others] = _capped_fill(w, np.array([max(rest, 0.0)]), np.array([top[x] / (1.0 + gap)]))[0]
        probs[x, picks[row]] = s * top[x]
        correct[x] = False
        correct[x, picks[row]] = True
    probs /= probs.sum(axis=1, keepdims=True)  # float64 rounding only
    policy = TabularPolicy(jnp.log(jnp.asarray(probs, dtype=_float())))
    return Problem(policy, base.prompt_probs, jnp.asarray(correct))
