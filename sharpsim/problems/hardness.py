"""App E (hardness and representation) as instances of the multi-layer linear-softmax class (Eq 11).

* :func:`maxcut_instance` — Prop E.1: a policy of the class whose sequence-level arg-max encodes
  MAX-CUT of a given graph, while sampling and evaluating ``log π`` stay polynomial (``H`` steps,
  each a softmax over ``V = 2`` tokens).
* :func:`prop_e2_instance` — Prop E.2: a class whose unique sequence arg-max cannot get mass
  above 1/2 from any member, so training-time sharpening fails where inference-time BoN succeeds.

Both return ``(problem, model_class, theta)``: the base ``π_base = π_θ`` as a ``Problem`` with one
prompt, the class (:class:`sharpsim.classes.AutoregressiveLinearSoftmaxClass`, full-history
contexts) and ``θ`` ``[H, d]``. Notes: ``theory/eq11_autoregressive_linear.md``.
"""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.classes.autoregressive_linear import AutoregressiveLinearSoftmaxClass
from sharpsim.problems.core import Problem, from_policy

__all__ = ["cut_value", "maxcut_instance", "prop_e2_instance"]


def cut_value(adjacency, assignment) -> float:
    """``Σ_{i<j} A_ij [s_i ≠ s_j]`` for spins ``assignment`` in ``{−1, +1}^n`` (or tokens ``{0, 1}``)."""
    A = np.asarray(adjacency, dtype=float)
    s = np.asarray(assignment)
    s = np.where(s > 0, 1, -1) if set(np.unique(s)) <= {0, 1} else s
    return float(np.sum(np.triu(A, 1) * (s[:, None] != s[None, :])))


def maxcut_instance(adjacency) -> tuple[Problem, AutoregressiveLinearSoftmaxClass, np.ndarray]:
    """Prop E.1 for the graph with symmetric non-negative weights ``adjacency`` ``[n, n]``.

    Tokens ``V = {0, 1}`` stand for spins ``{−1, +1}``; ``H = n + 2``. Steps ``1..n`` are uniform
    (``θ_h = 0``): they draw a cut ``s``. Step ``n+1`` has cubic features ``s_i s_j s_{n+1}`` (one per
    pair ``i < j``) with weights ``−A_ij``, so ``π(s_{n+1} = +1 | s) = σ(−2S)`` with
    ``S = Σ_{i<j} A_ij s_i s_j = W − 2 cut(s)`` (``W`` the total weight). Step ``n+2`` has features
    ``s_{n+1} s_{n+2}`` and ``s_{n+2}`` with weight 2 each: after ``s_{n+1} = +1`` it emits ``+1`` with
    probability ``σ(8)``, after ``−1`` it is uniform. A sequence ``(s, +1, +1)`` has probability
    ``2^{−n} σ(−2S) σ(8)``, any ``(s, −1, ·)`` at most ``2^{−n}/2``; when the best cut exceeds ``W/2``
    (every graph with an edge), ``σ(−2S) > σ(0) = 1/2`` there and the arg-max is ``(s*, +1, +1)`` with
    ``s*`` a maximum cut. Features are scaled to norm ≤ 1 (and ``θ`` up to match), as the class needs.
    """
    A = v.as_float_array("adjacency", adjacency, ndim=2)
    n = A.shape[0]
    if A.shape != (n, n) or n < 2:
        raise ValueError(f"`adjacency` must be a square matrix with n >= 2 nodes; got shape {A.shape}")
    if not np.all(np.isfinite(A)) or np.any(A < 0) or not np.allclose(A, A.T):
        raise ValueError("`adjacency` must be symmetric with finite non-negative weights")
    if n + 2 > 20:
        raise ValueError(f"maxcut_instance enumerates 2^(n+2) sequences; n = {n} is too large (n <= 18)")
    pairs = list(itertools.combinations(range(n), 2))
    P = len(pairs)
    d = P + 2
    H = n + 2
    S = 2 ** (H - 1)  # full-history contexts
    feats = np.zeros((H, 1, S, 2, d))
    spin = np.array([-1.0, 1.0])
    for c in range(2 ** n):  # context of step n+1: the n spins (most recent least significant)
        s = spin[[(c >> (n - 1 - i)) & 1 for i in range(n)]]
        for t in (0, 1):
            feats[n, 0, c, t, :P] = [s[i] * s[j] * spin[t] for i, j in pairs]
    feats[n, :, :, :, :P] /= math.sqrt(P)
    for c in range(S):  # step n+2: its last context token is s_{n+1}
        prev = spin[c & 1]
        for t in (0, 1):
            feats[n + 1, 0, c, t, P:] = [prev * spin[t] / math.sqrt(2), spin[t] / math.sqrt(2)]
    theta = np.zeros((H, d))
    theta[n, :P] = [-A[i, j] * math.sqrt(P) for i, j in pairs]
    theta[n + 1, P:] = 2.0 * math.sqrt(2)
    radius = 1.01 * float(np.linalg.norm(theta, axis=1).max())
    cls = AutoregressiveLinearSoftmaxClass(feats, radius, context_length=H - 1)
    return from_policy(cls.policy(jnp.asarray(theta))), cls, theta


def prop_e2_instance(n: int, radius: float | None = None):
    """Prop E.2 (H = d = 2, V = [n]; 0-indexed tokens): tokens 0 and 1 share the first-step feature
    ``e_1``, tokens ``>= 2`` have ``e_2``; after token 1 the second step gives token 0 ``e_1`` and the
    others ``e_2``; after any other token every second-step feature is 0. ``θ*_1 = θ*_2 = B e_1`` with
    ``B = log n + 1/2`` (``>= log n``, so the arg-max ``(1, 0)`` is unique). Every member gives tokens
    0 and 1 the same first-step mass, hence at most 1/2 to ``(1, 0)``. ``radius`` (default ``B``) sets
    the class's ball."""
    n = v.check_positive_int("n", n, minimum=3)
    B = math.log(n) + 0.5
    f = np.zeros((2, 1, n, n, 2))
    f[0, 0, :, 0:2] = [1.0, 0.0]
    f[0, 0, :, 2:] = [0.0, 1.0]
    f[1, 0, 1, 0] = [1.0, 0.0]
    f[1, 0, 1, 1:] = [0.0, 1.0]
    cls = AutoregressiveLinearSoftmaxClass(f, B if radius is None else v.check_positive("radius", radius),
                                           context_length=1)
    theta = np.array([[B, 0.0], [B, 0.0]])
    return from_policy(cls.policy(jnp.asarray(theta))), cls, theta
