"""The BoN closure of a model class and realizability (Assumption 4.1): closures are checked against a
NumPy evaluation of the best-of-N law ``(F(v)^N - F(v-)^N) / k_v`` (Sec 3, Eq 5). All tests are
deterministic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from classes._reference import np_bon_law, random_tables
from sharpsim import classes, problems


# ======================================================================= BoN closure
def test_np_bon_law_reference_by_hand():
    # the reference itself: [0.5, 0.3, 0.2], N = 3 -> [1 - 0.5^3, 0.5^3 - 0.2^3, 0.2^3]
    np.testing.assert_allclose(np_bon_law([0.5, 0.3, 0.2], 3), [0.875, 0.117, 0.008], atol=1e-15)
    # ties: [0.4, 0.4, 0.2], N = 2 -> (1 - 0.04)/2 each at the top
    np.testing.assert_allclose(np_bon_law([0.4, 0.4, 0.2], 2), [0.48, 0.48, 0.04], atol=1e-15)


@pytest.mark.parametrize("N", [1, 2, 7, 50])
def test_bon_closure_of_finite_class_is_members_bon_laws(N):
    rng = np.random.default_rng(N)
    members = random_tables(rng, (4, 3, 5))
    members[0, 0] = [0.25, 0.25, 0.25, 0.25, 0.0]  # ties and a zero
    closed = classes.bon_closure(classes.FiniteClass(members), N)
    assert isinstance(closed, classes.FiniteClass) and closed.num_members == 4
    got = np.exp(np.asarray(closed.log_probs))
    for k in range(4):
        for x in range(3):
            np.testing.assert_allclose(got[k, x], np_bon_law(members[k, x], N), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("N", [1, 3, 20])
def test_bon_closure_of_product_class_keeps_valid_and_maps_candidates(N):
    rng = np.random.default_rng(10 + N)
    cands = random_tables(rng, (3, 3, 4))
    valid = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1]], bool)
    closed = classes.bon_closure(classes.ProductClass(cands, valid=valid), N)
    assert isinstance(closed, classes.ProductClass)
    np.testing.assert_array_equal(np.asarray(closed.valid), valid)
    assert closed.log_size == pytest.approx(math.log(2) + math.log(3), rel=1e-14)
    got = np.exp(np.asarray(closed.log_probs))
    for x in range(3):
        for k in range(3):
            np.testing.assert_allclose(got[x, k], np_bon_law(cands[x, k], N), rtol=1e-10, atol=1e-15)


def test_bon_closure_of_tabular_class_is_itself():
    cls = classes.TabularClass(2, 3)
    assert classes.bon_closure(cls, 5) is cls


def test_bon_closure_rejects_non_class():
    with pytest.raises(TypeError, match=r"`model_class` must be a sharpsim model class"):
        classes.bon_closure(np.zeros((1, 2, 3)), 2)


# ====================================================================== is_realizable
@pytest.fixture(scope="module")
def family():
    rng = np.random.default_rng(7)
    members = random_tables(rng, (3, 2, 4), zero_frac=0.0)
    mu = np.array([0.6, 0.4])
    return members, mu


@pytest.mark.parametrize("N", [2, 5])
def test_is_realizable_true_for_closure_false_without_the_bon_law(family, N):
    members, mu = family
    pr = problems.from_probs(members[1], mu)
    cls = classes.FiniteClass(members)
    closed = classes.bon_closure(cls, N)
    assert classes.is_realizable(closed, pr, N)
    assert classes.is_realizable(cls, pr, 1)  # N = 1: the base itself is a member
    assert not classes.is_realizable(cls, pr, N)  # the raw class lacks BoN_N (no member is deterministic)
    missing = classes.bon_closure(classes.FiniteClass(members[[0, 2]]), N)
    assert not classes.is_realizable(missing, pr, N)
    assert not classes.is_realizable(closed, pr, N + 1)  # BoN_{N+1} differs from every BoN_N member


@pytest.mark.parametrize("N", [1, 4])
def test_is_realizable_product_class(family, N):
    members, mu = family
    # per prompt, candidates: the three members' rows at that prompt
    cands = np.transpose(members, (1, 0, 2))  # [X, K, Y]
    base = np.stack([members[2, 0], members[0, 1]])  # a mix: member 2 at x0, member 0 at x1
    pr = problems.from_probs(base, mu)
    closed = classes.bon_closure(classes.ProductClass(cands), N)
    assert classes.is_realizable(closed, pr, N)
    # drop member 0's row at prompt 1 from the candidates: no longer realizable
    valid = np.array([[1, 1, 1], [1, 1, 1]], bool)
    cut = cands.copy()
    cut[1, 0] = cut[1, 1]
    assert not classes.is_realizable(classes.bon_closure(classes.ProductClass(cut, valid=valid), N), pr, N)


def test_is_realizable_ignores_prompts_outside_the_support(family):
    members, _ = family
    base = np.stack([members[0, 0], np.array([0.25, 0.25, 0.25, 0.25])])  # x1 matches no member
    pr = problems.from_probs(base, [1.0, 0.0])
    assert classes.is_realizable(classes.FiniteClass(members), pr, 1)
    pr2 = problems.from_probs(base, [0.5, 0.5])
    assert not classes.is_realizable(classes.FiniteClass(members), pr2, 1)


def test_is_realizable_shape_mismatch_and_tabular(family):
    members, mu = family
    pr = problems.from_probs(members[0], mu)
    assert classes.is_realizable(classes.TabularClass(2, 4), pr, 3)
    assert not classes.is_realizable(classes.TabularClass(3, 4), pr, 3)
    assert not classes.is_realizable(classes.FiniteClass(np.full((2, 2, 5), 0.2)), pr, 1)
    assert not classes.is_realizable(classes.ProductClass(np.full((2, 2, 5), 0.2)), pr, 1)
