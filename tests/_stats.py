"""Statistical helpers shared by the tests."""

from __future__ import annotations

import numpy as np
from scipy import stats


def chi_square_pvalue(counts, probs, min_expected=5.0):
    """Goodness-of-fit p-value of ``counts`` against ``probs``, lumping cells whose expected
    count is below ``min_expected`` into one (so the chi-square approximation holds)."""
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    expected = counts.sum() * probs / probs.sum()
    keep = expected >= min_expected
    obs, exp = list(counts[keep]), list(expected[keep])
    if (~keep).any() and expected[~keep].sum() > 0:
        obs.append(counts[~keep].sum())
        exp.append(expected[~keep].sum())
    return stats.chisquare(obs, exp).pvalue
