"""RLHF-Sharpening (Sec 4.2, Eq 8 with the exact regression oracle): with the linear-softmax class on
Example J.1, with the tabular and finite classes, and its errors on bad input."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from classes._reference import linear_problem

import sharpsim as ss
from sharpsim import classes, problems
from sharpsim.algorithms import rlhf_sharpening


def test_rlhf_sharpening_on_example_j1_reaches_the_kl_optimum():
    problem, feats = problems.sphere_separation(jax.random.key(0), 6, radius=3.0, max_responses=64)
    beta = 0.2
    cls = classes.LinearSoftmaxClass(feats, 3.0 * (1 + 1 / beta) * 1.01)
    result = rlhf_sharpening(jax.random.key(1), problem, cls, n=30, beta=beta, delta=0.1)
    assert int(result.num_queries) == 60 and result.responses.shape == (30, 2)
    np.testing.assert_allclose(np.asarray(result.policy.probs), np.asarray(ss.kl_regularized_optimum(problem, beta).probs),
                               atol=1e-8)
    assert float(result.error) == ss.sharpening_error(problem, result.policy, delta=0.1)


def test_rlhf_bad_input():
    problem, feats, _ = linear_problem()
    cls = classes.LinearSoftmaxClass(feats, 5.0)
    with pytest.raises(ValueError, match="`beta`"):
        rlhf_sharpening(jax.random.key(0), problem, cls, n=4, beta=0.0)
    with pytest.raises(ValueError, match="`n`"):
        rlhf_sharpening(jax.random.key(0), problem, cls, n=0, beta=0.5)
    product = classes.ProductClass(np.full((3, 2, 6), 1 / 6))  # no Eq 8 oracle
    with pytest.raises(TypeError, match="regression oracle"):
        rlhf_sharpening(jax.random.key(0), problem, product, n=4, beta=0.5)



def test_rlhf_with_tabular_and_finite_classes(eq8_setup):
    problem, _, _ = eq8_setup
    beta = 0.3
    result = rlhf_sharpening(jax.random.key(3), problem, classes.TabularClass(), n=200, beta=beta)
    assert int(result.num_queries) == 400
    assert float(result.error) == ss.sharpening_error(problem, result.policy, delta=0.1)
    with pytest.raises(ValueError, match="`model_class` has"):
        rlhf_sharpening(jax.random.key(3), problem, classes.TabularClass(2, 5), n=10, beta=beta)
