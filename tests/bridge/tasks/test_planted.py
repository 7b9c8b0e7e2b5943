"""The planted task: its labels follow the planted law, its options are checked."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from sharpsim.bridge import tasks
from sharpsim.bridge.tasks.planted import Planted

pytestmark = pytest.mark.no_torch


def test_law_is_a_distribution_with_the_planted_mode_and_margin():
    t = Planted(p_mode=0.4, margin=0.1, wrong=5)
    assert math.isclose(sum(t.law), 1.0, abs_tol=1e-12)
    assert t.law[0] == 0.4 and math.isclose(t.law[1], 0.3)
    assert all(q < t.law[1] for q in t.law[2:])
    assert max(t.law[1:]) < t.law[0]


def test_empirical_label_law_matches_the_planted_law():
    # n labels per prompt; per answer, Hoeffding: P(|freq - q| > eps) <= 2 exp(-2 n eps^2). With
    # n = 12000, eps = 0.025 and 2 prompts x 6 answers, the union bound on a false failure is
    # 12 * 2 * exp(-15) < 1e-5.
    t = Planted(prompts=2, p_mode=0.35, margin=0.05, wrong=5, ambiguous=1)
    n, eps = 12000, 0.025
    exs = t.examples(2 * n, seed=3)
    for k in range(2):
        labels = Counter(t.training_response(e) for e in exs if e.meta["prompt_index"] == k)
        assert sum(labels.values()) == n
        assert set(labels) <= set(t.candidates(k))
        for cand, q in zip(t.candidates(k), t.law):
            assert abs(labels[cand] / n - q) <= eps, (k, cand, labels[cand] / n, q)


def test_the_law_does_not_depend_on_the_examples_seed_and_labels_do():
    t = Planted(prompts=4)
    a, b = t.examples(40, seed=0), t.examples(40, seed=1)
    assert [e.prompt for e in a] == [e.prompt for e in b] == [f"Q{i % 4}=" for i in range(40)]
    assert [e.answer for e in a] == [e.answer for e in b]
    assert [t.training_response(e) for e in a] != [t.training_response(e) for e in b]
    assert t.examples(8, seed=0) == a[:8]
    assert Planted(prompts=4, law_seed=1).candidates(0) != t.candidates(0) or \
        Planted(prompts=4, law_seed=1).candidates(1) != t.candidates(1)


def test_ambiguous_first_letter():
    amb = Planted(prompts=5, wrong=4, ambiguous=1)
    for k in range(5):
        c = amb.candidates(k)
        assert len(set(c)) == 5
        assert len({w[0] for w in c[1:]}) == 1 and c[0][0] != c[1][0]
    plain = Planted(prompts=5, wrong=4, ambiguous=0)
    for k in range(5):
        assert len({w[0] for w in plain.candidates(k)}) == 5


def test_correctness_solution_and_extraction():
    t = Planted(prompts=3)
    e = t.examples(1)[0]
    assert t.solution(e) == t.candidates(0)[0] == e.answer
    assert t.is_correct(e, " " + e.answer + "\n")
    assert not t.is_correct(e, t.candidates(0)[1])
    assert t.extract("hello") is None and t.extract("A12") is None and t.extract("B7") == "B7"


def test_from_spec_parses_decimal_strings():
    t = tasks.from_spec("planted:prompts=3,p_mode=0.45,margin=0.05,wrong=3,ambiguous=0")
    assert isinstance(t, Planted) and t.p_mode == 0.45 and t.wrong == 3 and t.ambiguous == 0
    assert "planted" in tasks.names()
    two = Planted(p_mode=0.7, margin=0.4, wrong=1, ambiguous=0)
    assert two.law == (0.7, pytest.approx(0.3))


@pytest.mark.parametrize("options, match", [
    ({"p_mode": 1.0}, "p_mode must be in \\(0, 1\\)"),
    ({"p_mode": "abc"}, "p_mode must be a number"),
    ({"margin": 0.0}, "margin must be in \\(0, p_mode\\]"),
    ({"margin": 0.5}, "margin must be in \\(0, p_mode\\]"),
    ({"wrong": 0}, "wrong must be in 1..9"),
    ({"wrong": 10}, "wrong must be in 1..9"),
    ({"prompts": 0}, "prompts must be in 1..1000"),
    ({"ambiguous": 2}, "ambiguous must be in 0..1"),
    ({"wrong": 1, "ambiguous": 1}, "ambiguous=1 needs wrong >= 2"),
    ({"wrong": 1, "ambiguous": 0}, "margin must be 2\\*p_mode - 1"),
    ({"p_mode": 0.6, "margin": 0.1}, "must be < 1"),
    ({"p_mode": 0.3, "margin": 0.2, "wrong": 3}, "not below the runner-up"),
])
def test_bad_options_give_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        Planted(**options)
