"""The safe expression parser of the Game-of-24 checker (:mod:`sharpsim.bridge.tasks.expression`):
values and number literals against exact ``Fraction`` evaluation done here, and unsafe or invalid
input rejected (the parser never calls ``eval``). All tests are deterministic (no statistical
assertions, false-failure probability 0).
"""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.tasks._reference import exact
from sharpsim.bridge import tasks

pytestmark = pytest.mark.no_torch  # pure Python: runs without the lm extra


@pytest.mark.parametrize("expr, value, numbers", [
    ("5*(5-1/5)", Fraction(24), [5, 5, 1, 5]),
    ("8/(3-8/3)", Fraction(24), [8, 3, 8, 3]),
    (" 1 + 2 * 3 ", Fraction(7), [1, 2, 3]),
    ("(((4)))", Fraction(4), [4]),
    ("7/2", Fraction(7, 2), [7, 2]),
    ("10-3-2", Fraction(5), [10, 3, 2]),
    ("(" * 99 + "24" + ")" * 99, Fraction(24), [24]),  # deepest nesting within the length limit
    ("1+" * 99 + "1", Fraction(100), [1] * 100),
])
def test_evaluate_expression_values(expr, value, numbers):
    assert tasks.evaluate_expression(expr) == (value, numbers)


@pytest.mark.parametrize("expr", [
    "__import__('os')", "__import__('os').system('true')", "x", "abs(24)", "2**3", "24.0", "0x18", "1_2",
    "-3+27", "+24", "3*8;1", "3 8", "(", "", "3//1", "3%2", "[24]", "'24'", "24 if 1 else 0",
    "lambda: 24", "(" * 300 + "1" + ")" * 300, "1+" * 150 + "1", "08+16", "1/0", "4*(3-3)/0+24",
])
def test_evaluate_expression_rejects_unsafe_or_invalid(expr):
    with pytest.raises(ValueError):
        tasks.evaluate_expression(expr)


def test_evaluate_expression_rejects_non_strings():
    with pytest.raises(ValueError, match="string"):
        tasks.evaluate_expression(24)


@st.composite
def _expr_trees(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return str(draw(st.integers(0, 30)))
    op = draw(st.sampled_from("+-*/"))
    return f"({draw(_expr_trees(depth - 1))}{op}{draw(_expr_trees(depth - 1))})"


@given(_expr_trees())
@settings(max_examples=60, deadline=None)
def test_evaluate_expression_matches_exact_oracle(expr):
    try:
        expected = exact(expr)
    except ZeroDivisionError:
        with pytest.raises(ValueError, match="division by zero"):
            tasks.evaluate_expression(expr)
        return
    value, nums = tasks.evaluate_expression(expr)
    assert value == expected
    assert nums == [int(x) for x in re.findall(r"\d+", expr)]

