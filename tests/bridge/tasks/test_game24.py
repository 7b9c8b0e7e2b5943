"""The Game-of-24 task (:mod:`sharpsim.bridge.tasks.game24`): examples are solvable and in the
documented format, solution steps are true equations (exact ``Fraction`` evaluation done here), and
the checker, with and without the numbers in ``meta``. All tests are deterministic (no statistical
assertions, false-failure probability 0).
"""

from __future__ import annotations

import re

import pytest

from bridge.tasks._reference import exact
from sharpsim.bridge import tasks
from sharpsim.bridge.tasks import Example

pytestmark = pytest.mark.no_torch  # pure Python: runs without the lm extra


def test_game24_examples_are_solvable_and_documented_format():
    t = tasks.get("game24")
    for e in t.examples(50, seed=11):
        nums = e.meta["numbers"]
        assert e.prompt == f"Make 24 from {' '.join(map(str, nums))}:" and nums == sorted(nums)
        assert all(1 <= x <= 13 for x in nums) and len(nums) == 4
        assert exact(e.answer) == 24
        assert sorted(map(int, re.findall(r"\d+", e.answer))) == nums
        assert t.solution(e).endswith(f". Answer: {e.answer}")


def test_game24_solution_steps_are_true_equations():
    t = tasks.get("game24")
    ex = Example(id="x", prompt="Make 24 from 1 5 5 5:", answer="5*(5-1/5)", meta={"numbers": [1, 5, 5, 5]})
    sol = t.solution(ex)
    steps = sol.split(". Answer: ")[0].split(";")
    assert len(steps) == 3
    for s in steps:
        lhs, rhs = s.split("=")
        assert exact(lhs) == exact(rhs), s
    assert exact(steps[-1].split("=")[1]) == 24


@pytest.mark.parametrize("response, correct", [
    ("Answer: 8*(7+4-8)", True),
    ("Answer: (8 + 4 - 7) * 8 / 8 * ...", False),  # '...' ends it after a dangling '*'
    ("Answer: 8*(4+7-8) = 24.", True),
    ("answer:8*(4+7-8)", True),
    ("Answer: 8*(4+7-8)+0", False),  # 0 is not one of the numbers
    ("Answer: 8*3", False),  # numbers not the multiset
    ("Answer: 8*(7+4-8)*1", False),
    ("Answer: 8*(8-7+4)", False),  # right multiset, value 40
    ("Answer: 8/(8-8)*7+4", False),  # division by zero: incorrect, no exception
    ("Answer: __import__('os')", False),
    ("Answer: 2**3*3", False),
    ("Answer: -8*(4-7)+0*8", False),
    ("Answer: 8*(7+4-8) Answer: 24", False),  # the last Answer: counts
    ("8*(7+4-8)", False),  # no marker
])
def test_game24_checker(response, correct):
    t = tasks.get("game24")
    ex = Example(id="x", prompt="Make 24 from 4 7 8 8:", answer="8*(7+4-8)", meta={"numbers": [4, 7, 8, 8]})
    assert t.is_correct(ex, response) is correct


def test_game24_checker_reads_numbers_from_prompt_without_meta():
    t = tasks.get("game24")
    ex = Example(id="x", prompt="Make 24 from 1 5 5 5:", answer="5*(5-1/5)")
    assert t.is_correct(ex, "Answer: (5-1/5)*5")
    assert not t.is_correct(ex, "Answer: (5-1/5)*5*1")

