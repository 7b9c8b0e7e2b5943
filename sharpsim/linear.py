"""The linear-softmax class (Def J.3): ``π_θ(y|x) ∝ exp(⟨φ(x, y), θ⟩)``, ``‖φ‖ <= 1``, ``‖θ‖ <= B``.

Exposed as ``sharpsim.classes.LinearSoftmaxClass(features, radius)``. Its oracles:

* :meth:`LinearSoftmaxClass.mle` — maximum likelihood over the ball by accelerated projected
  gradient (FISTA, step 1; the log-likelihood is concave in θ with curvature <= 1, so the iteration
  converges to the global optimum; projected Adam is kept as ``method="adam"``); convergence is
  checked by the norm of the projected-gradient step;
* :meth:`LinearSoftmaxClass.regress` — the Eq 8 square loss, a least-squares problem in θ (the
  partition function cancels in the difference), solved *exactly* on the ball: the minimum-norm
  least-squares solution if it lies inside, else the trust-region solution
  ``θ(λ) = (AᵀA + λI)⁻¹Aᵀb`` with ``‖θ(λ)‖ = B`` found by bisection on λ in the eigenbasis;
* :meth:`log_covering_number` (Lemma J.4) and :meth:`sec_bound` (Lemma J.5).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sharpsim import _validation as v
from sharpsim._optim import projected_fista
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float

#: Features may exceed norm 1 by this much (rounding); larger norms raise.
FEATURE_NORM_ATOL = 1e-9


def check_features(features, *, ndim: int, source: str) -> np.ndarray:
    """``features`` as a float array with ``ndim`` axes, non-empty, finite, every vector (last
    axis) of norm ``<= 1`` up to ``FEATURE_NORM_ATOL``; one clear ``ValueError`` otherwise (no
    silent normalisation). ``source`` names the definition in the message."""
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


def _project(theta, radius):
    norm = jnp.linalg.norm(theta)
    return jnp.where(norm > radius, theta * (radius / jnp.maximum(norm, 1e-300)), theta)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class MLEInfo:
    """Diagnostics of :meth:`LinearSoftmaxClass.mle`: the fitted ``theta``, the final
    projected-gradient step norm ``grad_map_norm`` and whether it is below the tolerance."""

    theta: jax.Array
    grad_map_norm: jax.Array
    converged: jax.Array


class LinearSoftmaxClass:
    """``{π_θ : ‖θ‖ <= radius}`` with ``π_θ(y|x) ∝ exp(⟨features[x, y], θ⟩)`` (Def J.3).

    Args:
      features: ``[num_prompts, num_responses, d]`` with ``‖φ(x, y)‖ <= 1`` (checked; no silent
        normalisation) and finite entries.
      radius: ``B > 0``.
    """

    def __init__(self, features, radius: float):
        self.features = jnp.asarray(check_features(features, ndim=3, source="Def J.3"), dtype=_float())
        self.radius = v.check_positive("radius", radius)

    # ------------------------------------------------------------------------ basics
    @property
    def num_prompts(self) -> int:
        return self.features.shape[0]

    @property
    def num_responses(self) -> int:
        return self.features.shape[1]

    @property
    def dim(self) -> int:
        return self.features.shape[2]

    @property
    def log_size(self) -> float:
        """``inf``; :meth:`log_covering_number` plays its role (Lemma J.4)."""
        return math.inf

    def log_probs(self, theta) -> jax.Array:
        """``[X, Y]`` ``log π_θ``."""
        return jax.nn.log_softmax(self.features @ theta, axis=-1)

    def policy(self, theta) -> TabularPolicy:
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
    def mle(self, prompts, responses, *, steps: int = 1000, learning_rate: float = 0.1, tol: float = 1e-5,
            method: str = "fista", return_info: bool = False):
        """Maximum likelihood on the ball (``steps`` iterations, jittable).

        ``method="fista"`` (default): accelerated projected gradient with step 1, safe because the
        Hessian of the mean negative log-likelihood is ``⪯ I`` for features of norm ``<= 1``
        (``sharpsim._optim``). ``method="adam"``: projected Adam with ``learning_rate``, kept for
        comparison; with the optimum on the sphere it can stall at a step norm ~1e-3 (its
        preconditioner does not match the Euclidean projection) and then reports ``converged`` False.

        Negative responses (masked samples) are ignored. With ``return_info`` also returns
        :class:`MLEInfo`; ``converged`` is True when the projected-gradient step
        ``‖θ − P(θ + g)‖`` (``g`` the gradient of the mean log-likelihood) is below ``tol``,
        the first-order optimality condition of a concave problem on a convex set.
        """
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
            theta, gmap = projected_fista(loss, theta0, lambda th: _project(th, self.radius), steps)
        else:
            opt = optax.adam(learning_rate)

            def step(carry, _):
                theta, state = carry
                g = jax.grad(loss)(theta)
                updates, state = opt.update(g, state, theta)
                return (_project(optax.apply_updates(theta, updates), self.radius), state), None

            (theta, _), _ = jax.lax.scan(step, (theta0, opt.init(theta0)), None, length=steps)
            g = jax.grad(loss)(theta)
            gmap = jnp.linalg.norm(theta - _project(theta - g, self.radius))
        policy = self.policy(theta)
        if return_info:
            return policy, MLEInfo(theta, gmap, gmap <= tol)
        return policy

    def mle_mass(self, prompts, responses, mask) -> jax.Array:
        """``[X]`` the MLE's mass on ``mask`` per prompt."""
        lp = self.mle(prompts, responses).log_probs
        return jnp.exp(jax.scipy.special.logsumexp(jnp.where(mask, lp, -jnp.inf), axis=-1))

    # ---------------------------------------------------------------------- regression
    def regress(self, triples, beta, *, return_theta: bool = False):
        """The exact minimiser of the Eq 8 square loss over the ball.

        ``Σ_i (β⟨φ(x_i, y_i) − φ(x_i, y'_i), θ⟩ − β(log π_base(y_i) − log π_base(y'_i))
        − (r_i − r'_i))²`` subject to ``‖θ‖ <= B`` (the log-partition cancels). ``triples`` is an
        :class:`sharpsim.oracle.Triples`; masked triples (negative responses) are ignored.
        """
        x = jnp.asarray(triples.prompts).ravel()
        y = jnp.asarray(triples.responses).ravel()
        z = jnp.asarray(triples.other_responses).ravel()
        keep = ((y >= 0) & (z >= 0)).astype(_float())
        ys, zs = jnp.where(y >= 0, y, 0), jnp.where(z >= 0, z, 0)
        A = beta * (self.features[x, ys] - self.features[x, zs]) * keep[:, None]  # [n, d]
        b = (beta * (jnp.ravel(triples.base_log_probs) - jnp.ravel(triples.other_base_log_probs))
             + (jnp.ravel(triples.rewards) - jnp.ravel(triples.other_rewards))) * keep
        theta = ball_least_squares(A, b, self.radius)
        return (self.policy(theta), theta) if return_theta else self.policy(theta)


def ball_least_squares(A, b, radius, *, iters: int = 200) -> jax.Array:
    """``argmin_{‖θ‖ <= radius} ‖Aθ − b‖²``, exactly (to float64 bisection resolution).

    In the eigenbasis ``AᵀA = V diag(s) Vᵀ``, ``c = VᵀAᵀb``: the minimum-norm unconstrained
    solution has coordinates ``c_i/s_i`` (``s_i > 0``); if its norm exceeds ``radius`` the
    solution is ``θ(λ)_i = c_i/(s_i + λ)`` with the unique ``λ > 0`` where ``‖θ(λ)‖ = radius``
    (``‖θ(λ)‖`` decreases in λ), found by bisection.
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
