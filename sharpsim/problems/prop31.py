"""Prop 3.1's tightness instance: greedy decoding misses the arg-max ``y*`` with ``π(y*) <= 1/2``.

Huang et al. (ICLR 2025), Prop 3.1: greedy (token-wise arg-max) decoding recovers the sequence
arg-max when ``π(y*|x) > 1/2``; the instance below shows that the threshold 1/2 is tight.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from sharpsim import _config
from sharpsim import _validation as v
from sharpsim.policies import AutoregressivePolicy
from sharpsim.policies.tabular import _float
from sharpsim.problems.core import Problem

__all__ = ["prop31_tightness"]


def prop31_tightness(*, vocab_size: int = 2, horizon: int = 2, p_star: float = 0.4) -> Problem:
    """Prop 3.1's tightness instance: ``π(y*) = p_star <= 1/2`` and greedy decoding misses ``y*``.

    One prompt. The first token is ``0`` w.p. ``1 - p_star`` and ``1`` w.p. ``p_star``; after
    ``1`` every later token is ``0`` surely, so ``y* = (1, 0, ..., 0)`` has probability
    ``p_star``; after ``0`` the rest is uniform, so each such sequence has probability
    ``(1 - p_star)/V^{H-1} < p_star``. Greedy takes ``0`` first (``1 - p_star >= p_star``,
    ties broken to the lowest token) and can never reach ``y*``.

    Args:
      vocab_size: ``V >= 2``.
      horizon: ``H >= 2``.
      p_star: ``π(y*)``.

    Returns:
      A :class:`Problem` with an :class:`AutoregressivePolicy` base (full-history contexts).

    Raises:
      ValueError: unless ``1/(1 + (1 - TIE_RTOL) V^{H-1}) < p_star <= 1/2``, with a relative
        1e-12 to spare at the lower end (needed for ``y*`` to be the unique arg-max beyond the
        tie tolerance, ``(1 - p_star)/V^{H-1} < (1 - TIE_RTOL) p_star``, and for greedy to
        miss it).
    """
    V = v.check_positive_int("vocab_size", vocab_size, minimum=2)
    H = v.check_positive_int("horizon", horizon, minimum=2)
    s = v.check_positive("p_star", p_star)
    lo = (1.0 + 1e-12) / (1.0 + (1.0 - _config.TIE_RTOL) * V ** (H - 1))
    if not (lo < s <= 0.5):
        raise ValueError(f"`p_star` must lie in ({lo:g}, 0.5] for vocab_size={V}, horizon={H}; got {s}")
    S = V ** (H - 1)
    tables = np.full((H, 1, S, V), 1.0 / V)
    tables[0, 0, 0] = 0.0
    tables[0, 0, 0, 0], tables[0, 0, 0, 1] = 1.0 - s, s
    for h in range(1, H):
        ctx = V ** (h - 1)  # the prefix (1, 0, ..., 0) of length h, in base V
        tables[h, 0, ctx] = 0.0
        tables[h, 0, ctx, 0] = 1.0
    with np.errstate(divide="ignore"):
        log_tables = np.log(tables)
    policy = AutoregressivePolicy(jnp.asarray(log_tables, dtype=_float()), H - 1)
    return Problem(policy, jnp.ones((1,), dtype=_float()))
