"""The exact Game-of-24 solver (:mod:`sharpsim.bridge.tasks.solver`): its expressions evaluate to the
target by exact ``Fraction`` evaluation done here, it agrees with an exhaustive oracle (a different
algorithm), the census of 1362 solvable multisets of 1820, and bad numbers. All tests are
deterministic (no statistical assertions, false-failure probability 0).
"""

from __future__ import annotations

import re
from fractions import Fraction
from itertools import combinations, combinations_with_replacement

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.tasks._reference import exact
from sharpsim.bridge import tasks

pytestmark = pytest.mark.no_torch  # pure Python: runs without the lm extra


@pytest.mark.parametrize("numbers", [[4, 7, 8, 8], [1, 5, 5, 5], [3, 3, 8, 8], [1, 2, 3, 4], [13, 13, 12, 12]])
def test_solver_finds_a_valid_expression(numbers):
    expr = tasks.solve24(numbers)
    assert expr is not None
    assert exact(expr) == 24
    assert sorted(int(x) for x in re.findall(r"\d+", expr)) == sorted(numbers)


def test_solver_known_hard_cases_need_fractions():
    # 5*(5-1/5) and 8/(3-8/3) are the classic solutions needing non-integer intermediates
    for numbers in ([1, 5, 5, 5], [3, 3, 8, 8]):
        assert exact(tasks.solve24(numbers)) == 24
        assert tasks.solve24(numbers) == tasks.solve24(list(reversed(numbers)))  # deterministic per multiset


def _reachable(nums: tuple[int, ...]) -> set[Fraction]:
    """Every value of an expression using each of ``nums`` once (test oracle: splits the multiset
    into two non-empty parts in every way, a different algorithm from the solver's pair merging)."""
    if len(nums) == 1:
        return {Fraction(nums[0])}
    out: set[Fraction] = set()
    idx = range(len(nums))
    for r in range(1, len(nums)):
        for left in combinations(idx, r):
            a = _reachable(tuple(nums[i] for i in left))
            b = _reachable(tuple(nums[i] for i in idx if i not in left))
            for x in a:
                for y in b:
                    out.update({x + y, x - y, x * y})
                    if y != 0:
                        out.add(x / y)
    return out


@pytest.mark.parametrize("numbers", [[1, 1, 1, 1], [1, 1, 1, 2], [13, 13, 13, 13], [1, 1, 2, 2]])
def test_solver_unsolvable(numbers):
    assert Fraction(24) not in _reachable(tuple(numbers))  # the oracle agrees these are unsolvable
    assert tasks.solve24(numbers) is None


@given(st.lists(st.integers(0, 15), min_size=1, max_size=4), st.integers(-30, 60))
@settings(max_examples=60, deadline=None)
def test_solver_agrees_with_exhaustive_oracle(numbers, target):
    expr = tasks.solve24(numbers, target)
    assert (expr is not None) == (Fraction(target) in _reachable(tuple(numbers)))
    if expr is not None:
        assert exact(expr) == target


def test_solver_counts_1362_solvable_of_1820_multisets():
    """The known census of the 24 game over 1..13: 1362 of the 1820 multisets are solvable
    (e.g. 4nums.com). Every solution is checked here with exact arithmetic."""
    solvable = 0
    for nums in combinations_with_replacement(range(1, 14), 4):
        expr = tasks.solve24(nums)
        if expr is not None:
            solvable += 1
            assert exact(expr) == 24 and sorted(map(int, re.findall(r"\d+", expr))) == list(nums)
    assert solvable == 1362


def test_solver_rejects_bad_numbers():
    with pytest.raises(ValueError, match="numbers"):
        tasks.solve24([])
    with pytest.raises(ValueError, match="numbers"):
        tasks.solve24([-1, 5, 5, 5])

