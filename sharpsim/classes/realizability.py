"""Binding a class to a problem and realizability (Assumption 4.1: ``π^BoN_N ∈ Π``).

* :func:`bind` — checks that a class is defined on a problem's sizes (and gives an open
  ``TabularClass()`` the problem's sizes);
* :func:`bon_closure` — the class ``{π^BoN_N : π ∈ Π}`` of the members' exact BoN_N laws, which
  satisfies Assumption 4.1 by construction for a problem whose base is a member;
* :func:`is_realizable` / :func:`require_realizable` — whether the base's BoN_N law lies in the class.

Each delegates to the class's own method (``bind``, ``bon_closure``, ``contains`` or
``is_realizable``), so a class offers these capabilities by having them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np

from sharpsim import _config
from sharpsim._bon import _bon_log_law, _check_n
from sharpsim.classes.protocol import ModelClass, problem_sizes

if TYPE_CHECKING:
    from sharpsim.problems import Problem

__all__ = ["bind", "bon_closure", "is_realizable", "require_realizable"]


def bind(model_class: ModelClass, problem: Problem) -> ModelClass:
    """Checks that ``model_class`` fits ``problem``'s ``[num_prompts, num_responses]`` and returns
    it, giving an unsized ``TabularClass()`` the problem's sizes.

    Args:
      model_class: a sharpsim model class (anything with a ``bind(problem)`` method).
      problem: the problem.

    Returns:
      The bound class.

    Raises:
      TypeError: if ``model_class`` is not a sharpsim model class or ``problem`` not a problem.
      ValueError: on an empty class or mismatched shapes (the message gives both shapes).
    """
    if not callable(getattr(model_class, "bind", None)):
        raise TypeError(
            "`model_class` must be a FiniteClass, ProductClass, TabularClass, LinearSoftmaxClass or "
            f"AutoregressiveLinearSoftmaxClass (a class with a `bind` method); got {type(model_class).__name__}"
        )
    return model_class.bind(problem)


def bon_closure(model_class: ModelClass, N) -> ModelClass:
    """The class ``{π^BoN_N : π ∈ Π}`` of its members' exact BoN_N laws (Assumption 4.1).

    For a finite or product class every candidate is replaced by its BoN_N law (computed
    per prompt, exactly). The tabular class already contains every law, so it is its own
    closure.

    Args:
      model_class: a class with a ``bon_closure(N)`` method (finite, product or tabular).
      N: the number of draws (an integer ``>= 1``).

    Returns:
      The closed class, of the same kind.

    Raises:
      TypeError: if ``model_class`` has no BoN closure.
    """
    if not callable(getattr(model_class, "bon_closure", None)):
        raise TypeError(
            "`model_class` must be a sharpsim model class with an exact BoN closure (FiniteClass, "
            f"ProductClass or TabularClass); got {type(model_class).__name__}"
        )
    return model_class.bon_closure(N)


def is_realizable(model_class: ModelClass, problem: Problem, N, *, atol: float = 1e-9) -> bool:
    """Whether ``π^BoN_N`` of ``problem``'s base lies in ``model_class`` (Assumption 4.1),
    comparing probabilities within ``atol`` on prompts in the support of μ.

    Args:
      model_class: a finite, product or tabular class.
      problem: the problem (its base is enumerated if autoregressive).
      N: the number of draws (an integer ``>= 1``, or ``[num_prompts]`` per-prompt values).
      atol: absolute tolerance on probabilities.

    Returns:
      A Python bool.

    Raises:
      TypeError: if ``model_class`` cannot decide realizability or ``problem`` is not a problem.
    """
    if callable(getattr(model_class, "is_realizable", None)):
        return model_class.is_realizable(problem, N)
    if not callable(getattr(model_class, "contains", None)):
        raise TypeError(
            "`model_class` must be a sharpsim model class that can decide realizability (FiniteClass, "
            f"ProductClass or TabularClass); got {type(model_class).__name__}"
        )
    num_prompts, _ = problem_sizes(problem)
    _check_n(N, num_prompts)
    base = problem.tabular().base
    target = np.asarray(jnp.exp(_bon_log_law(base.log_probs, N, _config.TIE_RTOL)))
    support = np.asarray(problem.prompt_probs) > 0
    return model_class.contains(target, support, atol=atol)


def require_realizable(model_class: ModelClass, problem: Problem, N) -> None:
    """Raises unless ``model_class`` contains the BoN_N law of ``problem``'s base (Assumption 4.1).

    Raises:
      ValueError: if the class is not realizable for ``problem`` and ``N``.
      TypeError: as :func:`is_realizable`.
    """
    if not is_realizable(model_class, problem, N):
        raise ValueError(
            "`model_class` is not realizable: it does not contain the BoN_N law of the problem's base "
            "(Assumption 4.1); pass classes.bon_closure(model_class, N), or require_realizable=False"
        )
