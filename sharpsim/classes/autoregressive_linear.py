"""The multi-layer linear-softmax autoregressive class (Eq 11) over sequences ``Y = V^H``.

``π_θ(y_{1:H}|x) = Π_h π_{θ_h}(y_h | x, y_{<h})`` with
``π_{θ_h}(t | x, y_{<h}) ∝ exp(⟨φ_h(x, y_{<h}, t), θ_h⟩)``, ``‖φ_h‖ <= 1``, ``‖θ_h‖ <= B`` for every
layer ``h``; ``θ = (θ_1, …, θ_H)``.

The context of step ``h`` is encoded as in :class:`sharpsim.policies.AutoregressivePolicy`: the
last ``k = context_length`` tokens (``k = H − 1``: the full history). Features are a dense array
``[H, X, V**k, V, d]``, so the class is for sizes where those tables fit in memory; exact
quantities that need the joint law (``J_β``, the sharpening error, XPO's sampling) enumerate
``V^H`` (``ENUMERATION_LIMIT``).

Oracles:

* :meth:`mle` — maximum likelihood by accelerated projected gradient (FISTA, step 1). The
  log-likelihood is a sum over layers of concave functions of ``θ_h`` (log-softmax of linear
  logits), each on its own ball, with curvature at most 1 (features of norm <= 1), so the iteration
  converges to the global optimum; convergence is checked by the norm of the projected-gradient
  step ``‖θ − P(θ − ∇)‖`` (zero exactly at the constrained optimum), reported by
  :meth:`mle_with_info`.
* :meth:`regress` — the Eq 8 square loss. For ``H >= 2`` the per-step log-partition functions of
  ``y`` and ``y'`` are taken at *different* contexts and do not cancel, so the loss is not a
  least-squares problem in ``θ`` (and not convex in general): it is minimised by projected Adam
  from ``θ = 0`` with the same convergence diagnostic (:meth:`regress_with_info`) — a local
  solution, not a certified global one.
  (For ``H = 1`` the class is the linear-softmax class, where ``LinearSoftmaxClass.regress`` is exact.)
* XPO: :func:`sharpsim.algorithms.xpo` accepts this class (its objective is minimised by projected
  Adam, as for the linear class).
* :meth:`log_covering_number` — Lemma J.4 per layer: ``H d log(6B/ε)`` (a product of ``H`` covers;
  per-step log-probabilities are ``2‖φ‖``-Lipschitz in ``θ_h``, so a sequence's log-probability moves
  by at most ``H`` times the per-layer error — the ``ε`` here is per layer).

Note: for ``H >= 2``, ``π*_β ∝ π_base^{1+1/β}`` is in general *not* in this class even when
``π_base`` is (powering a product of conditionals and renormalising the joint is not the same as
powering and renormalising each conditional); it is when every layer's conditional ignores the
context (``k = 0``), where ``θ*_h = (1 + 1/β) θ_base,h``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, ClassVar

import jax
import jax.numpy as jnp
import optax

from sharpsim import _config
from sharpsim import _validation as v
from sharpsim.classes._optim import ball_projection, grad_map_norm, projected_adam, projected_fista
from sharpsim.classes.linear_softmax import check_features
from sharpsim.classes.protocol import FitInfo, check_sizes, pytree_class
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.policies.autoregressive import _infer_context_length
from sharpsim.policies.tabular import _float

if TYPE_CHECKING:
    from sharpsim.problems import Problem

__all__ = ["AutoregressiveLinearSoftmaxClass"]


@pytree_class
@dataclasses.dataclass(frozen=True, init=False, eq=False)
class AutoregressiveLinearSoftmaxClass:
    """``{π_θ : ‖θ_h‖ <= radius for every h}`` (Eq 11).

    Args:
      features: ``[H, X, V**k, V, d]``; ``features[h, x, c, t]`` is ``φ_h`` of token ``t`` at step
        ``h`` after context ``c`` (encoded as in ``AutoregressivePolicy``) for prompt ``x``. Norms
        ``<= 1`` (checked; no silent normalisation), finite entries.
      radius: ``B > 0``, the bound on each layer's ``‖θ_h‖``.
      context_length: ``k`` (inferred from ``V**k`` when omitted).

    Raises:
      ValueError: on bad ``features`` (see :func:`~sharpsim.classes.check_features`), a
        ``context_length`` that does not match them, or ``radius <= 0``.

    Attributes:
      features: ``[H, X, V**k, V, d]`` (a pytree leaf).
      radius: ``B`` (static).
      context_length: ``k`` (static).
    """

    features: jax.Array
    radius: float = dataclasses.field(metadata=dict(static=True))
    context_length: int = dataclasses.field(metadata=dict(static=True))
    autoregressive: ClassVar[bool] = True

    def __init__(self, features, radius: float, *, context_length: int | None = None):
        arr = check_features(features, ndim=5, source="Eq 11 / Def J.3")
        object.__setattr__(self, "context_length", _infer_context_length(arr.shape[:4], context_length))
        object.__setattr__(self, "features", jnp.asarray(arr, dtype=_float()))
        object.__setattr__(self, "radius", v.check_positive("radius", radius))

    # ------------------------------------------------------------------------ basics
    @property
    def horizon(self) -> int:
        """``H``, the number of steps."""
        return self.features.shape[0]

    @property
    def num_prompts(self) -> int:
        """``|X|``."""
        return self.features.shape[1]

    @property
    def vocab_size(self) -> int:
        """``V``."""
        return self.features.shape[3]

    @property
    def num_responses(self) -> int:
        """``|Y| = V^H``."""
        return self.vocab_size**self.horizon

    @property
    def sizes(self) -> tuple[int, int]:
        """``(num_prompts, num_responses)``."""
        return (self.num_prompts, self.num_responses)

    @property
    def dim(self) -> int:
        """``d``, the feature dimension of each layer."""
        return self.features.shape[4]

    @property
    def param_shape(self) -> tuple[int, int]:
        """``(H, d)``, the shape of ``θ``."""
        return (self.horizon, self.dim)

    @property
    def log_size(self) -> float:
        """``inf``; :meth:`log_covering_number` plays its role."""
        return math.inf

    def project(self, theta) -> jax.Array:
        """Each layer's ``θ_h`` projected onto the ball of radius ``B``."""
        return ball_projection(theta, self.radius, per_layer=True)

    def bind(self, problem: Problem) -> AutoregressiveLinearSoftmaxClass:
        """This class, after checking that it is defined on ``problem``'s sizes.

        Raises:
          TypeError: if ``problem`` is not problem-like.
          ValueError: on mismatched sizes.
        """
        check_sizes(self.sizes, problem)
        return self

    def policy(self, theta) -> AutoregressivePolicy:
        """``π_θ`` as an :class:`AutoregressivePolicy` (``theta: [H, d]``)."""
        logits = jnp.einsum("hxctd,hd->hxct", self.features, jnp.asarray(theta, self.features.dtype))
        return AutoregressivePolicy(jax.nn.log_softmax(logits, axis=-1), self.context_length)

    def sequence_log_probs(self, theta, prompts, sequences) -> jax.Array:
        """``log π_θ(sequences | prompts)`` (``sequences: [..., H]``), without enumerating ``V^H``."""
        return self.policy(theta).log_prob(prompts, sequences)

    def log_probs(self, theta, *, limit: int = _config.ENUMERATION_LIMIT) -> jax.Array:
        """``[X, V^H]`` the joint ``log π_θ`` by enumeration (index order of ``AutoregressivePolicy``)."""
        return self.policy(theta).joint_log_probs(limit=limit)

    def tabular_policy(self, theta) -> TabularPolicy:
        """``π_θ`` as a :class:`TabularPolicy` over ``V^H`` (enumerated)."""
        return TabularPolicy(self.log_probs(theta))

    def log_covering_number(self, eps_disc: float) -> float:
        """``H d log(6B/ε)``: Lemma J.4 for each layer, multiplied over layers (``ε`` per layer)."""
        eps_disc = v.check_positive("eps_disc", eps_disc)
        return self.horizon * self.dim * math.log(max(6.0 * self.radius / eps_disc, 1.0))

    # --------------------------------------------------------------------- fitting
    def mle(self, prompts, sequences, *, steps: int = 1000) -> AutoregressivePolicy:
        """Maximum likelihood of ``sequences: [n, H]`` given ``prompts: [n]`` (rows with a negative
        token are masked), by projected FISTA with step 1 from ``θ = 0``: the layer-h Hessian block
        is an average of covariances of features with norm ``<= 1``.

        Returns:
          ``π̂`` as an :class:`AutoregressivePolicy`.

        Raises:
          ValueError: if ``steps`` is not a positive integer.
        """
        loss = self._mle_loss(prompts, sequences, steps)
        return self.policy(projected_fista(loss, self._theta0(), self.project, steps))

    def mle_with_info(self, prompts, sequences, *, steps: int = 1000,
                      tol: float = 1e-6) -> tuple[AutoregressivePolicy, FitInfo]:
        """:meth:`mle` and its :class:`~sharpsim.classes.FitInfo` (loss: the mean negative
        log-likelihood; ``converged``: projected-gradient step below ``tol``).

        Returns:
          ``(π̂, info)``.

        Raises:
          ValueError: if ``steps`` is not a positive integer.
        """
        loss = self._mle_loss(prompts, sequences, steps)
        theta = projected_fista(loss, self._theta0(), self.project, steps)
        return self.policy(theta), self._info(loss, theta, tol)

    def mle_mass(self, prompts, sequences, mask) -> jax.Array:
        """``[X]`` the mass of :meth:`mle`'s fit on ``mask: [X, V^H]`` per prompt (enumerating ``V^H``)."""
        lp = self.mle(prompts, sequences).joint_log_probs()
        return jnp.exp(jax.scipy.special.logsumexp(jnp.where(mask, lp, -jnp.inf), axis=-1))

    def regress(self, triples, beta, *, steps: int = 1000, learning_rate: float = 0.05) -> AutoregressivePolicy:
        """The Eq 8 square loss over the class, by projected Adam from ``θ = 0`` with a cosine decay
        of the rate to 1e-3 of it (see the module doc: not convex for ``H >= 2``).

        Args:
          triples: a :class:`sharpsim.oracle.Triples` whose responses are sequences ``[n, H]``
            (masked rows: negative tokens).
          beta: ``β > 0``.
          steps: Adam steps; learning_rate: the initial rate.

        Returns:
          ``π̂`` as an :class:`AutoregressivePolicy`.

        Raises:
          ValueError: if ``steps`` is not a positive integer or ``beta <= 0``.
        """
        loss = self._regression_loss(triples, beta, steps)
        return self.policy(self._adam(loss, steps, learning_rate))

    def regress_with_info(self, triples, beta, *, steps: int = 1000, learning_rate: float = 0.05,
                          tol: float = 1e-5) -> tuple[AutoregressivePolicy, FitInfo]:
        """:meth:`regress` and its :class:`~sharpsim.classes.FitInfo` (loss: the mean square
        residual; ``converged``: projected-gradient step below ``tol``).

        Returns:
          ``(π̂, info)``.

        Raises:
          ValueError: if ``steps`` is not a positive integer or ``beta <= 0``.
        """
        loss = self._regression_loss(triples, beta, steps)
        theta = self._adam(loss, steps, learning_rate)
        return self.policy(theta), self._info(loss, theta, tol)

    def _theta0(self):
        return jnp.zeros(self.param_shape, self.features.dtype)

    def _info(self, loss, theta, tol) -> FitInfo:
        gmap = grad_map_norm(loss, theta, self.project)
        return FitInfo(theta, loss(theta), gmap, gmap <= tol)

    def _adam(self, loss, steps, learning_rate):
        # a cosine decay to 1e-3 of the rate: constant-rate Adam hovers around the optimum
        # (step norm ~ rate), which the convergence check would flag
        schedule = optax.cosine_decay_schedule(learning_rate, steps, alpha=1e-3)
        return projected_adam(loss, self._theta0(), self.project, steps, schedule)

    def _mle_loss(self, prompts, sequences, steps):
        v.check_positive_int("steps", steps)
        x = jnp.asarray(prompts).ravel()
        y = jnp.asarray(sequences).reshape(x.shape[0], self.horizon)
        keep = jnp.all(y >= 0, axis=-1)
        w = keep.astype(self.features.dtype)
        ys = jnp.where(keep[:, None], y, 0)
        count = jnp.maximum(w.sum(), 1.0)

        def loss(theta):
            return -jnp.sum(w * self.sequence_log_probs(theta, x, ys)) / count

        return loss

    def _regression_loss(self, triples, beta, steps):
        v.check_positive_int("steps", steps)
        if v.is_concrete(beta):
            v.check_positive("beta", beta)
        x = jnp.asarray(triples.prompts).ravel()
        n = x.shape[0]
        y = jnp.asarray(triples.responses).reshape(n, self.horizon)
        z = jnp.asarray(triples.other_responses).reshape(n, self.horizon)
        keep = jnp.all(y >= 0, axis=-1) & jnp.all(z >= 0, axis=-1)
        w = keep.astype(self.features.dtype)
        ys, zs = jnp.where(keep[:, None], y, 0), jnp.where(keep[:, None], z, 0)
        ly, lz = jnp.ravel(triples.base_log_probs), jnp.ravel(triples.other_base_log_probs)
        target = jnp.where(keep, jnp.ravel(triples.rewards) - jnp.ravel(triples.other_rewards), 0.0)
        count = jnp.maximum(w.sum(), 1.0)

        def loss(theta):
            resid = (beta * (self.sequence_log_probs(theta, x, ys) - jnp.where(keep, ly, 0.0))
                     - beta * (self.sequence_log_probs(theta, x, zs) - jnp.where(keep, lz, 0.0)) - target)
            return jnp.sum(w * resid**2) / count

        return loss
