"""App E's hardness instances: Prop E.1 (the sequence arg-max of the MAX-CUT instance is a maximum
cut) and Prop E.2 (training-time sharpening within the autoregressive linear class cannot reach the
arg-max)."""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as ss
from sharpsim.problems.hardness import cut_value, maxcut_instance, prop_e2_instance


def test_prop_e2_training_time_sharpening_cannot_reach_the_argmax():
    """Prop E.2 (H = d = 2, V = [n]): tokens 1 and 2 share their first-step feature, so every model
    of the class gives them equal first-step mass and puts at most 1/2 on the unique arg-max (2, 1)
    — even the MLE on data that is all (2, 1). (0-indexed: tokens 0 and 1, arg-max (1, 0).)"""
    n = 5
    problem, cls, _ = prop_e2_instance(n)
    f = np.asarray(cls.features)
    np.testing.assert_array_equal(f[0, 0, :, 0], f[0, 0, :, 1])  # the shared first-step feature
    base = problem.base.to_tabular()
    assert int(jnp.argmax(base.log_probs[0])) == 1 * n + 0 and float(ss.margin(problem)) > 0
    data = jnp.tile(jnp.asarray([[1, 0]]), (50, 1))
    _, wide, _ = prop_e2_instance(n, radius=12.0)  # a larger ball: the MLE approaches the ceiling 1/2
    pol = wide.mle(jnp.zeros(50, jnp.int32), data, steps=3000)
    mass = float(jnp.exp(pol.joint_log_probs()[0, n]))
    assert 0.45 < mass <= 0.5 + 1e-12  # pushed to the ceiling, never past it
    assert float(ss.sharpening_error(problem, pol, delta=0.4)) == 1.0
    # inference-time BoN has no ceiling: with enough draws it returns (1, 0) with high probability
    assert ss.bon_success_probability(problem.tabular(), 200) > 0.99


@pytest.mark.parametrize("seed,n", [(0, 3), (1, 4), (2, 5), (3, 6)])
def test_prop_e1_sequence_argmax_is_a_maximum_cut(seed, n):
    """Prop E.1: the sequence arg-max of the instance is (s*, +1, +1) with s* a maximum cut, checked
    against brute force over all 2^n cuts (random weighted graphs)."""
    rng = np.random.default_rng(seed)
    A = np.triu(rng.integers(0, 3, size=(n, n)) * (rng.random((n, n)) < 0.7), 1).astype(float)
    A[0, 1] = max(A[0, 1], 1.0)  # at least one edge
    A = A + A.T
    problem, cls, theta = maxcut_instance(A)
    assert cls.radius >= float(np.linalg.norm(theta, axis=1).max())
    best = np.asarray(problem.base.sequence_argmax()[0])
    assert list(best[n:]) == [1, 1]
    assert cut_value(A, best[:n]) == _max_cut(A)
    # evaluating log π of a sequence is a product of H two-way softmaxes (no enumeration needed)
    seq = jnp.asarray(best)[None]
    lp = float(cls.sequence_log_probs(jnp.asarray(theta), jnp.zeros(1, jnp.int32), seq)[0])
    assert math.isclose(lp, float(problem.base.joint_log_probs()[0].max()), rel_tol=1e-12)


def test_prop_e1_and_e2_bad_input():
    with pytest.raises(ValueError, match="symmetric"):
        maxcut_instance(np.array([[0.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="square"):
        maxcut_instance(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="too large"):
        maxcut_instance(np.ones((19, 19)) - np.eye(19))
    with pytest.raises(ValueError, match="n"):
        prop_e2_instance(2)
    with pytest.raises(ValueError, match="radius"):
        prop_e2_instance(5, radius=0.0)


def _max_cut(A):
    n = A.shape[0]
    return max(cut_value(A, np.array(s)) for s in itertools.product([-1, 1], repeat=n))
