"""What a model class ``Π`` offers the algorithms, as runtime-checkable protocols.

* :class:`ModelClass` — the maximum-likelihood oracle of SFT-Sharpening (Sec 2.1; the estimator of
  Thm 4.1 and Lemma F.1): ``mle``, ``mle_mass``, ``log_size`` (``log|Π|``) and ``sizes``;
* :class:`RegressionClass` — the square-loss oracle of RLHF-Sharpening (Eq 8): ``regress``;
* :class:`ParametricClass` — a class ``{π_θ : θ in a product of balls}`` with features
  (Def J.3, Eq 11), what XPO (Alg 1) optimises over;
* :class:`PytreeParametricClass` — a class ``{π_w : w a pytree of arrays}`` without constraints,
  with an exact law and a KL-projection fit (the neural class), which XPO also runs over (by
  unconstrained Adam);
* :class:`FitInfo` — the diagnostics of an iterative fit.

Every class is an immutable dataclass registered as a pytree by :func:`pytree_class`: array
fields are leaves, fields marked ``metadata=dict(static=True)`` are static (hashable) aux data.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import jax

if TYPE_CHECKING:  # the classes never import sharpsim.problems at run time (it builds on them)
    from sharpsim.problems import Problem

__all__ = [
    "FitInfo",
    "ModelClass",
    "ParametricClass",
    "PytreeParametricClass",
    "RegressionClass",
    "check_sizes",
    "problem_sizes",
    "pytree_class",
    "supports",
]


def pytree_class(cls):
    """Registers the dataclass ``cls`` as a pytree: fields with ``metadata=dict(static=True)``
    are static aux data, the others are leaves.

    Unflattening bypasses ``__init__`` (which validates user input and may take other
    arguments than the fields), so JAX transformations never re-validate.

    Returns:
      ``cls`` itself.

    Raises:
      TypeError: if ``cls`` is not a dataclass.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"`cls` must be a dataclass; got {cls!r}")
    fields = dataclasses.fields(cls)
    data = tuple(f.name for f in fields if not f.metadata.get("static", False))
    meta = tuple(f.name for f in fields if f.metadata.get("static", False))

    def flatten_with_keys(obj):
        leaves = [(jax.tree_util.GetAttrKey(name), getattr(obj, name)) for name in data]
        return leaves, tuple(getattr(obj, name) for name in meta)

    def flatten(obj):
        return [getattr(obj, name) for name in data], tuple(getattr(obj, name) for name in meta)

    def unflatten(aux, leaves):
        obj = object.__new__(cls)
        for name, value in zip(meta, aux):
            object.__setattr__(obj, name, value)
        for name, value in zip(data, leaves):
            object.__setattr__(obj, name, value)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    return cls


def supports(obj, protocol) -> bool:
    """Whether ``obj`` has every member of ``protocol`` (one of the protocols here).

    Unlike ``isinstance(obj, protocol)`` on Python 3.11, this never evaluates a property, so it is
    safe inside ``jit`` (where a property such as ``ProductClass.log_size`` cannot be computed).

    Returns:
      A Python bool.
    """
    names = set(getattr(protocol, "__annotations__", {})) | {n for n in vars(protocol) if not n.startswith("_")}
    instance = getattr(obj, "__dict__", {})
    return all(name in instance or any(name in vars(k) for k in type(obj).__mro__) for name in names)


def problem_sizes(problem: Problem) -> tuple[int, int]:
    """``(num_prompts, num_responses)`` of ``problem``.

    The classes read a problem by duck typing (``num_prompts``, ``num_responses``,
    ``prompt_probs``, ``tabular()``) so that they need not import :mod:`sharpsim.problems`.

    Raises:
      TypeError: if ``problem`` is not problem-like.
    """
    if not all(hasattr(problem, a) for a in ("num_prompts", "num_responses", "prompt_probs", "tabular")):
        raise TypeError(
            "`problem` must be a sharpsim Problem (with num_prompts, num_responses, prompt_probs and "
            f"tabular()); got {type(problem).__name__}"
        )
    return problem.num_prompts, problem.num_responses


def check_sizes(sizes: tuple[int | None, int | None], problem: Problem) -> None:
    """Checks that a class with ``sizes = (num_prompts, num_responses)`` is defined on ``problem``.

    Raises:
      TypeError: if ``problem`` is not problem-like.
      ValueError: on mismatched sizes (the message gives both).
    """
    expected = problem_sizes(problem)
    if tuple(sizes) != expected:
        raise ValueError(
            f"`model_class` has [num_prompts, num_responses] = {list(sizes)} but the problem has {list(expected)}"
        )


@runtime_checkable
class ModelClass(Protocol):
    """A model class with an exact (or certified) maximum-likelihood oracle (Sec 2.1, Thm 4.1).

    Attributes:
      log_size: ``log|Π|`` (``inf`` for an infinite class).
      sizes: ``(num_prompts, num_responses)`` the class is defined on (``None`` where open).
    """

    @property
    def log_size(self) -> float:
        """``log|Π|`` (``inf`` for an infinite class)."""

    @property
    def sizes(self) -> tuple[int | None, int | None]:
        """``(num_prompts, num_responses)`` (``None`` where open)."""

    def mle(self, prompts, responses) -> Any:
        """``argmax_{π∈Π} Σ_i log π(y_i|x_i)`` (negative responses are masked samples)."""

    def mle_mass(self, prompts, responses, mask) -> jax.Array:
        """``[num_prompts]`` the MLE's mass on the set ``mask: [X, Y]`` per prompt."""


@runtime_checkable
class RegressionClass(Protocol):
    """A model class with an Eq 8 square-loss oracle (RLHF-Sharpening, Sec 2.2)."""

    def regress(self, triples, beta) -> Any:
        """The minimiser over the class of the Eq 8 square loss on ``triples``."""


@runtime_checkable
class ParametricClass(Protocol):
    """``{π_θ : ‖θ_h‖ <= radius}`` with ``π_θ`` a softmax of linear logits (Def J.3, Eq 11).

    Attributes:
      features: the feature array ``φ``.
      radius: ``B``, the bound on ``‖θ‖`` (per layer for Eq 11).
      param_shape: the shape of ``θ``.
      autoregressive: whether the class is over sequences (its problems have an
        ``AutoregressivePolicy`` base).
    """

    features: jax.Array
    radius: float
    autoregressive: ClassVar[bool]

    @property
    def param_shape(self) -> tuple[int, ...]:
        """The shape of ``θ``."""

    def project(self, theta) -> jax.Array:
        """``θ`` projected onto the class's ball(s)."""

    def log_probs(self, theta) -> jax.Array:
        """``[X, Y]`` the (joint) ``log π_θ``."""

    def policy(self, theta) -> Any:
        """``π_θ`` as a policy."""


@runtime_checkable
class PytreeParametricClass(Protocol):
    """``{π_w : w}`` with ``w`` an unconstrained pytree of arrays and an exact law by enumeration:
    what :func:`sharpsim.algorithms.xpo` (Alg 1) runs over when the class is not linear-softmax
    (e.g. :class:`~sharpsim.classes.NeuralAutoregressiveClass`).

    XPO's iterates are pytrees with the structure and leaf shapes of :attr:`params`; its inner
    minimisation is Adam over every leaf (no projection), warm-started from the previous iterate,
    and its start ``π^(1) = π_base`` is :meth:`fit_law` of the exact base law from :attr:`params`.

    Attributes:
      params: the initial parameters, a pytree of floating-point arrays (it fixes the structure
        and shapes of every parameter of the class).
      autoregressive: whether the class is over sequences (its problems have an
        ``AutoregressivePolicy`` base).
    """

    params: Any
    autoregressive: ClassVar[bool]

    def log_probs(self, params) -> jax.Array:
        """``[X, Y]`` the (joint) ``log π_w``, differentiable in ``params``."""

    def policy(self, params) -> Any:
        """``π_w`` as a policy."""

    def fit_law(self, params, log_probs, prompt_probs, *, steps: int | None = None) -> Any:
        """The parameters of (a local solution of) ``argmin_w Σ_x μ(x) KL(π(·|x) ‖ π_w(·|x))`` for the
        law ``log_probs: [X, Y]`` and ``μ = prompt_probs``, fitted from ``params`` in ``steps`` steps."""


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class FitInfo:
    """Diagnostics of an iterative fit (``mle_with_info`` / ``regress_with_info``).

    Attributes:
      theta: the fitted parameter (``[d]``, or ``[H, d]`` for Eq 11).
      loss: the final loss (mean negative log-likelihood for ``mle``, mean square residual for
        ``regress``).
      grad_map_norm: ``‖θ − P(θ − ∇loss(θ))‖``, the projected-gradient step, zero exactly at a
        constrained stationary point.
      converged: whether ``grad_map_norm`` is below the fit's tolerance.
    """

    theta: jax.Array
    loss: jax.Array
    grad_map_norm: jax.Array
    converged: jax.Array
