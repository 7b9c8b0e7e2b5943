"""``theorems._core.per_instance``: a derived quantity computed once per instance, never shared between
instances, and dropped with its instance."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from sharpsim import problems, theorems
from sharpsim.theorems._core import Instance, per_instance


def test_per_instance_computes_once_per_instance_object():
    calls = []

    @per_instance
    def total(inst):
        calls.append(id(inst))
        return float(np.sum(inst.params["w"]))

    pr = problems.from_probs([[0.5, 0.5]])
    a, b = Instance(pr, {"w": np.array([1.0, 2.0])}), Instance(pr, {"w": np.array([1.0, 2.0])})
    assert total(a) == total(a) == 3.0 and len(calls) == 1
    assert total(b) == 3.0 and len(calls) == 2  # an equal but distinct instance is computed afresh
    c = Instance(pr, {"w": np.array([5.0])})
    assert total(c) == 5.0 and len(calls) == 3


def test_per_instance_drops_the_entry_with_its_instance_and_caches_no_error():
    @per_instance
    def half(inst):
        if inst.params["x"] < 0:
            raise ValueError("negative")
        return inst.params["x"] / 2

    store = half._cache  # the live entries
    pr = problems.from_probs([[0.5, 0.5]])
    inst = Instance(pr, {"x": 4.0})
    assert half(inst) == 2.0 and len(store) == 1
    del inst
    gc.collect()
    assert len(store) == 0
    bad = Instance(pr, {"x": -1.0})
    for _ in range(2):  # raised both times: nothing cached
        with pytest.raises(ValueError, match="negative"):
            half(bad)
    assert len(store) == 0


def test_a_report_is_the_same_on_a_fresh_instance():
    # the memoised quantities of one check do not leak into another: a second check, of a fresh
    # instance with another parameter, gives that parameter's numbers
    pr = problems.from_probs([[0.5, 0.3, 0.2]])
    thm = theorems.get("Prop C.1")
    first, second, again = thm.check(pr, N=2, rho=0.25), thm.check(pr, N=9, rho=0.25), thm.check(pr, N=2, rho=0.25)
    assert first.rows[0]["value"] == pytest.approx(1.0) and second.rows[0]["value"] == pytest.approx(4.5)
    assert first.rows == again.rows and first.promise == again.promise
