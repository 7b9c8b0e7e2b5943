"""The adaptive closure of a class (Thm D.1's realizability), ``ProductClass.to_finite`` and
``decoy_product_class(around=...)``."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import classes, problems


@pytest.fixture(scope="module")
def setup():
    pr = problems.with_coverage(jax.random.key(0), 3, 5, 2.0, margin=0.2)
    return pr, classes.decoy_product_class(jax.random.key(1), pr, 2)


def test_adaptive_closure_contains_the_base_adaptive_law(setup):
    pr, cls = setup
    assert not classes.is_adaptive_realizable(cls, pr, 1.0)  # base rows and decoys only
    closed = classes.adaptive_closure(cls, 1.0)
    assert classes.is_adaptive_realizable(closed, pr, 1.0)
    # every candidate is replaced by its own adaptive law: the base's row by laws.adaptive_law's
    law = np.asarray(ss.laws.adaptive_law(pr, 1.0).probs)
    cands = np.exp(np.asarray(closed.log_probs))
    assert all(np.abs(cands[x] - law[x]).max(axis=1).min() < 1e-12 for x in range(3))
    assert classes.adaptive_closure(classes.TabularClass(), 1.0) == classes.TabularClass()
    with pytest.raises(ValueError, match="`stop_level`"):
        classes.adaptive_closure(cls, 0.0)
    with pytest.raises(TypeError, match="exact adaptive closure"):
        classes.adaptive_closure(classes.LinearSoftmaxClass(np.eye(5)[None], 1.0), 1.0)


def test_to_finite_lists_every_member(setup):
    _, cls = setup
    fin = cls.to_finite()
    assert fin.num_members == 27 and fin.log_size == pytest.approx(cls.log_size, rel=1e-12)
    # member k chooses candidate (k // 9, k // 3 % 3, k % 3) at prompts 0, 1, 2
    members = np.exp(np.asarray(fin.log_probs))
    cands = np.exp(np.asarray(cls.log_probs))
    for k in (0, 5, 26):
        idx = (k // 9, k // 3 % 3, k % 3)
        np.testing.assert_array_equal(members[k], cands[np.arange(3), idx])
    # both classes fit the same MLE on the same data
    triples_prompts = np.array([0, 1, 2, 2]), np.array([0, 1, 2, 3])
    np.testing.assert_allclose(np.asarray(fin.mle(*triples_prompts).probs), np.asarray(cls.mle(*triples_prompts).probs))
    with pytest.raises(ValueError, match="more than `max_members` = 10"):
        cls.to_finite(max_members=10)


def test_decoys_around_another_policy(setup):
    pr, _ = setup
    opt = ss.kl_regularized_optimum(pr, 0.1)
    cls = classes.decoy_product_class(jax.random.key(2), pr, 2, around=opt)
    target = np.asarray(opt.probs)
    assert cls.contains(target, np.ones(3, bool))
    assert not cls.contains(np.asarray(pr.base.probs), np.ones(3, bool))
    with pytest.raises(ValueError, match="`around` has shape"):
        classes.decoy_product_class(jax.random.key(2), pr, 2, around=np.full((2, 5), 0.2))
