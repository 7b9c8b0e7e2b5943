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
    """A sharpening problem: ``π_base`` and ``μ``.

    Attributes:
      base: the base policy (:class:`TabularPolicy` or :class:`AutoregressivePolicy`).
      prompt_probs: ``[num_prompts]`` the prompt distribution ``μ``.
    """

    base: TabularPolicy | AutoregressivePolicy
    prompt_probs: jax.Array

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
        return Problem(self.base.to_tabular(**kwargs), self.prompt_probs)


def as_tabular_base(problem: Problem) -> TabularPolicy:
    """The base policy of ``problem`` as a table (enumerating if autoregressive).

    Raises:
      TypeError: if ``problem`` is not a :class:`Problem`.
      ValueError: if an autoregressive base has more sequences than the enumeration limit.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"`problem` must be a sharpsim Problem; got {type(problem).__name__}")
    return problem.tabular().base


# ------------------------------------------------------------------------------ wrapping
def from_probs(base_probs, prompt_probs=None) -> Problem:
    """Builds a problem from ``base_probs: [num_prompts, num_responses]`` and ``μ``.

    Args:
      base_probs: the table ``π_base(y|x)``; rows must be distributions (tolerance 1e-6).
      prompt_probs: ``[num_prompts]`` the prompt distribution; uniform when omitted.

    Raises:
      ValueError: on a non-distribution or on mismatched shapes.
    """
    try:
        policy = TabularPolicy.from_probs(base_probs)
    except (TypeError, ValueError) as err:  # name the argument the caller passed
        raise type(err)(str(err).replace("`probs`", "`base_probs`")) from None
    return from_policy(policy, prompt_probs)


def from_policy(policy: TabularPolicy | AutoregressivePolicy, prompt_probs=None) -> Problem:
    """Wraps an existing policy as a problem.

    Args:
      policy: a :class:`TabularPolicy` or :class:`AutoregressivePolicy`, used as ``π_base``.
      prompt_probs: ``[num_prompts]`` the prompt distribution μ; uniform when omitted.

    Raises:
      TypeError: if ``policy`` is not a sharpsim policy.
      ValueError: if ``prompt_probs`` is not a distribution over the policy's prompts.
    """
    if not isinstance(policy, (TabularPolicy, AutoregressivePolicy)):
        raise TypeError(
            f"`policy` must be a TabularPolicy or AutoregressivePolicy; got {type(policy).__name__}"
        )
    mu = _prompt_probs(prompt_probs, policy.num_prompts)
    return Problem(policy, jnp.asarray(mu, dtype=_float()))


def _prompt_probs(prompt_probs, num_prompts: int) -> np.ndarray:
    if prompt_probs is None:
        return np.full(num_prompts, 1.0 / num_prompts)
    mu = v.check_probability_table("prompt_probs", prompt_probs, ndim=1)
    if mu.shape[0] != num_prompts:
        raise ValueError(
            f"`prompt_probs` has {mu.shape[0]} entries but the policy has {num_prompts} prompts"
        )
    return mu
