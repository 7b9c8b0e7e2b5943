"""The sample-complexity engine (theory/sample_complexity_engine.md): sharpsim.experiments.engine and the
resumable sweep runner sharpsim.experiments._runner.

Success tables are hand-made or come from toy trials whose outcome is a known function of
(key, budget); Clopper–Pearson limits are recomputed from the beta quantiles directly. All
tests are deterministic (fixed seeds; no statistical assertion).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from sharpsim.experiments import _runner, engine


def cp_limits(hits, S, confidence=0.95):
    """Clopper–Pearson limits from the beta quantiles (0 / 1 at the ends)."""
    a = 1 - confidence
    lo = 0.0 if hits == 0 else stats.beta.ppf(a / 2, hits, S - hits + 1)
    hi = 1.0 if hits == S else stats.beta.ppf(1 - a / 2, hits + 1, S - hits)
    return lo, hi


def table(rates_hits, S):
    """``[B, S]`` outcomes with the first ``hits`` seeds successful in row b."""
    return np.array([[s < h for s in range(S)] for h in rates_hits])


# ======================================================================== success_table
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_success_table_rates_and_clopper_pearson_limits(confidence):
    S = 40
    hits = [0, 1, 17, 39, 40]
    rate, lo, hi = engine.success_table(table(hits, S), confidence)
    np.testing.assert_allclose(rate, np.array(hits) / S, rtol=0, atol=0)
    for i, h in enumerate(hits):
        want_lo, want_hi = cp_limits(h, S, confidence)
        assert lo[i] == pytest.approx(want_lo, abs=1e-10)
        assert hi[i] == pytest.approx(want_hi, abs=1e-10)
    # by hand at the ends: 0 successes -> upper (α/2)^{-}: 1 - (α/2)^{1/S}; all -> lower (α/2)^{1/S}
    a = 1 - confidence
    assert hi[0] == pytest.approx(1 - (a / 2) ** (1 / S), rel=1e-9) and lo[0] == 0
    assert lo[-1] == pytest.approx((a / 2) ** (1 / S), rel=1e-9) and hi[-1] == 1


# =============================================================================== m_star
def test_m_star_by_hand_with_cp_interval_ends():
    # S = 20 seeds, target 1 - ρ = 0.9; rates 0.1, 0.5, 0.95, 1.0 at budgets 10, 20, 40, 80.
    # point: first rate >= 0.9 -> budget 40; CP upper limits: 10/20 -> 0.728 < 0.9,
    # 19/20 -> 0.9987 >= 0.9 -> low end at budget 40; CP lower limits: 19/20 -> 0.751,
    # 20/20 -> 0.025^{1/20} = 0.8316 < 0.9 -> the high end is never reached: inf
    S = 20
    budgets = [10, 20, 40, 80]
    succ = table([2, 10, 19, 20], S)
    queries = np.array(budgets, float)[:, None] * np.ones((1, S))
    queries[2] += np.arange(S) % 3  # per-seed charged queries vary: mean 40 + 19/20
    out = engine.m_star(budgets, succ, queries, rho=0.1)
    assert out["budget_star"] == 40
    assert out["m_star"] == pytest.approx(40 + np.mean(np.arange(S) % 3), rel=1e-15)
    assert out["m_star_low"] == out["m_star"]
    assert out["m_star_high"] == math.inf
    assert cp_limits(10, S)[1] < 0.9 <= cp_limits(19, S)[1]
    assert cp_limits(20, S)[0] < 0.9


def test_m_star_interval_reaches_both_ends():
    # S = 100: upper limit of 80/100 is 0.876 < 0.9 but of 86/100 is 0.921 >= 0.9 -> low end at
    # budget 2; 100/100 has lower limit 0.025^{1/100} = 0.9638 >= 0.9 -> high end at budget 4;
    # the point estimate: first rate >= 0.9 is 93/100 at budget 3
    S = 100
    budgets = [1.0, 2.0, 3.0, 4.0]
    succ = table([80, 86, 93, 100], S)
    queries = np.array([[10.0], [20.0], [30.0], [40.0]]) * np.ones((1, S))
    out = engine.m_star(budgets, succ, queries, rho=0.1)
    assert cp_limits(80, S)[1] < 0.9 <= cp_limits(86, S)[1]
    assert cp_limits(93, S)[0] < 0.9 <= cp_limits(100, S)[0]
    assert (out["budget_star"], out["m_star"], out["m_star_low"], out["m_star_high"]) == (3.0, 30.0, 20.0, 40.0)


def test_m_star_not_reached_gives_nan_and_inf():
    S = 10
    succ = table([0, 3, 5], S)
    out = engine.m_star([1, 2, 3], succ, np.ones((3, S)), rho=0.1)
    assert math.isnan(out["budget_star"]) and math.isnan(out["m_star"])
    assert math.isnan(out["m_star_low"])  # upper CP limit of 5/10 is 0.813 < 0.9
    assert out["m_star_high"] == math.inf


def test_m_star_rate_exactly_at_target_counts():
    # 9/10 = 0.9 = 1 - ρ: reached (>=)
    out = engine.m_star([5, 6], table([8, 9], 10), np.ones((2, 10)) * [[5], [6]], rho=0.1)
    assert out["budget_star"] == 6 and out["m_star"] == 6


# ============================================================================= fit_slope
XS = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
S_FIT = 30


def _deterministic_tables():
    """m*(x) = 3 x^1.5 exactly: budgets on a grid containing it; success iff budget >= m*."""
    tables = []
    for x in XS:
        target = 3 * x**1.5
        budgets = np.sort(np.concatenate([target * np.array([0.5, 0.8, 1.0, 1.3, 2.0])]))
        succ = np.repeat((budgets >= target)[:, None], S_FIT, axis=1)
        tables.append((budgets, succ, np.repeat(budgets[:, None], S_FIT, axis=1)))
    return tables


def test_fit_slope_recovers_known_slope_exactly():
    out = engine.fit_slope(XS, _deterministic_tables(), rho=0.1, num_bootstrap=50)
    np.testing.assert_allclose(out["m_star"], 3 * XS**1.5, rtol=1e-14)
    assert out["slope"] == pytest.approx(1.5, abs=1e-12)
    assert out["intercept"] == pytest.approx(math.log(3), abs=1e-12)
    assert out["slope_low"] == pytest.approx(1.5, abs=1e-12) and out["slope_high"] == pytest.approx(1.5, abs=1e-12)
    assert out["num_used"] == 5


def test_fit_slope_bootstrap_interval_contains_slope_with_seed_noise():
    # per seed s a threshold index t_s (shared across cells: common seeds); budgets
    # m*(x) 2^{j/8}, success iff j >= t_s. The full-sample m* is m*(x) 2^{j*/8} with the same j*
    # in every cell, so the slope is exactly 1.5; bootstrap resamples cells independently, so
    # the interval has positive width and (a fixed seed: deterministic) contains 1.5
    # (kept small: m_star computes CP limits for every budget of every bootstrap replicate)
    rng = np.random.default_rng(0)
    t = 2 * rng.integers(-3, 4, S_FIT)
    js = np.arange(-8, 9, 2)
    tables = []
    for x in XS:
        budgets = 3 * x**1.5 * 2.0 ** (js / 8)
        succ = js[:, None] >= t[None, :]
        tables.append((budgets, succ, np.repeat(budgets[:, None], S_FIT, axis=1)))
    out = engine.fit_slope(XS, tables, rho=0.2, num_bootstrap=40, seed=1)
    assert out["slope"] == pytest.approx(1.5, abs=1e-12)
    assert out["slope_low"] < 1.5 < out["slope_high"]
    assert out["slope_high"] - out["slope_low"] < 0.5


def test_fit_slope_skips_cells_without_m_star():
    tables = _deterministic_tables()
    b, s, q = tables[2]
    tables[2] = (b, np.zeros_like(s), q)  # never reaches 1 - ρ
    out = engine.fit_slope(XS, tables, rho=0.1, num_bootstrap=20)
    assert out["num_used"] == 4 and math.isnan(out["m_star"][2])
    assert out["slope"] == pytest.approx(1.5, abs=1e-12)


# ===================================================================== sample_complexity
THRESHOLD = 37


def _fixed_trial(key, budget):
    """Error 0 iff budget >= 37 (every seed); charges the budget."""
    err = jnp.where(budget >= THRESHOLD, 0.0, 1.0)
    return err, jnp.asarray(budget, jnp.float64)


def _random_trial(key, budget):
    """Error 0 iff budget >= a per-key threshold in {1..100}; charges that threshold, so the
    query table reveals the threshold each seed used at each budget."""
    thr = jax.random.randint(key, (), 1, 101)
    return jnp.where(budget >= thr, 0.0, 1.0), thr.astype(jnp.float64)


@pytest.mark.parametrize("static_budget", [True, False])
def test_sample_complexity_finds_fixed_threshold(static_budget):
    budgets = [10, 20, 30, 40, 50]
    sc = engine.sample_complexity(
        _fixed_trial, budgets, eps=0.5, rho=0.1, num_seeds=8, static_budget=static_budget, progress=False
    )
    np.testing.assert_array_equal(sc.successes, np.repeat(np.array(budgets)[:, None] >= 37, 8, axis=1))
    summary = sc.summary()
    assert summary["budget_star"] == 40 and summary["m_star"] == 40.0
    assert (sc.eps, sc.rho) == (0.5, 0.1)


def test_sample_complexity_common_random_numbers_and_modes_agree():
    budgets = [10, 50, 90, 100]  # static mode compiles once per budget
    kw = dict(eps=0.5, rho=0.1, num_seeds=64, seed=3, progress=False)
    static = engine.sample_complexity(_random_trial, budgets, static_budget=True, **kw)
    traced = engine.sample_complexity(_random_trial, budgets, static_budget=False, **kw)
    np.testing.assert_array_equal(static.errors, traced.errors)
    np.testing.assert_array_equal(static.queries, traced.queries)
    # common random numbers: the same key (hence threshold) for a seed at every budget ...
    thr = static.queries[0]
    np.testing.assert_array_equal(static.queries, np.repeat(thr[None], len(budgets), axis=0))
    assert len(np.unique(thr)) > 10  # ... and different keys across seeds
    # ... so each seed's outcome is monotone in the budget
    succ = static.successes.astype(int)
    assert np.all(np.diff(succ, axis=0) >= 0)
    # m*: the first budget where at least 90% of thresholds are <= budget (by hand from thr)
    rates = np.array([(thr <= b).mean() for b in budgets])
    i = int(np.flatnonzero(rates >= 0.9)[0])
    assert static.summary()["budget_star"] == budgets[i]
    assert static.summary()["m_star"] == pytest.approx(thr.mean())  # the trial charges thr
    # another seed: other keys
    other = engine.sample_complexity(_random_trial, budgets, static_budget=False, **{**kw, "seed": 4})
    assert not np.array_equal(other.queries[0], thr)


def test_sample_complexity_rows_round_trip_through_tables_from_rows():
    budgets = [10, 20, 40]
    sc = engine.sample_complexity(_random_trial, budgets, eps=0.5, rho=0.1, num_seeds=6, progress=False)
    rows = [{**r, "x": 2.0, "algo": "a"} for r in sc.rows()]
    rows += [{**r, "x": 2.0, "algo": "b", "error": 1.0} for r in sc.rows()]  # filtered out below
    assert len(rows) == 2 * 3 * 6 and set(rows[0]) == {"budget", "seed", "error", "queries", "x", "algo"}
    tabs = engine.tables_from_rows(rows, x_key="x", budget_key="budget", eps=0.5, where={"algo": "a"})
    assert list(tabs) == [2.0]
    b, s, q = tabs[2.0]
    np.testing.assert_array_equal(b, budgets)
    np.testing.assert_array_equal(s, sc.successes)
    np.testing.assert_array_equal(q, sc.queries)
    # and the m* computed from the tables equals the summary
    assert engine.m_star(b, s, q, rho=0.1) == sc.summary()


def test_tables_from_rows_groups_by_x_and_sorts():
    rows = [
        {"x": x, "n": n, "seed": s, "error": 0.0 if n * x >= 8 else 0.5, "queries": float(n * 3)}
        for x in (4.0, 1.0)
        for n in (8, 2, 4)
        for s in (1, 0)
    ]
    tabs = engine.tables_from_rows(rows, x_key="x", budget_key="n", eps=0.1)
    assert list(tabs) == [1.0, 4.0]
    b, s, q = tabs[1.0]
    np.testing.assert_array_equal(b, [2, 4, 8])
    np.testing.assert_array_equal(s, [[False, False], [False, False], [True, True]])
    np.testing.assert_array_equal(q, [[6, 6], [12, 12], [24, 24]])
    np.testing.assert_array_equal(tabs[4.0][1], [[True, True]] * 3)


def test_sample_complexity_writes_csv_and_resumes_without_recomputing(tmp_path):
    path = tmp_path / "sc.csv"
    budgets = [10, 40, 70]
    calls = []

    def counting_trial(key, budget):
        calls.append(budget)  # once per compilation, i.e. per budget computed (static mode)
        return _random_trial(key, budget)

    def failing_trial(key, budget):
        if budget == 70:
            raise RuntimeError("killed")
        return counting_trial(key, budget)

    kw = dict(eps=0.5, rho=0.1, num_seeds=6, seed=2, progress=False, csv_path=path, config={"trial": "random"})
    with pytest.raises(RuntimeError, match="killed"):
        engine.sample_complexity(failing_trial, budgets, **kw)
    assert calls == [10, 40]
    assert len(_runner.read_rows(path)) == 2 * 6  # the finished budgets are on disk
    resumed = engine.sample_complexity(counting_trial, budgets, **kw)
    assert calls == [10, 40, 70]  # only the missing budget was computed
    fresh = engine.sample_complexity(_random_trial, budgets, **{**kw, "csv_path": None})
    np.testing.assert_array_equal(resumed.errors, fresh.errors)
    np.testing.assert_array_equal(resumed.queries, fresh.queries)
    again = engine.sample_complexity(counting_trial, budgets, **kw)
    assert calls == [10, 40, 70]  # nothing recomputed
    np.testing.assert_array_equal(again.errors, fresh.errors)
    # another configuration (here: other seeds, traced budgets) is stored beside, not over
    engine.sample_complexity(_random_trial, budgets, **{**kw, "seed": 5, "static_budget": False})
    assert len(_runner.read_rows(path)) == 2 * 3 * 6
    with pytest.raises(ValueError, match=r"`config` is required with `csv_path`"):
        engine.sample_complexity(_random_trial, budgets, **{**kw, "config": None})


# ============================================================== the resumable sweep runner
@dataclasses.dataclass(frozen=True)
class _Cfg:
    a: int = 1
    seeds: tuple = (0, 1)


def test_run_sweep_resumes_without_recomputing_and_keeps_other_configs(tmp_path):
    path = tmp_path / "out.csv"
    calls = []

    def run_cell(cell):
        calls.append(cell["x"])
        return [{"seed": s, "error": cell["x"] / 10, "queries": cell["x"] * 2} for s in (0, 1)]

    cells = [{"x": x} for x in (1, 2, 3)]
    rows = _runner.run_sweep(cells[:2], run_cell, path, config=_Cfg(), progress=False)
    assert calls == [1, 2] and len(rows) == 4
    # a "killed" sweep resumes: only the missing cell is computed
    rows = _runner.run_sweep(cells, run_cell, path, config=_Cfg(), progress=False)
    assert calls == [1, 2, 3] and len(rows) == 6
    assert [r["x"] for r in rows] == [1, 1, 2, 2, 3, 3]
    assert rows[0]["config_hash"] == _runner.config_hash(_Cfg())
    # another configuration: recomputed, and the first configuration's rows are kept
    other = _runner.run_sweep(cells[:1], run_cell, path, config=_Cfg(a=2), progress=False)
    assert calls == [1, 2, 3, 1] and len(other) == 2
    assert len(_runner.read_rows(path)) == 8
    again = _runner.run_sweep(cells, run_cell, path, config=_Cfg(), progress=False)
    assert calls == [1, 2, 3, 1] and again == rows
    # numbers come back parsed: tables_from_rows works on them directly
    tabs = engine.tables_from_rows(again, x_key="x", budget_key="x", eps=0.15)
    np.testing.assert_array_equal(tabs[1][1], [[True, True]])
    np.testing.assert_array_equal(tabs[2][1], [[False, False]])


def test_run_sweep_refuses_to_mix_columns(tmp_path):
    path = tmp_path / "out.csv"
    _runner.run_sweep([{"x": 1}], lambda c: {"error": 0.0}, path, config=_Cfg(), progress=False)
    with pytest.raises(ValueError, match=r"holds results with columns .* pass another output directory"):
        _runner.run_sweep([{"x": 2}], lambda c: {"error": 0.0, "extra": 1}, path, config=_Cfg(), progress=False)
    assert len(_runner.read_rows(path)) == 1  # nothing overwritten


def test_config_hash_is_stable_and_distinguishes_configs():
    assert _runner.config_hash(_Cfg()) == _runner.config_hash(_Cfg())
    assert _runner.config_hash(_Cfg()) != _runner.config_hash(_Cfg(a=3))
    assert len(_runner.config_hash(_Cfg())) == 12


# ============================================================================== errors
@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(eps=0.0), r"`eps` must lie in \(0, 1\)"),
        (dict(eps=1.0), r"`eps` must lie in \(0, 1\)"),
        (dict(rho=0.0), r"`rho` must lie in \(0, 1\)"),
        (dict(rho=1.5), r"`rho` must lie in \(0, 1\)"),
        (dict(num_seeds=0), r"`num_seeds` must be an integer >= 1"),
    ],
)
def test_sample_complexity_bad_arguments(kwargs, match):
    base = dict(eps=0.5, rho=0.1, num_seeds=4, progress=False)
    with pytest.raises(ValueError, match=match):
        engine.sample_complexity(_fixed_trial, [1, 2], **{**base, **kwargs})


def test_sample_complexity_needs_a_budget():
    with pytest.raises(ValueError, match=r"`budgets` must hold at least one budget"):
        engine.sample_complexity(_fixed_trial, [], eps=0.5, rho=0.1, num_seeds=4, progress=False)


# ============================================================ grids, scans, brackets, rates
def test_geometric_grid_is_fixed_and_has_the_requested_ratio():
    grid = engine.geometric_grid(8, 64, per_octave=4)
    assert grid == [8, 10, 11, 13, 16, 19, 23, 27, 32, 38, 45, 54, 64]
    assert engine.geometric_grid(1, 8, per_octave=1) == [1, 2, 4, 8]
    assert engine.geometric_grid(3, 3, per_octave=1) == []  # no power of 2 in [3, 3]
    with pytest.raises(ValueError, match="low"):
        engine.geometric_grid(0, 8)
    with pytest.raises(ValueError, match="per_octave"):
        engine.geometric_grid(1, 8, per_octave=0)


def test_scan_budgets_brackets_the_crossing_coarse_to_fine():
    grid = list(range(1, 41))  # budgets 1..40; success iff budget >= 23 (all seeds)
    calls = []

    def evaluate(b):
        calls.append(b)
        return np.full(10, b >= 23)

    out = engine.scan_budgets(evaluate, grid, rho=0.1, coarse=4, extra=2)
    # coarse walk 1, 5, 9, 13, 17, 21, 25 (first pass); fine 22, 23 (first pass); extra 24, 25
    assert calls == [1, 5, 9, 13, 17, 21, 25, 22, 23, 24]
    assert list(out) == sorted(calls)
    br = engine.crossing_bracket((np.array(list(out), float), np.array([out[b] for b in out]),
                                  np.array([[b] * 10 for b in out], float)), rho=0.1)
    assert br == {"m_star": 23.0, "m_fail": 22.0, "edge": "", "split": 0}


def test_scan_budgets_reports_edges():
    first = engine.scan_budgets(lambda b: np.ones(5, bool), [2, 4, 8], rho=0.1)
    tab = (np.array(list(first), float), np.array(list(first.values())), np.array([[b] * 5 for b in first], float))
    assert engine.crossing_bracket(tab, rho=0.1)["edge"] == "low"
    never = engine.scan_budgets(lambda b: np.zeros(5, bool), [2, 4, 8, 16, 32], rho=0.1, coarse=2)
    assert list(never) == [2, 8, 32]  # the coarse walk ends at the grid's last budget
    tab = (np.array(list(never), float), np.array(list(never.values())), np.array([[b] * 5 for b in never], float))
    br = engine.crossing_bracket(tab, rho=0.1)
    assert br["edge"] == "high" and math.isnan(br["m_star"])


def test_scan_splits_takes_the_smallest_m_and_prunes():
    # success iff n >= 64 / N and N >= 4 (exactly): the best split is the smallest feasible N,
    # m* = 64 whatever N; N = 2 is infeasible and skipped
    def evaluate(n, N):
        return np.full(4, (n * N >= 64) and N >= 4), np.full(4, n * N)

    ns = engine.geometric_grid(1, 256, per_octave=1)
    found = engine.scan_splits(evaluate, [2, 4, 8, 64], ns, rho=0.1, feasible=lambda N: N >= 4, slack=1.5)
    assert 2 not in found and set(found) == {4, 8, 64}
    assert max(found[4]) >= 16 and 16 in found[4]
    assert list(found[64]) == [1, 2, 4]  # passes at once (its own crossing is at the grid edge), plus 2 extra
    tables = [(np.array(list(r), float), np.array([v[0] for v in r.values()]), np.array([v[1] for v in r.values()],
                                                                                         float))
              for r in found.values()]
    br = engine.crossing_bracket(tables, rho=0.1, split_ratio=2.0)
    assert br["m_star"] == 64.0 and br["m_fail"] == 32.0 and br["split"] == 0


def test_fit_slope_with_splits_takes_the_best_split_per_cell():
    S = 8
    tables = []
    for x in XS:  # split A crosses at 4x, split B at 2x^2: the best is min(4x, 2x^2)
        budgets = np.array([2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]) * 1.0
        a = (budgets, np.repeat((budgets >= 4 * x)[:, None], S, axis=1), np.repeat(budgets[:, None], S, axis=1))
        b = (budgets, np.repeat((budgets >= 2 * x**2)[:, None], S, axis=1), np.repeat(budgets[:, None], S, axis=1))
        tables.append([a, b])
    out = engine.fit_slope(XS, tables, rho=0.1, num_bootstrap=10)
    want = [min(4 * x, 2 * x**2) for x in XS]  # on the grid: 2, 8, 16, 32, 64
    np.testing.assert_allclose(out["m_star"], want)


def test_grid_slope_interval_is_exact_at_the_box_corners():
    xs = np.array([1.0, 2.0, 4.0])
    brackets = [{"m_star": 10.0, "m_fail": 5.0}, {"m_star": 20.0, "m_fail": 10.0}, {"m_star": 40.0, "m_fail": 20.0}]
    lo, hi = engine.grid_slope_interval(xs, brackets)
    # by hand: u = 0, log 2, log 4; w = (-1, 0, 1)/(2 log 2); the extremes move only the end cells
    assert lo == pytest.approx((math.log(20) - math.log(10)) / (2 * math.log(2)), abs=1e-12)  # 0.5
    assert hi == pytest.approx((math.log(40) - math.log(5)) / (2 * math.log(2)), abs=1e-12)  # 1.5
    # brute force over the 8 corners
    corners = [np.polyfit(np.log(xs), np.log([a, b, c]), 1)[0] for a in (5, 10) for b in (10, 20) for c in (20, 40)]
    assert lo == pytest.approx(min(corners), abs=1e-12) and hi == pytest.approx(max(corners), abs=1e-12)
    open_low = [{"m_star": 10.0, "m_fail": float("nan")}, *brackets[1:]]
    lo2, hi2 = engine.grid_slope_interval(xs, open_low)
    assert math.isinf(hi2) and hi2 > 0 and math.isfinite(lo2)


def test_format_interval_says_degenerate():
    assert engine.format_interval(1.0, 1.0) == "degenerate (1.00)"
    assert engine.format_interval(0.95, 1.05) == "[0.95, 1.05]"
    assert engine.format_interval(-math.inf, 2.0) == "[-inf, 2.00]"
    assert engine.format_interval(math.nan, 1.0) == "n/a"


def test_rate_verdict():
    r = engine.Rate("f", "q", 1.0, 1.1, 1.05, 1.2, 0.98, 1.15)
    assert r.verdict == "agrees"  # 1 lies in the grid interval
    assert dataclasses.replace(r, grid_low=1.01).verdict == "disagrees (steeper)"
    below = dataclasses.replace(r, slope=0.5, boot_low=0.4, boot_high=0.6, grid_low=0.45, grid_high=0.55)
    assert below.verdict == "disagrees (shallower)"
    negative = engine.Rate("f", "q", -2.0, -1.5, -1.6, -1.4, -1.65, -1.3)
    assert negative.verdict == "disagrees (shallower)"  # m* grows more slowly than the bound allows
    assert dataclasses.replace(negative, theory=-1.0).verdict == "disagrees (steeper)"
    assert dataclasses.replace(r, boot_low=math.nan).verdict == "undetermined"
    assert r.cells()[4] == "[1.05, 1.20]" and r.cells()[-1] == "none"
