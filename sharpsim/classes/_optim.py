"""The optimisers of the linear-softmax classes (Def J.3, Eq 11) and of XPO (Alg 1), one copy each.

* :func:`projected_fista` — accelerated projected gradient with step 1 for maximum likelihood.
  The mean negative log-likelihood of a linear-softmax model is convex with Hessian equal to an
  average of feature covariances; with ``‖φ‖ <= 1`` that is ``⪯ I``, so step ``1 = 1/L`` is safe
  and the iteration converges to the constrained optimum.
* :func:`projected_adam` — projected Adam, for the non-convex objectives (Eq 8 for ``H >= 2``,
  XPO's optimistic objective). Its per-coordinate scaling does not match the Euclidean
  projection, so with the optimum on the sphere it can stall at a step norm ~1e-3.
* :func:`ball_projection` — the Euclidean projection onto a ball (or onto one ball per layer).
* :func:`grad_map_norm` — the convergence diagnostic ``‖θ − P(θ − ∇loss(θ))‖``, zero exactly at
  a constrained stationary point.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

__all__ = ["ball_projection", "grad_map_norm", "projected_adam", "projected_fista"]


def ball_projection(theta, radius, *, per_layer: bool = False) -> jax.Array:
    """``θ`` projected onto ``{‖θ‖ <= radius}``.

    Args:
      theta: the parameter.
      radius: the ball's radius ``B > 0``.
      per_layer: project each row ``θ_h`` (last axis) onto its own ball (Eq 11) instead of the
        whole ``θ`` onto one ball (Def J.3).

    Returns:
      The projection, with the shape of ``theta``.
    """
    if per_layer:
        norms = jnp.linalg.norm(theta, axis=-1, keepdims=True)
        return jnp.where(norms > radius, theta * (radius / jnp.maximum(norms, 1e-300)), theta)
    norm = jnp.linalg.norm(theta)
    return jnp.where(norm > radius, theta * (radius / jnp.maximum(norm, 1e-300)), theta)


def grad_map_norm(loss, theta, project) -> jax.Array:
    """``‖θ − P(θ − ∇loss(θ))‖``: the norm of the projected-gradient step at ``theta``."""
    return jnp.linalg.norm(theta - project(theta - jax.grad(loss)(theta)))


def projected_fista(loss, theta0, project, steps: int) -> jax.Array:
    """``θ`` after ``steps`` FISTA iterations with step 1 from ``theta0``.

    Args:
      loss: a scalar function of ``θ`` whose gradient is 1-Lipschitz.
      theta0: the starting point.
      project: the projection onto the feasible set.
      steps: the number of iterations (static).

    Returns:
      The last iterate.
    """
    grad = jax.grad(loss)

    def step(carry, _):
        theta, z, t = carry
        new = project(z - grad(z))
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        return (new, new + ((t - 1.0) / t_new) * (new - theta), t_new), None

    (theta, _, _), _ = jax.lax.scan(step, (theta0, theta0, jnp.asarray(1.0, theta0.dtype)), None, length=steps)
    return theta


def projected_adam(loss, theta0, project, steps: int, learning_rate) -> jax.Array:
    """``θ`` after ``steps`` of Adam from ``theta0``, projected after every update.

    Args:
      loss: a scalar function of ``θ``.
      theta0: the starting point.
      project: the projection onto the feasible set.
      steps: the number of iterations (static).
      learning_rate: a float or an optax schedule.

    Returns:
      The last iterate.
    """
    opt = optax.adam(learning_rate)

    def step(carry, _):
        theta, state = carry
        g = jax.grad(loss)(theta)
        updates, state = opt.update(g, state, theta)
        return (project(optax.apply_updates(theta, updates)), state), None

    (theta, _), _ = jax.lax.scan(step, (theta0, opt.init(theta0)), None, length=steps)
    return theta
