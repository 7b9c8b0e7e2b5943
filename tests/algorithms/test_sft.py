"""SFT-Sharpening (Sec 4.1, Thm 4.1): sharpsim.algorithms.sft_sharpening.

Query counts are exact; the exact O(log|Y|) and the literal N-draw paths are compared with
each other (two-sample chi-square) and with the hand/NumPy BoN law (chi-square goodness of
fit). Every statistical test runs at level ALPHA = 1e-6, so its false-failure probability is
about 1e-6 (under 1e-5 for the whole file); sparse cells (expected count < 5, or column total
< 10 in a two-sample table) are merged or dropped so the chi-square approximation holds.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from _stats import chi_square_pvalue
from classes._reference import np_bon_law, np_loglik
from scipy import stats

import sharpsim as ss
from sharpsim import classes, problems
from sharpsim.algorithms import sft_sharpening

ALPHA = 1e-6

BASE = np.array(
    [
        [0.5, 0.3, 0.2, 0.0],
        [0.1, 0.2, 0.3, 0.4],
        [0.35, 0.35, 0.2, 0.1],  # a tied arg-max set {y0, y1}
    ]
)
MU = np.array([0.2, 0.5, 0.3])
ARGMAX = BASE >= BASE.max(axis=1, keepdims=True)  # y*(x) by hand (exact ties only)


@pytest.fixture(scope="module")
def pr():
    return problems.from_probs(BASE, MU)


@pytest.fixture(scope="module")
def tab(pr):
    return classes.TabularClass.for_problem(pr)


def chi_square_gof_pvalue(counts, probs, min_expected=5.0):
    counts = np.asarray(counts, dtype=np.float64).ravel()
    probs = np.asarray(probs, dtype=np.float64).ravel()
    assert np.all(counts[probs == 0] == 0), "a zero-probability outcome occurred"
    return chi_square_pvalue(counts, probs, min_expected)


def two_sample_pvalue(a, b, num_values):
    """Chi-square test of homogeneity between two samples of integers in [0, num_values)."""
    table = np.stack([np.bincount(a, minlength=num_values), np.bincount(b, minlength=num_values)])
    table = table[:, table.sum(axis=0) >= 10]
    if table.shape[1] < 2:
        return 1.0
    return stats.chi2_contingency(table).pvalue


def np_error(policy_probs, delta, gamma=0.0):
    """``err_δ(π̂) = Σ_x μ(x) [π̂(y*_γ(x)|x) < 1 - δ]`` by a loop over prompts (rtol 1e-9 ties)."""
    err = 0.0
    for x in range(BASE.shape[0]):
        target = BASE[x] >= (1 - gamma) * (1 - 1e-9) * BASE[x].max()
        if policy_probs[x][target].sum() < 1 - delta:
            err += MU[x]
    return err


# Jitted entry points (shapes static, N, δ, γ traced where the method allows): JAX compiles
# each (n, method, class type) once for the whole module instead of op by op per call.
_sft_exact = jax.jit(sft_sharpening, static_argnames=("n", "method", "max_n", "return_policy"))
_sft_literal = jax.jit(sft_sharpening, static_argnames=("n", "N", "method", "max_n", "return_policy"))


# ============================================================================ query count
@pytest.mark.parametrize("n", [1, 12])
def test_num_queries_is_n_times_N_and_shapes(pr, tab, n):
    for N in (1, 7, 10**6):
        res = _sft_exact(jax.random.key(n + N), pr, tab, n=n, N=N)
        assert int(res.num_queries) == n * N
        np.testing.assert_array_equal(np.asarray(res.num_draws), np.full(n, N))
        assert np.asarray(res.prompts).shape == (n,) and np.asarray(res.responses).shape == (n,)
        assert np.asarray(res.policy.probs).shape == BASE.shape
        # every pick has positive base probability (y3 at x0 has probability 0)
        assert np.all(BASE[np.asarray(res.prompts), np.asarray(res.responses)] > 0)
    for N in (1, 7):
        res = _sft_literal(jax.random.key(n + N), pr, tab, n=n, N=N, method="literal")
        assert int(res.num_queries) == n * N
        np.testing.assert_array_equal(np.asarray(res.num_draws), np.full(n, N))
        assert np.all(BASE[np.asarray(res.prompts), np.asarray(res.responses)] > 0)


def test_exact_path_charges_huge_N_and_then_sharpens(pr, tab):
    # N = 10^9: each pick lies in y*(x) except with probability <= (1 - 0.35)^(10^9) ~ 0, and
    # with n = 200 a prompt of mass >= 0.2 is unseen with probability <= 0.8^200 < 1e-19, so the
    # fitted frequencies put all their mass on y*(x): error 0 at any δ (failure prob. < 1e-18).
    res = _sft_exact(jax.random.key(0), pr, tab, n=200, N=10**9)
    assert int(res.num_queries) == 200 * 10**9
    x, y = np.asarray(res.prompts), np.asarray(res.responses)
    assert np.all(ARGMAX[x, y])
    assert float(res.error) == 0.0


# ==================================================================== the fitted policy
@pytest.mark.parametrize("method", ["exact", "literal"])
def test_tabular_fit_is_empirical_frequency_of_returned_picks(pr, tab, method):
    run = _sft_exact if method == "exact" else _sft_literal
    # δ = 0.123: no frequency k/m with m <= 200 equals 1 - δ, so rounding cannot matter
    res = run(jax.random.key(3), pr, tab, n=200, N=2, method=method, delta=0.123)
    x, y = np.asarray(res.prompts), np.asarray(res.responses)
    want = np.zeros_like(BASE)
    for xi, yi in zip(x, y):
        want[xi, yi] += 1
    for row in range(BASE.shape[0]):
        want[row] = want[row] / want[row].sum() if want[row].sum() else 1 / BASE.shape[1]
    np.testing.assert_allclose(np.asarray(res.policy.probs), want, rtol=1e-13, atol=1e-15)
    assert float(res.error) == pytest.approx(np_error(want, 0.123), abs=1e-15)


@pytest.mark.parametrize("delta,gamma", [(0.12, 0.0), (0.45, 0.0), (0.0, 0.0), (0.33, 0.5)])
def test_error_is_sharpening_error_of_the_fit(pr, tab, delta, gamma):
    # δ > 0 avoids the masses k/m (m <= 12 picks per prompt) equal to 1 - δ, where float
    # rounding may put the comparison on either side (documented in sharpening_error); δ = 0 is
    # decided exactly
    for seed in range(6):
        res = _sft_exact(jax.random.key(seed), pr, tab, n=12, N=2, delta=delta, gamma=gamma)
        fit = np.asarray(res.policy.probs)
        assert float(res.error) == pytest.approx(np_error(fit, delta, gamma), abs=1e-15)
        assert float(res.error) == ss.sharpening_error(pr, res.policy, delta=delta, gamma=gamma)


def test_unsized_tabular_class_is_bound_to_the_problem(pr, tab):
    for seed in range(2):
        a = _sft_exact(jax.random.key(seed), pr, classes.TabularClass(), n=12, N=2)
        b = _sft_exact(jax.random.key(seed), pr, tab, n=12, N=2)
        np.testing.assert_array_equal(np.asarray(a.policy.log_probs), np.asarray(b.policy.log_probs))
        assert float(a.error) == float(b.error)


@pytest.mark.parametrize("split", [(0.7, 0.3), (1 / 3, 2 / 3)])
def test_delta_zero_counts_all_mass_on_a_tied_arg_max_as_sharpened(pr, split):
    # x2's arg-max set is {y0, y1}; a model putting (0.7, 0.3) or (1/3, 2/3) there and nothing
    # elsewhere has π̂(y*(x2)|x2) = 1 exactly, so at δ = 0 it is sharpened on x2 (in log space
    # log 0.7 ⊕ log 0.3 rounds to just below 0, which must not count as a failure)
    member = np.array([[1.0, 0, 0, 0], [0, 0, 0, 1.0], [split[0], split[1], 0, 0]])
    assert ss.sharpening_error(pr, member, delta=0.0) == 0.0
    assert ss.sharpening_error(pr, member, delta=1e-12) == 0.0
    off = member.copy()
    off[2] = [split[0], split[1] - 1e-13, 1e-13, 0]
    assert ss.sharpening_error(pr, off, delta=0.0) == pytest.approx(0.3, abs=1e-15)  # MU[2]
    cls = classes.FiniteClass(member[None])
    res = _sft_exact(jax.random.key(0), pr, cls, n=12, N=2, delta=0.0)
    assert float(res.error) == 0.0
    res = _sft_exact(jax.random.key(0), pr, classes.FiniteClass(off[None]), n=12, N=2, delta=0.0)
    assert float(res.error) == pytest.approx(0.3, abs=1e-15)


def test_return_policy_false_and_precomputed_sampler_give_the_same_run(pr, tab):
    sampler = ss.bon_sampler(pr)
    for seed in range(3):
        full = _sft_exact(jax.random.key(seed), pr, tab, n=12, N=3)
        lean = _sft_exact(jax.random.key(seed), pr, tab, n=12, N=3, return_policy=False, sampler=sampler)
        assert lean.policy is None
        for name in ("error", "num_queries", "prompts", "responses", "num_draws"):
            np.testing.assert_array_equal(np.asarray(getattr(lean, name)), np.asarray(getattr(full, name)))


def test_finite_class_fit_is_brute_force_mle_of_the_picks(pr):
    rng = np.random.default_rng(0)
    decoys = [BASE[:, rng.permutation(4)] for _ in range(3)]
    members = np.stack([BASE] + decoys)
    cls = classes.bon_closure(classes.FiniteClass(members), 3)
    closed = np.exp(np.asarray(cls.log_probs))
    for seed in range(3):
        res = _sft_exact(jax.random.key(seed), pr, cls, n=12, N=3)
        x, y = np.asarray(res.prompts), np.asarray(res.responses)
        ll = np.array([np_loglik(closed[k], x, y) for k in range(4)])
        best = int(np.argmax(ll))
        np.testing.assert_allclose(np.asarray(res.policy.probs), closed[best], rtol=1e-12)
        assert np.isfinite(ll[0])  # BoN_3 of the base itself generated the picks
        fit = closed[best]
        assert float(res.error) == pytest.approx(np_error(fit, 0.1), abs=1e-15)


# ========================================================= exact vs literal: same law
def test_exact_and_literal_picks_follow_the_hand_bon_law(pr):
    # pooled picks of 4000 prompts (n = 4000, N = 3): joint law μ(x) · BoN_3(y|x), by NumPy.
    # chi-square goodness of fit at level ALPHA per method
    N, n = 3, 4000
    law = MU[:, None] * np.stack([np_bon_law(row, N) for row in BASE])
    for i, method in enumerate(["exact", "literal"]):
        tab = classes.TabularClass.for_problem(pr)
        res = sft_sharpening(jax.random.key(10 + i), pr, tab, n=n, N=N, method=method)
        counts = np.zeros_like(BASE)
        np.add.at(counts, (np.asarray(res.prompts), np.asarray(res.responses)), 1)
        assert chi_square_gof_pvalue(counts, law) > ALPHA


def _run_error(key, pr, cls, method):
    res = sft_sharpening(key, pr, cls, n=4, N=2, method=method, delta=0.4)
    return res.error, res.num_queries, res.policy.probs[1, 3]


_errors = {
    method: jax.jit(jax.vmap(lambda k, pr, cls, method=method: _run_error(k, pr, cls, method), in_axes=(0, None, None)))
    for method in ("exact", "literal")
}


def test_exact_and_literal_give_the_same_law_of_errors_and_same_m(pr, tab):
    # 3000 seeds per method, n = 4, N = 2, δ = 0.4: the error takes values in the subset sums of
    # μ = (0.2, 0.5, 0.3); two-sample chi-square of the error values and of the fitted mass
    # π̂(y3|x1) (in {0, 1/4, ..., 1} ∪ {1/4 uniform}) at level ALPHA each.
    S = 3000
    e_ex, m_ex, f_ex = (np.asarray(a) for a in _errors["exact"](jax.random.split(jax.random.key(20), S), pr, tab))
    e_li, m_li, f_li = (np.asarray(a) for a in _errors["literal"](jax.random.split(jax.random.key(21), S), pr, tab))
    np.testing.assert_array_equal(m_ex, np.full(S, 8))
    np.testing.assert_array_equal(m_li, np.full(S, 8))
    code = {round(v, 10): i for i, v in enumerate(sorted({round(v, 10) for v in np.concatenate([e_ex, e_li])}))}
    a = np.array([code[round(v, 10)] for v in e_ex])
    b = np.array([code[round(v, 10)] for v in e_li])
    assert len(code) >= 3  # the test has something to compare
    assert two_sample_pvalue(a, b, len(code)) > ALPHA
    fa = np.rint(f_ex * 12).astype(int)  # masses are multiples of 1/12 (1/k, k <= 4; or 1/4)
    fb = np.rint(f_li * 12).astype(int)
    assert two_sample_pvalue(fa, fb, 13) > ALPHA


@pytest.mark.slow
@pytest.mark.parametrize("N", [2, 5, 20])
def test_exact_and_literal_same_law_of_errors_thorough(pr, N):
    # 20000 seeds per method; two-sample chi-square at level ALPHA per N
    tab = classes.TabularClass.for_problem(pr)
    S = 20_000

    def run(keys, method):
        return np.asarray(jax.jit(jax.vmap(lambda k: sft_sharpening(k, pr, tab, n=3, N=N, method=method).error))(keys))

    e_ex = run(jax.random.split(jax.random.key(30 + N), S), "exact")
    e_li = run(jax.random.split(jax.random.key(60 + N), S), "literal")
    vals = sorted({round(v, 10) for v in np.concatenate([e_ex, e_li])})
    code = {v: i for i, v in enumerate(vals)}
    a = np.array([code[round(v, 10)] for v in e_ex])
    b = np.array([code[round(v, 10)] for v in e_li])
    assert two_sample_pvalue(a, b, len(code)) > ALPHA


# ============================================================================ max_n
def test_max_n_with_traced_n_matches_plain_n_and_charges_only_n(pr, tab):
    N, max_n = 3, 12
    traces = []

    def run(key, n):
        traces.append(None)
        return sft_sharpening(key, pr, tab, n=n, N=N, max_n=max_n)

    f = jax.jit(run)
    key = jax.random.key(4)
    full = f(key, max_n)
    plain = sft_sharpening(key, pr, tab, n=max_n, N=N)  # eager, no max_n
    for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(plain)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    for n in (1, 3, 7):
        part = f(key, n)
        assert int(part.num_queries) == n * N
        np.testing.assert_array_equal(np.asarray(part.num_draws), [N] * n + [0] * (max_n - n))
        resp = np.asarray(part.responses)
        assert np.all(resp[n:] == -1)
        # the revealed picks are the first n of the max_n run (same key: nested samples)
        np.testing.assert_array_equal(np.asarray(part.prompts)[:n], np.asarray(full.prompts)[:n])
        np.testing.assert_array_equal(resp[:n], np.asarray(full.responses)[:n])
        # the fit uses the n revealed picks only (empirical frequencies, unseen -> uniform)
        want = np.zeros_like(BASE)
        for xi, yi in zip(np.asarray(part.prompts)[:n], resp[:n]):
            want[xi, yi] += 1
        for row in range(3):
            want[row] = want[row] / want[row].sum() if want[row].sum() else 0.25
        np.testing.assert_allclose(np.asarray(part.policy.probs), want, rtol=1e-13, atol=1e-15)
        assert float(part.error) == pytest.approx(np_error(want, 0.1), abs=1e-15)
    assert len(traces) == 1  # one compilation for every n <= max_n


def test_exact_path_does_not_recompile_across_N_or_seeds(pr, tab):
    traces = []

    def run(key, N):
        traces.append(None)
        return sft_sharpening(key, pr, tab, n=12, N=N)

    f = jax.jit(jax.vmap(run, in_axes=(0, None)))
    errs = []
    for N in (1, 2, 17, 10**6):
        out = f(jax.random.split(jax.random.key(N % 5), 16), N)
        np.testing.assert_array_equal(np.asarray(out.num_queries), np.full(16, 12 * N))
        errs.append(np.asarray(out.error))
    assert len(traces) == 1
    assert len({e.tobytes() for e in errs}) > 1  # the runs differ


def test_same_key_same_result(pr, tab):
    for run, method in ((_sft_exact, "exact"), (_sft_literal, "literal")):
        a = run(jax.random.key(9), pr, tab, n=12, N=7, method=method)
        b = run(jax.random.key(9), pr, tab, n=12, N=7, method=method)
        c = run(jax.random.key(10), pr, tab, n=12, N=7, method=method)
        np.testing.assert_array_equal(np.asarray(a.responses), np.asarray(b.responses))
        np.testing.assert_array_equal(np.asarray(a.policy.log_probs), np.asarray(b.policy.log_probs))
        assert not np.array_equal(np.asarray(a.prompts), np.asarray(c.prompts))  # P(equal) < 0.5^12


def test_sft_with_the_autoregressive_linear_class_reports_its_exact_error():
    # Eq 11's class on Prop E.2's instance: the fitted policy is autoregressive and its error is
    # read off its enumerated law, the same with and without building the policy. Every member
    # gives tokens 0 and 1 the same first-step mass (Prop E.2), so none puts more than 1/2 on the
    # arg-max (1, 0): at δ = 0.1 every prompt fails and the error is exactly 1.
    import jax

    import sharpsim as ss
    from sharpsim import problems
    from sharpsim.algorithms import sft_sharpening
    from sharpsim.policies import AutoregressivePolicy

    pr, cls, _ = problems.prop_e2_instance(4)
    with_policy = sft_sharpening(jax.random.key(0), pr, cls, n=8, N=4, delta=0.1)
    without = sft_sharpening(jax.random.key(0), pr, cls, n=8, N=4, delta=0.1, return_policy=False)
    assert isinstance(with_policy.policy, AutoregressivePolicy)
    assert float(with_policy.error) == float(without.error) == 1.0
    assert ss.sharpening_error(pr, with_policy.policy, delta=0.1) == 1.0
