"""Numerical policy of sharpsim: precision, tie tolerance, enumeration limit.

Floating-point policy
---------------------
sharpsim computes the quantities of the theory (probabilities, coverage, margins, best-of-N
laws, sharpening errors) *exactly*, meaning up to float64 rounding. Importing sharpsim
therefore turns on JAX's 64-bit mode (``jax_enable_x64``), as JAX requires this to be set
before arrays are created. Every array a sharpsim constructor returns is float64 (or int64
for indices). Where a formula would lose precision in float64 it is evaluated in log space:

* policies store normalised log-probabilities, so probabilities down to 1e-300 are
  representable and ``log π`` is exact for probabilities down to 1e-12 and far below;
* the best-of-N law uses ``F(v)^N - F(v-)^N = F(v)^N * (-expm1(N (log F(v-) - log F(v))))``
  with ``log F`` taken from whichever of the lower or the upper cumulative sum is smaller,
  so masses like ``1 - 1e-12`` are never rounded to 1 and N up to 1e15 is fine;
* the KL-regularised optimum ``π_base^{1+1/β}`` is a ``log_softmax`` of scaled log-probs,
  so β down to 1e-300 does not overflow.

Set the environment variable ``SHARPSIM_NO_X64=1`` before importing sharpsim to leave JAX's
precision alone (e.g. inside a float32 training loop); sharpsim then warns once, and its
exactness guarantees drop to float32 (relative error ~1e-7).
"""

from __future__ import annotations

import os
import warnings

import jax

#: Relative tolerance under which two probabilities count as tied. ``y`` is in the arg-max set
#: ``y*(x)`` when ``π(y|x) >= (1 - TIE_RTOL) * max_y' π(y'|x)``. Float64 rounding in the
#: library's own arithmetic is ~1e-16 relative, so 1e-9 separates rounding noise from real
#: differences by seven orders of magnitude.
TIE_RTOL: float = 1e-9

#: Absolute tolerance on the row sums of user-supplied probability tables. Rows within this
#: of 1 are accepted and renormalised exactly; others raise ``ValueError``.
PROB_SUM_ATOL: float = 1e-6

#: Largest ``num_prompts * vocab_size ** horizon`` for which an autoregressive policy's joint
#: law is enumerated (2**24 float64 entries = 128 MiB). Pass ``limit=`` to override.
ENUMERATION_LIMIT: int = 2**24

X64_ENABLED: bool
if os.environ.get("SHARPSIM_NO_X64", "") not in ("", "0"):
    X64_ENABLED = bool(jax.config.jax_enable_x64)
    if not X64_ENABLED:
        warnings.warn(
            "SHARPSIM_NO_X64 is set: sharpsim runs in float32 and its exact quantities are "
            "exact only to ~1e-7 relative error.",
            stacklevel=2,
        )
else:
    jax.config.update("jax_enable_x64", True)
    X64_ENABLED = True
