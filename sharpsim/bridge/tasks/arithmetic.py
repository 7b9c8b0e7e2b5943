"""Multi-step integer arithmetic with the usual precedence (``"3+4*2-5="``)."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from sharpsim.bridge.tasks.answers import INT_AFTER_RE, last_answer_tail
from sharpsim.bridge.tasks.base import Example, Task, check_int_option

__all__ = ["Arithmetic"]


def _arithmetic_steps(operands: Sequence[int], ops: Sequence[str]) -> tuple[list[str], int]:
    """Evaluate ``operands[0] ops[0] operands[1] ...`` with ``*`` before ``+``/``-``.

    Order: every ``*`` left to right, then ``+``/``-`` left to right. Returns the steps
    (``"a*b=c"``) and the value.
    """
    vals, syms = list(operands), list(ops)
    steps = []
    while "*" in syms:
        k = syms.index("*")
        a, b = vals[k], vals[k + 1]
        c = a * b
        steps.append(f"{a}*{b}={c}")
        vals[k:k + 2] = [c]
        del syms[k]
    while syms:
        a, b, op = vals[0], vals[1], syms.pop(0)
        c = a + b if op == "+" else a - b
        steps.append(f"{a}{op}{b}={c}")
        vals[0:2] = [c]
    return steps, vals[0]


class Arithmetic(Task):
    """Multi-step integer arithmetic with the usual precedence.

    Prompt: ``steps + 1`` operands drawn uniformly from ``1..max_operand`` joined by ``steps``
    operators drawn uniformly from ``ops``, then ``"="``, e.g. ``"3+4*2-5="``. Solution: one step per
    operator, ``*`` first (left to right), then ``+``/``-`` left to right, joined by ``";"``, then
    ``". Answer: <value>"``, e.g. ``"4*2=8;3+8=11;11-5=6. Answer: 6"``. Extraction: the integer
    after the last ``Answer:`` (spaces and a sign allowed, leading zeros dropped).

    Args:
        steps: number of operators (>= 1); default 2.
        max_operand: largest operand (>= 1); default 9.
        ops: a non-empty string over ``"+-*"``; default ``"+-*"``.
    """

    name = "arithmetic"

    def __init__(self, steps: int = 2, max_operand: int = 9, ops: str = "+-*") -> None:
        super().__init__()
        steps = check_int_option(self.name, "steps", steps, low=1)
        max_operand = check_int_option(self.name, "max_operand", max_operand, low=1)
        if not isinstance(ops, str) or not ops or set(ops) - set("+-*"):
            raise ValueError(f"task 'arithmetic': option ops must be a non-empty string over '+-*', got {ops!r}")
        self.steps, self.max_operand, self.ops = steps, max_operand, "".join(sorted(set(ops), key="+-*".index))
        self.options = {"steps": steps, "max_operand": max_operand, "ops": self.ops}
        self.description = (f"integer arithmetic with {steps} operator(s) from {self.ops!r}, operands "
                            f"1..{max_operand}; answer after 'Answer:'")

    def _example(self, rng: random.Random, seed: int, index: int) -> Example:
        operands = [rng.randint(1, self.max_operand) for _ in range(self.steps + 1)]
        ops = [rng.choice(self.ops) for _ in range(self.steps)]
        prompt = "".join(f"{a}{op}" for a, op in zip(operands, ops)) + f"{operands[-1]}="
        _, value = _arithmetic_steps(operands, ops)
        return Example(id=f"{self.name}/seed{seed}/{index}", prompt=prompt, answer=str(value),
                       meta={"operands": operands, "ops": ops})

    @staticmethod
    def _parse_prompt(prompt: str) -> tuple[list[int], list[str]]:
        m = re.fullmatch(r"(\d+(?:[-+*]\d+)*)=", prompt)
        if m is None:
            raise ValueError(f"not an arithmetic prompt: {prompt!r}")
        parts = re.split(r"([-+*])", m.group(1))
        return [int(p) for p in parts[0::2]], parts[1::2]

    def solution(self, example: Example) -> str:
        operands, ops = self._parse_prompt(example.prompt)
        steps, value = _arithmetic_steps(operands, ops)
        return ";".join(steps) + f". Answer: {value}"

    def extract(self, response: str) -> str | None:
        tail = last_answer_tail(response)
        if tail is None:
            return None
        m = INT_AFTER_RE.match(tail)
        if m is None:
            return None
        return str(int(m.group(1) + m.group(2).replace(",", "")))
