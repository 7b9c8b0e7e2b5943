"""Subsampled BoN (exact rank formula, enumeration, random subsets), lift over greedy, pass@k and
its bootstrap, log-likelihood histograms — against brute force and hand computations."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from sharpsim.bridge import analysis
from sharpsim.bridge.analysis import (
    PromptDraws,
    bon_lift_table,
    exact_pick_probabilities,
    group_samples,
    loglik_histogram,
    pass_at_k,
    pass_at_k_table,
    pick_probabilities,
)


def _draws(lp, correct=None, answers=None, length=None, ex="p"):
    lp = np.asarray(lp, dtype=float)
    n = lp.size
    return PromptDraws(ex, lp, np.ones(n, int) if length is None else np.asarray(length),
                       tuple([None] * n if answers is None else answers),
                       np.zeros(n, bool) if correct is None else np.asarray(correct, bool))


def _brute_pick_probs(score_fn, lp, length, answers, N):
    """Enumerate every N-subset; the pick = max of (score within the subset, log_prob, -index)."""
    n = len(lp)
    counts = np.zeros(n)
    subsets = list(itertools.combinations(range(n), N))
    for sub in subsets:
        s = score_fn([lp[k] for k in sub], [length[k] for k in sub], [answers[k] for k in sub])
        best = max(range(N), key=lambda i: (s[i], lp[sub[i]], -sub[i]))
        counts[sub[best]] += 1
    return counts / len(subsets)


def _hand_majority(lp, length, answers):
    c = Counter(a for a in answers if a is not None)
    return [0 if a is None else c[a] for a in answers]


def test_exact_rank_formula_equals_enumeration_loglik():
    rng = np.random.default_rng(1)
    lp = rng.normal(size=7)
    for N in range(1, 8):
        got, method = pick_probabilities(_draws(lp), "loglik", N)
        want = _brute_pick_probs(lambda a, b, c: a, list(lp), [1] * 7, [None] * 7, N)
        assert method == "exact"
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_exact_formula_holds_with_ties_under_the_tie_rule():
    # norm_loglik with tied scores (and one full tie in log_prob) — the tie rule is a total order
    lp = [-2.0, -4.0, -1.0, -3.0, -2.0, -6.0]
    length = [2, 4, 1, 3, 2, 3]  # normalised: -1 for draws 0..4, -2 for draw 5
    d = _draws(lp, length=length)
    for N in range(1, 7):
        got, _ = pick_probabilities(d, "norm_loglik", N)
        want = _brute_pick_probs(lambda a, b, c: [x / y for x, y in zip(a, b)], lp, length, [None] * 6, N)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_exact_pick_probabilities_by_hand():
    # ranks 3 (best), 1, 2 of 3 draws, subsets of 2: best is in 2 of 3 subsets, middle in 1
    np.testing.assert_allclose(exact_pick_probabilities([3, 1, 2], 2), [2 / 3, 0, 1 / 3])
    np.testing.assert_allclose(exact_pick_probabilities([3, 1, 2], 1), [1 / 3] * 3)
    np.testing.assert_allclose(exact_pick_probabilities([3, 1, 2], 3), [1, 0, 0])


def test_majority_enumerated_equals_brute_force():
    lp = [-1.0, -3.0, -2.0, -0.5, -4.0, -2.5, -1.5]
    answers = ["a", "b", "a", None, "b", "b", "c"]
    d = _draws(lp, answers=answers)
    for N in range(1, 8):
        got, method = pick_probabilities(d, "majority", N, n_subsets=100)
        assert method == "enumerated"  # C(7, N) <= 35 <= 100
        want = _brute_pick_probs(_hand_majority, lp, [1] * 7, answers, N)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_majority_random_subsets_close_to_enumeration():
    """Each subsampled probability is a mean of 2000 Bernoulli draws; by Hoeffding
    P(|error| > 0.06) <= 2 exp(-2·2000·0.06²) = 1.1e-6 per draw, so the false-failure probability over
    the 16 draws is below 2e-5 (the seed is fixed, so the test is deterministic)."""
    rng = np.random.default_rng(3)
    lp = rng.normal(size=16)
    answers = [str(a) if a < 3 else None for a in rng.integers(0, 4, size=16)]
    d = _draws(lp, answers=answers)
    mc, m1 = pick_probabilities(d, "majority", 8, n_subsets=2000, seed=0)  # C(16, 8) = 12870 > 2000
    full, m2 = pick_probabilities(d, "majority", 8, n_subsets=20000)  # all 12870 subsets
    assert (m1, m2) == ("subsampled", "enumerated")
    assert abs(mc.sum() - 1) < 1e-12 and abs(full.sum() - 1) < 1e-12
    assert np.abs(mc - full).max() < 0.06
    # reproducible for a seed, different for another
    again, _ = pick_probabilities(d, "majority", 8, n_subsets=2000, seed=0)
    other, _ = pick_probabilities(d, "majority", 8, n_subsets=2000, seed=1)
    assert np.array_equal(mc, again) and not np.array_equal(mc, other)


def test_generic_callable_reward_matches_batched_majority():
    rng = np.random.default_rng(4)
    lp = rng.normal(size=9)
    answers = [str(a) for a in rng.integers(0, 3, size=9)]
    d = _draws(lp, answers=answers)
    for N in (2, 5, 9):
        got, _ = pick_probabilities(d, _hand_majority, N, n_subsets=200)
        want, _ = pick_probabilities(d, "majority", N, n_subsets=200)
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_bon_lift_table_by_hand():
    # prompt A: draws ranked (by log_prob) 0 > 1 > 2, correct [F, T, T]
    #   N=1: 2/3; N=2: P = [2/3, 1/3, 0] -> 1/3; N=3: 0
    # prompt B: log_prob [-5, -1, -4] ranks 1, 3, 2; correct [T, T, F]
    #   N=1: 2/3; N=2: P = [0, 2/3, 1/3] -> 2/3; N=3: 1
    a = _draws([-1.0, -2.0, -3.0], correct=[False, True, True], ex="A")
    b = _draws([-5.0, -1.0, -4.0], correct=[True, True, False], ex="B")
    rows = bon_lift_table([a, b], {"A": True, "B": False}, ["loglik"], [1, 2, 3], n_boot=200)
    by_n = {r["N"]: r for r in rows}
    assert by_n[1]["bon_accuracy"] == pytest.approx(2 / 3)
    assert by_n[2]["bon_accuracy"] == pytest.approx((1 / 3 + 2 / 3) / 2)
    assert by_n[3]["bon_accuracy"] == pytest.approx(0.5)
    assert all(r["greedy_accuracy"] == 0.5 for r in rows)
    assert by_n[1]["lift_abs"] == pytest.approx(2 / 3 - 0.5)
    assert by_n[1]["lift_pct"] == pytest.approx(100 * (2 / 3 - 0.5) / 0.5)
    # pick log-likelihood: N=2 -> A: 2/3·(-1) + 1/3·(-2) = -4/3; B: 2/3·(-1) + 1/3·(-4) = -2
    assert by_n[2]["pick_log_prob"] == pytest.approx((-4 / 3 - 2) / 2)
    assert by_n[3]["pick_log_prob"] == pytest.approx(-1.0)
    for r in rows:
        assert r["bon_accuracy_low"] <= r["bon_accuracy"] <= r["bon_accuracy_high"]
        assert r["lift_abs_low"] <= r["lift_abs"] <= r["lift_abs_high"]
        assert r["method"] == "exact" and r["n_prompts"] == 2 and r["N_max"] == 3
    # greedy accuracy 0: the % lift is undefined
    zero = bon_lift_table([a, b], [False, False], ["loglik"], [1], n_boot=10)
    assert zero[0]["lift_pct"] is None and zero[0]["lift_pct_low"] is None


def test_group_samples_orders_and_keeps_last_duplicate():
    rows = [
        {"example_id": "x", "sample_index": 1, "log_prob": -2.0, "length": 2, "answer": "1", "correct": False},
        {"example_id": "y", "sample_index": 0, "log_prob": -1.0, "length": 1, "answer": None, "correct": False},
        {"example_id": "x", "sample_index": 0, "log_prob": -3.0, "length": 3, "answer": "2", "correct": True},
        {"example_id": "x", "sample_index": 1, "log_prob": -0.5, "length": 2, "answer": "1", "correct": True},
    ]
    g = group_samples(rows)
    assert [p.example_id for p in g] == ["x", "y"]
    assert g[0].log_prob.tolist() == [-3.0, -0.5] and g[0].correct.tolist() == [True, True]
    assert g[0].answers == ("2", "1") and g[1].answers == (None,)
    with pytest.raises(ValueError, match="sample row 0 is missing the key 'correct'"):
        group_samples([{k: v for k, v in rows[0].items() if k != "correct"}])
    with pytest.raises(ValueError, match=r"sample indices must be 0\.\.N-1"):
        group_samples(rows[:1])


def _brute_pass_at_k(n, c, k):
    draws = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(draws[i] for i in s) for s in subsets) / len(subsets)


def test_pass_at_k_equals_enumeration():
    for n in range(1, 9):
        for c in range(0, n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(_brute_pass_at_k(n, c, k), abs=1e-12)


def test_pass_at_k_known_values_and_stability():
    assert pass_at_k(5, 1, 2) == pytest.approx(0.4)  # 1 - C(4,2)/C(5,2) = 1 - 6/10
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 = c/n
    assert pass_at_k(10, 0, 10) == 0.0 and pass_at_k(10, 1, 10) == 1.0
    # large n: the binomials have hundreds of digits; the product form is still accurate
    want = 1 - math.comb(1990, 100) / math.comb(2000, 100)
    assert pass_at_k(2000, 10, 100) == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(pass_at_k(np.array([5, 10]), np.array([1, 3]), 1), [0.2, 0.3])


def test_pass_at_k_table_and_bootstrap_degenerate():
    rows = pass_at_k_table([4, 4, 4], [1, 1, 1], [1, 2, 4], n_boot=50)
    assert [r["k"] for r in rows] == [1, 2, 4]
    for r, want in zip(rows, [0.25, 0.5, 1.0]):
        # identical prompts: every resample has the same mean, so the interval is the point
        assert r["pass_at_k"] == pytest.approx(want)
        assert r["pass_at_k_low"] == pytest.approx(want) and r["pass_at_k_high"] == pytest.approx(want)


def test_pass_at_k_bootstrap_coverage():
    """Coverage of the 90% percentile-bootstrap interval of mean pass@2 over 80 prompts (4 draws each,
    each correct with prob 0.3: true pass@2 = 1 - 0.7² = 0.51), over 200 independent data sets.
    The interval's coverage measured 0.892 over 1000 other data sets; even at a coverage of 0.86,
    P[Binomial(200, 0.86) <= 154] = 4e-4, so asserting >= 155/200 fails falsely with probability
    below 1e-3 (fixed seeds: deterministic)."""
    rng = np.random.default_rng(11)
    hits = 0
    for rep in range(200):
        c = rng.binomial(4, 0.3, size=80)
        (row,) = pass_at_k_table(np.full(80, 4), c, [2], confidence=0.9, n_boot=400, seed=rep)
        hits += row["pass_at_k_low"] <= 0.51 <= row["pass_at_k_high"]
    assert hits >= 155, hits


def test_loglik_histogram_by_hand():
    lp = np.array([-4.0, -3.0, -2.0, -1.0, 0.0, -np.inf])
    correct = np.array([False, False, True, True, True, True])
    rows = loglik_histogram(lp, correct, bins=2)  # edges -4, -2, 0
    assert [(r["left"], r["right"]) for r in rows] == [(-4.0, -2.0), (-2.0, 0.0)]
    assert [r["count_correct"] for r in rows] == [0, 3]  # -2 falls in the last, closed bin
    assert [r["count_incorrect"] for r in rows] == [2, 0]
    for key in ("density_correct", "density_incorrect"):
        assert sum(r[key] * (r["right"] - r["left"]) for r in rows) == pytest.approx(1.0)


def test_default_Ns():
    assert analysis.default_Ns(50) == [1, 2, 4, 8, 16, 32, 50]
    assert analysis.default_Ns(8) == [1, 2, 4, 8]
    assert analysis.default_Ns(1) == [1]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pick_probabilities(_draws([-1.0, -2.0]), "loglik", 0), "N must be an integer >= 1"),
        (lambda: pick_probabilities(_draws([-1.0, -2.0]), "loglik", 3), r"N must be <= the number of draws per prompt \(2\)"),
        (lambda: pick_probabilities(_draws([-1.0, -2.0]), "majority", 1, n_subsets=0), "n_subsets must be >= 1"),
        (lambda: exact_pick_probabilities([1, 1], 1), "permutation"),
        (lambda: bon_lift_table([], [], ["loglik"], [1]), "prompts must not be empty"),
        (lambda: bon_lift_table([_draws([-1.0]), _draws([-1.0, -2.0])], [True, True], ["loglik"], [1]),
         "same number of draws"),
        (lambda: bon_lift_table([_draws([-1.0])], [True, False], ["loglik"], [1]), "one entry per prompt"),
        (lambda: bon_lift_table([_draws([-1.0], ex="q")], {"z": True}, ["loglik"], [1]), "no entry for example"),
        (lambda: bon_lift_table([_draws([-1.0])], [True], ["nope"], [1]), "unknown reward"),
        (lambda: bon_lift_table([_draws([-1.0])], [True], ["loglik"], [1], confidence=1.0), "confidence must be in"),
        (lambda: bon_lift_table([_draws([-1.0])], [True], ["loglik"], [1], n_boot=0), "n_boot must be"),
        (lambda: pass_at_k(0, 0, 1), "n must be >= 1"),
        (lambda: pass_at_k(3, 4, 1), "0 <= c <= n"),
        (lambda: pass_at_k(3, 1, 4), "1 <= k <= n"),
        (lambda: pass_at_k(3, 1, 1.5), "k must be integers"),
        (lambda: pass_at_k_table([3, 2], [1, 1], [3]), "fewest draws of any prompt"),
        (lambda: pass_at_k_table([3], [1, 1], [1]), "same non-zero length"),
        (lambda: pass_at_k_table([3], [1], []), "ks must not be empty"),
        (lambda: loglik_histogram([-1.0], [True], bins=0), "bins must be"),
        (lambda: loglik_histogram([-1.0, -2.0], [True], bins=3), "same length"),
        (lambda: analysis.default_Ns(0), "n_max must be >= 1"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_crossover_k_on_hand_made_curves():
    ks = [1, 2, 4, 8]
    # the base starts below and passes the sharpened curve between k = 2 and k = 4
    assert analysis.crossover_k(ks, [0.2, 0.5, 0.9, 1.0], [0.7, 0.75, 0.8, 1.0]) == 4
    # never strictly above: ties (both at 1.0) are not a crossing
    assert analysis.crossover_k(ks, [0.2, 0.5, 0.8, 1.0], [0.7, 0.75, 0.8, 1.0]) is None
    assert analysis.crossover_k([3], [0.5], [0.4]) == 3


def test_passk_crossover_by_hand():
    """4 prompts, 8 draws each. Base: 3 correct on every prompt, pass@k = 1 - C(5,k)/C(8,k) (0.375,
    0.643, 0.821 at k = 1, 2, 3). Other: 8 correct on three prompts and 0 on the fourth, pass@k = 0.75
    at every k. So k* = 3. In a resample of the 4 prompts the other's curve is (number of resampled
    non-zero prompts)/4 while the base's stays put: no crossing when all four are non-zero (probability
    (3/4)^4 = 0.316), k* = 1 when at most one is (probability 0.051 > 2.5%). With 2000 resamples the
    share that crossed has standard error 0.0104; the tolerance 0.05 is 4.8 of them (fixed seed:
    deterministic)."""
    out = analysis.passk_crossover([8] * 4, [3] * 4, [8] * 4, [8, 8, 8, 0], n_boot=2000, seed=3)
    assert out["ks"] == list(range(1, 9)) and out["k_max"] == 8
    assert out["pass_base"][:3] == pytest.approx([0.375, 1 - 10 / 28, 1 - 10 / 56])
    assert out["pass_other"] == pytest.approx([0.75] * 8)
    assert out["k_star"] == 3
    assert out["k_star_low"] == 1 and out["k_star_high"] is None
    assert out["crossed_fraction"] == pytest.approx(1 - 0.75 ** 4, abs=0.05)
    # the same draws for both: the resamples are paired, so no resample can cross
    same = analysis.passk_crossover([8] * 4, [3, 1, 5, 8], [8] * 4, [3, 1, 5, 8], n_boot=200)
    assert same["k_star"] is None and same["k_star_low"] is None and same["k_star_high"] is None
    assert same["crossed_fraction"] == 0.0
    # an explicit k grid: the crossing is found at the first listed k past it
    assert analysis.passk_crossover([8] * 4, [3] * 4, [8] * 4, [8, 8, 8, 0], ks=[1, 2, 4, 8],
                                    n_boot=50)["k_star"] == 4


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: analysis.crossover_k([], [], []), "ks must be a non-empty strictly increasing"),
        (lambda: analysis.crossover_k([2, 1], [0.1, 0.2], [0.1, 0.2]), "strictly increasing"),
        (lambda: analysis.crossover_k([1, 2], [0.1], [0.1, 0.2]), "one value per k"),
        (lambda: analysis.passk_crossover([4], [1], [4, 4], [1, 1]), "one non-zero length"),
        (lambda: analysis.passk_crossover([4], [1], [3], [1], ks=[4]), "fewest draws"),
        (lambda: analysis.passk_crossover([4], [5], [4], [1]), "0 <= c <= n"),
        (lambda: analysis.passk_crossover([4], [1], [4], [1], confidence=0), "confidence must be in"),
    ],
)
def test_crossover_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _compare_rows(base, other, ks):
    return [{"model": name, "k": k, "pass_measured": v, "pass_low": v - 0.02, "pass_high": min(1.0, v + 0.02),
             "pass_exact": v + 0.01 if name == "base" else ""}
            for name, vals in (("base", base), ("sharp", other)) for k, v in zip(ks, vals)]


def test_plot_passk_compare_marks_the_crossover_or_none():
    import matplotlib.pyplot as plt

    from sharpsim.bridge import plots

    ks = [1, 2, 4, 8]
    base, other = [0.2, 0.5, 0.9, 0.99], [0.7, 0.75, 0.8, 0.85]
    measured = analysis.passk_crossover([8] * 4, [3] * 4, [8] * 4, [8, 8, 8, 0], ks=ks, n_boot=50)
    ax = plots.plot_passk_compare(_compare_rows(base, other, ks),
                                  crossover={"measured": {**measured, "k_star_low": 2, "k_star_high": 8},
                                             "exact": {"k_star": 3, "k_max": 100}})
    labels = ax.get_legend_handles_labels()[1]
    assert labels[:3] == ["base: measured", "base: exact (core)", "sharp: measured"]  # no exact line for sharp
    assert "measured k* = 4 [2, 8]" in labels and "exact k* = 3" in labels
    verticals = [line.get_xdata()[0] for line in ax.get_lines() if len(set(line.get_xdata())) == 1]
    assert sorted(verticals) == [3, 4]
    plt.close(ax.figure)
    ax = plots.plot_passk_compare(_compare_rows(other, other, ks), crossover={
        "measured": analysis.passk_crossover([8] * 4, [3] * 4, [8] * 4, [3] * 4, ks=ks, n_boot=20),
        "exact": {"k_star": None, "k_max": 4096}})
    labels = ax.get_legend_handles_labels()[1]
    assert "measured: no crossover within k ≤ 8" in labels and "exact: no crossover for k ≤ 4096" in labels
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="missing the key 'pass_exact'"):
        plots.plot_passk_compare([{"model": "a", "k": 1, "pass_measured": 0.5, "pass_low": 0.4, "pass_high": 0.6}])
