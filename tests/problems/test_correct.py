"""Tests for the correctness set of a Problem (``Problem.correct``, ``correct_set``) and the
flawed-verifier constructor ``problems.flawed_verifier``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import problems
from sharpsim.policies import AutoregressivePolicy
from sharpsim.problems import Problem


def test_default_correct_is_none_and_the_argmax_set():
    pr = problems.from_probs([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
    assert pr.correct is None
    np.testing.assert_array_equal(np.asarray(problems.correct_set(pr)), [[1, 0, 0], [1, 1, 0]])
    # positional construction (every existing call) still works, and carries no leaf for `correct`
    raw = Problem(pr.base, pr.prompt_probs)
    assert raw.correct is None and len(jax.tree.leaves(raw)) == 2


def test_correct_is_carried_by_tabular_with_base_and_pytrees():
    ar = AutoregressivePolicy.from_conditionals(np.full((2, 1, 2, 2), 0.5))
    mask = np.array([[False, True, False, False]])
    pr = problems.from_policy(ar, correct=mask)
    np.testing.assert_array_equal(np.asarray(pr.tabular().correct), mask)
    np.testing.assert_array_equal(np.asarray(problems.correct_set(pr)), mask)
    swapped = pr.tabular().with_base(ss.TabularPolicy.from_probs([[0.1, 0.2, 0.3, 0.4]]))
    np.testing.assert_array_equal(np.asarray(swapped.correct), mask)
    leaves, tree = jax.tree.flatten(pr)
    back = jax.tree.unflatten(tree, leaves)
    np.testing.assert_array_equal(np.asarray(back.correct), mask)
    # it passes through jit as a pytree field
    got = jax.jit(lambda p: jnp.sum(p.correct))(pr)
    assert int(got) == 1


@pytest.mark.parametrize(
    ("correct", "err", "match"),
    [
        ([[1, 0, 0]], TypeError, "bool"),
        (np.ones((2, 3), bool), ValueError, "shape"),
        (np.array([[False, False, False]]), ValueError, "at least one"),
        (np.array([[False, False, True]]), ValueError, "positive base probability"),  # outside the support
    ],
)
def test_from_probs_rejects_bad_correct(correct, err, match):
    with pytest.raises(err, match=match):
        problems.from_probs([[0.6, 0.4, 0.0]], correct=correct)


def test_with_base_rejects_other_shapes():
    pr = problems.from_probs([[0.6, 0.4]])
    with pytest.raises(ValueError, match="responses"):
        pr.with_base(ss.TabularPolicy.from_probs([[0.2, 0.3, 0.5]]))
    with pytest.raises(TypeError, match="base"):
        pr.with_base(np.array([[0.2, 0.8]]))


@settings(max_examples=15)  # few shapes: each new shape compiles
@given(
    seed=st.integers(0, 2**31 - 1),
    num_prompts=st.sampled_from([1, 5]),
    num_responses=st.sampled_from([3, 8]),
    frac=st.floats(0.0, 1.0),
    ratio=st.floats(0.05, 0.99),
)
def test_flawed_verifier_properties(seed, num_prompts, num_responses, frac, ratio):
    coverage = 2.0
    wrong = round(frac * num_prompts)
    pr = problems.flawed_verifier(jax.random.key(seed), num_prompts, num_responses, coverage,
                                  wrong_prompts=wrong, correct_ratio=ratio)
    probs = np.asarray(pr.probs)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert ss.coverage(pr) == pytest.approx(coverage, rel=1e-9)  # the base is what was asked
    correct = np.asarray(pr.correct)
    assert correct.sum(axis=1).tolist() == [1] * num_prompts
    star = np.asarray(pr.base.argmax_set())
    assert star.sum(axis=1).tolist() == [1] * num_prompts  # a unique arg-max
    is_wrong = ~np.any(star & correct, axis=1)
    assert int(is_wrong.sum()) == wrong
    top = probs.max(axis=1)
    np.testing.assert_allclose(probs[correct][is_wrong[np.nonzero(correct)[0]]], ratio * top[is_wrong], rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(ss.metrics.argmax_correct(pr)), ~is_wrong)


def test_flawed_verifier_bad_input():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="wrong_prompts"):
        problems.flawed_verifier(key, 4, 8, 2.0, wrong_prompts=5)
    with pytest.raises(ValueError, match="correct_ratio"):
        problems.flawed_verifier(key, 4, 8, 2.0, wrong_prompts=1, correct_ratio=1.0)
    with pytest.raises(ValueError, match="correct_ratio"):
        problems.flawed_verifier(key, 4, 8, 1.2, wrong_prompts=1, correct_ratio=0.9)  # not enough mass
    with pytest.raises(ValueError, match="coverage"):
        problems.flawed_verifier(key, 4, 8, 100.0, wrong_prompts=1)
