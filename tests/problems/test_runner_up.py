"""planted_runner_up: a runner-up at exactly π(y*)/(1 + γ) on every prompt (Assumption 4.2's margin, exact)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import problems


@pytest.mark.parametrize("margin", [0.01, 0.1, 0.2, 0.4, 0.8, 1.6, 5.0])
def test_margin_is_exact_and_coverage_is_one_over_top(margin):
    p = problems.planted_runner_up(jax.random.key(3), 10, 20, top_prob=0.25, margin=margin)
    assert abs(ss.margin(p) - margin) <= 1e-9
    assert ss.coverage(p) == pytest.approx(4.0, rel=1e-12)
    probs = np.asarray(p.probs)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    srt = np.sort(probs, axis=1)[:, ::-1]
    np.testing.assert_allclose(srt[:, 0], 0.25, rtol=1e-12)
    np.testing.assert_allclose(srt[:, 1], 0.25 / (1 + margin), rtol=1e-12)
    assert np.all(srt[:, 2] < srt[:, 1]) and np.all(srt > 0)  # only one runner-up, strictly


def test_positions_are_random_and_the_key_decides():
    a = problems.planted_runner_up(jax.random.key(0), 30, 8, top_prob=0.3, margin=0.2)
    b = problems.planted_runner_up(jax.random.key(0), 30, 8, top_prob=0.3, margin=0.2)
    np.testing.assert_array_equal(np.asarray(a.probs), np.asarray(b.probs))
    assert len(set(np.argmax(np.asarray(a.probs), axis=1).tolist())) > 1


def test_feasible_range_edges():
    lo, hi = problems.runner_up_range(20, 0.5)
    assert lo == pytest.approx(1.5 / 20.5) and hi == pytest.approx(1.5 / 2.5)
    inside = problems.planted_runner_up(jax.random.key(1), 2, 20, top_prob=lo * 1.001, margin=0.5)
    assert abs(ss.margin(inside) - 0.5) <= 1e-9
    inside = problems.planted_runner_up(jax.random.key(1), 2, 20, top_prob=hi * 0.999, margin=0.5)
    assert abs(ss.margin(inside) - 0.5) <= 1e-9
    for t in (lo, hi, 0.01):
        with pytest.raises(ValueError, match=r"`top_prob` must lie in the open interval \(0\.0731707, 0\.6\)"):
            problems.planted_runner_up(jax.random.key(1), 2, 20, top_prob=t, margin=0.5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_responses=2), "`num_responses` must be an integer >= 3"),
    (dict(margin=0.0), "`margin` must be > 0"),
    (dict(margin=float("nan")), "`margin` must be finite"),
    (dict(top_prob=1.0), "`top_prob` must lie in \\(0, 1\\)"),
    (dict(num_prompts=0), "`num_prompts`"),
])
def test_bad_input(kwargs, match):
    args = dict(num_prompts=3, num_responses=10, top_prob=0.25, margin=0.5) | kwargs
    with pytest.raises(ValueError, match=match):
        problems.planted_runner_up(jax.random.key(0), args.pop("num_prompts"), args.pop("num_responses"), **args)
