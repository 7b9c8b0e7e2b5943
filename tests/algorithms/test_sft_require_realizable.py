"""sft_sharpening(require_realizable=True) refuses a class without the BoN law (Assumption 4.1)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import classes, problems
from sharpsim.algorithms import sft_sharpening


def test_require_realizable_raises_then_accepts_the_closure():
    problem = problems.with_coverage(jax.random.key(0), 3, 6, 3.0)
    base_only = classes.FiniteClass(np.asarray(problem.probs)[None])  # contains π_base only
    with pytest.raises(ValueError, match=r"not realizable.*Assumption 4\.1"):
        sft_sharpening(jax.random.key(1), problem, base_only, n=20, N=4, require_realizable=True)
    closed = classes.bon_closure(base_only, 4)
    result = sft_sharpening(jax.random.key(1), problem, closed, n=20, N=4, require_realizable=True)
    np.testing.assert_allclose(np.asarray(result.policy.probs), np.asarray(ss.bon_law(problem, 4).probs), atol=1e-12)
    # N = 1: π_base itself is its own BoN_1 law, so the plain class is realizable
    sft_sharpening(jax.random.key(1), problem, base_only, n=20, N=1, require_realizable=True)
