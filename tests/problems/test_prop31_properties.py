"""Property tests for Prop 3.1 (greedy decoding) and its tightness instance.

Prop 3.1: if an autoregressive π has a unique sequence arg-max y*(x) with π(y*(x)|x) > 1/2,
token-wise greedy decoding returns y*(x). Tight: ``problems.prop31_tightness`` gives
π(y*) <= 1/2 and greedy misses y*. The joint law is enumerated here by a slow NumPy loop
over all |V|^H sequences, independent of the library's enumeration.
"""

from __future__ import annotations

import itertools

import jax
import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from sharpsim import TIE_RTOL
from sharpsim import problems as sp
from sharpsim import strategies as sst
from sharpsim.policies import AutoregressivePolicy, TabularPolicy

#: Greedy decoding, the enumerated joint log-law and the sequence arg-max under ``jit``: one
#: compilation per policy shape rather than op-by-op eager compilation (the drawn policies
#: come in many shapes). The eager path is the same code.
decode = jax.jit(lambda policy: (policy.greedy(), policy.joint_log_probs(), policy.sequence_argmax()))


def enumerate_joint(policy: AutoregressivePolicy) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """All sequences (first token most significant) and ``[num_prompts, V^H]`` joint probs,
    multiplying the conditionals along each sequence; the context of step h is the last
    ``k`` tokens read as a base-V number (most recent least significant)."""
    tables = np.exp(np.asarray(policy.log_tables))
    H, X, _, V = tables.shape
    k = policy.context_length
    seqs = list(itertools.product(range(V), repeat=H))
    joint = np.ones((X, len(seqs)))
    for j, seq in enumerate(seqs):
        for h in range(H):
            recent = seq[max(0, h - k) : h]
            ctx = 0
            for tok in recent:
                ctx = ctx * V + tok
            joint[:, j] *= tables[h, :, ctx, seq[h]]
    return seqs, joint


@given(policy=sst.autoregressive_policies())
def test_greedy_returns_the_argmax_when_it_has_more_than_half(policy):
    seqs, joint = enumerate_joint(policy)
    np.testing.assert_allclose(joint.sum(axis=1), 1.0, atol=1e-12)
    greedy, joint_log_probs, seq_argmax = (np.asarray(a) for a in decode(policy))
    # the library's enumeration agrees with the loop above
    np.testing.assert_allclose(np.exp(joint_log_probs), joint, rtol=1e-12, atol=1e-300)
    for x in range(joint.shape[0]):
        top = joint[x].max()
        unique = int(np.sum(joint[x] >= top * (1 - TIE_RTOL))) == 1
        y_star = seqs[int(np.argmax(joint[x]))]
        premise = unique and top > 0.5
        event(f"premise of Prop 3.1 holds: {premise}")
        if premise:
            assert tuple(greedy[x]) == y_star
            assert tuple(seq_argmax[x]) == y_star


@given(policy=sst.autoregressive_policies(vocab_size=(2, 4), horizon=(1, 4)), seed=sst.seeds())
def test_greedy_returns_a_planted_majority_sequence(policy, seed):
    """Plant a path whose every conditional exceeds 1/2^(1/H): π(path) > 1/2, so greedy must
    return it (the premise of Prop 3.1 holds by construction)."""
    H, X, _, V = policy.log_tables.shape
    k = policy.context_length
    rng = np.random.default_rng(seed)
    path = rng.integers(0, V, size=(X, H))
    q = 0.5 ** (1.0 / H) + (1 - 0.5 ** (1.0 / H)) * rng.uniform(0.01, 1.0, size=X)
    tables = np.exp(np.asarray(policy.log_tables))
    for x in range(X):
        for h in range(H):
            ctx = 0
            for tok in path[x, max(0, h - k) : h]:
                ctx = ctx * V + tok
            row = tables[h, x, ctx].copy()
            row[path[x, h]] = 0.0
            row *= (1 - q[x]) / row.sum()
            row[path[x, h]] = q[x]
            tables[h, x, ctx] = row
    planted = AutoregressivePolicy.from_conditionals(tables, context_length=k)
    seqs, joint = enumerate_joint(planted)
    for x in range(X):
        assert joint[x, seqs.index(tuple(path[x]))] > 0.5
    np.testing.assert_array_equal(np.asarray(decode(planted)[0]), path)


def tie_band(vocab_size: int, horizon: int) -> tuple[float, float]:
    """``(a, b)``: y* = (1, 0, ..., 0) is an arg-max of the tightness instance iff
    ``p_star > a = 1/(1 + V^{H-1})``, and the *unique* arg-max beyond the tie tolerance iff
    ``(1 - p_star)/V^{H-1} < (1 - TIE_RTOL) p_star``, i.e. ``p_star > b``. Between the two the
    constructor may refuse (it keeps a relative 1e-12 more for float64 rounding)."""
    S = vocab_size ** (horizon - 1)
    return 1.0 / (1.0 + S), (1.0 + 1e-12) / (1.0 + (1.0 - TIE_RTOL) * S)


@given(
    vocab_size=st.integers(2, 4),
    horizon=st.integers(2, 4),
    frac=st.floats(0.0, 1.0, exclude_min=True),
)
@example(vocab_size=2, horizon=2, frac=1.0)  # p_star = 1/2 exactly: greedy breaks the tie to 0
@example(vocab_size=2, horizon=2, frac=1e-12)  # found by hypothesis: p_star ties with the rest
def test_prop31_tightness_instance(vocab_size, horizon, frac):
    a, b = tie_band(vocab_size, horizon)
    p_star = a + frac * (0.5 - a)
    if p_star <= b:  # within the tie tolerance of the other sequences: must be refused or valid
        try:
            problem = sp.prop31_tightness(vocab_size=vocab_size, horizon=horizon, p_star=p_star)
        except ValueError as err:
            assert "p_star" in str(err)
            return
    else:
        problem = sp.prop31_tightness(vocab_size=vocab_size, horizon=horizon, p_star=p_star)
    seqs, joint = enumerate_joint(problem.base)
    y_star = (1,) + (0,) * (horizon - 1)
    j = seqs.index(y_star)
    assert joint[0, j] == pytest.approx(p_star, rel=1e-12)
    assert joint[0, j] <= 0.5
    others = np.delete(joint[0], j)
    assert np.all(others < joint[0, j] * (1 - TIE_RTOL))  # y* is the unique arg-max
    greedy, joint_log_probs, _ = decode(problem.base)
    assert TabularPolicy(joint_log_probs).num_argmax().tolist() == [1]  # also by the library's rule
    assert tuple(np.asarray(greedy)[0]) != y_star


@given(vocab_size=st.integers(2, 4), horizon=st.integers(2, 4), p_star=st.floats(0.0, 1.0))
def test_prop31_tightness_rejects_invalid_p_star(vocab_size, horizon, p_star):
    a, b = tie_band(vocab_size, horizon)
    if b < p_star <= 0.5:
        assert sp.prop31_tightness(vocab_size=vocab_size, horizon=horizon, p_star=p_star).num_prompts == 1
    elif not (a < p_star <= 0.5):
        with pytest.raises(ValueError, match="p_star"):
            sp.prop31_tightness(vocab_size=vocab_size, horizon=horizon, p_star=p_star)


@given(req=sst.planted_requests(feasible=True, horizon=(1, 3)), seed=sst.seeds())
def test_greedy_follows_planted_autoregressive_argmax(req, seed):
    """planted_autoregressive makes the planted token the strict mode of every on-path
    conditional, so greedy decoding returns the planted arg-max (even when π(y*) <= 1/2)."""
    problem = req.build(jax.random.key(seed))
    seqs, joint = enumerate_joint(problem.base)
    greedy = np.asarray(decode(problem.base)[0])
    for x in range(joint.shape[0]):
        assert tuple(greedy[x]) == seqs[int(np.argmax(joint[x]))]
