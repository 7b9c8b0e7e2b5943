"""Binding a class to a problem and realizability (Assumption 4.1: ``π^BoN_N ∈ Π``).

* :func:`bind` — checks that a class is defined on a problem's sizes (and gives an open
  ``TabularClass()`` the problem's sizes);
* :func:`bon_closure` — the class ``{π^BoN_N : π ∈ Π}`` of the members' exact BoN_N laws, which
  satisfies Assumption 4.1 by construction for a problem whose base is a member;
* :func:`is_realizable` / :func:`require_realizable` — whether the base's BoN_N law lies in the class;
* :func:`adaptive_closure` / :func:`is_adaptive_realizable` — the same for the law of the response
  App D's adaptive rule keeps (``sharpsim.laws.adaptive_law``; Thm D.1's realizability).

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

__all__ = ["adaptive_closure", "bind", "bon_closure", "is_adaptive_realizable", "is_realizable", "require_realizable"]


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


def _adaptive_rows(log_rows: np.ndarray, stop_level) -> np.ndarray:
    from sharpsim.laws import adaptive_law
    from sharpsim.problems import from_probs

    return np.asarray(adaptive_law(from_probs(np.exp(log_rows)), stop_level).log_probs)


def adaptive_closure(model_class: ModelClass, stop_level) -> ModelClass:
    """The class of its members' exact adaptive laws: each candidate replaced by the law of the
    response App D's rule (stop level ``μ``) keeps when it samples from that candidate
    (``sharpsim.laws.adaptive_law``). Thm D.1 assumes the base's adaptive law lies in the class;
    the closure of a class that contains the base does, by construction.

    Args:
      model_class: a ``FiniteClass``, ``ProductClass`` or ``TabularClass`` (its own closure).
      stop_level: ``μ > 0``.

    Returns:
      The closed class, of the same kind.

    Raises:
      TypeError: for another kind of class.
      ValueError: on a ``stop_level`` that is not positive.
    """
    from sharpsim import _validation as v
    from sharpsim.classes.finite import FiniteClass, ProductClass
    from sharpsim.classes.tabular import TabularClass

    mu = v.check_positive("stop_level", stop_level)
    if isinstance(model_class, TabularClass):
        return model_class
    if isinstance(model_class, FiniteClass):
        K, X, Y = model_class.log_probs.shape
        rows = _adaptive_rows(np.asarray(model_class.log_probs).reshape(K * X, Y), mu)
        return FiniteClass(log_probs=jnp.asarray(rows.reshape(K, X, Y)))
    if isinstance(model_class, ProductClass):
        X, K, Y = model_class.log_probs.shape
        flat = np.asarray(model_class.log_probs).reshape(X * K, Y).copy()
        valid = np.asarray(model_class.valid).reshape(X * K)
        flat[valid] = _adaptive_rows(flat[valid], mu)
        return ProductClass(log_probs=jnp.asarray(flat.reshape(X, K, Y)), valid=model_class.valid)
    raise TypeError("`model_class` must be a FiniteClass, ProductClass or TabularClass for an exact adaptive "
                    f"closure; got {type(model_class).__name__}")


def is_adaptive_realizable(model_class: ModelClass, problem: Problem, stop_level, *, atol: float = 1e-9) -> bool:
    """Whether the law of the response App D's rule keeps on ``problem``'s base
    (``sharpsim.laws.adaptive_law``) lies in ``model_class`` (Thm D.1's realizability), comparing
    probabilities within ``atol`` on prompts in the support of μ.

    Args:
      model_class: a finite, product or tabular class.
      problem: the problem.
      stop_level: ``μ > 0``.
      atol: absolute tolerance on probabilities.

    Returns:
      A Python bool.

    Raises:
      TypeError: if ``model_class`` cannot decide membership.
      ValueError: on a ``stop_level`` that is not positive.
    """
    from sharpsim.classes.tabular import TabularClass
    from sharpsim.laws import adaptive_law

    target = np.asarray(jnp.exp(adaptive_law(problem, stop_level).log_probs))
    if isinstance(model_class, TabularClass):
        return True
    if not callable(getattr(model_class, "contains", None)):
        raise TypeError("`model_class` must be a FiniteClass, ProductClass or TabularClass to decide adaptive "
                        f"realizability; got {type(model_class).__name__}")
    return model_class.contains(target, np.asarray(problem.prompt_probs) > 0, atol=atol)
