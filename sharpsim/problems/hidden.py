"""The hidden direction: a linear-softmax instance (Def J.3) where offline Eq 8 needs exploration.

Not an example of the paper but built for its Sec 4.2 / App J discussion: a problem inside the
linear-softmax class where offline RLHF-Sharpening on base samples (Eq 8) cannot sharpen without
seeing the arg-max, and XPO (Alg 1), whose optimism term explores, can.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.policies import TabularPolicy
from sharpsim.policies.tabular import _float
from sharpsim.problems.core import Problem

__all__ = ["hidden_direction"]


def hidden_direction(d: int, num_responses: int, *, bias: float = 1.0, key: jax.Array | None = None):
    """An instance inside the linear-softmax family where offline Eq 8 fails without exploration.

    ``(problem, features)`` with ``features: [1, Y, d]`` and ``Y = num_responses``:

    * ``y*`` (response 0) has ``φ(y*) = e_d``;
    * the ``Y − 1`` *common* responses have ``φ(y) = (u_y, 0)`` with ``u_y`` unit vectors of
      ``R^{d−1}`` (random, from ``key``; the standard basis and its negatives first);
    * ``π_base = π_{θ_b}`` with ``θ_b = bias · e_d``, so every common response has logit 0 and
      ``y*`` logit ``bias``: ``γ_margin = e^{bias} − 1`` and ``C_cov = (Y − 1 + e^{bias})/e^{bias}``.

    Every feature difference between two common responses lies in ``e_d^⊥``: data drawn from
    ``π_base`` identify ``θ`` along ``e_d`` only through pairs that contain ``y*``, which appear with
    probability about ``2/C_cov`` per pair. Conditioned on ``y*`` never being drawn, the data
    (responses and rewards) have the same law under ``θ_b`` and under ``−θ_b`` (where ``y*`` is the
    *least* likely response), so no method that sees only base samples can sharpen both; the
    exact Eq 8 regression returns the minimum-norm ``θ_d = 0`` (the uniform policy) then. See
    ``theory/linear_softmax.md`` for the measured consequence.

    Args:
      d: feature dimension (``>= 2``).
      num_responses: ``|Y|`` (``>= 3``).
      bias: ``‖θ_b‖ > 0``, the arg-max's logit.
      key: PRNG key for the common responses beyond the ``2(d − 1)`` signed basis vectors
        (default ``jax.random.key(0)``).

    Returns:
      ``(problem, features)``: one prompt, ``π_base = π_{θ_b}``, and ``features: [1, Y, d]``.

    Raises:
      ValueError: if ``d < 2``, ``num_responses < 3`` or ``bias <= 0``.
    """
    d = v.check_positive_int("d", d, minimum=2)
    num_responses = v.check_positive_int("num_responses", num_responses, minimum=3)
    bias = v.check_positive("bias", bias)
    commons = num_responses - 1
    k = d - 1
    basis = np.concatenate([np.eye(k), -np.eye(k)])[: min(2 * k, commons)]
    extra = commons - basis.shape[0]
    if extra > 0:
        key = jax.random.key(0) if key is None else key
        g = np.array(jax.random.normal(key, (extra, k)), dtype=np.float64)
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        basis = np.concatenate([basis, g])
    feats = np.zeros((num_responses, d))
    feats[0, -1] = 1.0
    feats[1:, :k] = basis
    theta = np.zeros(d)
    theta[-1] = bias
    logits = feats @ theta
    policy = TabularPolicy(jax.nn.log_softmax(jnp.asarray(logits[None, :], dtype=_float()), axis=-1))
    problem = Problem(policy, jnp.ones((1,), dtype=_float()))
    return problem, jnp.asarray(feats[None], dtype=_float())
