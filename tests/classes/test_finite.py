"""Finite model classes with exact learning oracles: ``counts``, ``FiniteClass`` and ``ProductClass``.

Every MLE is checked against a slow NumPy loop (over members for FiniteClass, over per-prompt
candidates for ProductClass). No expected value here comes from sharpsim itself. All tests are deterministic (no statistical assertion).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from classes._reference import (
    NDATA,
    K,
    X,
    Y,
    finite_mle,
    np_loglik,
    product_mle,
    random_data,
    random_tables,
    tolerant_argmax_set,
)
from sharpsim import classes

# ---------------------------------------------------------------------- NumPy references



# ============================================================================= counts
def test_counts_tallies_pairs_and_skips_masked_responses():
    prompts = np.array([0, 0, 1, 2, 1, 0, 2])
    responses = np.array([1, 1, 0, -1, 2, -1, 2])
    c = np.asarray(classes.counts(prompts, responses, 3, 3))
    expected = np.array([[0, 2, 0], [1, 0, 1], [0, 0, 1]], dtype=float)  # by hand; -1 skipped
    np.testing.assert_array_equal(c, expected)
    assert c.sum() == 5  # 7 pairs, 2 masked


def test_counts_with_nothing_revealed_is_zero():
    c = np.asarray(classes.counts([0, 1], [-1, -1], 2, 3))
    np.testing.assert_array_equal(c, np.zeros((2, 3)))


# ========================================================================= FiniteClass
@given(st.integers(0, 2**31 - 1))
@example(0)
def test_finite_class_mle_is_brute_force_maximum_likelihood_member(seed):
    rng = np.random.default_rng(seed)
    members = random_tables(rng, (K, X, Y))
    members[3] = members[1]  # an exact duplicate: ties go to the lowest index
    cls = classes.FiniteClass(members)
    # half the time the data come from a member (so the likelihood is finite for it)
    prompts, responses = random_data(rng, NDATA, X, Y)
    if seed % 2:
        src = members[rng.integers(0, K)]
        responses = np.array([rng.choice(Y, p=src[x]) if y >= 0 else -1 for x, y in zip(prompts, responses)])
    mask = rng.random((X, Y)) < 0.5
    idx, ll, fitted, mass = finite_mle(cls, jnp.asarray(prompts), jnp.asarray(responses), jnp.asarray(mask))
    idx = int(idx)

    brute = np.array([np_loglik(members[k], prompts, responses) for k in range(K)])
    best = tolerant_argmax_set(brute)
    assert idx in best
    # mle_mass: the MLE's mass on the set, per prompt, without building the fit
    np.testing.assert_allclose(np.asarray(mass), (members[min(best)] * mask).sum(axis=1), rtol=1e-12, atol=1e-15)
    assert idx != 3  # the duplicate of member 1 never wins over member 1
    finite = np.isfinite(brute)
    np.testing.assert_allclose(np.asarray(ll)[finite], brute[finite], rtol=1e-12, atol=1e-12)
    assert np.all(np.asarray(ll)[~finite] == -np.inf)
    np.testing.assert_allclose(np.exp(np.asarray(fitted)), members[idx], rtol=1e-12, atol=0)


def test_finite_class_ties_go_to_lowest_index_and_no_data_gives_member_zero():
    a = np.array([[0.5, 0.5], [0.9, 0.1]])
    b = np.array([[0.5, 0.5], [0.1, 0.9]])
    cls = classes.FiniteClass(np.stack([b, a, a]))
    # data only on prompt 0, where every member says 0.5: all tied -> index 0
    assert int(cls.mle_index(jnp.array([0, 0]), jnp.array([0, 1]))) == 0
    # nothing revealed: all tied -> index 0
    assert int(cls.mle_index(jnp.array([1]), jnp.array([-1]))) == 0
    # data at prompt 1 favouring a: members 1 and 2 tie exactly -> 1
    assert int(cls.mle_index(jnp.array([1, 1, 1]), jnp.array([0, 0, 1]))) == 1


def test_finite_class_zero_probability_data_rules_a_member_out():
    a = np.array([[1.0, 0.0, 0.0]])
    b = np.array([[0.1, 0.1, 0.8]])
    cls = classes.FiniteClass(np.stack([a, b]))
    # 10 draws of y0 and one of y2: a has likelihood 0 (log -inf), b wins despite 0.1^10
    prompts = jnp.zeros(11, int)
    responses = jnp.array([0] * 10 + [2])
    assert int(cls.mle_index(prompts, responses)) == 1
    ll = np.asarray(cls.log_likelihoods(prompts, responses))
    assert ll[0] == -np.inf and ll[1] == pytest.approx(10 * math.log(0.1) + math.log(0.8), rel=1e-14)


def test_finite_class_log_size_and_shapes():
    cls = classes.FiniteClass(np.full((5, 2, 3), 1 / 3))
    assert cls.log_size == pytest.approx(math.log(5), rel=1e-15)
    assert (cls.num_members, cls.num_prompts, cls.num_responses) == (5, 2, 3)
    one = classes.FiniteClass(np.full((1, 2, 3), 1 / 3))
    assert one.log_size == 0.0


def test_finite_class_from_log_probs_equals_from_probs():
    rng = np.random.default_rng(3)
    members = random_tables(rng, (4, 2, 5))
    with np.errstate(divide="ignore"):
        a = classes.FiniteClass(log_probs=np.log(members))
    b = classes.FiniteClass(members)
    np.testing.assert_allclose(np.exp(np.asarray(a.log_probs)), np.exp(np.asarray(b.log_probs)), atol=1e-15)


# ========================================================================= ProductClass
@given(st.integers(0, 2**31 - 1))
@example(0)
def test_product_class_mle_is_per_prompt_brute_force(seed):
    rng = np.random.default_rng(seed)
    cands = random_tables(rng, (X, K, Y))
    valid = rng.random((X, K)) < 0.6
    valid[:, 0] = True  # candidate 0 is every prompt's default
    valid[1, 1:] = False  # a prompt with a single candidate
    # an invalid candidate that would fit the data perfectly must never be chosen:
    prompts, responses = random_data(rng, NDATA, X, Y)
    prompts[prompts == 2] = 0  # prompt 2 is never seen
    for x in range(X):
        seen = responses[(prompts == x) & (responses >= 0)]
        bad = np.flatnonzero(~valid[x])
        if bad.size and seen.size:
            emp = np.bincount(seen, minlength=Y) / seen.size
            cands[x, bad[0]] = emp
    cls = classes.ProductClass(cands, valid=valid)
    mask = rng.random((X, Y)) < 0.5
    idx, fitted, mass = product_mle(cls, jnp.asarray(prompts), jnp.asarray(responses), jnp.asarray(mask))
    idx, mass = np.asarray(idx), np.asarray(mass)

    for x in range(X):
        mine = (prompts == x) & (responses >= 0)
        brute = np.array(
            [np_loglik(cands[x, k][None], np.zeros(mine.sum(), int), responses[mine]) for k in range(K)]
        )
        if not mine.any():
            assert idx[x] == 0  # unseen prompt -> the default candidate
        assert valid[x, idx[x]]
        best = tolerant_argmax_set(brute, allowed=valid[x])
        assert idx[x] in best
        np.testing.assert_allclose(np.exp(np.asarray(fitted[x])), cands[x, idx[x]], rtol=1e-12, atol=0)
        assert mass[x] == pytest.approx(cands[x, min(best)][mask[x]].sum(), rel=1e-12, abs=1e-15)
    assert idx[1] == 0 and idx[2] == 0


def test_product_class_by_hand():
    # prompt 0: candidates A = [0.7, 0.3], B = [0.2, 0.8]; prompt 1: C = [0.5, 0.5] only
    # (B padded, invalid); data at prompt 0: y1, y1, y0 -> A: 0.7·0.09 = 0.063,
    # B: 0.2·0.64 = 0.128 -> B; prompt 1 gets C.
    cands = np.array([[[0.7, 0.3], [0.2, 0.8]], [[0.5, 0.5], [0.0, 1.0]]])
    cls = classes.ProductClass(cands, valid=[[True, True], [True, False]])
    idx = np.asarray(cls.mle_index(jnp.array([0, 0, 0, 1, 1]), jnp.array([1, 1, 0, 1, 1])))
    np.testing.assert_array_equal(idx, [1, 0])  # prompt 1's data (y1, y1) would favour the invalid [0, 1]
    np.testing.assert_allclose(np.asarray(cls.mle(jnp.array([0]), jnp.array([1])).probs), [[0.2, 0.8], [0.5, 0.5]])


def test_product_class_log_size_is_sum_of_log_candidate_counts():
    cands = np.full((3, 4, 2), 0.5)
    valid = np.array([[1, 0, 0, 0], [1, 1, 1, 0], [1, 1, 0, 0]], bool)
    cls = classes.ProductClass(cands, valid=valid)
    np.testing.assert_array_equal(np.asarray(cls.num_candidates), [1, 3, 2])
    assert cls.log_size == pytest.approx(math.log(1) + math.log(3) + math.log(2), rel=1e-14)
    full = classes.ProductClass(cands)  # default: all valid
    assert full.log_size == pytest.approx(3 * math.log(4), rel=1e-14)


def test_product_class_member_picks_candidate_per_prompt():
    rng = np.random.default_rng(5)
    cands = random_tables(rng, (3, 4, 5))
    cls = classes.ProductClass(cands)
    pol = cls.member(jnp.array([2, 0, 3]))
    np.testing.assert_allclose(np.asarray(pol.probs), cands[[0, 1, 2], [2, 0, 3]], rtol=1e-12)


def test_decoy_product_class_structure():
    # every prompt: the base row once, never at index 0; each decoy is the base with its arg-max
    # probability swapped with another response's, so its arg-max is wrong
    import jax

    from sharpsim import problems

    pr = problems.with_coverage(jax.random.key(3), 6, 9, 3.0, heterogeneity=1.0, margin=0.1)
    cls = classes.decoy_product_class(jax.random.key(4), pr, 3)
    lp, base = np.asarray(cls.log_probs), np.asarray(pr.base.log_probs)
    assert lp.shape == (6, 4, 9) and cls.log_size == pytest.approx(6 * np.log(4))
    for x in range(6):
        same = [k for k in range(4) if np.array_equal(lp[x, k], base[x])]
        assert len(same) == 1 and same[0] != 0
        for k in set(range(4)) - set(same):
            assert np.argmax(lp[x, k]) != np.argmax(base[x])
            np.testing.assert_array_equal(np.sort(lp[x, k]), np.sort(base[x]))  # a permutation of the base row
    with pytest.raises(ValueError, match=r"`num_decoys` must be <= \|Y\| - 1 = 8; got 9"):
        classes.decoy_product_class(jax.random.key(0), pr, 9)
    with pytest.raises(ValueError, match="`num_decoys`"):
        classes.decoy_product_class(jax.random.key(0), pr, 0)
