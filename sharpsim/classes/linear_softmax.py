"""The linear-softmax class (Def J.3): ``π_θ(y|x) ∝ exp(⟨φ(x, y), θ⟩)``, ``‖φ‖ <= 1``, ``‖θ‖ <= B``.

Its oracles:

* :meth:`LinearSoftmaxClass.mle` — maximum likelihood over the ball by accelerated projected
  gradient (FISTA, step 1; the log-likelihood is concave in θ with curvature <= 1, so the iteration
  converges to the global optimum; projected Adam is available as ``method="adam"``);
  :meth:`~LinearSoftmaxClass.mle_with_info` also reports the convergence diagnostic, the norm of
  the projected-gradient step;
* :meth:`LinearSoftmaxClass.regress` — the Eq 8 square loss, a least-squares problem in θ (the
  partition function cancels in the difference), solved *exactly* on the ball: the minimum-norm
  least-squares solution if it lies inside, else the trust-region solution
  ``θ(λ) = (AᵀA + λI)⁻¹Aᵀb`` with ``‖θ(λ)‖ = B`` found by bisection on λ in the eigenbasis;
* :meth:`log_covering_number` (Lemma J.4) and :meth:`sec_bound` (Lemma J.5).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.classes._optim import ball_projection, grad_map_norm, projected_adam, projected_fista
from sharpsim.classes.protocol import FitInfo, check_sizes, pytree_class
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float

if TYPE_CHECKING:
    from sharpsim.problems import Problem

__all__ = ["FEATURE_NORM_ATOL", "LinearSoftmaxClass", "ball_least_squares", "check_features"]

#: Features may exceed norm 1 by this much (rounding); larger norms raise.
FEATURE_NORM_ATOL = 1e-9


def check_features(features, *, ndim: int, source: str) -> np.ndarray:
    """``features`` as a float array with ``ndim`` axes, non-empty, finite, every vector (last
    axis) of norm ``<= 1`` up to ``FEATURE_NORM_ATOL`` (no silent normalisation).

    Args:
      features: the feature array.
      ndim: the number of axes it must have.
      source: the definition the norm bound comes from, named in the message.

    Returns:
      The features as a float64 NumPy array.

    Raises:
      TypeError: if ``features`` is not numeric.
      ValueError: on a wrong rank, an empty array, a non-finite entry or a norm above 1.
    """
    arr = v.as_float_array("features", features, ndim=ndim)
    if arr.size == 0:
        raise ValueError(f"`features` must be non-empty; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("`features` must contain only finite numbers (found NaN or inf)")
    worst = float(np.linalg.norm(arr, axis=-1).max())
    if worst > 1.0 + FEATURE_NORM_ATOL:
        raise ValueError(
            f"`features` must have norm <= 1 ({source}); the largest is {worst:.6g}: divide them "
            f"by their largest norm (and scale `radius` up by it to keep the same class)"
        )
    return arr


@pytree_class
@dataclasses.dataclass(frozen=True, init=False, eq=False)
class LinearSoftmaxClass:
    """``{π_θ : ‖θ‖ <= radius}`` with ``π_θ(y|x) ∝ exp(⟨features[x, y], θ⟩)`` (Def J.3).

    Args:
      features: ``[num_prompts, num_responses, d]`` with ``‖φ(x, y)‖ <= 1`` (checked; no silent
        normalisation) and finite entries.
      radius: ``B > 0``.

    Raises:
      ValueError: on bad ``features`` (see :func:`check_features`) or ``radius <= 0``.

    Attributes:
      features: ``[X, Y, d]`` (a pytree leaf).
      radius: ``B`` (static).
    """

    features: jax.Array
    radius: float = dataclasses.field(metadata=dict(static=True))
    autoregressive: ClassVar[bool] = False

    def __init__(self, features, radius: float):
        object.__setattr__(
            self, "features", jnp.asarray(check_features(features, ndim=3, source="Def J.3"), dtype=_float())
        )
        object.__setattr__(self, "radius", v.check_positive("radius", radius))

    # ------------------------------------------------------------------------ basics
    @property
    def num_prompts(self) -> int:
        """``|X|``."""
        return self.features.shape[0]

    @property
    def num_responses(self) -> int:
        """``|Y|``."""
        return self.features.shape[1]

    @property
    def sizes(self) -> tuple[int, int]:
        """``(num_prompts, num_responses)``."""
        return (self.num_prompts, self.num_responses)

    @property
    def dim(self) -> int:
        """``d``, the feature dimension."""
        return self.features.shape[2]

    @property
    def param_shape(self) -> tuple[int]:
        """``(d,)``, the shape of ``θ``."""
        return (self.dim,)

    def project(self, theta) -> jax.Array:
        """``θ`` projected onto the ball of radius ``B``."""
        return ball_projection(theta, self.radius)

    def bind(self, problem: Problem) -> LinearSoftmaxClass:
        """This class, after checking that it is defined on ``problem``'s sizes.

        Raises:
          TypeError: if ``problem`` is not problem-like.
          ValueError: on mismatched sizes.
        """
        check_sizes(self.sizes, problem)
        return self

    @property
    def log_size(self) -> float:
        """``inf``; :meth:`log_covering_number` plays its role (Lemma J.4)."""
        return math.inf

    def log_probs(self, theta) -> jax.Array:
        """``[X, Y]`` ``log π_θ``."""
        return jax.nn.log_softmax(self.features @ theta, axis=-1)

    def policy(self, theta) -> TabularPolicy:
        """``π_θ`` as a :class:`TabularPolicy`."""
        return TabularPolicy(self.log_probs(theta))

    def log_covering_number(self, eps_disc: float) -> float:
        """Lemma J.4: ``log N(Π, ε) <= d log(6B/ε)`` (sup-norm over log-probabilities)."""
        eps_disc = v.check_positive("eps_disc", eps_disc)
        return self.dim * math.log(max(6.0 * self.radius / eps_disc, 1.0))

    def sec_bound(self, T: int, *, constant: float = 1.0) -> float:
        """Lemma J.5: ``SEC <= constant · d log(T + 1)``."""
        T = v.check_positive_int("T", T)
        return v.check_positive("constant", constant) * self.dim * math.log(T + 1)

    # --------------------------------------------------------------------------- MLE
    def mle(self, prompts, responses, *, steps: int = 1000, learning_rate: float = 0.1,
            method: str = "fista") -> TabularPolicy:
        """Maximum likelihood on the ball (``steps`` iterations, jittable).

        ``method="fista"`` (default): accelerated projected gradient with step 1, safe because the
        Hessian of the mean negative log-likelihood is ``⪯ I`` for features of norm ``<= 1``
        (``sharpsim.classes._optim``). ``method="adam"``: projected Adam with ``learning_rate``;
        with the optimum on the sphere it can stall at a step norm ~1e-3 (its preconditioner does
        not match the Euclidean projection). Negative responses (masked samples) are ignored.

        Returns:
          ``π̂`` as a :class:`TabularPolicy`.

        Raises:
          ValueError: if ``method`` is not ``"fista"`` or ``"adam"``.
        """
        theta, _ = self._mle_theta(prompts, responses, steps, learning_rate, method)
        return self.policy(theta)

    def mle_with_info(self, prompts, responses, *, steps: int = 1000, learning_rate: float = 0.1,
                      tol: float = 1e-5, method: str = "fista") -> tuple[TabularPolicy, FitInfo]:
        """:meth:`mle` and its :class:`~sharpsim.classes.FitInfo` (loss: the mean negative
        log-likelihood); ``converged`` is True when the projected-gradient step
        ``‖θ − P(θ − ∇)‖`` is below ``tol``, the first-order optimality condition of a concave
        problem on a convex set.

        Returns:
          ``(π̂, info)``.

        Raises:
          ValueError: if ``method`` is not ``"fista"`` or ``"adam"``.
        """
        theta, loss = self._mle_theta(prompts, responses, steps, learning_rate, method)
        gmap = grad_map_norm(loss, theta, self.project)
        return self.policy(theta), FitInfo(theta, loss(theta), gmap, gmap <= tol)

    def _mle_theta(self, prompts, responses, steps, learning_rate, method):
        if method not in ("fista", "adam"):
            raise ValueError(f"`method` must be 'fista' or 'adam'; got {method!r}")
        x = jnp.asarray(prompts).ravel()
        y = jnp.asarray(responses).ravel()
        keep = y >= 0
        w = keep.astype(_float())
        count = jnp.maximum(w.sum(), 1.0)

        def loss(theta):
            lp = self.log_probs(theta)[x, jnp.where(keep, y, 0)]
            return -jnp.sum(w * lp) / count

        theta0 = jnp.zeros(self.dim, _float())
        if method == "fista":
            return projected_fista(loss, theta0, self.project, steps), loss
        return projected_adam(loss, theta0, self.project, steps, learning_rate), loss

    def mle_mass(self, prompts, responses, mask) -> jax.Array:
        """``[X]`` the mass of :meth:`mle`'s fit on ``mask: [X, Y]`` per prompt."""
        lp = self.mle(prompts, responses).log_probs
        return jnp.exp(jax.scipy.special.logsumexp(jnp.where(mask, lp, -jnp.inf), axis=-1))

    # ---------------------------------------------------------------------- regression
    def regress(self, triples, beta) -> TabularPolicy:
        """The exact minimiser of the Eq 8 square loss over the ball.

        ``Σ_i (β⟨φ(x_i, y_i) − φ(x_i, y'_i), θ⟩ − β(log π_base(y_i) − log π_base(y'_i))
        − (r_i − r'_i))²`` subject to ``‖θ‖ <= B`` (the log-partition cancels). ``triples`` is an
        :class:`sharpsim.oracle.Triples`; masked triples (negative responses) are ignored.

        Returns:
          ``π̂`` as a :class:`TabularPolicy`.
        """
        A, b, _ = self._regression_system(triples, beta)
        return self.policy(ball_least_squares(A, b, self.radius))

    def regress_with_info(self, triples, beta, *, tol: float = 1e-6) -> tuple[TabularPolicy, FitInfo]:
        """:meth:`regress` and its :class:`~sharpsim.classes.FitInfo` (loss: the mean square
        residual over the unmasked triples; ``converged``: projected-gradient step below ``tol``).

        Returns:
          ``(π̂, info)``.
        """
        A, b, count = self._regression_system(triples, beta)
        theta = ball_least_squares(A, b, self.radius)

        def loss(th):
            return jnp.sum((A @ th - b) ** 2) / count

        gmap = grad_map_norm(loss, theta, self.project)
        return self.policy(theta), FitInfo(theta, loss(theta), gmap, gmap <= tol)

    def _regression_system(self, triples, beta):
        """``(A, b, count)``: Eq 8's residuals are ``Aθ − b`` (masked rows zero)."""
        x = jnp.asarray(triples.prompts).ravel()
        y = jnp.asarray(triples.responses).ravel()
        z = jnp.asarray(triples.other_responses).ravel()
        kept = (y >= 0) & (z >= 0)
        keep = kept.astype(_float())
        ys, zs = jnp.where(y >= 0, y, 0), jnp.where(z >= 0, z, 0)
        A = beta * (self.features[x, ys] - self.features[x, zs]) * keep[:, None]  # [n, d]
        # masked rows may hold -inf log-probs / rewards (the oracle's num_active): select, never multiply
        b = jnp.where(kept, beta * (jnp.ravel(triples.base_log_probs) - jnp.ravel(triples.other_base_log_probs))
                      + (jnp.ravel(triples.rewards) - jnp.ravel(triples.other_rewards)), 0.0)
        return A, b, jnp.maximum(keep.sum(), 1.0)


def ball_least_squares(A, b, radius, *, iters: int = 200) -> jax.Array:
    """``argmin_{‖θ‖ <= radius} ‖Aθ − b‖²``, exactly (to float64 bisection resolution).

    In the eigenbasis ``AᵀA = V diag(s) Vᵀ``, ``c = VᵀAᵀb``: the minimum-norm unconstrained
    solution has coordinates ``c_i/s_i`` (``s_i > 0``); if its norm exceeds ``radius`` the
    solution is ``θ(λ)_i = c_i/(s_i + λ)`` with the unique ``λ > 0`` where ``‖θ(λ)‖ = radius``
    (``‖θ(λ)‖`` decreases in λ), found by bisection.

    Args:
      A: ``[n, d]`` the design matrix.
      b: ``[n]`` the targets.
      radius: the ball's radius ``B > 0``.
      iters: bisection steps (static).

    Returns:
      ``[d]`` the constrained least-squares solution.
    """
    G = A.T @ A
    s, V = jnp.linalg.eigh(G)
    c = V.T @ (A.T @ b)
    tiny = 1e-12 * jnp.maximum(s.max(), 1e-300)
    pos = s > tiny
    free = jnp.where(pos, c / jnp.where(pos, s, 1.0), 0.0)
    free_norm = jnp.linalg.norm(free)

    def norm_at(lam):
        return jnp.linalg.norm(jnp.where(pos | (lam > 0), c / (s + lam), 0.0))

    hi0 = jnp.linalg.norm(c) / radius  # ‖θ(λ)‖ <= ‖c‖/λ, so this λ is feasible
    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        too_big = norm_at(mid) > radius
        return jnp.where(too_big, mid, lo), jnp.where(too_big, hi, mid)

    _, lam = jax.lax.fori_loop(0, iters, bisect, (jnp.zeros_like(hi0), hi0))
    constrained = c / (jnp.maximum(s, 0.0) + lam)
    coords = jnp.where(free_norm <= radius, free, constrained)
    return V @ coords
