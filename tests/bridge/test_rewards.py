"""Self-rewards, the best-of-N pick and its tie rule, the plug-in registry (hand-computed cases)."""

from __future__ import annotations

import numpy as np
import pytest

from sharpsim.bridge import rewards
from sharpsim.bridge.rewards import argmax_index, get_reward, pick, register_reward


def test_builtin_rewards_by_hand():
    lp = np.array([-2.0, -6.0, -3.0, -1.0])
    length = np.array([2, 3, 1, 4])
    answers = ["4", "5", "4", None]
    assert get_reward("loglik")(lp, length, answers).tolist() == [-2.0, -6.0, -3.0, -1.0]
    assert get_reward("norm_loglik")(lp, length, answers).tolist() == [-1.0, -2.0, -3.0, -0.25]
    assert get_reward("majority")(lp, length, answers).tolist() == [2.0, 1.0, 2.0, 0.0]
    assert rewards.reward_names()[:3] == ["loglik", "norm_loglik", "majority"]
    assert get_reward("loglik").pointwise and get_reward("norm_loglik").pointwise
    assert not get_reward("majority").pointwise


def test_picks_by_hand():
    lp = [-2.0, -6.0, -3.0, -1.0]
    length = [2, 3, 1, 4]
    answers = ["4", "5", "4", None]
    assert pick("loglik", lp, length, answers) == 3
    assert pick("norm_loglik", lp, length, answers) == 3
    # majority: answer "4" (2 votes); of its draws (0, 2) the more likely one, draw 0
    assert pick("majority", lp, length, answers) == 0


def test_majority_none_never_wins_unless_all_none():
    # the None draws are far more likely, but a single real answer beats them
    assert pick("majority", [-0.1, -0.2, -9.0], [1, 1, 1], [None, None, "3"]) == 2
    # all None: every score is 0, so the most likely draw wins
    assert pick("majority", [-3.0, -0.5, -2.0], [1, 1, 1], [None, None, None]) == 1


def test_ties_broken_by_loglik_then_index():
    # every answer has 2 votes: the most likely draws are 1 and 3 (both -1.0): the first, 1
    assert pick("majority", [-3.0, -1.0, -2.0, -1.0], [1, 1, 1, 1], ["a", "b", "a", "b"]) == 1
    # norm_loglik ties at -1 per token for draws 0 (-3 over 3) and 1 (-2 over 2): the larger
    # log-likelihood, -2, wins -> draw 1
    assert pick("norm_loglik", [-3.0, -2.0, -5.0], [3, 2, 1], [None] * 3) == 1
    assert pick("loglik", [-1.0, -1.0], [1, 1], [None, None]) == 0


def test_argmax_index_first_max_and_tiebreak():
    assert argmax_index([1.0, 3.0, 3.0, 2.0]) == 1
    assert argmax_index([1.0, 3.0, 3.0, 2.0], tiebreak=[9.0, 0.0, 1.0, 9.0]) == 2
    assert argmax_index([5.0]) == 0
    rng = np.random.default_rng(0)
    for _ in range(20):
        lp = rng.normal(size=7)
        assert pick("loglik", lp, np.ones(7, int), [None] * 7) == int(np.argmax(lp))


def test_plugin_registry():
    def shortest(log_prob, length, answers):
        return -np.asarray(length, dtype=float)

    register_reward("test_shortest", shortest, pointwise=True)
    try:
        assert get_reward("test_shortest").fn is shortest
        assert pick("test_shortest", [-1.0, -5.0, -2.0], [4, 1, 1], [None] * 3) == 2
        # a bare callable works too
        assert pick(shortest, [-1.0, -5.0, -2.0], [4, 1, 1], [None] * 3) == 2
        with pytest.raises(ValueError, match="already registered"):
            register_reward("test_shortest", shortest)
    finally:
        rewards._REGISTRY.pop("test_shortest")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: get_reward("nope"), r"unknown reward 'nope'; known rewards: loglik"),
        (lambda: register_reward("", np.sum), "reward name must be a non-empty string"),
        (lambda: register_reward("a,b", np.sum), "without commas"),
        (lambda: register_reward("notcallable", 3), "must be callable"),
        (lambda: pick("loglik", [], [], []), "non-empty 1-D"),
        (lambda: pick("loglik", [-1.0, -2.0], [1], [None, None]), "length must have the shape"),
        (lambda: pick("loglik", [-1.0, -2.0], [1, 1], [None]), "one entry per draw"),
        (lambda: pick("loglik", [np.nan, -2.0], [1, 1], [None, None]), "NaN"),
        (lambda: pick("norm_loglik", [-1.0, -2.0], [0, 1], [None, None]), "length must be >= 1"),
        (lambda: pick(lambda a, b, c: np.zeros(3), [-1.0], [1], [None]), "returned shape"),
        (lambda: argmax_index([[1.0]]), "non-empty 1-D"),
        (lambda: argmax_index([1.0, 2.0], tiebreak=[1.0]), "tiebreak must have the shape"),
        (lambda: pick(3, [-1.0], [1], [None]), "reward must be a registered name"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
