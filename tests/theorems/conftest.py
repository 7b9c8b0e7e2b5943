"""Fixtures shared by the statistical theorems' tests."""

from __future__ import annotations

import jax
import pytest

from sharpsim import classes, problems


@pytest.fixture(scope="module")
def decoys():
    """A with_coverage problem (4 prompts, 6 responses, C_cov = 2, margin 0.2, heterogeneous) and the
    decoy product class around its base (2 decoys per prompt, log|Π| = 4 log 3)."""
    pr = problems.with_coverage(jax.random.key(0), 4, 6, 2.0, heterogeneity=1.0, margin=0.2)
    return pr, classes.decoy_product_class(jax.random.key(1), pr, 2)
