"""Vectorised binary search in flattened row-wise monotone tables (used by the samplers)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def first_greater(flat: jax.Array, base: jax.Array, width: int, hi, target) -> jax.Array:
    """Vectorised binary search: the first ``pos`` in ``[0, hi)`` with ``flat[base + pos] > target``
    (``hi`` if none), for rows of length ``width`` stored flat and non-decreasing in ``pos``.

    ``base``, ``hi`` and ``target`` broadcast together; each search reads ``⌈log2(width+1)⌉``
    single elements, with no per-search copy of a row.
    """
    lo = jnp.zeros(jnp.shape(base), jnp.asarray(base).dtype)
    hi = jnp.broadcast_to(jnp.asarray(hi, lo.dtype), lo.shape)

    def bisect(_, bounds):
        lo, hi = bounds
        active = lo < hi
        mid = (lo + hi) // 2
        greater = flat[base + jnp.minimum(mid, width - 1)] > target
        new_lo = jnp.where(active & ~greater, mid + 1, lo)
        new_hi = jnp.where(active & greater, mid, hi)
        return new_lo, new_hi

    lo, _ = jax.lax.fori_loop(0, int(width).bit_length() + 1, bisect, (lo, hi))
    return lo
