"""Argument checks shared by the public API.

Every check raises one ``ValueError`` (or ``TypeError``) whose message names the argument and
the constraint it broke. Checks run on concrete values only: inside ``jit`` the arguments are
tracers and the checks are skipped, so validated entry points stay traceable.
"""

from __future__ import annotations

import numbers

import jax
import numpy as np

from sharpsim._config import PROB_SUM_ATOL


def is_concrete(*xs) -> bool:
    """True when none of ``xs`` is a JAX tracer (so its value can be inspected)."""
    return not any(isinstance(leaf, jax.core.Tracer) for x in xs for leaf in jax.tree.leaves(x))


def as_float_array(name: str, value, *, ndim: int | None = None) -> np.ndarray:
    """Converts ``value`` to a float64 NumPy array, checking its rank."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"`{name}` must be an array of real numbers; got {type(value).__name__}") from err
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"`{name}` must have {ndim} dimension(s); got shape {arr.shape}")
    return arr


def check_probability_table(name: str, value, *, ndim: int = 2) -> np.ndarray:
    """Checks a table of distributions over its last axis and renormalises it exactly.

    Entries must be finite and non-negative and each row must sum to 1 within
    ``PROB_SUM_ATOL`` (1e-6); the returned rows are divided by their sums.
    """
    arr = as_float_array(name, value, ndim=ndim)
    if arr.size == 0 or arr.shape[-1] == 0:
        raise ValueError(f"`{name}` must be non-empty; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must contain only finite numbers (found NaN or inf)")
    if np.any(arr < 0):
        raise ValueError(f"`{name}` must be non-negative; smallest entry is {arr.min():.3g}")
    sums = arr.sum(axis=-1)
    worst = np.max(np.abs(sums - 1.0))
    if worst > PROB_SUM_ATOL:
        idx = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
        raise ValueError(
            f"each row of `{name}` must sum to 1 (tolerance {PROB_SUM_ATOL:g}); "
            f"row {tuple(int(i) for i in idx)} sums to {sums[idx]:.10g}"
        )
    return arr / sums[..., None]


def check_log_probability_table(name: str, value, *, ndim: int = 2) -> np.ndarray:
    """Checks a table of log-probabilities (entries in [-inf, 0], rows summing to 1)."""
    arr = as_float_array(name, value, ndim=ndim)
    if np.any(np.isnan(arr)) or np.any(arr == np.inf):
        raise ValueError(f"`{name}` must not contain NaN or +inf")
    return np.log(check_probability_table(name, np.exp(arr), ndim=ndim))


def check_logits(name: str, value, *, ndim: int = 2) -> np.ndarray:
    """Checks unnormalised logits: no NaN, no +inf, at least one finite entry per row."""
    arr = as_float_array(name, value, ndim=ndim)
    if arr.size == 0 or arr.shape[-1] == 0:
        raise ValueError(f"`{name}` must be non-empty; got shape {arr.shape}")
    if np.any(np.isnan(arr)) or np.any(arr == np.inf):
        raise ValueError(f"`{name}` must not contain NaN or +inf")
    if np.any(np.all(arr == -np.inf, axis=-1)):
        raise ValueError(f"every row of `{name}` needs at least one finite logit")
    return arr


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Checks a Python/NumPy integer ``>= minimum`` and returns it as ``int``."""
    if hasattr(value, "dtype") and np.ndim(value) == 0 and np.issubdtype(value.dtype, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"`{name}` must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value}")
    return int(value)


def check_unit_interval(name: str, value) -> float:
    """Checks a level in [0, 1) (δ, γ, ρ-like quantities)."""
    v = _as_real(name, value)
    if not (0.0 <= v < 1.0):
        raise ValueError(f"`{name}` must lie in [0, 1); got {v}")
    return v


def check_open_unit_interval(name: str, value) -> float:
    """Checks a level in (0, 1) (e.g. a failure probability ρ)."""
    v = _as_real(name, value)
    if not (0.0 < v < 1.0):
        raise ValueError(f"`{name}` must lie in (0, 1); got {v}")
    return v


def check_positive(name: str, value) -> float:
    """Checks a finite real number > 0 (β, constants, ...)."""
    v = _as_real(name, value)
    if not v > 0.0:
        raise ValueError(f"`{name}` must be > 0; got {v}")
    return v


def check_at_least(name: str, value, minimum: float) -> float:
    """Checks a finite real number >= ``minimum``."""
    v = _as_real(name, value)
    if not v >= minimum:
        raise ValueError(f"`{name}` must be >= {minimum:g}; got {v}")
    return v


def _as_real(name: str, value) -> float:
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be a real number; got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"`{name}` must be a real number; got {value!r}") from err
    if arr.ndim != 0:
        raise TypeError(f"`{name}` must be a scalar; got shape {arr.shape}")
    v = float(arr)
    if not np.isfinite(v):
        raise ValueError(f"`{name}` must be finite; got {v}")
    return v
