"""Shape buckets for eager calls of the algorithms, and a count of XLA compilations.

An eager call (no argument traced) of :func:`~sharpsim.algorithms.sft_sharpening`,
:func:`~sharpsim.algorithms.adaptive_sft_sharpening`, :func:`~sharpsim.algorithms.best_of_n` or
:func:`~sharpsim.algorithms.rlhf_sharpening` runs one jitted function per *shape bucket*: the
prompt count ``n`` is padded to :func:`bucket` ``(n)`` (the next power of two) and masked (the
oracle's ``num_active``), and the exact method's ``N`` (and adaptive ``stop_level``, RLHF's ``β``
and ``reward_noise``, ``δ``, ``γ``) are traced (below
:data:`MIN_BUCKET` all counts share one bucket). A loop over any
number of distinct ``(n, N)`` on one problem therefore compiles at most once per bucket
touched, instead of once per distinct shape and value for every operation. Results are cut
back to the first ``n`` prompts on the host, so their shapes are the same as without buckets.
:func:`~sharpsim.algorithms.xpo` does the same with its number of rounds ``T``: the scan runs
``bucket(T)`` rounds, those past ``T`` inert, and ``α``, ``β``, ``δ``, ``γ`` are traced.
"""

from __future__ import annotations

import threading

import jax
import numpy as np
from jax import monitoring

from sharpsim import _validation as v

__all__ = ["MIN_BUCKET", "bucket", "compile_count", "is_eager", "take_first"]

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_lock = threading.Lock()
_compiles = 0


def _on_duration(event: str, duration: float, **kwargs) -> None:
    global _compiles
    if event == _COMPILE_EVENT:
        with _lock:
            _compiles += 1


monitoring.register_event_duration_secs_listener(_on_duration)


def compile_count() -> int:
    """The number of XLA backend compilations in this process since :mod:`sharpsim` was imported
    (every jitted function and every eagerly compiled operation, whatever its origin).

    Returns:
      A non-decreasing integer; differences between two calls count the compilations between them.
    """
    return _compiles


#: The smallest bucket: prompt counts below it share one compilation (padding them costs little).
MIN_BUCKET = 16


def bucket(n: int) -> int:
    """The padded prompt count of ``n``: the smallest power of two ``>= max(n, MIN_BUCKET)``.

    Args:
      n: a prompt count, an integer ``>= 1``.

    Returns:
      ``max(16, 2^⌈log2 n⌉)`` (under ``2 n`` once ``n > 16``), so the counts ``n <= 2^k``
      (``k >= 4``) touch at most ``k - 3`` buckets.

    Raises:
      ValueError: if ``n`` is not an integer ``>= 1``.
    """
    n = v.check_positive_int("n", n)
    return max(MIN_BUCKET, 1 << (n - 1).bit_length())


def is_eager(*xs) -> bool:
    """True when no leaf of ``xs`` is a JAX tracer (the call is not under ``jit``/``vmap``/``grad``)."""
    return v.is_concrete(*xs)


def take_first(x, n: int):
    """The first ``n`` entries (leading axis) of a concrete array, cut on the host so that no
    operation is compiled for the new shape.

    Args:
      x: a concrete array with a leading axis of length ``>= n``.
      n: how many entries to keep.

    Returns:
      A JAX array of shape ``[n, ...]`` and the same dtype.
    """
    return jax.device_put(np.asarray(jax.device_get(x))[:n])
