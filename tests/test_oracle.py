"""Unit tests for sharpsim.oracle (Def 3.2, Def D.1) and sharpsim.algorithms.best_of_n.

Query counts are checked exactly; revealed log-probabilities are compared with the hand
table; statistical tests are chi-square tests at level 1e-6 (false-failure probability about
1e-6 each; cells with expected count < 5 are merged).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _stats import chi_square_pvalue
from scipy import stats

from sharpsim import oracle, problems

ALPHA = 1e-6  # false-failure probability of each chi-square test

TABLE = np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
MU = np.array([0.5, 0.0, 0.5])  # prompt 1 has zero mass and must never be drawn
with np.errstate(divide="ignore"):
    LOG_TABLE = np.log(TABLE)


@pytest.fixture(scope="module")
def problem():
    return problems.from_probs(TABLE, MU)


# ==================================================================== sample_and_evaluate
@pytest.mark.parametrize("n,N", [(1, 1), (3, 5), (17, 2)])
def test_sample_and_evaluate_charges_n_times_N(problem, n, N):
    batch = oracle.sample_and_evaluate(jax.random.key(0), problem, n, N)
    assert int(batch.num_queries) == n * N
    assert batch.prompts.shape == (n,) and batch.responses.shape == (n, N) and batch.log_probs.shape == (n, N)
    prompts, responses = np.asarray(batch.prompts), np.asarray(batch.responses)
    np.testing.assert_array_equal(np.asarray(batch.log_probs), LOG_TABLE[prompts[:, None], responses])


def test_sample_and_evaluate_prompt_and_response_frequencies(problem):
    # chi-square at level ALPHA for prompts and for prompt 0's responses: ~2e-6 in total
    n = 20_000
    batch = oracle.sample_and_evaluate(jax.random.key(1), problem, n, 2)
    prompts = np.asarray(batch.prompts)
    counts = np.bincount(prompts, minlength=3)
    assert counts[1] == 0
    assert chi_square_pvalue(counts[[0, 2]], MU[[0, 2]]) > ALPHA
    resp0 = np.asarray(batch.responses)[prompts == 0].ravel()
    r_counts = np.bincount(resp0, minlength=4)
    assert r_counts[3] == 0  # π(3|x0) = 0
    assert chi_square_pvalue(r_counts, TABLE[0]) > ALPHA
    assert np.all(np.isfinite(np.asarray(batch.log_probs)))


def test_sample_and_evaluate_is_deterministic_and_jits(problem):
    f = jax.jit(oracle.sample_and_evaluate, static_argnames=("n", "N"))
    a = f(jax.random.key(3), problem, n=4, N=3)
    b = oracle.sample_and_evaluate(jax.random.key(3), problem, 4, 3)
    np.testing.assert_array_equal(np.asarray(a.responses), np.asarray(b.responses))
    np.testing.assert_array_equal(np.asarray(a.prompts), np.asarray(b.prompts))
    assert int(a.num_queries) == 12


def test_sample_prompts_charges_nothing_and_follows_mu(problem):
    # chi-square at level ALPHA: false-failure probability ~1e-6
    x = np.asarray(oracle.sample_prompts(jax.random.key(2), problem, 10_000))
    counts = np.bincount(x, minlength=3)
    assert counts[1] == 0 and chi_square_pvalue(counts[[0, 2]], [0.5, 0.5]) > ALPHA


def test_sample_and_evaluate_autoregressive():
    pr = problems.prop31_tightness()
    batch = oracle.sample_and_evaluate(jax.random.key(0), pr, 5, 3)
    assert batch.responses.shape == (5, 3, 2) and int(batch.num_queries) == 15
    joint = {(0, 0): 0.3, (0, 1): 0.3, (1, 0): 0.4}
    expected = [[math.log(joint[tuple(s)]) for s in row] for row in np.asarray(batch.responses).tolist()]
    np.testing.assert_allclose(np.asarray(batch.log_probs), expected, rtol=1e-14)


# ============================================================================ evaluate
def test_evaluate_charges_one_query_per_response(problem):
    prompts = jnp.array([0, 2, 1])
    one = oracle.evaluate(problem, prompts, jnp.array([2, 1, 3]))
    assert int(one.num_queries) == 3
    np.testing.assert_allclose(
        np.asarray(one.log_probs), [math.log(0.2), math.log(0.25), math.log(0.4)], rtol=1e-15
    )
    many = oracle.evaluate(problem, prompts, jnp.array([[0, 1], [2, 3], [0, 0]]))
    assert int(many.num_queries) == 6
    np.testing.assert_array_equal(
        np.asarray(many.log_probs), LOG_TABLE[[[0, 0], [2, 2], [1, 1]], [[0, 1], [2, 3], [0, 0]]]
    )


def test_evaluate_autoregressive_charges_per_sequence():
    pr = problems.prop31_tightness()
    out = oracle.evaluate(pr, jnp.array([0, 0]), jnp.array([[1, 0], [0, 1]]))
    assert int(out.num_queries) == 2
    np.testing.assert_allclose(np.asarray(out.log_probs), [math.log(0.4), math.log(0.3)], rtol=1e-14)
    out = oracle.evaluate(pr, jnp.array([0]), jnp.array([[[1, 0], [0, 0], [1, 1]]]))
    assert int(out.num_queries) == 3
    assert np.asarray(out.log_probs)[0, 2] == -np.inf  # π(1, 1) = 0


# ======================================================================== adaptive oracle
ONE_PROMPT = problems.from_probs([[0.5, 0.3, 0.2, 0.0]])


def _stop_at_top(k, best):
    """Stop as soon as the arg-max of prompt 0 (π = 0.5) has been seen."""
    return best >= math.log(0.5) - 1e-12


def test_adaptive_oracle_hides_post_stopping_draws_and_charges_sum():
    n, max_draws = 400, 6
    batch = oracle.sample_and_evaluate_adaptive(
        jax.random.key(0), ONE_PROMPT, n, stop=_stop_at_top, max_draws=max_draws
    )
    resp = np.asarray(batch.responses)
    lp = np.asarray(batch.log_probs)
    nd = np.asarray(batch.num_draws)
    trunc = np.asarray(batch.truncated)
    assert resp.shape == (n, max_draws) and nd.shape == (n,) and trunc.shape == (n,)
    assert int(batch.num_queries) == nd.sum()
    for i in range(n):
        seen = resp[i, : nd[i]]
        assert np.all(seen >= 0)
        assert np.all(resp[i, nd[i] :] == -1) and np.all(lp[i, nd[i] :] == -np.inf)
        np.testing.assert_array_equal(lp[i, : nd[i]], LOG_TABLE[0, seen])
        # the rule stops at the first draw of response 0, or is truncated at max_draws
        assert np.all(seen[:-1] != 0)
        if seen[-1] == 0:
            assert not trunc[i]
        else:
            assert nd[i] == max_draws and trunc[i]
    assert trunc.any() and not trunc.all()  # P(no 0 in 6 draws) = 1/64: both happen w.p. > 1 - 1e-2


def test_adaptive_oracle_stopping_time_is_truncated_geometric():
    # N = min(Geometric(1/2), 6): P(N = k) = 2^-k for k < 6, P(N = 6) = 2^-5.
    # chi-square at level ALPHA: false-failure probability ~1e-6
    n = 20_000
    batch = oracle.sample_and_evaluate_adaptive(
        jax.random.key(7), ONE_PROMPT, n, stop=_stop_at_top, max_draws=6
    )
    counts = np.bincount(np.asarray(batch.num_draws), minlength=7)[1:]
    probs = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.03125]
    assert chi_square_pvalue(counts, probs) > ALPHA
    # truncated exactly when the 6 draws never reached the top: P = 2^-6
    assert np.asarray(batch.truncated).sum() <= counts[-1]


def test_adaptive_oracle_rule_that_ignores_best():
    # a fixed budget "stop once k >= 3" charges exactly 3 per prompt
    n = 5
    batch = oracle.sample_and_evaluate_adaptive(
        jax.random.key(1), ONE_PROMPT, n, stop=lambda k, best: k >= 3, max_draws=4
    )
    np.testing.assert_array_equal(np.asarray(batch.num_draws), [3] * n)
    assert int(batch.num_queries) == 3 * n
    assert not np.asarray(batch.truncated).any()
    assert np.all(np.asarray(batch.responses)[:, 3] == -1) and np.all(np.asarray(batch.responses)[:, :3] >= 0)


def test_adaptive_oracle_never_firing_rule_is_truncated(problem):
    batch = oracle.sample_and_evaluate_adaptive(
        jax.random.key(2), problem, 7, stop=lambda k, best: k > 100, max_draws=5
    )
    np.testing.assert_array_equal(np.asarray(batch.num_draws), [5] * 7)
    assert np.asarray(batch.truncated).all()
    assert int(batch.num_queries) == 35


def test_adaptive_oracle_autoregressive_masks_whole_sequences():
    pr = problems.prop31_tightness()  # y* = (1, 0) with probability 0.4
    batch = oracle.sample_and_evaluate_adaptive(
        jax.random.key(3), pr, 50, stop=lambda k, best: best >= math.log(0.4) - 1e-12, max_draws=8
    )
    resp = np.asarray(batch.responses)
    nd = np.asarray(batch.num_draws)
    assert resp.shape == (50, 8, 2)
    for i in range(50):
        assert np.all(resp[i, nd[i] :] == -1)
        if not np.asarray(batch.truncated)[i]:
            np.testing.assert_array_equal(resp[i, nd[i] - 1], [1, 0])
    assert int(batch.num_queries) == nd.sum()


# ============================================================================ best_of_n
@pytest.mark.parametrize("method", ["literal", "exact"])
def test_best_of_n_charges_n_times_N_and_reveals_true_log_probs(problem, method):
    n, N = 6, 4
    batch = oracle.sample_best_of_n(jax.random.key(0), problem, n, N, method=method)
    assert int(batch.num_queries) == n * N
    prompts, responses = np.asarray(batch.prompts), np.asarray(batch.responses)
    assert responses.shape == (n,)
    np.testing.assert_array_equal(np.asarray(batch.log_probs), LOG_TABLE[prompts, responses])
    assert np.all(prompts != 1)


def test_exact_best_of_n_charges_huge_N_without_drawing_it(problem):
    batch = oracle.sample_best_of_n(jax.random.key(0), problem, 3, 10**12, method="exact")
    assert int(batch.num_queries) == 3 * 10**12
    # the pick is the arg-max set surely (x0: response 0; x2: any of the tied four)
    for x, y in zip(np.asarray(batch.prompts), np.asarray(batch.responses)):
        assert TABLE[x, y] == TABLE[x].max()


def test_exact_best_of_n_jits_once_across_N(problem):
    traces = []

    def run(key, N):
        traces.append(None)
        return oracle.sample_best_of_n(key, problem, 5, N, method="exact")

    f = jax.jit(run)
    for N in (2, 30, 10**9):
        assert int(f(jax.random.key(N % 7), N).num_queries) == 5 * N
    assert len(traces) == 1


@pytest.mark.parametrize("method", ["literal", "exact"])
@pytest.mark.parametrize(
    "row,N,law",
    [
        ([0.5, 0.3, 0.2, 0.0], 3, [1 - 0.5**3, 0.5**3 - 0.2**3, 0.2**3, 0.0]),  # [0.875, 0.117, 0.008, 0]
        ([0.4, 0.4, 0.2, 0.0], 2, [(1 - 0.2**2) / 2, (1 - 0.2**2) / 2, 0.2**2, 0.0]),  # [0.48, 0.48, 0.04, 0]
    ],
)
def test_best_of_n_pick_frequencies_match_hand_law(method, row, N, law):
    # chi-square at level ALPHA per case: false-failure probability ~1e-6 each (4 cases)
    pr = problems.from_probs([row])
    batch = oracle.sample_best_of_n(jax.random.key(11), pr, 20_000, N, method=method)
    counts = np.bincount(np.asarray(batch.responses), minlength=4)
    assert counts[3] == 0
    assert chi_square_pvalue(counts, law) > ALPHA


@pytest.mark.parametrize("method", ["literal", "exact"])
def test_best_of_n_autoregressive_by_hand(method):
    # Prop 3.1 instance, N = 2: (0,0), (0,1) each 0.36/2; (1,0) 1 - 0.36.
    # chi-square at level ALPHA: false-failure probability ~1e-6
    pr = problems.prop31_tightness()
    batch = oracle.sample_best_of_n(jax.random.key(12), pr, 10_000, 2, method=method)
    resp = np.asarray(batch.responses)
    assert resp.shape == (10_000, 2) and int(batch.num_queries) == 20_000
    idx = resp @ np.array([2, 1])
    counts = np.bincount(idx, minlength=4)
    assert counts[3] == 0
    assert chi_square_pvalue(counts, [0.18, 0.18, 0.64, 0.0]) > ALPHA
    joint = np.log([0.3, 0.3, 0.4, 1.0])  # index 3 never occurs
    np.testing.assert_allclose(np.asarray(batch.log_probs), joint[idx], rtol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("N", [2, 8, 64])
def test_literal_and_exact_best_of_n_have_the_same_law_two_sample(N):
    # two-sample chi-square (contingency table) at level ALPHA: false-failure probability ~1e-6
    # per N; 100k picks per method on a random 30-response row with ties
    rng = np.random.default_rng(N)
    w = rng.integers(1, 8, size=30).astype(float)
    pr = problems.from_probs([w / w.sum()])
    n = 100_000
    lit = np.asarray(oracle.sample_best_of_n(jax.random.key(20 + N), pr, n, N, method="literal").responses)
    ex = np.asarray(oracle.sample_best_of_n(jax.random.key(40 + N), pr, n, N, method="exact").responses)
    table = np.stack([np.bincount(lit, minlength=30), np.bincount(ex, minlength=30)])
    table = table[:, table.sum(axis=0) >= 10]  # drop cells too sparse for the approximation
    assert stats.chi2_contingency(table).pvalue > ALPHA


# ======================================================================== adaptive_best
def test_adaptive_best_keeps_best_draw_and_charges_sum():
    # stop at the first draw of the arg-max (π = 0.5), cap 6: N = min(Geometric(1/2), 6);
    # chi-square at level ALPHA on the stopping times: false-failure probability ~1e-6
    n = 20_000
    out = oracle.adaptive_best(jax.random.key(8), ONE_PROMPT, n, stop=_stop_at_top, max_draws=6)
    counts = np.asarray(out.num_draws)
    resp = np.asarray(out.responses)
    trunc = np.asarray(out.truncated)
    assert int(out.num_queries) == counts.sum()
    np.testing.assert_array_equal(np.asarray(out.log_probs), LOG_TABLE[0, resp])
    assert np.all(resp[~trunc] == 0)  # stopped on the arg-max, which is then the best seen
    assert np.all(counts[trunc] == 6) and np.all(resp[trunc] != 0)
    hist = np.bincount(counts, minlength=7)[1:]
    assert chi_square_pvalue(hist, [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.03125]) > ALPHA


def test_adaptive_best_with_fixed_budget_is_best_of_n():
    # "stop once k >= 3" keeps the best of 3 draws: law [0.875, 0.117, 0.008, 0] (by hand);
    # chi-square at level ALPHA: false-failure probability ~1e-6
    n = 20_000
    out = oracle.adaptive_best(jax.random.key(9), ONE_PROMPT, n, stop=lambda k, best: k >= 3)
    np.testing.assert_array_equal(np.asarray(out.num_draws), np.full(n, 3))
    assert int(out.num_queries) == 3 * n and not np.asarray(out.truncated).any()
    counts = np.bincount(np.asarray(out.responses), minlength=4)
    assert counts[3] == 0
    assert chi_square_pvalue(counts, [1 - 0.5**3, 0.5**3 - 0.2**3, 0.2**3, 0.0]) > ALPHA


# ============================================================================ masked triples (num_active)
@pytest.mark.parametrize("sigma", [0.0, 0.5])
def test_sample_triples_num_active_masks_the_tail_and_nests_the_unpadded_draws(problem, sigma):
    key = jax.random.key(21)
    small, m_small = oracle.sample_triples(key, problem, 17, reward_noise=sigma)
    padded, m = oracle.sample_triples(key, problem, 32, reward_noise=sigma, num_active=17)
    assert int(m) == int(m_small) == 34
    for name in ("prompts", "responses", "other_responses", "base_log_probs", "other_base_log_probs", "rewards",
                 "other_rewards"):
        a, b = np.asarray(getattr(small, name)), np.asarray(getattr(padded, name))
        assert b.shape == (32,)
        np.testing.assert_array_equal(b[:17], a)  # bitwise, noise included
    np.testing.assert_array_equal(np.asarray(padded.responses)[17:], -1)
    np.testing.assert_array_equal(np.asarray(padded.other_responses)[17:], -1)
    assert np.all(np.isneginf(np.asarray(padded.rewards)[17:]))
    # traced num_active: one compiled function for every count
    f = jax.jit(lambda k: oracle.sample_triples(key, problem, 32, reward_noise=sigma, num_active=k))
    t, m5 = f(5)
    assert int(m5) == 10 and np.all(np.asarray(t.responses)[5:] == -1)
    with pytest.raises(ValueError, match=r"`num_active` must lie in \[0, n\] = \[0, 32\]; got 33"):
        oracle.sample_triples(key, problem, 32, num_active=33)


def test_sample_triples_num_active_masks_whole_sequences():
    pr = problems.prop31_tightness()
    small, _ = oracle.sample_triples(jax.random.key(3), pr, 5, reward_noise=0.2)
    padded, m = oracle.sample_triples(jax.random.key(3), pr, 16, reward_noise=0.2, num_active=5)
    assert int(m) == 10 and padded.responses.shape == (16, 2)
    np.testing.assert_array_equal(np.asarray(padded.responses)[:5], np.asarray(small.responses))
    np.testing.assert_array_equal(np.asarray(padded.rewards)[:5], np.asarray(small.rewards))
    np.testing.assert_array_equal(np.asarray(padded.other_responses)[5:], -1)
