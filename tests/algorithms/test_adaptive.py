"""Adaptive sampling (App D, Lemma I.1) and adaptive SFT-Sharpening (Thm D.1).

References written here, independent of sharpsim:

* ``np_adaptive_law`` — the exact joint law of ``(N_μ, kept response)`` for one prompt, from
  ``P(N_μ > k) = P(no draw among the first k has a level v with k v >= μ)`` and the record
  structure (derivation in its docstring);
* ``np_adaptive_loop`` — a slow NumPy loop that draws one response at a time.

Statistical tests and their false-failure probabilities:

* chi-square goodness of fit / homogeneity at level ALPHA = 1e-6 each (about 1e-6 per test;
  sparse cells merged or dropped so that the approximation holds);
* Lemma I.1 under hypothesis: per drawn example, one-sided Bernstein bounds on the mean of
  ``N_μ`` and an exact one-sided binomial test on the miss count, each at level 1e-8, so
  below 5e-6 for a whole run of up to 500 examples.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

from sharpsim import classes, oracle, problems
from sharpsim.algorithms import adaptive_sft_sharpening
from sharpsim.algorithms.sft import adaptive_stop_rule

ALPHA = 1e-6
SLACK = 1e-12  # the stopping rule's documented slack: stop iff log k + log v >= log μ - 1e-12


# ----------------------------------------------------------------------- NumPy references
def _stops(k, v, mu):
    return v > 0 and math.log(k) + math.log(v) >= math.log(mu) - SLACK


def np_adaptive_law(row, mu):
    """Exact law ``{(k, y): P(N_μ = k, kept = y)}`` of App D's rule for one distribution ``row``
    (exact ties only; the kept response is uniform within its level by symmetry).

    ``j V_j`` is non-decreasing in ``j`` (``V_j`` the best level after j draws), so
    ``N > k`` iff ``k V_k < μ``, i.e. all k draws lie in ``B_k = {levels u : not stop(k, u)}``:
    ``P(N > k) = m(B_k)^k``. For ``N = k`` with kept level ``v`` (``stop(k, v)``):

    * ``k = 1``: ``m(v)``;
    * ``not stop(k-1, v)``: any history with ``V_k = v`` has ``V_{k-1} <= v`` not stopping, so
      the probability is ``F(v)^k - F(v-)^k``;
    * ``stop(k-1, v)``: ``V_{k-1}`` lies in ``B_{k-1}`` (all below v) and draw k has level v:
      ``m(B_{k-1})^{k-1} m(v)``.
    """
    row = np.asarray(row, dtype=np.float64)
    levels = sorted({float(v) for v in row if v > 0}, reverse=True)
    mass = {v: row[row == v].sum() for v in levels}
    size = {v: int((row == v).sum()) for v in levels}

    def below_mass(k):  # m(B_k)
        return sum(mass[u] for u in levels if not _stops(k, u, mu))

    def F(v, strict):
        return sum(mass[u] for u in levels if (u < v if strict else u <= v))

    k_max = 1
    while not _stops(k_max, levels[-1], mu):
        k_max += 1
    law = {}
    for k in range(1, k_max + 1):
        for v in levels:
            if not _stops(k, v, mu):
                continue
            if k == 1:
                p = mass[v]
            elif not _stops(k - 1, v, mu):
                p = F(v, False) ** k - F(v, True) ** k
            else:
                p = below_mass(k - 1) ** (k - 1) * mass[v]
            if p > 0:
                for y in np.flatnonzero(row == v):
                    law[(k, int(y))] = p / size[v]
    return law


def np_law_moments(row, mu):
    """Exact ``E[N_μ]`` (as ``Σ_k P(N > k)``), ``Var[N_μ]``, ``P[kept ∉ y*]``, and ``max N``."""
    law = np_adaptive_law(row, mu)
    row = np.asarray(row, dtype=np.float64)
    top = row.max()
    ks = np.array([k for k, _ in law], dtype=np.float64)
    ps = np.array(list(law.values()))
    mean = float((ks * ps).sum())
    var = float(((ks - mean) ** 2 * ps).sum())
    miss = float(sum(p for (k, y), p in law.items() if row[y] < top))
    return mean, var, miss, int(ks.max())


def np_exact_moments(row, mu):
    """``E[N_μ]``, ``E[N_μ²]``, ``P[kept ∉ y*]`` and ``max N_μ``, vectorised over k (for rows
    whose stopping times reach 10^5), from ``P(N_μ > k) = B(k)^k`` where ``B(k)`` is the mass of
    the levels v with ``k v < μ`` (no draw of level ``v >= μ/k`` among the first k):
    ``E[N] = Σ_{k>=0} P(N > k)``, ``E[N²] = Σ_{k>=0} (2k + 1) P(N > k)``; the miss probability
    sums the law of :func:`np_adaptive_law` over the non-top levels."""
    row = np.asarray(row, dtype=np.float64)
    levels = np.array(sorted({float(v) for v in row if v > 0}, reverse=True))
    mass = np.array([row[row == v].sum() for v in levels])
    deadline = np.empty(len(levels), dtype=np.int64)
    for i, v in enumerate(levels):
        d = max(1, int(mu / v) - 2)
        while not _stops(d, v, mu):
            d += 1
        deadline[i] = d
    k_max = int(deadline.max())
    k = np.arange(k_max)  # 0 .. k_max - 1
    B = (mass[None, :] * (deadline[None, :] > k[:, None])).sum(axis=1)
    tail = np.where(k == 0, 1.0, B ** np.maximum(k, 1))  # P(N > k)
    mean = float(tail.sum())
    second = float(((2 * k + 1) * tail).sum())
    miss = 0.0
    for i in range(1, len(levels)):  # every level below the top
        d = deadline[i]
        F = mass[i:].sum()
        F_below = mass[i + 1 :].sum()
        miss += mass[i] if d == 1 else F**d - F_below**d
        if d < k_max:  # k = d+1 .. k_max: B(k-1)^(k-1) m(v)
            miss += float((tail[d:k_max] * mass[i]).sum())
    return mean, second, miss, k_max


def np_adaptive_loop(rng, row, mu, n):
    """``n`` runs of the literal rule, one draw at a time; keeps the first drawn best."""
    cdf = np.cumsum(row)
    out = np.empty((n, 2), dtype=np.int64)
    for i in range(n):
        k, best_y, best_v = 0, -1, -1.0
        while True:
            y = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
            k += 1
            if row[y] > best_v:
                best_y, best_v = y, row[y]
            if _stops(k, best_v, mu):
                break
        out[i] = k, best_y
    return out


def encode(num_draws, responses, Y):
    return np.asarray(num_draws, dtype=np.int64) * Y + np.asarray(responses, dtype=np.int64)


def gof_pvalue(codes, law, Y, min_expected=5.0):
    """Chi-square goodness of fit of observed ``(k, y)`` codes to ``law``."""
    codes = np.asarray(codes)
    keys = sorted(law)
    probs = np.array([law[key] for key in keys])
    index = {k * Y + y: i for i, (k, y) in enumerate(keys)}
    assert set(np.unique(codes).tolist()) <= set(index), "an outcome of probability 0 occurred"
    counts = np.bincount([index[c] for c in codes], minlength=len(keys)).astype(float)
    expected = len(codes) * probs / probs.sum()
    keep = expected >= min_expected
    obs, exp = list(counts[keep]), list(expected[keep])
    if (~keep).any():
        obs.append(counts[~keep].sum())
        exp.append(expected[~keep].sum())
    if len(obs) < 2:
        return 1.0
    return stats.chisquare(obs, exp).pvalue


def two_sample_pvalue(a, b):
    vals = np.union1d(a, b)
    idx_a, idx_b = np.searchsorted(vals, a), np.searchsorted(vals, b)
    table = np.stack([np.bincount(idx_a, minlength=len(vals)), np.bincount(idx_b, minlength=len(vals))])
    table = table[:, table.sum(axis=0) >= 10]
    if table.shape[1] < 2:
        return 1.0
    return stats.chi2_contingency(table).pvalue


# ---------------------------------------------------------------------- jitted samplers
NS = 3000  # runs per sampled law; one compilation per problem shape and sampler

_exact = jax.jit(lambda k, p, mu: oracle.adaptive_best_exact(k, p, NS, stop_level=mu))
_literal = jax.jit(lambda k, p, mu: oracle.adaptive_best(k, p, NS, stop=oracle.adaptive_rule(mu)))

ROWS = [
    ([0.5, 0.3, 0.2, 0.0, 0.0], 2.0),  # a zero-probability response
    ([0.25, 0.25, 0.25, 0.125, 0.125], 2.0),  # ties; k v = μ exactly at (8, 1/4) and (16, 1/8)
    ([0.3, 0.25, 0.25, 0.15, 0.05], 0.7),  # small μ: often stops at the first draw
    ([0.22, 0.2, 0.2, 0.19, 0.19], 4.0),  # near-flat: many records
]


Y_LEMMA = 10  # one-prompt problems over 10 responses: a second compilation of each sampler


# ======================================================================= the references
def test_reference_law_is_a_distribution_and_matches_tail_sum():
    for row, mu in ROWS:
        law = np_adaptive_law(row, mu)
        assert sum(law.values()) == pytest.approx(1.0, abs=1e-13)
        mean, var, miss, k_max = np_law_moments(row, mu)
        mean2, second, miss2, k_max2 = np_exact_moments(row, mu)
        assert mean == pytest.approx(mean2, rel=1e-12)
        assert var == pytest.approx(second - mean2**2, rel=1e-9, abs=1e-12)
        assert miss == pytest.approx(miss2, rel=1e-12, abs=1e-15)
        assert k_max == k_max2


def test_reference_law_by_hand():
    # row [0.5, 0.5], μ = 1: first draw has v = 1/2, 1·(1/2) < 1, second: 2·(1/2) >= 1 -> N = 2
    law = np_adaptive_law([0.5, 0.5], 1.0)
    assert law == {(2, 0): pytest.approx(0.5), (2, 1): pytest.approx(0.5)}
    # row [0.6, 0.4], μ = 1: k = 1 never stops (0.6 < 1); k = 2 stops iff V_2 = 0.6
    # (2·0.4 = 0.8 < 1): P = 1 - 0.16 = 0.84; k = 3 stops on any level (3·0.4 >= 1):
    # V_3 = 0.6 with V_2 = 0.4 -> 0.16·0.6; V_3 = 0.4 -> 0.4^3
    law = np_adaptive_law([0.6, 0.4], 1.0)
    assert law[(2, 0)] == pytest.approx(0.84, rel=1e-14)
    assert law[(3, 0)] == pytest.approx(0.16 * 0.6, rel=1e-14)
    assert law[(3, 1)] == pytest.approx(0.4**3, rel=1e-14)
    assert (2, 1) not in law and len(law) == 3


def test_numpy_loop_matches_reference_law():
    # chi-square at level ALPHA: false-failure probability ~1e-6
    rng = np.random.default_rng(0)
    row, mu = ROWS[1]
    out = np_adaptive_loop(rng, np.asarray(row), mu, 3000)
    assert gof_pvalue(encode(out[:, 0], out[:, 1], 5), np_adaptive_law(row, mu), 5) > ALPHA


# ========================================================= the oracle: exact vs literal
@pytest.mark.parametrize("case", range(len(ROWS)))
def test_exact_and_literal_adaptive_draws_follow_the_reference_law(case):
    # per case: chi-square goodness of fit of each sampler to the exact law, and a two-sample
    # test exact vs literal, each at level ALPHA (~3e-6 per case)
    row, mu = ROWS[case]
    pr = problems.from_probs([row, ROWS[3][0]], [1.0, 0.0])  # prompt 1 is never drawn
    law = np_adaptive_law(row, mu)
    ex = _exact(jax.random.key(100 + case), pr, mu)
    li = _literal(jax.random.key(200 + case), pr, mu)
    assert not np.asarray(ex.prompts).any() and not np.asarray(li.prompts).any()
    for batch in (ex, li):
        nd, resp = np.asarray(batch.num_draws), np.asarray(batch.responses)
        assert int(batch.num_queries) == nd.sum()
        assert not np.asarray(batch.truncated).any()
        np.testing.assert_allclose(np.asarray(batch.log_probs), np.log(np.asarray(row)[resp]), rtol=1e-14)
        assert gof_pvalue(encode(nd, resp, 5), law, 5) > ALPHA
    a = encode(ex.num_draws, ex.responses, 5)
    b = encode(li.num_draws, li.responses, 5)
    assert two_sample_pvalue(a, b) > ALPHA


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(ROWS)))
def test_exact_sampler_matches_numpy_loop_two_sample(case):
    # two-sample chi-square at level ALPHA: exact sampler vs the slow NumPy loop
    row, mu = ROWS[case]
    pr = problems.from_probs([row, ROWS[3][0]], [1.0, 0.0])
    ex = _exact(jax.random.key(300 + case), pr, mu)
    out = np_adaptive_loop(np.random.default_rng(case), np.asarray(row), mu, NS)
    assert two_sample_pvalue(encode(ex.num_draws, ex.responses, 5), encode(out[:, 0], out[:, 1], 5)) > ALPHA


def test_several_prompts_each_follow_their_own_law():
    # prompt-wise goodness of fit at level ALPHA (2 prompts × 2 samplers: ~4e-6 in all)
    rows = [ROWS[0][0], ROWS[3][0]]
    mu = 1.5
    pr = problems.from_probs(rows, [0.4, 0.6])
    for sampler, seed in ((_exact, 1), (_literal, 2)):
        batch = sampler(jax.random.key(seed), pr, mu)
        x = np.asarray(batch.prompts)
        assert abs(np.mean(x == 0) - 0.4) < 0.055  # binomial sd ~0.009: a 6-sd band (~2e-9)
        for p in range(2):
            sel = x == p
            codes = encode(np.asarray(batch.num_draws)[sel], np.asarray(batch.responses)[sel], 5)
            assert gof_pvalue(codes, np_adaptive_law(rows[p], mu), 5) > ALPHA


@pytest.mark.parametrize(
    "p_star,size,mu,k",
    [
        (1 / 4, 4, 2.0, 8),  # the boundary case: k P* = μ exactly at k = 8
        (1 / 3, 3, 1.0, 3),  # 3 · (1/3) rounds to 1 - 1e-16 in float64
        (1 / 10, 10, 1.0, 10),
        (1 / 2, 2, 0.5, 1),  # stops at the first draw: 1 · 1/2 = μ
    ],
)
def test_boundary_k_times_p_star_equal_mu_stops_at_k_in_both_paths(p_star, size, mu, k):
    # a uniform row (padded with zeros to 10 responses): every draw has level P*, so
    # N_μ = ⌈μ/P*⌉ = k deterministically
    pr = problems.from_probs([[p_star] * size + [0.0] * (10 - size)])
    for batch in (_exact(jax.random.key(0), pr, mu), _literal(jax.random.key(0), pr, mu)):
        np.testing.assert_array_equal(np.asarray(batch.num_draws), np.full(NS, k))
        assert int(batch.num_queries) == NS * k
        assert np.all(np.asarray(batch.responses) < size)
    stop = adaptive_stop_rule(mu)
    assert bool(stop(jnp.asarray(float(k)), jnp.log(p_star)))
    if k > 1:
        assert not bool(stop(jnp.asarray(float(k - 1)), jnp.log(p_star)))


def test_adaptive_rule_by_hand():
    stop = oracle.adaptive_rule(2.0)
    # stop iff k · v >= 2: (8, 0.25) yes, (7, 0.25) no, (4, 0.5) yes, (1, 1.0) no, (2, 1.0) yes
    cases = [(8, 0.25, True), (7, 0.25, False), (4, 0.5, True), (1, 1.0, False), (2, 1.0, True)]
    for k, v, want in cases:
        assert bool(stop(jnp.asarray(float(k)), jnp.log(v))) is want


# ================================================================ Lemma I.1 (property)
LEMMA_LEVEL = 1e-8


@st.composite
def lemma_problems(draw):
    """A row over 10 responses with ``|y*| = num_top`` exactly tied arg-maxes and the others at
    most ``ratio`` times the arg-max (``ratio <= 0.95``, and no positive entry below 0.002 of
    the arg-max so that stopping times stay below ~10^4), and a stop level μ."""
    num_top = draw(st.integers(1, 3))
    weight = st.one_of(st.just(0.0), st.floats(0.05, 1.0))
    others = np.array(draw(st.lists(weight, min_size=Y_LEMMA - num_top, max_size=Y_LEMMA - num_top)))
    ratio = draw(st.floats(0.04, 0.95))
    mu = draw(st.floats(0.05, 6.0))
    if others.max() > 0:
        others = ratio * others / others.max()
    row = np.concatenate([np.ones(num_top), others])
    row = row / row.sum()  # the tied entries stay exactly equal
    perm = np.random.default_rng(draw(st.integers(0, 2**16))).permutation(Y_LEMMA)
    return row[perm], num_top, mu


def _bernstein_margin(n, var, upper_range, level):
    """``t`` with ``P(mean - E >= t) <= level`` by Bernstein's inequality for i.i.d. variables
    ``<= E + upper_range`` with variance ``var``: ``exp(-n t² / (2 var + 2 b t / 3)) = level``."""
    L = math.log(1 / level)
    b = upper_range
    return ((2 * b * L / 3) + math.sqrt((2 * b * L / 3) ** 2 + 8 * n * var * L)) / (2 * n)


@given(lemma_problems())
@example((np.array([0.25, 0.25, 0.25, 0.25] + [0.0] * 6), 4, 2.0))  # the boundary case
@example((np.array([0.5, 0.3, 0.2] + [0.0] * 7), 1, 0.05))
def test_lemma_i1_expected_draws_and_miss_probability(case):
    row, num_top, mu = case
    p_star = row.max()
    assert int((row == p_star).sum()) == num_top
    bound_draws = (mu + 1.0 / num_top) / p_star
    bound_miss = math.exp(-num_top * mu)

    # exact: from the reference law
    mean, second, miss, k_max = np_exact_moments(row, mu)
    var = max(second - mean**2, 0.0)
    assert mean <= bound_draws * (1 + 1e-12)
    assert miss <= bound_miss * (1 + 1e-12) + 1e-15

    # statistical: NS = 3000 runs of the exact sampler (levels in the module docstring)
    pr = problems.from_probs(row[None])
    batch = _exact(jax.random.key(int(mu * 1e6) % 2**31), pr, mu)
    nd = np.asarray(batch.num_draws, dtype=np.float64)
    assert nd.max() <= k_max and nd.min() >= 1
    n = nd.size
    t_hi = _bernstein_margin(n, var, k_max - mean, LEMMA_LEVEL)
    t_lo = _bernstein_margin(n, var, mean - 1, LEMMA_LEVEL)
    assert nd.mean() <= bound_draws + t_hi  # Lemma I.1's expectation bound, one-sided
    assert mean - t_lo <= nd.mean() <= mean + t_hi  # and the sampler has the exact mean
    misses = int(np.sum(row[np.asarray(batch.responses)] < p_star))
    assert misses == 0 or stats.binom.sf(misses - 1, n, min(bound_miss, 1.0)) > LEMMA_LEVEL


# ========================================================= adaptive SFT-Sharpening
BASE = np.array([[0.5, 0.3, 0.2, 0.0], [0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]])
MU = np.array([0.3, 0.3, 0.4])


@pytest.fixture(scope="module")
def pr():
    return problems.from_probs(BASE, MU)


@pytest.fixture(scope="module")
def tab(pr):
    return classes.TabularClass.for_problem(pr)


# jitted with the shapes static and stop_level traced: one compilation per (n, method, max_n)
_asft = jax.jit(adaptive_sft_sharpening, static_argnames=("n", "method", "max_n", "max_draws", "return_policy"))


@pytest.mark.parametrize("method", ["exact", "literal"])
def test_adaptive_sft_charges_sum_of_stopping_times_and_fits_frequencies(pr, tab, method):
    # δ = 0.123: no frequency k/m with m <= 200 equals 1 - δ, so rounding cannot matter
    res = _asft(jax.random.key(1), pr, tab, n=200, stop_level=2.0, method=method, delta=0.123)
    nd = np.asarray(res.num_draws)
    assert int(res.num_queries) == nd.sum() and nd.min() >= 1
    x, y = np.asarray(res.prompts), np.asarray(res.responses)
    # uniform prompt x1 stops at ⌈2/0.25⌉ = 8 exactly; x0 stops by ⌈2/0.2⌉ = 10 draws, x2 by 20
    np.testing.assert_array_equal(nd[x == 1], 8)
    assert nd[x == 0].max() <= 10 and nd[x == 2].max() <= 20
    assert np.all(BASE[x, y] > 0)
    want = np.zeros_like(BASE)
    np.add.at(want, (x, y), 1.0)
    for row in range(3):
        want[row] = want[row] / want[row].sum() if want[row].sum() else 0.25
    np.testing.assert_allclose(np.asarray(res.policy.probs), want, rtol=1e-13, atol=1e-15)
    # error: Σ μ(x) [π̂(y*(x)|x) < 1 - δ] by hand (y* of x1 is all four responses)
    err = sum(MU[r] for r in range(3) if want[r][BASE[r] == BASE[r].max()].sum() < 1 - 0.123)
    assert float(res.error) == pytest.approx(err, abs=1e-15)


def _adaptive_outcomes(method):
    def one(k, pr, cls):
        r = adaptive_sft_sharpening(k, pr, cls, n=3, stop_level=1.5, method=method, delta=0.2)
        return r.error, r.num_queries

    return jax.jit(jax.vmap(one, in_axes=(0, None, None)))


def test_adaptive_sft_exact_and_literal_same_law_of_error_and_m(pr, tab):
    # 3000 seeds each: two-sample chi-square on the error values and on m (level ALPHA each)
    S = 3000
    e_ex, q_ex = (np.asarray(a) for a in _adaptive_outcomes("exact")(jax.random.split(jax.random.key(5), S), pr, tab))
    e_li, q_li = (np.asarray(a) for a in _adaptive_outcomes("literal")(jax.random.split(jax.random.key(6), S), pr, tab))
    assert two_sample_pvalue(np.rint(e_ex * 10).astype(int), np.rint(e_li * 10).astype(int)) > ALPHA
    assert two_sample_pvalue(q_ex, q_li) > ALPHA
    # and E[m] = n Σ_x μ(x) E[N_μ(x)] from the reference law: a two-sided z-test at 5.5 sd
    # (normal approximation; m is a sum of 3 bounded stopping times: false-failure ~4e-8)
    per_prompt = [np_law_moments(BASE[x], 1.5) for x in range(3)]
    mean_m = 3 * sum(MU[x] * per_prompt[x][0] for x in range(3))
    second = sum(MU[x] * (per_prompt[x][1] + per_prompt[x][0] ** 2) for x in range(3))
    var_m = 3 * (second - (mean_m / 3) ** 2)
    for q in (q_ex, q_li):
        assert abs(q.mean() - mean_m) <= 5.5 * math.sqrt(var_m / S)


def test_adaptive_sft_max_n_traced_charges_only_revealed(pr, tab):
    traces = []

    def run(key, n):
        traces.append(None)
        return adaptive_sft_sharpening(key, pr, tab, n=n, stop_level=2.0, max_n=200)

    f = jax.jit(run)
    key = jax.random.key(7)
    full = f(key, 200)
    plain = _asft(key, pr, tab, n=200, stop_level=2.0)
    for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(plain)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for n in (1, 4, 150):
        part = f(key, n)
        nd = np.asarray(part.num_draws)
        np.testing.assert_array_equal(nd[n:], 0)
        assert int(part.num_queries) == nd[:n].sum() == np.asarray(full.num_draws)[:n].sum()
        assert np.all(np.asarray(part.responses)[n:] == -1)
        np.testing.assert_array_equal(np.asarray(part.responses)[:n], np.asarray(full.responses)[:n])
    assert len(traces) == 1


def test_adaptive_sft_huge_stop_level_sharpens(pr, tab):
    # μ = 60: each kept response misses y*(x) w.p. <= e^{-60} (Lemma I.1), and with n = 200 a
    # prompt (mass >= 0.3) goes unseen w.p. <= 0.7^200 < 1e-30: error 0 except w.p. < 1e-23
    res = _asft(jax.random.key(8), pr, tab, n=200, stop_level=60.0)
    x, y = np.asarray(res.prompts), np.asarray(res.responses)
    assert np.all(BASE[x, y] == BASE.max(axis=1)[x])
    assert float(res.error) == 0.0
    # m = Σ N_μ(x_i) with N_μ <= ⌈μ / P*(x)⌉ once a top draw occurs; x1: exactly 240
    np.testing.assert_array_equal(np.asarray(res.num_draws)[x == 1], 240)
