"""Model classes ``Π`` and their learning oracles (Huang et al., ICLR 2025, Sec 2, Sec 4, App J).

Every class is an immutable pytree (static sizes and radii, array leaves) that satisfies the
:class:`ModelClass` protocol (``mle``, ``mle_mass``, ``log_size``, ``sizes``); those with an
Eq 8 oracle also satisfy :class:`RegressionClass` (``regress``), and the linear-softmax ones
:class:`ParametricClass` (what XPO optimises over); the neural class satisfies
:class:`PytreeParametricClass` (pytree parameters, over which XPO runs unconstrained Adam).

* :class:`FiniteClass`, :class:`ProductClass` — finite classes with an exact MLE by enumeration
  and an exact BoN closure (:mod:`~sharpsim.classes.finite`);
* :class:`TabularClass` — every conditional; MLE = empirical frequencies (:mod:`~sharpsim.classes.tabular`);
* :class:`LinearSoftmaxClass` — Def J.3 (:mod:`~sharpsim.classes.linear_softmax`);
* :class:`AutoregressiveLinearSoftmaxClass` — Eq 11 (:mod:`~sharpsim.classes.autoregressive_linear`);
* :class:`NeuralAutoregressiveClass` — an MLP over the full prefix, trained by minibatch Adam
  (:mod:`~sharpsim.classes.neural`);
* :func:`bind`, :func:`bon_closure`, :func:`is_realizable`, :func:`require_realizable` —
  Assumption 4.1; :func:`adaptive_closure`, :func:`is_adaptive_realizable` — its analogue for the
  adaptive rule (Thm D.1) (:mod:`~sharpsim.classes.realizability`).
"""

from sharpsim.classes.autoregressive_linear import AutoregressiveLinearSoftmaxClass
from sharpsim.classes.finite import FiniteClass, ProductClass, counts, decoy_product_class
from sharpsim.classes.linear_softmax import (
    FEATURE_NORM_ATOL,
    LinearSoftmaxClass,
    ball_least_squares,
    check_features,
)
from sharpsim.classes.neural import NeuralAutoregressiveClass
from sharpsim.classes.protocol import (
    FitInfo,
    ModelClass,
    ParametricClass,
    PytreeParametricClass,
    RegressionClass,
    supports,
)
from sharpsim.classes.realizability import (
    adaptive_closure,
    bind,
    bon_closure,
    is_adaptive_realizable,
    is_realizable,
    require_realizable,
)
from sharpsim.classes.tabular import TabularClass

__all__ = [
    "FEATURE_NORM_ATOL",
    "AutoregressiveLinearSoftmaxClass",
    "FiniteClass",
    "FitInfo",
    "LinearSoftmaxClass",
    "ModelClass",
    "NeuralAutoregressiveClass",
    "ParametricClass",
    "ProductClass",
    "PytreeParametricClass",
    "RegressionClass",
    "TabularClass",
    "adaptive_closure",
    "ball_least_squares",
    "bind",
    "bon_closure",
    "check_features",
    "counts",
    "decoy_product_class",
    "is_adaptive_realizable",
    "is_realizable",
    "require_realizable",
    "supports",
]
