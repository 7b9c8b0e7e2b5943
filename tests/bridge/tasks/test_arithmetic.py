"""The multi-step integer arithmetic task (:mod:`sharpsim.bridge.tasks.arithmetic`): answers equal
Python's own integer arithmetic on the (regex-checked) prompt, every solution step is a true
equation, the documented format, answer extraction and the checker. All tests are deterministic (no
statistical assertions, false-failure probability 0).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.tasks._reference import FAST
from sharpsim.bridge import tasks
from sharpsim.bridge.tasks import Example

pytestmark = pytest.mark.no_torch  # pure Python: runs without the lm extra


@given(seed=st.integers(0, 10**6), steps=st.integers(1, 6), max_operand=st.integers(1, 99),
       ops=st.sampled_from(["+", "-", "*", "+-", "+*", "-*", "+-*"]))
@FAST
def test_arithmetic_answer_equals_python_integer_arithmetic(seed, steps, max_operand, ops):
    t = tasks.get("arithmetic", steps=steps, max_operand=max_operand, ops=ops)
    for ex in t.examples(5, seed=seed):
        assert re.fullmatch(rf"(\d+[-+*]){{{steps}}}\d+=", ex.prompt), ex.prompt
        expected = eval(ex.prompt[:-1], {"__builtins__": {}})  # Python's own precedence; prompt regex-checked
        assert int(ex.answer) == expected
        sol = t.solution(ex)
        # every step is a true equation, in the documented order, and there are `steps` of them
        eqs = sol.split(". Answer: ")[0].split(";")
        assert len(eqs) == steps
        for eq in eqs:
            m = re.fullmatch(r"(-?\d+)([-+*])(-?\d+)=(-?\d+)", eq)
            assert m, eq
            a, op, b, c = int(m[1]), m[2], int(m[3]), int(m[4])
            assert {"+": a + b, "-": a - b, "*": a * b}[op] == c
        assert sol.endswith(f". Answer: {expected}")


def test_arithmetic_documented_example():
    t = tasks.get("arithmetic")
    ex = Example(id="x", prompt="3+4*2-5=", answer="6")
    assert t.solution(ex) == "4*2=8;3+8=11;11-5=6. Answer: 6"
    assert t.solution(Example(id="y", prompt="2*3*4-1=", answer="23")) == "2*3=6;6*4=24;24-1=23. Answer: 23"


@pytest.mark.parametrize("response, extracted", [
    ("Answer: 6", "6"), ("Answer:6", "6"), ("answer :  6.", "6"), ("ANSWER: -11", "-11"),
    ("Answer: - 11", "-11"), ("Answer: +7", "7"), ("Answer: 007", "7"),
    ("Answer: 5 ... Answer: 9", "9"), ("x=1. Answer: 12\nmore text 3", "12"),
    ("Answer: 6.5", None), ("Answer: six", None), ("Answer:", None), ("6", None), ("", None),
    ("Answer: 9 then Answer: ?", None), ("Answer: 6, I think", "6"), ("Answer: 1,234", "1234"),
    ("Answer: 1,23", None), ("Answer: 12345,6", None),
])
def test_arithmetic_extraction(response, extracted):
    assert tasks.get("arithmetic").extract(response) == extracted


def test_arithmetic_checker_compares_integers():
    t = tasks.get("arithmetic")
    ex = Example(id="x", prompt="9-3*4=", answer="-3")
    assert t.is_correct(ex, "3*4=12;9-12=-3. Answer: -3")
    assert t.is_correct(ex, "Answer: - 3")
    assert not t.is_correct(ex, "Answer: 3")
    assert not t.is_correct(ex, "Answer: -3.5")

