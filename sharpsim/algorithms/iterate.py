"""Iterated self-improvement: each round's sharpened policy becomes the next round's base.

Huang et al. (ICLR 2025) analyse one round of sharpening (Sec 2): the self-reward is
``log π_base`` and the target is the arg-max ``y*(x)`` of ``π_base``. Iterating asks what
happens when the output ``π_t`` is used as ``π_base`` of round ``t + 1`` (its own self-reward
``log π_t``), with the prompt distribution μ and the correctness set ``C(x)``
(``Problem.correct``) unchanged. Two exact facts (``theory/iterated_self_improvement.md``):

* the best-of-N law preserves the order of responses by probability, so ``k`` rounds of BoN_N
  are one round of BoN_{N^k};
* ``π*_β ∝ π^{1+1/β}`` (Eq 3), so ``k`` rounds of π*_β are ``π ∝ π_base^{(1+1/β)^k}``.

Neither can move mass from a wrong arg-max to a correct runner-up: rounds only sharpen towards
``y*(x)`` of the original base.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax

from sharpsim import _validation as v
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.problems import Problem

__all__ = ["IterateResult", "bon_step", "iterate", "kl_step", "sft_step"]

#: ``step(key, problem) -> policy``: one round of self-improvement on ``problem`` (its base is the
#: current policy); returns a :class:`TabularPolicy` or :class:`AutoregressivePolicy` of the
#: problem's shape, or any result with a ``policy`` attribute (e.g. an SFT result).
Step = Callable[[jax.Array, Problem], object]


@dataclasses.dataclass(frozen=True)
class IterateResult:
    """The rounds of :func:`iterate`.

    Attributes:
      policies: ``rounds + 1`` policies: ``policies[0]`` is the original base, ``policies[t]`` the
        output of round ``t``.
      problems: ``rounds + 1`` problems: ``problems[t]`` has ``policies[t]`` as its base and the
        original μ and ``correct``; ``problems[0]`` is the input problem.
      num_queries: ``[rounds]`` the queries each round charged, where its step's result reports
        ``num_queries`` (e.g. SFT), else ``None`` (exact laws query nothing).
    """

    policies: list
    problems: list
    num_queries: list


def iterate(key: jax.Array, problem: Problem, step: Step, *, rounds: int) -> IterateResult:
    """Runs ``rounds`` rounds of self-improvement, each on the previous round's output.

    Round ``t`` calls ``step(key_t, problem_{t-1})`` where ``problem_{t-1}`` has the previous
    policy as its base and the same μ and ``correct`` as ``problem`` (when ``problem.correct`` is
    ``None`` the correct set stays the *original* base's arg-max, fixed here as an explicit mask,
    so later rounds are scored against the same answers). ``key_t`` is the t-th of
    ``jax.random.split(key, rounds)``.

    Args:
      key: PRNG key.
      problem: the problem of round 1 (its base is ``π_base``).
      step: one round, ``step(key, problem) -> policy`` (see :data:`Step`); ready ones are
        :func:`bon_step`, :func:`kl_step` and :func:`sft_step`.
      rounds: the number of rounds, ``>= 1``.

    Returns:
      An :class:`IterateResult`.

    Raises:
      TypeError: if ``problem`` is not a Problem, ``step`` is not callable, or a step returns no
        policy.
      ValueError: if ``rounds < 1`` or a step returns a policy of another shape.
    """
    from sharpsim.problems.core import correct_set

    if not isinstance(problem, Problem):
        raise TypeError(f"`problem` must be a sharpsim Problem; got {type(problem).__name__}")
    if not callable(step):
        raise TypeError(f"`step` must be callable as step(key, problem) -> policy; got {type(step).__name__}")
    rounds = v.check_positive_int("rounds", rounds)
    if problem.correct is None:  # fix the original arg-max as the answer key
        problem = Problem(problem.base, problem.prompt_probs, correct_set(problem))
    keys = jax.random.split(key, rounds)
    policies, probs, queries = [problem.base], [problem], []
    for t in range(rounds):
        out = step(keys[t], probs[-1])
        policy = getattr(out, "policy", out)
        if not isinstance(policy, (TabularPolicy, AutoregressivePolicy)):
            raise TypeError(f"`step` must return a policy (or a result with `.policy`); got {type(out).__name__}")
        nq = getattr(out, "num_queries", None)
        queries.append(None if nq is None else int(nq))
        try:
            probs.append(probs[-1].with_base(policy))
        except ValueError as err:
            raise ValueError(f"round {t + 1}: `step` returned a policy of another shape: {err}") from None
        policies.append(policy)
    return IterateResult(policies, probs, queries)


def bon_step(N) -> Step:
    """The exact best-of-N law as a round: ``step(key, problem) = bon_law(problem, N)`` (key unused).

    Args:
      N: draws per prompt, an integer ``>= 1``.

    Raises:
      TypeError, ValueError: if ``N`` is not an integer ``>= 1``.
    """
    from sharpsim.laws import bon_law

    N = v.check_positive_int("N", N)
    return lambda key, problem: bon_law(problem, N)


def kl_step(beta: float) -> Step:
    """The exact KL-regularised optimum as a round: ``π*_β ∝ π^{1+1/β}`` (Eq 3; key unused).

    Args:
      beta: β > 0.

    Raises:
      ValueError: unless β is a finite number > 0.
    """
    from sharpsim.laws import kl_regularized_optimum

    beta = v.check_positive("beta", beta)
    return lambda key, problem: kl_regularized_optimum(problem, beta)


def sft_step(*, n: int, N: int, smoothing: float = 0.0) -> Step:
    """SFT-Sharpening (Sec 2.1) with the tabular class as a round: ``n`` BoN_N picks, then the MLE.

    The class is :class:`sharpsim.classes.TabularClass` (empirical frequencies plus ``smoothing``);
    with ``smoothing = 0`` a response never picked gets probability 0 in the next base, so the
    support can only shrink from round to round.

    Args:
      n: prompts per round.
      N: draws per prompt.
      smoothing: add-λ pseudo-counts of the MLE, ``>= 0``.

    Returns:
      A step returning the :class:`~sharpsim.algorithms.SFTResult` (its ``policy`` is used).

    Raises:
      TypeError, ValueError: on a non-positive ``n`` or ``N`` or a negative ``smoothing``.
    """
    from sharpsim import classes
    from sharpsim.algorithms.sft import sft_sharpening

    n = v.check_positive_int("n", n)
    N = v.check_positive_int("N", N)
    smoothing = v.check_at_least("smoothing", smoothing, 0.0)

    def step(key, problem):
        return sft_sharpening(key, problem, classes.TabularClass(smoothing=smoothing), n=n, N=N)

    return step
