"""The problem object (Sec 2: a base policy ``π_base`` and a prompt distribution ``μ``) and its
validated constructors :func:`from_probs` / :func:`from_policy`.

Problem families built from the paper's results live beside this module in
:mod:`sharpsim.problems` (coverage-controlled, Prop 3.1, App H, Example J.1, App E).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.policies.tabular import _float


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Problem:
    """A sharpening problem: ``π_base``, ``μ`` and, optionally, which responses are correct.

    Attributes:
      base: the base policy (:class:`TabularPolicy` or :class:`AutoregressivePolicy`).
      prompt_probs: ``[num_prompts]`` the prompt distribution ``μ``.
      correct: ``None`` (the default: the correct responses of ``x`` are the base's arg-max set
        ``y*(x)``, the paper's setting, Sec 2) or a ``[num_prompts, num_responses]`` bool array
        ``C(x)`` of correct responses, which may differ from ``y*(x)`` (a flawed self-verifier:
        the self-reward ``log π_base`` then prefers a wrong response on some prompts). For an
        autoregressive base the responses are the enumerated sequences (``V^H``, in
        ``to_tabular`` order). Build it validated with :func:`from_probs` / :func:`from_policy`
        (``correct=``); the raw constructor trusts it. Read it with :func:`correct_set`.
    """

    base: TabularPolicy | AutoregressivePolicy
    prompt_probs: jax.Array
    correct: jax.Array | None = None

    @property
    def num_prompts(self) -> int:
        """``|X|``, the number of prompts."""
        return self.prompt_probs.shape[-1]

    @property
    def num_responses(self) -> int:
        """``|Y|``, the number of responses (``V^H`` for an autoregressive base)."""
        return self.base.num_responses

    @property
    def probs(self) -> jax.Array:
        """``[num_prompts, num_responses]`` ``π_base(y|x)`` (tabular bases only)."""
        if not isinstance(self.base, TabularPolicy):
            raise TypeError(
                "`problem.probs` needs a tabular base; call `problem.tabular()` to enumerate "
                "an autoregressive base first"
            )
        return self.base.probs

    def tabular(self, *, limit: int | None = None) -> Problem:
        """This problem with its base as a :class:`TabularPolicy`.

        Args:
          limit: the enumeration limit for an autoregressive base (default ``ENUMERATION_LIMIT``).

        Raises:
          ValueError: if an autoregressive base has more than ``limit`` sequences.
        """
        if isinstance(self.base, TabularPolicy):
            return self
        kwargs = {} if limit is None else {"limit": limit}
        return Problem(self.base.to_tabular(**kwargs), self.prompt_probs, self.correct)

    def with_base(self, base: TabularPolicy | AutoregressivePolicy) -> Problem:
        """This problem (same ``μ`` and ``correct``) with ``base`` as ``π_base``.

        Used to iterate self-improvement (:func:`sharpsim.algorithms.iterate`): a round's output
        becomes the next round's base, while what is correct does not change.

        Args:
          base: the new base policy, with this problem's prompts and responses.

        Raises:
          TypeError: if ``base`` is not a sharpsim policy.
          ValueError: if its numbers of prompts or responses differ from this problem's.
        """
        if not isinstance(base, (TabularPolicy, AutoregressivePolicy)):
            raise TypeError(f"`base` must be a TabularPolicy or AutoregressivePolicy; got {type(base).__name__}")
        if (base.num_prompts, base.num_responses) != (self.num_prompts, self.num_responses):
            raise ValueError(
                f"`base` has {base.num_prompts} prompts and {base.num_responses} responses; the problem has "
                f"{self.num_prompts} and {self.num_responses}"
            )
        return Problem(base, self.prompt_probs, self.correct)


def as_tabular_base(problem: Problem) -> TabularPolicy:
    """The base policy of ``problem`` as a table (enumerating if autoregressive).

    Raises:
      TypeError: if ``problem`` is not a :class:`Problem`.
      ValueError: if an autoregressive base has more sequences than the enumeration limit.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"`problem` must be a sharpsim Problem; got {type(problem).__name__}")
    return problem.tabular().base


def correct_set(problem: Problem) -> jax.Array:
    """``C(x)``: the ``[num_prompts, num_responses]`` bool mask of correct responses.

    ``problem.correct`` when set, else the base's arg-max set ``y*(x)`` (ties within
    ``TIE_RTOL``), the paper's notion of the right answer (Sec 2).

    Raises:
      TypeError: if ``problem`` is not a :class:`Problem`.
      ValueError: if an autoregressive base (without ``correct``) has more sequences than the
        enumeration limit.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"`problem` must be a sharpsim Problem; got {type(problem).__name__}")
    if problem.correct is not None:
        return jnp.asarray(problem.correct, dtype=bool)
    return as_tabular_base(problem).argmax_set(0.0)


# ------------------------------------------------------------------------------ wrapping
def from_probs(base_probs, prompt_probs=None, *, correct=None) -> Problem:
    """Builds a problem from ``base_probs: [num_prompts, num_responses]`` and ``μ``.

    Args:
      base_probs: the table ``π_base(y|x)``; rows must be distributions (tolerance 1e-6).
      prompt_probs: ``[num_prompts]`` the prompt distribution; uniform when omitted.
      correct: ``None`` (correct = the arg-max set ``y*(x)``) or a ``[num_prompts, num_responses]``
        bool array of correct responses, with at least one correct response of positive base
        probability on every prompt (see :class:`Problem`).

    Raises:
      TypeError: if ``correct`` is not a bool array.
      ValueError: on a non-distribution, on mismatched shapes, or on a prompt without a correct
        response in the base's support.
    """
    try:
        policy = TabularPolicy.from_probs(base_probs)
    except (TypeError, ValueError) as err:  # name the argument the caller passed
        raise type(err)(str(err).replace("`probs`", "`base_probs`")) from None
    return from_policy(policy, prompt_probs, correct=correct)


def from_policy(policy: TabularPolicy | AutoregressivePolicy, prompt_probs=None, *, correct=None) -> Problem:
    """Wraps an existing policy as a problem.

    Args:
      policy: a :class:`TabularPolicy` or :class:`AutoregressivePolicy`, used as ``π_base``.
      prompt_probs: ``[num_prompts]`` the prompt distribution μ; uniform when omitted.
      correct: ``None`` (correct = the arg-max set ``y*(x)``) or a ``[num_prompts, num_responses]``
        bool array (``num_responses = V^H`` for an autoregressive policy, in ``to_tabular`` order)
        with at least one correct response of positive base probability on every prompt.

    Raises:
      TypeError: if ``policy`` is not a sharpsim policy or ``correct`` not a bool array.
      ValueError: if ``prompt_probs`` is not a distribution over the policy's prompts, if
        ``correct`` has the wrong shape or leaves a prompt without a correct response in the
        support, or if checking it needs to enumerate more sequences than the enumeration limit.
    """
    if not isinstance(policy, (TabularPolicy, AutoregressivePolicy)):
        raise TypeError(
            f"`policy` must be a TabularPolicy or AutoregressivePolicy; got {type(policy).__name__}"
        )
    mu = _prompt_probs(prompt_probs, policy.num_prompts)
    if correct is not None:
        correct = _check_correct(correct, policy)
    return Problem(policy, jnp.asarray(mu, dtype=_float()), correct)


def _check_correct(correct, policy: TabularPolicy | AutoregressivePolicy) -> jax.Array:
    """Validates a correctness mask against ``policy`` (shape, dtype, a correct response in the support)."""
    arr = np.asarray(correct)
    if arr.dtype != np.bool_:
        raise TypeError(f"`correct` must be a bool array; got dtype {arr.dtype}")
    shape = (policy.num_prompts, policy.num_responses)
    if arr.shape != shape:
        raise ValueError(f"`correct` must have shape [num_prompts, num_responses] = {list(shape)}; got {list(arr.shape)}")
    table = policy if isinstance(policy, TabularPolicy) else policy.to_tabular()
    support = np.asarray(table.log_probs) > -np.inf
    bad = np.flatnonzero(~np.any(arr & support, axis=1))
    if bad.size:
        raise ValueError(
            f"`correct` must mark at least one response of positive base probability on every prompt; "
            f"prompt(s) {bad[:5].tolist()} have none"
        )
    return jnp.asarray(arr)


def _prompt_probs(prompt_probs, num_prompts: int) -> np.ndarray:
    if prompt_probs is None:
        return np.full(num_prompts, 1.0 / num_prompts)
    mu = v.check_probability_table("prompt_probs", prompt_probs, ndim=1)
    if mu.shape[0] != num_prompts:
        raise ValueError(
            f"`prompt_probs` has {mu.shape[0]} entries but the policy has {num_prompts} prompts"
        )
    return mu
