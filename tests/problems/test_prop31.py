"""Prop 3.1's tightness instance (``problems.prop31_tightness``): the sequence arg-max has mass at most 1/2
and token-wise greedy decoding misses it. The joint law is multiplied out here by NumPy loops."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from problems._reference import ar_joint
from sharpsim import problems


# ======================================================================= prop31_tightness
def test_prop31_tightness_default_instance_by_hand():
    pr = problems.prop31_tightness()
    joint = ar_joint(pr)[0]
    # (0,0): 0.6·0.5, (0,1): 0.6·0.5, (1,0): 0.4·1, (1,1): 0.4·0
    np.testing.assert_allclose(joint, [0.3, 0.3, 0.4, 0.0], rtol=1e-14, atol=0)
    np.testing.assert_array_equal(np.asarray(pr.base.greedy()), [[0, 0]])
    np.testing.assert_array_equal(np.asarray(pr.base.sequence_argmax()), [[1, 0]])
    np.testing.assert_allclose(np.asarray(pr.prompt_probs), [1.0])


def test_prop31_tightness_larger_instance_by_hand():
    V, H, s = 3, 3, 0.3
    pr = problems.prop31_tightness(vocab_size=V, horizon=H, p_star=s)
    joint = ar_joint(pr)[0]
    expected = np.zeros(27)
    for i, seq in enumerate(itertools.product(range(3), repeat=3)):
        if seq[0] == 0:
            expected[i] = 0.7 / 9  # (1 - p_star) / V^{H-1}
        elif seq == (1, 0, 0):
            expected[i] = 0.3
    np.testing.assert_allclose(joint, expected, rtol=1e-13, atol=0)
    greedy = np.asarray(pr.base.greedy())[0]
    assert greedy[0] == 0 and tuple(greedy) != (1, 0, 0)
    np.testing.assert_array_equal(np.asarray(pr.base.sequence_argmax()), [[1, 0, 0]])
    assert joint.max() <= 0.5


def test_prop31_tightness_at_one_half_greedy_still_misses():
    pr = problems.prop31_tightness(p_star=0.5)
    joint = ar_joint(pr)[0]
    np.testing.assert_allclose(joint, [0.25, 0.25, 0.5, 0.0], rtol=1e-14)
    np.testing.assert_array_equal(np.asarray(pr.base.greedy()), [[0, 0]])


@pytest.mark.parametrize("p_star", [0.55, 1 / 3, 0.2])
def test_prop31_tightness_rejects_p_star_outside_range(p_star):
    with pytest.raises(ValueError, match=r"`p_star` must lie in \(0\.333333, 0\.5\]"):
        problems.prop31_tightness(p_star=p_star)
