"""Thm 4.1 as an object: its assumptions (a finite, realizable class), its prescription, and a
sampled verification at the promised budget with a Clopper–Pearson interval.

The one sampled check states its false-failure probability.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import bounds, classes, theorems


def test_thm41_report_and_promise(decoys):
    pr, cls = decoys
    thm = theorems.get("Thm 4.1")
    rep = thm.check(pr, model_class=cls, eps=0.25, delta=0.2, rho=0.2)
    assert rep.holds and [r["name"] for r in rep.rows] == ["finite_class", "realizable"]
    want = bounds.sft_prescription(ss.coverage(pr), 4 * math.log(3), 0.25, delta=0.2, rho=0.2)
    assert (rep.promise["n"], rep.promise["N"]) == want and rep.promise["m = n N"] == want[0] * want[1]
    # the class as given is not closed under BoN_N: realizability fails at the prescribed N > 1
    assert not thm.check(pr, model_class=cls, eps=0.25, delta=0.2, rho=0.2, bon_closed=False).holds
    # the tabular class is infinite: Thm 4.1 does not apply, and no prescription exists
    tab = thm.check(pr, model_class=classes.TabularClass(), eps=0.25)
    assert [r["holds"] for r in tab.rows] == [False, False] and tab.promise["n"] == 0
    with pytest.raises(ValueError, match="is statistical"):
        thm.conclusion(pr, model_class=cls)
    with pytest.raises(ValueError, match="`num_seeds` must be an integer >= 1"):
        thm.verify(pr, model_class=cls, num_seeds=0)
    with pytest.raises(TypeError, match="`model_class` must be a sharpsim model class"):
        thm.check(pr, model_class="tabular")


def test_thm41_verify_at_the_prescription(decoys):
    # 200 runs at the constant-1 prescription: the Clopper–Pearson interval reaches 1 − ρ = 0.8
    # (measured rate 1.0 here); the interval is an exact 95 % one, so a true rate >= 0.8 is
    # refuted with probability at most 2.5 %, and the measured rate is far above 0.8
    pr, cls = decoys
    v = theorems.get("Thm 4.1").verify(pr, key=jax.random.key(3), num_seeds=200, model_class=cls, eps=0.25,
                                       delta=0.2, rho=0.2)
    assert not v.exact and v.report.holds and v.holds
    assert v.conclusion.value >= 0.9 and "Clopper–Pearson" in v.conclusion.detail


def test_clopper_pearson_by_hand():
    # 0 of 10: upper end 1 − 0.025^(1/10); 10 of 10: lower end 0.025^(1/10)
    lo, hi = theorems.clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** 0.1, rel=1e-9)
    lo, hi = theorems.clopper_pearson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** 0.1, rel=1e-9)
    assert np.isclose(sum(theorems.clopper_pearson(5, 10)), 1.0)


def test_thm41_without_realizability_is_refuted(decoys):
    # The class as given (bon_closed=False) holds the base row and decoys, not the BoN_N law: every
    # candidate puts at most max_y π_base(y|x) < 1 − δ = 0.8 on y* (asserted below), so every prompt
    # fails, every run has error 1 > ε, and the Clopper–Pearson interval of 0/100 ([0, 0.036]) lies
    # below 1 − ρ = 0.8. Deterministic given the construction: no run can succeed.
    pr, cls = decoys
    assert float(np.max(np.asarray(pr.base.probs))) < 0.8  # π_base(y*|x) < 1 − δ on every prompt
    v = theorems.get("Thm 4.1").verify(pr, key=jax.random.key(4), num_seeds=100, model_class=cls, eps=0.25,
                                       delta=0.2, rho=0.2, bon_closed=False)
    assert [r["name"] for r in v.report.rows if not r["holds"]] == ["realizable"]
    assert v.conclusion.value == 0.0 and not v.holds
