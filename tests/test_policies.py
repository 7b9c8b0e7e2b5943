"""Unit tests for sharpsim.policies: tabular and autoregressive policies.

Expected values are entered by hand (or computed by slow NumPy loops written here), never by
the code under test. Statistical tests use a chi-square goodness-of-fit test at level 1e-6:
each such test fails by chance with probability about 1e-6 (the chi-square approximation is
kept valid by merging cells whose expected count is below 5).
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import sharpsim  # noqa: F401  (enables x64)
from sharpsim import ENUMERATION_LIMIT, TIE_RTOL
from sharpsim.policies import AutoregressivePolicy, TabularPolicy

ALPHA = 1e-6  # false-failure probability of each chi-square test


def chi_square_pvalue(counts, probs, min_expected=5.0):
    """Goodness-of-fit p-value of ``counts`` against ``probs`` (sparse cells merged)."""
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    expected = counts.sum() * probs / probs.sum()
    keep = expected >= min_expected
    obs = list(counts[keep])
    exp = list(expected[keep])
    if (~keep).any() and expected[~keep].sum() > 0:
        obs.append(counts[~keep].sum())
        exp.append(expected[~keep].sum())
    assert len(obs) >= 2
    return stats.chisquare(obs, exp).pvalue


# ====================================================================== tabular policies
TABLE = [[0.5, 0.3, 0.2, 0.0], [0.25, 0.25, 0.25, 0.25], [0.1, 0.4, 0.1, 0.4]]


def test_from_probs_stores_exact_log_probs_and_zeros_as_minus_inf():
    pol = TabularPolicy.from_probs(TABLE)
    lp = np.asarray(pol.log_probs)
    assert lp.dtype == np.float64
    assert lp.shape == (3, 4) and pol.num_prompts == 3 and pol.num_responses == 4
    np.testing.assert_allclose(lp[0, :3], [math.log(0.5), math.log(0.3), math.log(0.2)], rtol=1e-15)
    assert lp[0, 3] == -np.inf
    np.testing.assert_allclose(np.asarray(pol.probs), TABLE, rtol=1e-15, atol=0)


def test_from_probs_renormalises_rows_within_tolerance():
    # a row summing to 1 + 4e-7 (inside PROB_SUM_ATOL = 1e-6) is divided by its sum
    pol = TabularPolicy.from_probs([[0.5 + 4e-7, 0.5]])
    np.testing.assert_allclose(
        np.asarray(pol.probs)[0], [(0.5 + 4e-7) / (1 + 4e-7), 0.5 / (1 + 4e-7)], rtol=1e-15
    )


def test_from_logits_is_softmax_with_minus_inf_as_zero():
    pol = TabularPolicy.from_logits([[0.0, math.log(2.0), -np.inf], [5.0, 5.0, 5.0]])
    np.testing.assert_allclose(
        np.asarray(pol.probs), [[1 / 3, 2 / 3, 0.0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-14
    )
    assert np.asarray(pol.log_probs)[0, 2] == -np.inf


def test_from_log_probs_round_trips():
    lp = np.log(np.array([[0.5, 0.3, 0.2]]))
    pol = TabularPolicy.from_log_probs(lp)
    np.testing.assert_allclose(np.asarray(pol.log_probs), lp, rtol=1e-14)


def test_log_prob_broadcasts_prompts_over_trailing_response_axes():
    pol = TabularPolicy.from_probs(TABLE)
    prompts = jnp.array([0, 2])
    responses = jnp.array([[0, 1, 3], [1, 2, 3]])
    out = np.asarray(pol.log_prob(prompts, responses))
    with np.errstate(divide="ignore"):
        expected = np.array(
            [[math.log(0.5), math.log(0.3), -np.inf], [math.log(0.4), math.log(0.1), math.log(0.4)]]
        )
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    # one response per prompt
    np.testing.assert_allclose(
        np.asarray(pol.log_prob(prompts, jnp.array([1, 1]))), [math.log(0.3), math.log(0.4)]
    )


def test_argmax_set_with_ties_and_gamma():
    pol = TabularPolicy.from_probs(TABLE)
    # y*(x0) = {0}; row 1 all tied; row 2 tied between 1 and 3
    np.testing.assert_array_equal(
        np.asarray(pol.argmax_set()),
        [[True, False, False, False], [True, True, True, True], [False, True, False, True]],
    )
    np.testing.assert_array_equal(np.asarray(pol.num_argmax()), [1, 4, 2])
    # γ = 0.45: threshold (1 - 0.45) * 0.5 = 0.275 in row 0 (0.3 in, 0.2 out), 0.22 in row 2
    np.testing.assert_array_equal(
        np.asarray(pol.argmax_set(0.45)),
        [[True, True, False, False], [True, True, True, True], [False, True, False, True]],
    )
    # γ = 0.8: threshold 0.1 in row 0 (0.2 in, 0 out), 0.08 in row 2 (everything)
    np.testing.assert_array_equal(
        np.asarray(pol.argmax_set(0.8)),
        [[True, True, True, False], [True, True, True, True], [True, True, True, True]],
    )
    # masses of these sets: 0.5, 1, 0.8 and 0.8, 1, 0.8
    np.testing.assert_allclose(np.asarray(pol.mass(pol.argmax_set())), [0.5, 1.0, 0.8], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(pol.mass(pol.argmax_set(0.45))), [0.8, 1.0, 0.8], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(pol.max_log_prob()), np.log([0.5, 0.25, 0.4]), rtol=1e-15)


def test_argmax_set_tie_tolerance_is_relative():
    # 1e-12 relative below the max is a tie (TIE_RTOL = 1e-9); 1e-7 relative below is not
    a = 0.4
    row_tied = [a, a * (1 - 1e-12), 1 - a - a * (1 - 1e-12)]
    row_apart = [a, a * (1 - 1e-7), 1 - a - a * (1 - 1e-7)]
    pol = TabularPolicy.from_probs([row_tied, row_apart])
    np.testing.assert_array_equal(np.asarray(pol.argmax_set()), [[True, True, False], [True, False, False]])
    assert TIE_RTOL == 1e-9
    # a looser rtol makes the second row tied too
    np.testing.assert_array_equal(np.asarray(pol.num_argmax(rtol=1e-6)), [2, 2])


def test_greedy_is_lowest_index_among_ties():
    pol = TabularPolicy.from_probs(TABLE)
    np.testing.assert_array_equal(np.asarray(pol.greedy()), [0, 0, 1])


def test_tabular_sample_shapes_and_determinism():
    pol = TabularPolicy.from_probs(TABLE)
    key = jax.random.key(0)
    one = pol.sample(key, jnp.array([0, 1, 2, 2]))
    many = pol.sample(key, jnp.array([0, 1]), 7)
    assert one.shape == (4,) and many.shape == (2, 7)
    np.testing.assert_array_equal(np.asarray(many), np.asarray(pol.sample(key, jnp.array([0, 1]), 7)))
    assert np.all((np.asarray(many) >= 0) & (np.asarray(many) < 4))


def test_tabular_sampling_frequencies_match_probs():
    # chi-square at level ALPHA per row: false-failure probability ~2e-6 for the test
    pol = TabularPolicy.from_probs(TABLE)
    n = 20_000
    draws = np.asarray(pol.sample(jax.random.key(1), jnp.array([0, 2]), n))
    counts = [np.bincount(draws[row], minlength=4) for row in range(2)]
    assert counts[0][3] == 0  # π(3|x0) = 0 is never drawn
    assert chi_square_pvalue(counts[0], TABLE[0]) > ALPHA
    assert chi_square_pvalue(counts[1], TABLE[2]) > ALPHA


def test_tabular_policy_is_a_pytree_through_jit_and_vmap():
    pol = TabularPolicy.from_probs(TABLE)

    @jax.jit
    def f(p):
        return p.log_prob(jnp.array([0]), jnp.array([1]))

    np.testing.assert_allclose(np.asarray(f(pol)), [math.log(0.3)], rtol=1e-15)
    stacked = jax.tree.map(lambda a: jnp.stack([a, a]), pol)
    out = jax.vmap(lambda p: p.max_log_prob())(stacked)
    np.testing.assert_allclose(np.asarray(out), np.log([[0.5, 0.25, 0.4]] * 2), rtol=1e-15)


# ================================================================= autoregressive policy
# A hand-entered V = 2, H = 3, full-history policy with two prompts. Step h's context index is
# the prefix y_{<h} read in base 2 (h = 0: 0; h = 1: y0; h = 2: 2 y0 + y1).
U = [0.5, 0.5]  # unused context rows
# prompt 0
P0_STEP0 = [0.6, 0.4]
P0_STEP1 = {0: [0.7, 0.3], 1: [0.1, 0.9]}
P0_STEP2 = {(0, 0): [0.5, 0.5], (0, 1): [0.2, 0.8], (1, 0): [0.9, 0.1], (1, 1): [0.35, 0.65]}
# prompt 1
P1_STEP0 = [0.2, 0.8]
P1_STEP1 = {0: [0.5, 0.5], 1: [0.95, 0.05]}
P1_STEP2 = {(0, 0): [0.3, 0.7], (0, 1): [0.6, 0.4], (1, 0): [0.1, 0.9], (1, 1): [0.5, 0.5]}


def _hand_tables():
    t = np.empty((3, 2, 4, 2))
    for x, (s0, s1, s2) in enumerate(((P0_STEP0, P0_STEP1, P0_STEP2), (P1_STEP0, P1_STEP1, P1_STEP2))):
        t[0, x] = [s0, U, U, U]
        t[1, x] = [s1[0], s1[1], U, U]
        t[2, x] = [s2[(0, 0)], s2[(0, 1)], s2[(1, 0)], s2[(1, 1)]]
    return t


# the joint laws, multiplied out by hand; index = 4 y0 + 2 y1 + y2
JOINT_P0 = {
    (0, 0, 0): 0.6 * 0.7 * 0.5,  # 0.21
    (0, 0, 1): 0.6 * 0.7 * 0.5,  # 0.21
    (0, 1, 0): 0.6 * 0.3 * 0.2,  # 0.036
    (0, 1, 1): 0.6 * 0.3 * 0.8,  # 0.144
    (1, 0, 0): 0.4 * 0.1 * 0.9,  # 0.036
    (1, 0, 1): 0.4 * 0.1 * 0.1,  # 0.004
    (1, 1, 0): 0.4 * 0.9 * 0.35,  # 0.126
    (1, 1, 1): 0.4 * 0.9 * 0.65,  # 0.234
}
JOINT_P1 = {
    (0, 0, 0): 0.2 * 0.5 * 0.3,  # 0.03
    (0, 0, 1): 0.2 * 0.5 * 0.7,  # 0.07
    (0, 1, 0): 0.2 * 0.5 * 0.6,  # 0.06
    (0, 1, 1): 0.2 * 0.5 * 0.4,  # 0.04
    (1, 0, 0): 0.8 * 0.95 * 0.1,  # 0.076
    (1, 0, 1): 0.8 * 0.95 * 0.9,  # 0.684
    (1, 1, 0): 0.8 * 0.05 * 0.5,  # 0.02
    (1, 1, 1): 0.8 * 0.05 * 0.5,  # 0.02
}
SEQS = list(itertools.product((0, 1), repeat=3))  # index order: first token most significant


@pytest.fixture(scope="module")
def hand_ar():
    return AutoregressivePolicy.from_conditionals(_hand_tables())


def test_ar_shapes(hand_ar):
    assert hand_ar.horizon == 3 and hand_ar.vocab_size == 2 and hand_ar.num_prompts == 2
    assert hand_ar.num_responses == 8 and hand_ar.context_length == 2 and hand_ar.num_contexts == 4


def test_ar_log_prob_is_product_of_hand_conditionals(hand_ar):
    seqs = jnp.array(SEQS)
    for x, joint in ((0, JOINT_P0), (1, JOINT_P1)):
        lp = np.asarray(hand_ar.log_prob(jnp.full((8,), x), seqs))
        np.testing.assert_allclose(lp, [math.log(joint[s]) for s in SEQS], rtol=1e-14)
    # broadcast: prompts [2], sequences [2, k, H]
    both = np.asarray(hand_ar.log_prob(jnp.array([0, 1]), jnp.stack([seqs[:3], seqs[5:]])))
    np.testing.assert_allclose(
        both,
        [[math.log(JOINT_P0[s]) for s in SEQS[:3]], [math.log(JOINT_P1[s]) for s in SEQS[5:]]],
        rtol=1e-14,
    )


def test_ar_joint_law_by_enumeration_sums_to_one_and_matches_log_prob(hand_ar):
    joint = np.asarray(hand_ar.joint_log_probs())
    assert joint.shape == (2, 8)
    np.testing.assert_allclose(np.exp(joint).sum(axis=1), [1.0, 1.0], rtol=1e-14)
    np.testing.assert_allclose(np.exp(joint[0]), [JOINT_P0[s] for s in SEQS], rtol=1e-13)
    np.testing.assert_allclose(np.exp(joint[1]), [JOINT_P1[s] for s in SEQS], rtol=1e-13)
    seqs = np.asarray(hand_ar.all_sequences())
    np.testing.assert_array_equal(seqs, SEQS)


def test_ar_to_tabular_uses_first_token_most_significant(hand_ar):
    tab = hand_ar.to_tabular()
    assert isinstance(tab, TabularPolicy)
    probs = np.asarray(tab.probs)
    # index 6 = 4*1 + 2*1 + 0 is (1, 1, 0); index 3 = (0, 1, 1); index 5 = (1, 0, 1)
    np.testing.assert_allclose(probs[0, 6], 0.4 * 0.9 * 0.35, rtol=1e-13)
    np.testing.assert_allclose(probs[0, 3], 0.6 * 0.3 * 0.8, rtol=1e-13)
    np.testing.assert_allclose(probs[1, 5], 0.8 * 0.95 * 0.9, rtol=1e-13)
    np.testing.assert_array_equal(
        np.asarray(hand_ar.sequence_to_index(jnp.array([[1, 1, 0], [0, 1, 1]]))), [6, 3]
    )
    np.testing.assert_array_equal(
        np.asarray(hand_ar.index_to_sequence(jnp.array([5, 1]))), [[1, 0, 1], [0, 0, 1]]
    )


def test_ar_greedy_and_sequence_argmax(hand_ar):
    # prompt 0: greedy takes 0 (0.6), then 0 (0.7), then a 0.5/0.5 tie -> lowest token 0,
    # i.e. (0,0,0) with prob 0.21, while the arg-max is (1,1,1) with prob 0.234.
    # prompt 1: π(y*) = 0.684 > 1/2, so greedy finds y* = (1,0,1) (Prop 3.1).
    np.testing.assert_array_equal(np.asarray(hand_ar.greedy()), [[0, 0, 0], [1, 0, 1]])
    np.testing.assert_array_equal(np.asarray(hand_ar.sequence_argmax()), [[1, 1, 1], [1, 0, 1]])
    np.testing.assert_array_equal(np.asarray(hand_ar.greedy(jnp.array([1]))), [[1, 0, 1]])


def test_ar_sampling_frequencies_match_joint_law(hand_ar):
    # chi-square at level ALPHA per prompt: false-failure probability ~2e-6
    n = 20_000
    draws = np.asarray(hand_ar.sample(jax.random.key(3), jnp.array([0, 1]), n))
    assert draws.shape == (2, n, 3)
    for x, joint in ((0, JOINT_P0), (1, JOINT_P1)):
        idx = draws[x] @ np.array([4, 2, 1])
        counts = np.bincount(idx, minlength=8)
        assert chi_square_pvalue(counts, [joint[s] for s in SEQS]) > ALPHA


def test_ar_from_logits_matches_from_conditionals(hand_ar):
    pol = AutoregressivePolicy.from_logits(np.log(_hand_tables()) + 3.0)
    np.testing.assert_allclose(
        np.asarray(pol.joint_log_probs()), np.asarray(hand_ar.joint_log_probs()), rtol=1e-13
    )


def test_ar_context_length_inferred_and_explicit():
    # V = 3, k = 1: third axis 3
    t = np.full((4, 1, 3, 3), 1 / 3)
    assert AutoregressivePolicy.from_conditionals(t).context_length == 1
    assert AutoregressivePolicy.from_conditionals(t, context_length=1).context_length == 1
    t0 = np.full((4, 1, 1, 3), 1 / 3)
    assert AutoregressivePolicy.from_conditionals(t0).context_length == 0


# ------------------------------------------------------------------------ Markov policies
INIT = np.array([0.9, 0.1])
TRANS = np.array([[0.8, 0.2], [0.3, 0.7]])  # TRANS[previous token, next token]


def _markov(horizon):
    t = np.empty((horizon, 1, 2, 2))
    t[0, 0] = [INIT, INIT]  # at h = 0 only context 0 is reachable
    t[1:, 0] = TRANS
    return AutoregressivePolicy.from_conditionals(t, context_length=1)


def test_markov_policy_beyond_enumeration_limit_samples_and_scores():
    H = 40  # |Y| = 2**40 ≈ 1.1e12, far above ENUMERATION_LIMIT = 2**24
    pol = _markov(H)
    assert pol.num_responses == 2**40 > ENUMERATION_LIMIT
    seq = np.array([0, 1] * 20)
    # hand product: 0.9 (first 0), then 20 transitions 0->1 (0.2) and 19 transitions 1->0 (0.3)
    expected = math.log(0.9) + 20 * math.log(0.2) + 19 * math.log(0.3)
    np.testing.assert_allclose(float(pol.log_prob(jnp.array(0), jnp.array(seq))), expected, rtol=1e-14)
    draws = np.asarray(pol.sample(jax.random.key(5), jnp.zeros((3,), int), 4))
    assert draws.shape == (3, 4, H)
    lp = np.asarray(pol.log_prob(jnp.zeros((3,), int), draws))
    ref = np.log(INIT[draws[..., 0]]) + np.log(TRANS[draws[..., :-1], draws[..., 1:]]).sum(-1)
    np.testing.assert_allclose(lp, ref, rtol=1e-13)
    # greedy: 0 then 0 -> 0 (0.8) forever
    np.testing.assert_array_equal(np.asarray(pol.greedy()), np.zeros((1, H), int))


@pytest.mark.parametrize("method", ["joint_log_probs", "to_tabular", "sequence_argmax", "all_sequences"])
def test_markov_enumeration_beyond_limit_raises_naming_limit(method):
    pol = _markov(30)  # 2**30 > 2**24
    with pytest.raises(ValueError, match=r"`limit` = 16777216"):
        getattr(pol, method)()


def test_enumeration_limit_is_overridable_both_ways():
    pol = _markov(5)  # 32 entries
    with pytest.raises(ValueError, match="limit"):
        pol.joint_log_probs(limit=31)
    assert pol.joint_log_probs(limit=32).shape == (1, 32)


def test_markov_sampling_marginal_beyond_limit():
    # the last token of a 40-step chain has law INIT @ TRANS^39 (a 2-state Markov chain);
    # chi-square at level ALPHA: false-failure probability ~1e-6
    H, n = 40, 20_000
    pol = _markov(H)
    draws = np.asarray(pol.sample(jax.random.key(6), jnp.zeros((n,), int)))
    marginal = INIT @ np.linalg.matrix_power(TRANS, H - 1)
    counts = np.bincount(draws[:, -1], minlength=2)
    assert chi_square_pvalue(counts, marginal) > ALPHA


def test_markov_joint_law_matches_hand_chain():
    H = 4
    pol = _markov(H)
    joint = np.exp(np.asarray(pol.joint_log_probs()))[0]
    for i, s in enumerate(itertools.product((0, 1), repeat=H)):
        p = INIT[s[0]] * TRANS[s[0], s[1]] * TRANS[s[1], s[2]] * TRANS[s[2], s[3]]
        np.testing.assert_allclose(joint[i], p, rtol=1e-13)
    np.testing.assert_allclose(joint.sum(), 1.0, rtol=1e-14)


def test_context_length_zero_is_independent_tokens():
    # per-step token laws, no dependence on the past: π(y) = Π_h q_h(y_h)
    q = np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])
    pol = AutoregressivePolicy.from_conditionals(q[:, None, None, :])
    assert pol.context_length == 0
    joint = np.exp(np.asarray(pol.joint_log_probs()))[0]
    expected = [q[0, a] * q[1, b] for a in range(3) for b in range(3)]
    np.testing.assert_allclose(joint, expected, rtol=1e-13)
    np.testing.assert_array_equal(np.asarray(pol.greedy()), [[0, 2]])


# ------------------------------------------------------------------- differential (NumPy)
def _reference_ar_log_prob(tables, k, x, seq):
    """Slow reference: the context of step h is the last min(h, k) tokens in base V."""
    V = tables.shape[-1]
    total = 0.0
    for h, tok in enumerate(seq):
        ctx = 0
        for prev in seq[max(0, h - k) : h]:
            ctx = ctx * V + prev
        total += math.log(tables[h, x, ctx, tok])
    return total


@pytest.mark.parametrize(
    "seed,V,H,k",
    [
        (0, 3, 4, 3),
        (1, 3, 4, 1),
        (2, 2, 5, 2),
        (3, 4, 3, 0),
        pytest.param(4, 3, 6, 5, marks=pytest.mark.slow),
        pytest.param(5, 5, 4, 2, marks=pytest.mark.slow),
        pytest.param(6, 2, 9, 4, marks=pytest.mark.slow),
    ],
)
def test_ar_joint_law_matches_numpy_reference(seed, V, H, k):
    rng = np.random.default_rng(seed)
    X = 2
    tables = rng.dirichlet(np.ones(V), size=(H, X, V**k))
    pol = AutoregressivePolicy.from_conditionals(tables, context_length=k)
    joint = np.asarray(pol.joint_log_probs())
    for x in range(X):
        for i, s in enumerate(itertools.product(range(V), repeat=H)):
            assert joint[x, i] == pytest.approx(_reference_ar_log_prob(tables, k, x, s), rel=1e-12, abs=1e-13)
    np.testing.assert_allclose(np.exp(joint).sum(-1), np.ones(X), rtol=1e-13)
    # exact arg-max by brute force over the reference
    for x in range(X):
        best = max(
            itertools.product(range(V), repeat=H), key=lambda s: _reference_ar_log_prob(tables, k, x, s)
        )
        np.testing.assert_array_equal(np.asarray(pol.sequence_argmax())[x], best)


def test_ar_greedy_matches_numpy_reference():
    rng = np.random.default_rng(7)
    V, H, X = 3, 5, 4
    tables = rng.dirichlet(np.ones(V), size=(H, X, V ** (H - 1)))
    pol = AutoregressivePolicy.from_conditionals(tables)
    for x in range(X):
        seq = []
        for h in range(H):
            ctx = 0
            for prev in seq:
                ctx = ctx * V + prev
            seq.append(int(np.argmax(tables[h, x, ctx])))
        np.testing.assert_array_equal(np.asarray(pol.greedy())[x], seq)
