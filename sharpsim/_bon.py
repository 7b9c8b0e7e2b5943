"""The array-level best-of-N kernel shared by :mod:`sharpsim.laws` and :mod:`sharpsim.classes`.

Under the log-likelihood self-reward the best of ``N`` i.i.d. draws from a conditional ``π(·|x)``
has probability level ``v`` with probability ``F(v)^N - F(v-)^N``, where
``F(v) = Σ_{y: π(y|x) <= v} π(y|x)`` and ``F(v-)`` is the same sum with ``<``; that mass is split
evenly among the ``k_v`` responses at the level (Huang et al., ICLR 2025, Sec 2.1 and Prop C.1;
ties count as one level within the relative tolerance ``TIE_RTOL``). Everything here works on
``[rows, Y]`` log-probability arrays, so it needs neither problems nor model classes.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v


# ----------------------------------------------------------------------- level structure
@functools.partial(jax.jit, static_argnames=("rtol",))
def _levels(log_probs: jax.Array, rtol: float):
    """Sorted level structure of each row of ``log_probs: [X, Y]``.

    Returns, per sorted position (descending probability): ``order`` (original index),
    ``log_cdf`` = log F(v) and ``log_cdf_below`` = log F(v-) of its level, ``start`` (first
    sorted position of its level) and ``size`` = k_v.
    """
    order = jnp.argsort(-log_probs, axis=-1, stable=True)
    lp = jnp.take_along_axis(log_probs, order, axis=-1)
    return (order,) + jax.vmap(lambda row: _row_levels(row, rtol))(lp)


def _row_levels(lp: jax.Array, rtol: float):
    Y = lp.shape[0]
    # A level starts at a response more than `rtol` below the level's *first* (largest)
    # member, the same rule as `argmax_set`, so near-ties never chain into one level.
    new = _level_starts(lp, jnp.log1p(-rtol))
    gid = jnp.cumsum(new) - 1  # level id per sorted position, 0 = most likely
    p = jnp.exp(lp)
    gmass = jax.ops.segment_sum(p, gid, num_segments=Y)
    gsize = jax.ops.segment_sum(jnp.ones_like(p), gid, num_segments=Y)
    pos = jnp.arange(Y)
    gstart = jax.ops.segment_min(pos, gid, num_segments=Y)
    above = jnp.cumsum(gmass) - gmass  # mass strictly above each level
    below = jnp.cumsum(gmass[::-1])[::-1] - gmass  # mass strictly below each level
    at_or_below = below + gmass
    at_or_above = above + gmass
    log_f = _log_one_minus(at_or_below, above)
    log_f_below = _log_one_minus(below, at_or_above)
    return log_f[gid], log_f_below[gid], gstart[gid], gsize[gid]


def _level_starts(lp: jax.Array, tol) -> jax.Array:
    """``[Y]`` True where a level starts, for descending ``lp``: position 0, and then the first
    position more than ``tol`` (log space, negative) below the current level's first member.

    The chain of level starts is the orbit of 0 under ``next(j) = first k with lp_k < lp_j + tol``
    (a ``searchsorted``), collected by pointer doubling in ``⌈log2 Y⌉`` parallel rounds
    instead of a length-``Y`` sequential scan.
    """
    Y = lp.shape[0]
    neg = -lp  # ascending
    nxt = jnp.searchsorted(neg, -(lp + tol), side="right")  # first k with -lp_k > -(lp_j + tol)
    nxt = jnp.concatenate([jnp.maximum(nxt, jnp.arange(Y) + 1), jnp.array([Y])])  # sentinel Y
    member = jnp.zeros(Y + 1, bool).at[0].set(True)
    jump = nxt
    for _ in range(max(1, int(Y).bit_length())):
        member = member.at[jump].max(member)
        jump = jump[jump]
    return member[:Y]


def _log_one_minus(direct, complement):
    """``log(direct)`` where ``direct = 1 - complement``, from whichever is accurate."""
    safe_c = jnp.minimum(complement, 1.0)
    return jnp.where(direct < 0.5, jnp.log(direct), jnp.log1p(-safe_c))


def _check_n(N, num_prompts: int | None = None):
    if not v.is_concrete(N):
        return N
    if jnp.ndim(N) == 0:
        v.check_positive_int("N", N if isinstance(N, int) else _int_or_raise(N))
        return N
    # per-prompt N: every entry an integer >= 1, one per prompt
    arr = np.asarray(N)
    if arr.ndim != 1 or (num_prompts is not None and arr.shape[0] != num_prompts):
        raise ValueError(f"`N` must be a scalar or have shape [num_prompts] = [{num_prompts}]; got {arr.shape}")
    if arr.dtype == bool or not np.all(np.isfinite(arr.astype(np.float64))) or np.any(arr != np.round(arr)):
        raise TypeError(f"`N` must hold integers >= 1; got {arr}")
    if np.any(arr < 1):
        raise ValueError(f"`N` must hold integers >= 1; smallest entry is {arr.min()}")
    return N


def _int_or_raise(N):
    value = float(N)
    if not value.is_integer():
        raise TypeError(f"`N` must be an integer >= 1; got {value}")
    return int(value)


def _bon_log_law(log_probs, N, rtol):
    order, log_f, log_f_below, _, size = _levels(log_probs, rtol)
    N = jnp.asarray(N, dtype=log_f.dtype)
    N = N[..., None] if N.ndim == 1 else N
    top = N * log_f
    # F^N - F_-^N = F^N (1 - exp(N (log F_- - log F))); a zero-mass level gets nothing
    diff = jnp.where(log_f > -jnp.inf, N * (log_f_below - log_f), -jnp.inf)
    log_level = top + jnp.log(-jnp.expm1(diff))
    log_level = jnp.where(log_f > -jnp.inf, log_level, -jnp.inf)
    sorted_law = log_level - jnp.log(size)
    inv = jnp.argsort(order, axis=-1)
    return jnp.take_along_axis(sorted_law, inv, axis=-1)
