"""Game of 24: combine four numbers with ``+ - * /`` into 24."""

from __future__ import annotations

import random
import re
from fractions import Fraction

from sharpsim.bridge.tasks.answers import EXPR_AFTER_RE, last_answer_tail
from sharpsim.bridge.tasks.base import Example, Task, check_int_option
from sharpsim.bridge.tasks.expression import apply_op, evaluate_expression
from sharpsim.bridge.tasks.solver import node_str, solve24, solve_tree

__all__ = ["Game24"]


class Game24(Task):
    """Game of 24: combine four numbers in ``1..max_number`` with ``+ - * /`` into 24.

    ``examples`` yields solvable instances only: four numbers drawn uniformly (with replacement)
    and redrawn until :func:`solve24` finds an expression. Prompt: ``"Make 24 from 4 7 8 8:"``
    (numbers sorted). Answer: the solver's expression. Solution: one step per operation on the
    values (non-integers written ``(p/q)``), then ``" Answer: <expression>"``, e.g.
    ``"8-4=4;7-1=6;4*6=24. Answer: (8-4)*(7-1)"``.

    Extraction: after the last ``Answer:``, the longest run of ``0-9 + - * / ( )``, spaces and tabs
    (so a trailing ``= 24`` or ``.`` is cut off), stripped, with spaces removed; None if empty.
    Checker: the extracted expression parses under :func:`evaluate_expression`, its integer
    literals are exactly the four numbers as a multiset, and its value is exactly 24. Division by
    zero or any disallowed syntax makes the response incorrect (never an exception).

    Args:
        max_number: largest number (1..100); default 13.
    """

    name = "game24"
    target = 24

    def __init__(self, max_number: int = 13) -> None:
        super().__init__()
        max_number = check_int_option(self.name, "max_number", max_number, low=1, high=100)
        self.max_number = max_number
        self.options = {"max_number": max_number}
        self.description = f"Game of 24 with four numbers in 1..{max_number}; expression after 'Answer:'"

    def _example(self, rng: random.Random, seed: int, index: int) -> Example:
        for _ in range(10_000):
            nums = sorted(rng.randint(1, self.max_number) for _ in range(4))
            expr = solve24(nums, self.target)
            if expr is not None:
                return Example(id=f"{self.name}/seed{seed}/{index}",
                               prompt=f"Make {self.target} from {' '.join(map(str, nums))}:",
                               answer=expr, meta={"numbers": nums})
        raise ValueError(f"task 'game24': no solvable instance found with max_number={self.max_number}")

    def numbers(self, example: Example) -> list[int]:
        """The four numbers of ``example`` (from ``meta["numbers"]``, else parsed from the prompt)."""
        nums = example.meta.get("numbers") if example.meta else None
        if nums is None:
            m = re.search(r"from ((?:\d+ )*\d+):", example.prompt)
            if m is None:
                raise ValueError(f"not a game24 example: {example.prompt!r}")
            nums = [int(x) for x in m.group(1).split()]
        return [int(x) for x in nums]

    def solution(self, example: Example) -> str:
        nums = self.numbers(example)
        node = solve_tree(tuple(sorted(nums)), self.target)
        if node is None:
            raise ValueError(f"no solution for {nums}")
        steps: list[str] = []

        def show(v: Fraction) -> str:
            return str(v.numerator) if v.denominator == 1 else f"({v.numerator}/{v.denominator})"

        def walk(n) -> Fraction:
            if isinstance(n, int):
                return Fraction(n)
            op, left, right = n
            a, b = walk(left), walk(right)
            v = apply_op(op, a, b)
            steps.append(f"{show(a)}{op}{show(b)}={show(v)}")
            return v

        walk(node)
        return ";".join(steps) + f". Answer: {node_str(node)}"

    def extract(self, response: str) -> str | None:
        tail = last_answer_tail(response)
        if tail is None:
            return None
        m = EXPR_AFTER_RE.match(tail)
        if m is None:
            return None
        expr = re.sub(r"[ \t]+", "", m.group(1))
        return expr or None

    def is_correct(self, example: Example, response: str) -> bool:
        expr = self.extract(response)
        if expr is None:
            return False
        try:
            value, used = evaluate_expression(expr)
        except ValueError:
            return False
        return sorted(used) == sorted(self.numbers(example)) and value == self.target
