"""The App H lower-bound family (App H, Thm 3.1): sharpsim.problems.lower_bound_family.

Property tests over (d, C, ε, p) drawn by hypothesis; all checks are exact (no statistics).
Expected values are written from App H's definitions, never from sharpsim.

Constant bound on the coverage (derived here, stated in the test). With
``M = max(8, ⌈1 + C ε^{-1/p}⌉)`` (8: Lemma H.3's ``M >= 8``), ``C >= 1`` and ``ε < 1/16``:
if ``M > 8`` then ``M <= 2 + C ε^{-1/p} <= 3 C ε^{-1/p}``, hence
``Δ (M/2)^p <= 16 ε (3/2)^p C^p ε^{-1} = 16 (3/2)^p C^p`` and, as ``(a + b)^{1/p} <=
a^{1/p} + b^{1/p}`` for ``p >= 1``, ``C_cov,1/2,p = ((1 - Δ) + Δ (M/2)^p)^{1/p} <= 1 + (3/2) 16^{1/p} C``;
if ``M = 8`` then ``C_cov,1/2,p = (1 + Δ (4^p - 1))^{1/p} < 4`` (``Δ < 1``). Either way

    C_cov,1/2,p <= max(4, 1 + (3/2) 16^{1/p} C) <= 25 C.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import classes, problems
from sharpsim.problems import lower_bound


@st.composite
def family_params(draw):
    """(d, C, ε, p) with ``M = ⌈1 + C ε^{-1/p}⌉ <= 61`` (the class holds X·M·(M+1) numbers)."""
    d = draw(st.integers(1, 4))
    p = draw(st.sampled_from([1.0, 1.5, 2.0, 3.0]))
    C = draw(st.floats(1.0, min(4.0, 60.0 * 0.06 ** (1 / p))))
    lo = (C / 60.0) ** p  # C ε^{-1/p} <= 60 (lo <= 0.06)
    eps = draw(st.floats(max(lo, 1e-4), 0.0624))
    seed = draw(st.integers(0, 2**16))
    return d, C, eps, p, seed


def expected_M(C, eps, p):
    return max(8, math.ceil(1 + C * eps ** (-1 / p)))


def hand_P(M, j):
    """App H's ``P_j`` over ``{y0, ..., yM}`` with γ = 1/2, written out: ``P_0 = δ_{y0}``;
    for ``j >= 1``: ``2/M`` on ``y_j``, ``(1/M)(1 - 1/(M-1)) = (M-2)/(M(M-1))`` elsewhere in [M]."""
    row = np.zeros(M + 1)
    if j == 0:
        row[0] = 1.0
        return row
    row[1:] = (M - 2) / (M * (M - 1))
    row[j] = 2 / M
    return row


# Every drawn family has new array shapes, which JAX compiles anew (~0.4 s each), so the
# examples are a fifth of the profile's (10 by default, 100 under `thorough`), besides the
# pinned ones.
@settings(max_examples=max(8, settings().max_examples // 5))
@given(family_params())
@example((1, 1.0, 0.0624, 1.0, 0))  # M = max(8, ⌈1 + 16.03⌉) = 18
@example((3, 3.6, 0.06, 1.0, 1))  # M = ⌈1 + 60⌉ = 61
@example((2, 1.0, 0.05, 3.0, 2))  # M = max(8, ⌈1 + 2.71⌉) = 8: Lemma H.3's floor
def test_lower_bound_family_properties(params):
    d, C, eps, p, seed = params
    inst = problems.lower_bound_family(jax.random.key(seed), d=d, C=C, eps=eps, p=p)
    M = expected_M(C, eps, p)
    Delta = 16 * eps
    assert inst.M == M and inst.gamma == 0.5
    assert inst.mass == pytest.approx(Delta, rel=1e-15)
    assert inst.problem.num_prompts == d + 1 and inst.problem.num_responses == M + 1

    # μ: 1 - Δ on x0, Δ/d on each hard prompt
    mu = np.asarray(inst.problem.prompt_probs)
    np.testing.assert_allclose(mu, [1 - Delta] + [Delta / d] * d, rtol=1e-14)
    assert mu.sum() == pytest.approx(1.0, abs=1e-14)

    # the member: π^I(x0) = P_0, π^I(x_i) = P_{j_i}; rows are distributions
    index = np.asarray(inst.index)
    assert index.shape == (d,) and np.all((1 <= index) & (index <= M))
    probs = np.asarray(inst.problem.probs)
    want = np.stack([hand_P(M, 0)] + [hand_P(M, j) for j in index])
    np.testing.assert_allclose(probs, want, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-13)
    assert np.all(probs >= 0)

    # unique γ = 1/2 arg-max: y0 on x0, y_{j_i} on x_i
    mask = np.asarray(inst.problem.base.argmax_set(0.5))
    assert np.all(mask.sum(axis=1) == 1)
    np.testing.assert_array_equal(np.argmax(mask, axis=1), np.concatenate([[0], index]))

    # log|Π| = d log M, and the class agrees
    assert inst.log_size == pytest.approx(d * math.log(M), rel=1e-14)
    assert inst.model_class.log_size == pytest.approx(d * math.log(M), rel=1e-12)
    np.testing.assert_array_equal(np.asarray(inst.model_class.num_candidates), [1] + [M] * d)

    # C_cov,1/2,p of the member, in closed form, and the constant bound of the module docstring
    closed = ((1 - Delta) + Delta * (M / 2) ** p) ** (1 / p)
    assert ss.coverage(inst.problem, gamma=0.5, p=p) == pytest.approx(closed, rel=1e-10)
    assert closed <= max(4.0, 1 + 1.5 * 16 ** (1 / p) * C) <= 25 * C

    # the class: x0 has the single candidate P_0; x_i has P_1..P_M; the member is candidate
    # j_i - 1 at x_i (candidate 0 at x0)
    cands = np.exp(np.asarray(inst.model_class.log_probs))  # [X, M, Y]
    valid = np.asarray(inst.model_class.valid)
    assert valid[0, 0] and not valid[0, 1:].any() and valid[1:].all()
    np.testing.assert_allclose(cands[0, 0], hand_P(M, 0), atol=1e-300)
    hand = np.stack([hand_P(M, k + 1) for k in range(M)])
    for i in range(1, d + 1):
        np.testing.assert_allclose(cands[i], hand, rtol=1e-12, atol=1e-300)
    member = cands[np.arange(d + 1), np.concatenate([[0], index - 1])]
    np.testing.assert_allclose(member, probs, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("N", [2, 5])
def test_member_is_realizable_in_class_for_n1_and_in_closure_for_larger_n(N):
    inst = problems.lower_bound_family(jax.random.key(4), d=3, C=1.0, eps=0.05)  # M = 21
    assert classes.is_realizable(inst.model_class, inst.problem, 1)
    assert not classes.is_realizable(inst.model_class, inst.problem, N)
    assert classes.is_realizable(classes.bon_closure(inst.model_class, N), inst.problem, N)


def test_no_member_puts_more_than_2_over_M_on_a_hard_arg_max():
    # App H: every candidate at a hard prompt gives y_{j} at most 2/M, so without BoN no member
    # is sharpened at level δ < 1 - 2/M
    inst = problems.lower_bound_family(jax.random.key(5), d=2, C=2.0, eps=0.02)  # M = 101
    cands = np.exp(np.asarray(inst.model_class.log_probs))
    assert cands[1:].max() == pytest.approx(2 / inst.M, rel=1e-12)
    assert ss.sharpening_error(inst.problem, inst.problem.base, delta=0.5, gamma=0.5) == pytest.approx(16 * 0.02)


def test_hard_conditionals_by_hand():
    # M = 4, γ = 1/2: 2/M = 1/2 on the diagonal, (1/4)(1 - 0.5/(3·0.5)) = 1/6 elsewhere in [M]
    P = lower_bound.hard_conditionals(4)
    want = np.array(
        [
            [1, 0, 0, 0, 0],
            [0, 1 / 2, 1 / 6, 1 / 6, 1 / 6],
            [0, 1 / 6, 1 / 2, 1 / 6, 1 / 6],
            [0, 1 / 6, 1 / 6, 1 / 2, 1 / 6],
            [0, 1 / 6, 1 / 6, 1 / 6, 1 / 2],
        ]
    )
    np.testing.assert_allclose(P, want, rtol=1e-15, atol=1e-16)
    # γ = 1/4: 1/((3/4)·4) = 1/3 on the diagonal, (1/4)(1 - (1/4)/(3·3/4)) = (1/4)(8/9) = 2/9
    P = lower_bound.hard_conditionals(4, gamma=0.25)
    assert P[2, 2] == pytest.approx(1 / 3, rel=1e-15) and P[2, 3] == pytest.approx(2 / 9, rel=1e-15)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-15)


def test_family_keeps_lemma_h3_m_at_least_8():
    # C ε^{-1/p} = 1.2 · 0.05^{-1/3} ≈ 3.26 would give M = 5 < 8, where Lemma H.3 is not proved
    inst = problems.lower_bound_family(jax.random.key(0), d=2, C=1.2, eps=0.05, p=3)
    assert inst.M == lower_bound.LEMMA_H3_MIN_M == 8
    assert inst.problem.num_responses == 9
    # a tiny size constant is floored too
    assert problems.lower_bound_family(jax.random.key(0), d=1, C=1.0, eps=0.05, size_constant=0.01).M == 8


@pytest.mark.parametrize(
    "args,match",
    [((1,), r"`M` must be an integer >= 2"), ((4, 1.0), r"`gamma` must lie in \(0, 1\)"),
     ((2, 0.6), r"`gamma` = 0\.6 is too large for M = 2")],
)
def test_hard_conditionals_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        lower_bound.hard_conditionals(*args)


def test_constants_and_public_name():
    assert problems.lower_bound_family is lower_bound.lower_bound_family
    inst = problems.lower_bound_family(jax.random.key(0), d=2, C=2.0, eps=0.01, mass_constant=8.0, size_constant=0.5)
    assert inst.mass == pytest.approx(0.08, rel=1e-15)  # Δ = 8 ε
    assert inst.M == math.ceil(1 + 0.5 * 2.0 / 0.01) == 101
    # p = 2: M = ⌈1 + 2 · 0.01^{-1/2}⌉ = 21
    assert problems.lower_bound_family(jax.random.key(0), d=1, C=2.0, eps=0.01, p=2).M == 21
    # a different key gives (in general) different hidden indices, the same class
    a = problems.lower_bound_family(jax.random.key(1), d=6, C=2.0, eps=0.01)
    b = problems.lower_bound_family(jax.random.key(2), d=6, C=2.0, eps=0.01)
    assert not np.array_equal(a.index, b.index)  # P(equal) = 201^{-6}
    np.testing.assert_array_equal(np.asarray(a.model_class.log_probs), np.asarray(b.model_class.log_probs))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(d=2, C=2.0, eps=1 / 16), r"`eps` = 0\.0625 is too large.*must be < 1, so eps < 0\.0625"),
        (dict(d=2, C=2.0, eps=0.2), r"`eps` = 0\.2 is too large"),
        (dict(d=2, C=2.0, eps=0.0), r"`eps` must lie in \(0, 1\)"),
        (dict(d=0, C=2.0, eps=0.01), r"`d` must be an integer >= 1"),
        (dict(d=2, C=0.5, eps=0.01), r"`C` must be >= 1"),
        (dict(d=2, C=2.0, eps=0.01, p=0.5), r"`p` must be >= 1"),
        (dict(d=2, C=2.0, eps=0.01, mass_constant=0.0), r"`mass_constant` must be > 0"),
        (dict(d=2, C=2.0, eps=0.01, size_constant=-1.0), r"`size_constant` must be > 0"),
    ],
)
def test_bad_family_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        problems.lower_bound_family(jax.random.key(0), **kwargs)


def test_non_integer_d_raises_type_error():
    with pytest.raises(TypeError, match=r"`d` must be an integer >= 1"):
        problems.lower_bound_family(jax.random.key(0), d=1.5, C=2.0, eps=0.01)
