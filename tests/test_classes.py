"""Model classes with exact learning oracles (issue 3, section 1): sharpsim.classes.

Every MLE is checked against a slow NumPy loop (over members for FiniteClass, over per-prompt
candidates for ProductClass, over data points for TabularClass); BoN closures against a
NumPy evaluation of THEORY.md §5's formula ``(F(v)^N - F(v-)^N) / k_v``. No expected value
here comes from sharpsim itself. All tests are deterministic (no statistical assertion).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sharpsim import classes, problems
from sharpsim.algorithms import sft_sharpening

# ---------------------------------------------------------------------- NumPy references


def np_bon_law(row, N, rtol=1e-9):
    """``(F(v)^N - F(v-)^N) / k_v`` for one distribution ``row`` (THEORY.md §5), by a plain
    loop over responses; responses within a relative ``rtol`` of each other count as tied."""
    row = np.asarray(row, dtype=np.float64)
    out = np.zeros_like(row)
    for y, v in enumerate(row):
        if v == 0.0:
            continue
        tied = np.abs(row - v) <= rtol * v
        at_or_below = row[(row <= v) | tied].sum()
        below = row[(row < v) & ~tied].sum()
        out[y] = (at_or_below**N - below**N) / tied.sum()
    return out


def np_loglik(probs_xy, prompts, responses):
    """``Σ_i log p[x_i, y_i]`` over the revealed pairs (``y_i >= 0``), one term at a time."""
    total = 0.0
    for x, y in zip(prompts, responses):
        if y < 0:
            continue
        with np.errstate(divide="ignore"):
            total += math.log(probs_xy[x, y]) if probs_xy[x, y] > 0 else -math.inf
    return total


def tolerant_argmax_set(ll, allowed=None):
    """Indices whose log-likelihood is within a 1e-9 relative rounding slack of the maximum."""
    ll = np.asarray(ll, dtype=np.float64)
    if allowed is not None:
        ll = np.where(allowed, ll, -np.inf)
    top = ll.max()
    if top == -np.inf:
        return set(np.flatnonzero(allowed if allowed is not None else np.ones_like(ll, bool)).tolist())
    return set(np.flatnonzero(ll >= top - 1e-9 * (1.0 + abs(top))).tolist())


def random_tables(rng, shape, zero_frac=0.2):
    """Random distributions over the last axis with some exact zeros (each row keeps a
    positive entry)."""
    w = rng.gamma(0.7, size=shape)
    w[rng.random(shape) < zero_frac] = 0.0
    flat = w.reshape(-1, shape[-1])
    empty = flat.sum(axis=1) == 0
    flat[empty, rng.integers(0, shape[-1], empty.sum())] = 1.0
    return (flat / flat.sum(axis=1, keepdims=True)).reshape(shape)


def random_data(rng, n, X, Y, masked_frac=0.15):
    prompts = rng.integers(0, X, n)
    responses = rng.integers(0, Y, n)
    responses[rng.random(n) < masked_frac] = -1  # the oracle's mark for an unrevealed sample
    return prompts, responses


K, X, Y, NDATA = 6, 3, 4, 12

# one compilation each (the classes are pytrees; TabularClass's sizes and smoothing are static)
_finite_mle = jax.jit(
    lambda c, p, r, m: (c.mle_index(p, r), c.log_likelihoods(p, r), c.mle(p, r).log_probs, c.mle_mass(p, r, m))
)
_product_mle = jax.jit(lambda c, p, r, m: (c.mle_index(p, r), c.mle(p, r).log_probs, c.mle_mass(p, r, m)))
_tabular_mle = jax.jit(lambda c, p, r, m: (c.mle(p, r).probs, c.mle_mass(p, r, m)))


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
    idx, ll, fitted, mass = _finite_mle(cls, jnp.asarray(prompts), jnp.asarray(responses), jnp.asarray(mask))
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
    idx, fitted, mass = _product_mle(cls, jnp.asarray(prompts), jnp.asarray(responses), jnp.asarray(mask))
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
    probs, mass = (np.asarray(a) for a in _tabular_mle(cls, jnp.asarray(prompts), jnp.asarray(responses), mask))
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


# ============================================================ jit and vmap over seeds
@pytest.mark.parametrize("kind", ["finite", "product", "tabular"])
def test_classes_jit_and_vmap_over_seeds_match_single_runs(kind):
    rng = np.random.default_rng(11)
    base = random_tables(rng, (2, 4), zero_frac=0.0)
    pr = problems.from_probs(base, [0.3, 0.7])
    if kind == "finite":
        cls = classes.bon_closure(classes.FiniteClass(np.stack([base, base[::-1], random_tables(rng, (2, 4))])), 3)
    elif kind == "product":
        cls = classes.bon_closure(classes.ProductClass(np.stack([base, base[::-1]], axis=1)), 3)
    else:
        cls = classes.TabularClass.for_problem(pr)
    def one(k, c):
        res = sft_sharpening(k, pr, c, n=6, N=3)
        return res.policy.log_probs, res.responses

    run = jax.jit(one)
    keys = jax.random.split(jax.random.key(2), 8)
    fits, picks = (np.asarray(a) for a in jax.vmap(run, in_axes=(0, None))(keys, cls))
    assert fits.shape == (8, 2, 4) and picks.shape == (8, 6)
    for i in range(8):
        fit_i, picks_i = run(keys[i], cls)
        np.testing.assert_array_equal(fits[i], np.asarray(fit_i))
        np.testing.assert_array_equal(picks[i], np.asarray(picks_i))
    # the seeds are not all the same run (the data differ)
    assert len({picks[i].tobytes() for i in range(8)}) > 1


def test_mle_vmaps_over_data_batches():
    rng = np.random.default_rng(12)
    cls = classes.FiniteClass(random_tables(rng, (K, X, Y)))
    data = [random_data(rng, NDATA, X, Y) for _ in range(5)]
    P = jnp.asarray(np.stack([d[0] for d in data]))
    R = jnp.asarray(np.stack([d[1] for d in data]))
    idx = np.asarray(jax.vmap(cls.mle_index)(P, R))
    for i, (p, r) in enumerate(data):
        assert idx[i] == int(cls.mle_index(jnp.asarray(p), jnp.asarray(r)))
