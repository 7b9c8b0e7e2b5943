"""TabularClass (all conditionals): the MLE is the (smoothed) empirical frequency, checked against a
slow NumPy loop over data points; an unsized class binds to the problem's sizes. All tests are
deterministic."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from classes._reference import NDATA, X, Y, random_data, tabular_mle
from sharpsim import classes, problems


# ========================================================================= TabularClass
def test_tabular_class_mle_is_empirical_frequency_and_unseen_is_uniform():
    cls = classes.TabularClass(3, 4)
    prompts = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    responses = np.array([1, 1, 3, 1, 2, 2, -1, -1])  # prompt 2: only masked data -> unseen
    probs = np.asarray(cls.mle(jnp.asarray(prompts), jnp.asarray(responses)).probs)
    np.testing.assert_allclose(probs[0], [0, 3 / 4, 0, 1 / 4], atol=1e-15)
    np.testing.assert_allclose(probs[1], [0, 0, 1, 0], atol=1e-15)
    np.testing.assert_allclose(probs[2], [1 / 4] * 4, atol=1e-15)


@given(st.integers(0, 2**31 - 1), st.sampled_from([0.0, 0.5, 2.0]))
@example(0, 0.0)
def test_tabular_class_mle_matches_loop_frequencies_with_smoothing(seed, lam):
    rng = np.random.default_rng(seed)
    prompts, responses = random_data(rng, NDATA, X, Y)
    cls = classes.TabularClass(X, Y, smoothing=lam)
    mask = rng.random((X, Y)) < 0.5
    probs, mass = (np.asarray(a) for a in tabular_mle(cls, jnp.asarray(prompts), jnp.asarray(responses), mask))
    for x in range(X):
        tally = np.full(Y, lam)
        for xi, yi in zip(prompts, responses):
            if xi == x and yi >= 0:
                tally[yi] += 1
        want = tally / tally.sum() if tally.sum() > 0 else np.full(Y, 1 / Y)
        np.testing.assert_allclose(probs[x], want, rtol=1e-13, atol=1e-15)
        assert mass[x] == pytest.approx(want[mask[x]].sum(), rel=1e-13, abs=1e-15)


def test_tabular_class_log_size_is_infinite_and_for_problem_sizes():
    pr = problems.from_probs([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    cls = classes.TabularClass.for_problem(pr, smoothing=1.0)
    assert (cls.num_prompts, cls.num_responses, cls.smoothing) == (2, 3, 1.0)
    assert cls.log_size == math.inf


def test_unsized_tabular_class_binds_to_the_problem():
    pr = problems.from_probs([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    open_cls = classes.TabularClass(smoothing=0.5)
    assert (open_cls.num_prompts, open_cls.num_responses) == (None, None)
    with pytest.raises(ValueError, match=r"this TabularClass has no sizes"):
        open_cls.mle(jnp.array([0]), jnp.array([1]))
    bound = classes.bind(open_cls, pr)
    assert (bound.num_prompts, bound.num_responses, bound.smoothing) == (2, 3, 0.5)
    # the bound class fits (1 + 0.5) / (1 + 1.5) at the seen response, 0.5/2.5 elsewhere
    np.testing.assert_allclose(np.asarray(bound.mle(jnp.array([0]), jnp.array([1])).probs[0]), [0.2, 0.6, 0.2])
    assert classes.is_realizable(open_cls, pr, 4)  # all conditionals, whatever the sizes
    # sized classes are returned unchanged when they fit, refused otherwise
    fin = classes.FiniteClass(np.full((2, 2, 3), 1 / 3))
    assert classes.bind(fin, pr) is fin
    with pytest.raises(ValueError, match=r"`model_class` has \[num_prompts, num_responses\] = \[2, 4\]"):
        classes.bind(classes.TabularClass(2, 4), pr)
    with pytest.raises(TypeError, match=r"`model_class` must be a FiniteClass, ProductClass, TabularClass, LinearSoftmaxClass or AutoregressiveLinearSoftmaxClass"):
        classes.bind(np.zeros((1, 2, 3)), pr)
