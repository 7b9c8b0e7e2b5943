"""Bad input to the model classes: every invalid argument raises an error naming the argument and
the constraint it broke (empty, wrongly shaped or invalid tables; bad sizes)."""

from __future__ import annotations

import numpy as np
import pytest

from sharpsim import classes

# ================================================ empty or shape-mismatched classes
FINITE_ROWS = [
    (lambda: classes.FiniteClass(np.zeros((0, 2, 3))), ValueError, r"`probs` must be non-empty; got shape \(0, 2, 3\)"),
    (lambda: classes.FiniteClass(np.full((2, 3), 1 / 3)), ValueError, r"`probs` must have 3 dimension\(s\); got shape \(2, 3\)"),
    (lambda: classes.FiniteClass(log_probs=np.zeros((0, 2, 3))), ValueError, r"`log_probs` must have shape \[K >= 1, X, Y\]; got \(0, 2, 3\)"),
    (lambda: classes.FiniteClass(log_probs=np.zeros((2, 3))), ValueError, r"`log_probs` must have shape \[K >= 1, X, Y\]; got \(2, 3\)"),
    (lambda: classes.FiniteClass(np.full((2, 2, 3), 0.5)), ValueError, r"each row of `probs` must sum to 1"),
    (lambda: classes.FiniteClass(), TypeError, r"pass exactly one of `probs` or `log_probs` to FiniteClass"),
]


@pytest.mark.parametrize("call,exc,match", FINITE_ROWS)
def test_finite_class_bad_tables(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


CANDS = np.full((2, 3, 4), 0.25)

PRODUCT_ROWS = [
    (lambda: classes.ProductClass(CANDS, valid=np.ones((3, 2), bool)), ValueError, r"`valid` must have shape \[X, K\] = \[2, 3\]; got \(3, 2\)"),
    (lambda: classes.ProductClass(CANDS, valid=[[True, False, False], [False, False, False]]), ValueError, r"every prompt needs at least one valid candidate in `valid`"),
    (lambda: classes.ProductClass(CANDS, valid=[[True, False, False], [False, True, False]]), ValueError, r"candidate 0 \(the default for unseen prompts\) must be valid"),
    (lambda: classes.ProductClass(np.zeros((2, 0, 4))), ValueError, r"`probs` must be non-empty; got shape \(2, 0, 4\)"),
    (lambda: classes.ProductClass(np.full((2, 4), 0.25)), ValueError, r"`probs` must have 3 dimension\(s\)"),
    (lambda: classes.ProductClass(), TypeError, r"pass exactly one of `probs` or `log_probs` to ProductClass"),
]


@pytest.mark.parametrize("call,exc,match", PRODUCT_ROWS)
def test_product_class_bad_tables(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


TABULAR_ROWS = [
    (lambda: classes.TabularClass(0, 3), ValueError, r"`num_prompts` must be an integer >= 1; got 0"),
    (lambda: classes.TabularClass(2, 0), ValueError, r"`num_responses` must be an integer >= 1; got 0"),
    (lambda: classes.TabularClass(2, 3, smoothing=-1.0), ValueError, r"`smoothing` must be >= 0; got -1"),
]


@pytest.mark.parametrize("call,exc,match", TABULAR_ROWS)
def test_tabular_class_bad_sizes(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
