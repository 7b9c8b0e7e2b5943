"""Tasks that need no download: generators with exact checkers, and a JSONL loader for user data.

Pure Python (no torch, no jax). Every task is a :class:`Task` with

* ``examples(n, *, seed=0) -> list[Example]`` — deterministic in ``(n, seed)``; the first ``k`` of
  ``examples(n)`` equal ``examples(k)``; ids are unique within the task;
* ``solution(example) -> str`` — a correct reference response (the steps, then ``Answer: ...``);
* ``extract(response) -> str | None`` — the answer in a response, in canonical form, so that two
  responses with the same answer give the same string (majority vote can compare them directly);
* ``is_correct(example, response) -> bool`` — the exact checker on the extracted answer.

Built-in tasks (``get(name, **options)``; formats and regexes in ``theory/bridge_tasks.md``):

* ``"arithmetic"`` — multi-step integer arithmetic, ``"3+4*2-5="`` →
  ``"4*2=8;3+8=11;11-5=6. Answer: 6"``;
* ``"prontoqa"`` — ProntoQA-style syllogism chains with made-up category words, True/False;
* ``"game24"`` — four numbers in 1..13 to be combined into 24 (exact solver in Fractions; the
  checker parses the answer with a whitelisting ``ast`` parser, never ``eval``);
* ``"jsonl"`` — user data, ``{"prompt", "answer"}`` rows or GSM8K-style ``{"question", "answer"}``
  rows whose answer ends in ``#### 42`` (:func:`load_jsonl`).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import json
import numbers
import os
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "ANSWER_RE",
    "GSM8K_MARK_RE",
    "NUMBER_RE",
    "Arithmetic",
    "Example",
    "Game24",
    "JsonlTask",
    "ProntoQA",
    "Task",
    "evaluate_expression",
    "from_spec",
    "get",
    "load_jsonl",
    "names",
    "register",
    "solve24",
]

# ----------------------------------------------------------------------------------------------
# Shared pieces
# ----------------------------------------------------------------------------------------------

#: The answer marker. Extraction looks at the text after the LAST match (case-insensitive).
ANSWER_RE = re.compile(r"answer\s*:", re.IGNORECASE)
#: GSM8K's final-answer marker (the text after the last ``####``).
GSM8K_MARK_RE = re.compile(r"####")
#: A decimal number: optional sign, digits with optional thousands commas, optional fraction part.
NUMBER_RE = re.compile(r"(?:(?<![\w)])[-+])?(?<![\d.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d|,\d)")
#: An integer right after the answer marker: optional sign (spaces allowed after it), digits (optionally
#: grouped by thousands commas); not followed by a digit, ",digit" or ".digit" (so "6.5" is no integer).
_INT_AFTER_RE = re.compile(r"\s*([-+]?)\s*(\d{1,3}(?:,\d{3})+|\d+)(?!\d|,\d|\.\d)")
#: True/False right after the answer marker.
_BOOL_AFTER_RE = re.compile(r"\s*(true|false)\b", re.IGNORECASE)
#: A Game-of-24 expression right after the answer marker: digits, + - * / ( ) and spaces/tabs.
_EXPR_AFTER_RE = re.compile(r"[ \t]*([0-9+\-*/() \t]+)")


@dataclasses.dataclass(frozen=True)
class Example:
    """One task instance.

    Attributes:
        id: stable and unique within a task, e.g. ``"arithmetic/seed0/17"``.
        prompt: the text given to the LM.
        answer: the canonical answer string (what :meth:`Task.extract` returns for a right answer;
            for ``game24`` one solver expression — any correct expression is accepted).
        meta: JSON-friendly extras (e.g. the game-24 numbers, a JSONL row's line number).
    """

    id: str
    prompt: str
    answer: str
    meta: Mapping[str, Any] = field(default_factory=dict)


def _last_answer_tail(response: str) -> str | None:
    """The text after the last ``Answer:`` marker (case-insensitive), or None without one."""
    last = None
    for m in ANSWER_RE.finditer(response):
        last = m
    return None if last is None else response[last.end():]


def _check_int_option(task: str, option: str, value: Any, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"task {task!r}: option {option} must be an integer, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"task {task!r}: option {option} must be {bound}, got {value}")
    return value


def _check_n_seed(n: Any, seed: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")


class Task:
    """Base class of a task. Subclasses set ``name`` and ``description`` and implement
    ``_example(rng, seed, index)``, ``solution`` and ``extract``; the default ``is_correct`` is
    "the extracted string equals ``example.answer``" (game24 overrides it).

    ``examples(n, seed=s)`` draws example ``i`` from one ``random.Random`` seeded with the string
    ``"sharpsim.tasks/<name>/<s>"`` (Python hashes string seeds with SHA-512, so the stream does not
    depend on ``PYTHONHASHSEED``), in order, so the first ``k`` of ``n`` examples equal
    ``examples(k, seed=s)``. Ids are ``"<name>/seed<s>/<i>"``.
    """

    name: str = "task"
    description: str = ""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"

    def examples(self, n: int, *, seed: int = 0) -> list[Example]:
        """``n`` examples, deterministic in ``(n, seed)`` and the task's options."""
        _check_n_seed(n, seed)
        n, seed = int(n), int(seed)
        rng = random.Random(f"sharpsim.tasks/{self.name}/{seed}")
        return [self._example(rng, seed, i) for i in range(n)]

    def _example(self, rng: random.Random, seed: int, index: int) -> Example:  # pragma: no cover
        raise NotImplementedError

    def solution(self, example: Example) -> str:  # pragma: no cover
        """A correct reference response: the steps, then the answer in extractable form."""
        raise NotImplementedError

    def extract(self, response: str) -> str | None:  # pragma: no cover
        """The answer in ``response`` in canonical form, or None when there is none."""
        raise NotImplementedError

    def is_correct(self, example: Example, response: str) -> bool:
        """Whether the answer extracted from ``response`` is right for ``example`` (exact)."""
        got = self.extract(response)
        return got is not None and got == example.answer


# ----------------------------------------------------------------------------------------------
# Arithmetic
# ----------------------------------------------------------------------------------------------


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
        steps = _check_int_option(self.name, "steps", steps, low=1)
        max_operand = _check_int_option(self.name, "max_operand", max_operand, low=1)
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
        tail = _last_answer_tail(response)
        if tail is None:
            return None
        m = _INT_AFTER_RE.match(tail)
        if m is None:
            return None
        return str(int(m.group(1) + m.group(2).replace(",", "")))


# ----------------------------------------------------------------------------------------------
# ProntoQA-style syllogism chains
# ----------------------------------------------------------------------------------------------

#: Made-up category words (short, lower-case ASCII), as in ProntoQA's fictional ontologies.
PRONTOQA_WORDS: tuple[str, ...] = (
    "wump", "yump", "zump", "dax", "fep", "gorp", "lorp", "mip", "vox", "quib",
    "jub", "kiv", "norp", "tib", "zeb", "rax", "pim", "blick", "tove", "snib",
)
#: Names of the individual the chain is about.
PRONTOQA_NAMES: tuple[str, ...] = ("Max", "Sam", "Ann", "Bob", "Eve", "Tom", "Kim", "Lea")


class ProntoQA(Task):
    """ProntoQA-style syllogism chains with made-up category words, answered True or False.

    ``hops`` rules form a chain ``w0 -> w1 -> ... -> w_hops``; every rule is positive
    (``"Every w0 is a w1."``) except that the last one may be negative (``"Every w1 is not a w2."``).
    The fact is ``"<Name> is a w0."`` and the question ``"True or false: <Name> is [not] a w_hops."``.
    The answer is True iff the last rule's polarity equals the question's. Answers alternate with
    the example index (index 0 True, 1 False, ...), so any ``n`` examples are balanced to within
    one; which of the two polarity pairs gives the answer is drawn at random, so neither the word
    ``not`` in the rules nor in the question alone reveals the answer.

    Prompt (hops=2)::

        Every wump is a yump. Every yump is not a zump. Max is a wump. True or false: Max is a zump.

    Solution: ``"Max is a wump, so a yump, so not a zump. Answer: False"``. Extraction: ``True`` or
    ``False`` (any case) right after the last ``Answer:``, returned as ``"True"``/``"False"``.

    With ``distractors=k > 0``, ``k`` more rules ``"Every d is [not] a w_hops."`` about unused words
    ``d``, each with the polarity opposite to the chain's last rule, are added and all rules are
    shuffled, so the answer cannot be read off the one rule that mentions the asked category: the
    chain has to be followed. (Without distractors the answer is the XOR of the polarities of the
    last rule and the question, as in ProntoQA's plain chains.)

    Args:
        hops: rules in the chain, >= 1 (``hops + distractors + 1 <= len(PRONTOQA_WORDS)``); default 2.
        distractors: extra rules about other words, >= 0; default 0.
    """

    name = "prontoqa"

    def __init__(self, hops: int = 2, distractors: int = 0) -> None:
        super().__init__()
        hops = _check_int_option(self.name, "hops", hops, low=1, high=len(PRONTOQA_WORDS) - 1)
        distractors = _check_int_option(self.name, "distractors", distractors, low=0, high=len(PRONTOQA_WORDS) - 1 - hops)
        self.hops, self.distractors = hops, distractors
        self.options = {"hops": hops, "distractors": distractors}
        self.description = (f"ProntoQA-style syllogism chains of {hops} hop(s) with {distractors} distractor "
                            "rule(s), True/False after 'Answer:'")

    def _example(self, rng: random.Random, seed: int, index: int) -> Example:
        drawn = rng.sample(PRONTOQA_WORDS, self.hops + 1 + self.distractors)
        words, others = drawn[:self.hops + 1], drawn[self.hops + 1:]
        who = rng.choice(PRONTOQA_NAMES)
        truth = index % 2 == 0
        last_negative = rng.random() < 0.5
        question_negative = last_negative if truth else not last_negative
        rules = [f"Every {a} is a {b}." for a, b in itertools.pairwise(words[:-1])]
        rules.append(f"Every {words[-2]} is {'not ' if last_negative else ''}a {words[-1]}.")
        if others:
            rules += [f"Every {d} is {'' if last_negative else 'not '}a {words[-1]}." for d in others]
            rng.shuffle(rules)
        prompt = " ".join([*rules, f"{who} is a {words[0]}.",
                           f"True or false: {who} is {'not ' if question_negative else ''}a {words[-1]}."])
        return Example(id=f"{self.name}/seed{seed}/{index}", prompt=prompt, answer=str(truth),
                       meta={"name": who, "chain": words, "last_negative": last_negative,
                             "question_negative": question_negative})

    _RULE_RE = re.compile(r"Every (\w+) is (not )?a (\w+)\.")
    _FACT_RE = re.compile(r"(\w+) is a (\w+)\. True or false: \1 is (not )?a (\w+)\.$")

    def solution(self, example: Example) -> str:
        """Walk the chain from the fact through the rules (parsed from the prompt)."""
        rules = {a: (b, bool(neg)) for a, neg, b in self._RULE_RE.findall(example.prompt)}
        m = self._FACT_RE.search(example.prompt)
        if m is None or not rules:
            raise ValueError(f"not a prontoqa prompt: {example.prompt!r}")
        who, cat, q_neg, target = m.group(1), m.group(2), m.group(3) is not None, m.group(4)
        parts, negative = [f"{who} is a {cat}"], False
        while cat in rules and cat != target and not negative:
            cat, negative = rules[cat]
            parts.append(f"so {'not ' if negative else ''}a {cat}")
        if cat != target:
            raise ValueError(f"the chain in this prontoqa prompt does not reach {target!r}: {example.prompt!r}")
        return ", ".join(parts) + f". Answer: {negative == q_neg}"

    def extract(self, response: str) -> str | None:
        tail = _last_answer_tail(response)
        if tail is None:
            return None
        m = _BOOL_AFTER_RE.match(tail)
        return None if m is None else m.group(1).capitalize()


# ----------------------------------------------------------------------------------------------
# Game of 24
# ----------------------------------------------------------------------------------------------

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}
# A solver node: an int leaf, or (op, left, right).
_Node = Any


def _node_str(node: _Node) -> str:
    """Infix with the fewest parentheses that keep the tree (``-`` and ``/`` are left-associative)."""
    if isinstance(node, int):
        return str(node)
    op, left, right = node
    ls, rs = _node_str(left), _node_str(right)
    if not isinstance(left, int) and _PREC[left[0]] < _PREC[op]:
        ls = f"({ls})"
    if not isinstance(right, int) and (_PREC[right[0]] < _PREC[op]
                                       or (_PREC[right[0]] == _PREC[op] and op in "-/")):
        rs = f"({rs})"
    return f"{ls}{op}{rs}"


def _apply(op: str, a: Fraction, b: Fraction) -> Fraction | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return None if b == 0 else a / b


def _search(items: list[tuple[Fraction, _Node]], target: Fraction, allow_negative: bool,
            failed: set[tuple[Fraction, ...]]) -> _Node | None:
    """Depth-first search combining two items at a time; ``failed`` memoises value multisets that
    cannot reach ``target`` (the answer depends on the values only, not on how they were made)."""
    if len(items) == 1:
        return items[0][1] if items[0][0] == target else None
    key = tuple(sorted(v for v, _ in items))
    if key in failed:
        return None
    for i, j in itertools.combinations(range(len(items)), 2):
        rest = [items[k] for k in range(len(items)) if k not in (i, j)]
        (a, na), (b, nb) = items[i], items[j]
        if a < b:  # larger operand first: "13-2" rather than "2-13"
            (a, na), (b, nb) = (b, nb), (a, na)
        for op, x, y, nx, ny in (("+", a, b, na, nb), ("*", a, b, na, nb), ("-", a, b, na, nb),
                                 ("-", b, a, nb, na), ("/", a, b, na, nb), ("/", b, a, nb, na)):
            v = _apply(op, x, y)
            if v is None or (v < 0 and not allow_negative):
                continue
            found = _search([*rest, (v, (op, nx, ny))], target, allow_negative, failed)
            if found is not None:
                return found
    failed.add(key)
    return None


@lru_cache(maxsize=4096)
def _solve_sorted(numbers: tuple[int, ...], target: int) -> _Node | None:
    """First a search with non-negative intermediate values only (nicer steps), then a full one."""
    items = [(Fraction(x), x) for x in numbers]
    for allow_negative in (False, True):
        node = _search(items, Fraction(target), allow_negative, set())
        if node is not None:
            return node
    return None


def solve24(numbers: Sequence[int], target: int = 24) -> str | None:
    """An expression that combines ``numbers`` (each used once) with ``+ - * /`` into ``target``.

    Exact search over every order of combining two numbers at a time, in ``Fraction`` arithmetic,
    so ``None`` is a proof that no expression exists. Deterministic: the same multiset gives the
    same expression. Example: ``solve24([1, 5, 5, 5]) == "(5-1/5)*5"``-like (one of them).

    Args:
        numbers: the numbers (non-negative integers), any order; typically four in 1..13.
        target: the value to reach.
    """
    nums = tuple(sorted(int(x) for x in numbers))
    if not nums or any(x < 0 for x in nums):
        raise ValueError(f"numbers must be a non-empty sequence of non-negative integers, got {list(numbers)!r}")
    node = _solve_sorted(nums, int(target))
    return None if node is None else _node_str(node)


#: Longest expression the checker will parse (characters); longer answers are incorrect.
MAX_EXPRESSION_CHARS = 200
_EXPR_CHARS_RE = re.compile(r"[0-9+\-*/() \t]*")


def evaluate_expression(expression: str) -> tuple[Fraction, list[int]]:
    """Value and number literals of an arithmetic expression, parsed safely (never ``eval``).

    Allowed: non-negative decimal integer literals, binary ``+ - * /``, parentheses, spaces. The
    text must consist of the characters ``0-9 + - * / ( )``, space and tab only (this rules out
    names, calls, attributes, strings, floats, hex and underscore literals), is parsed with
    ``ast.parse(mode="eval")`` and walked with a whitelist: ``Expression``, ``BinOp`` with
    ``Add``/``Sub``/``Mult``/``Div``, and ``Constant`` holding an ``int``. Unary minus and plus are
    refused (Game-of-24 rules). Arithmetic is exact in ``Fraction``.

    Returns:
        ``(value, numbers)``: the exact value and the integer literals in order of appearance.

    Raises:
        ValueError: for anything outside the whitelist, a syntax error, text longer than
            ``MAX_EXPRESSION_CHARS``, or a division by zero.
    """
    if not isinstance(expression, str):
        raise ValueError(f"expression must be a string, got {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    if _EXPR_CHARS_RE.fullmatch(expression) is None:
        raise ValueError(f"expression may contain only digits, + - * / ( ) and spaces: {expression!r}")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise ValueError(f"not a valid expression: {expression!r} ({err.__class__.__name__})") from None
    numbers: list[int] = []

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            numbers.append(node.value)
            return Fraction(node.value)
        if isinstance(node, ast.BinOp):
            ops = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
            op = ops.get(type(node.op))
            if op is None:
                raise ValueError(f"operator {type(node.op).__name__} is not allowed (only + - * /)")
            left, right = walk(node.left), walk(node.right)
            value = _apply(op, left, right)
            if value is None:
                raise ValueError("division by zero")
            return value
        raise ValueError(f"{type(node).__name__} is not allowed in an expression (only integers, + - * /, "
                         "parentheses)")

    return walk(tree.body), numbers


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
        max_number = _check_int_option(self.name, "max_number", max_number, low=1, high=100)
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
        node = _solve_sorted(tuple(sorted(nums)), self.target)
        if node is None:
            raise ValueError(f"no solution for {nums}")
        steps: list[str] = []

        def show(v: Fraction) -> str:
            return str(v.numerator) if v.denominator == 1 else f"({v.numerator}/{v.denominator})"

        def walk(n: _Node) -> Fraction:
            if isinstance(n, int):
                return Fraction(n)
            op, left, right = n
            a, b = walk(left), walk(right)
            v = _apply(op, a, b)
            steps.append(f"{show(a)}{op}{show(b)}={show(v)}")
            return v

        walk(node)
        return ";".join(steps) + f". Answer: {_node_str(node)}"

    def extract(self, response: str) -> str | None:
        tail = _last_answer_tail(response)
        if tail is None:
            return None
        m = _EXPR_AFTER_RE.match(tail)
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


# ----------------------------------------------------------------------------------------------
# JSONL user data
# ----------------------------------------------------------------------------------------------

JSONL_FORMATS = ("auto", "prompt", "gsm8k")


def _canonical_number(text: str) -> str | None:
    """``text`` (a NUMBER_RE match) as a canonical decimal string: commas and spaces dropped,
    no exponent, trailing fractional zeros dropped, ``-0`` → ``0``; None if not a number."""
    cleaned = re.sub(r"[\s,]", "", text).lstrip("+")
    try:
        d = Decimal(cleaned)
    except InvalidOperation:
        return None
    if d == d.to_integral_value():
        return str(int(d))
    s = format(d.normalize(), "f")
    return s


def _canonical_text(text: str) -> str:
    """Whitespace collapsed, stripped, one trailing period removed, case-folded."""
    t = " ".join(text.split())
    if t.endswith("."):
        t = t[:-1].rstrip()
    return t.casefold()


def _canonical_answer(text: str) -> str | None:
    """An answer string in canonical form (used for gold answers and for the text after a marker).

    If ``text`` (stripped, one leading ``$`` dropped) starts with a number (``NUMBER_RE``), that
    number in canonical form (so ``"5 dollars"`` and ``"$5."`` give ``"5"``); else the text
    canonicalised by :func:`_canonical_text`; None if empty.
    """
    t = text.strip()
    if t.startswith("$"):
        t = t[1:].lstrip()
    m = NUMBER_RE.match(t)
    if m is not None:
        num = _canonical_number(m.group(0))
        if num is not None:
            return num
    t = _canonical_text(t)
    return t or None


class JsonlTask(Task):
    """User data from a JSONL file (see :func:`load_jsonl` for the row formats).

    ``examples(n, seed=0)`` returns the first ``n`` rows in file order; another seed returns the
    first ``n`` rows of a fixed permutation drawn from ``random.Random("sharpsim.tasks/jsonl/<seed>")``.
    ``n`` larger than the number of rows is an error. Ids are the rows' ``"id"`` field when the file
    has one (as a string), else ``"<stem>/L<line number>"``, and do not depend on the seed.

    Extraction: the text after the last ``Answer:`` (case-insensitive) or ``####``, whichever comes
    last, up to the end of that line; if it starts with a number (``NUMBER_RE``, an optional
    ``$``), that number in canonical form, else the text canonicalised (whitespace collapsed,
    trailing period dropped, case-folded). Without either marker: the last number in the response
    (canonical), else None. Canonical numbers drop commas and trailing fractional zeros, so
    ``"1,234.50"`` → ``"1234.5"`` and ``"42.0"`` → ``"42"``. The checker compares the extracted
    string with the example's canonical ``answer``.
    """

    name = "jsonl"

    def __init__(self, rows: Sequence[Example], *, path: str | os.PathLike | None = None, format: str = "prompt"):
        super().__init__()
        if not rows:
            raise ValueError(f"JSONL file {path} has no rows")
        self._rows = list(rows)
        self.path = None if path is None else str(path)
        self.format = format
        self.options = {"path": self.path, "format": format}
        self.description = f"{len(self._rows)} rows of {format!r} format from {self.path}"

    def __len__(self) -> int:
        return len(self._rows)

    def examples(self, n: int, *, seed: int = 0) -> list[Example]:
        _check_n_seed(n, seed)
        n, seed = int(n), int(seed)
        if n > len(self._rows):
            raise ValueError(f"n must be <= the number of rows ({len(self._rows)}) in {self.path}, got {n}")
        order = list(range(len(self._rows)))
        if seed != 0:
            random.Random(f"sharpsim.tasks/{self.name}/{seed}").shuffle(order)
        return [self._rows[i] for i in order[:n]]

    def solution(self, example: Example) -> str:
        """The row's reference solution (GSM8K: the answer text ending in ``#### <value>``; a
        ``{"prompt", "answer"}`` row: its ``"solution"`` field if given, else ``"Answer: <answer>"``)."""
        ref = example.meta.get("solution") if example.meta else None
        return ref if isinstance(ref, str) else f"Answer: {example.answer}"

    def extract(self, response: str) -> str | None:
        last = None
        for m in itertools.chain(ANSWER_RE.finditer(response), GSM8K_MARK_RE.finditer(response)):
            if last is None or m.end() > last.end():
                last = m
        if last is not None:
            return _canonical_answer(response[last.end():].split("\n", 1)[0])
        nums = NUMBER_RE.findall(response)
        return _canonical_number(nums[-1]) if nums else None


def _row_error(path: Path, line: int, message: str) -> ValueError:
    return ValueError(f"{path}: line {line}: {message}")


def _string_field(row: dict, key: str, path: Path, line: int, *, allow_number: bool = False) -> str:
    if key not in row:
        raise _row_error(path, line, f"missing field {key!r}")
    v = row[key]
    if allow_number and isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    if not isinstance(v, str):
        kind = "a string or a number" if allow_number else "a string"
        raise _row_error(path, line, f"field {key!r} must be {kind}, got {type(v).__name__}")
    if not v.strip():
        raise _row_error(path, line, f"field {key!r} is empty")
    return v


def load_jsonl(path: str | os.PathLike, *, format: str = "auto") -> JsonlTask:
    """Load a JSONL file of examples as a task. One JSON object per line; blank lines skipped.

    Formats:
        ``"prompt"``: ``{"prompt": str, "answer": str | number}``, optional ``"id"`` (str or int,
            unique) and ``"solution"`` (str, a reference response).
        ``"gsm8k"``: ``{"question": str, "answer": str}`` where the answer is a worked solution
            whose final value follows the last ``####`` (commas stripped: ``"#### 1,000"`` → ``1000``);
            optional ``"id"``. The prompt is the question; the reference solution the answer text.
        ``"auto"``: ``"prompt"`` if the first row has a ``"prompt"`` field, ``"gsm8k"`` if it has a
            ``"question"`` field; every row must then follow that format.

    Raises:
        FileNotFoundError: the file does not exist (the message names the path).
        ValueError: unknown ``format``; a line that is not JSON or not an object (with its line
            number); a row missing a field or with a field of the wrong type (line number and
            field); a GSM8K answer without ``####``; duplicate ids; an empty file.
    """
    if format not in JSONL_FORMATS:
        raise ValueError(f"format must be one of {', '.join(JSONL_FORMATS)}, got {format!r}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"JSONL file not found: {p}")
    if not p.is_file():
        raise ValueError(f"JSONL path is not a file: {p}")
    fmt = None if format == "auto" else format
    rows: list[Example] = []
    seen: dict[str, int] = {}
    with p.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise _row_error(p, line_no, f"not valid JSON ({err.msg} at column {err.colno})") from None
            if not isinstance(row, dict):
                raise _row_error(p, line_no, f"expected a JSON object, got {type(row).__name__}")
            if fmt is None:
                if "prompt" in row:
                    fmt = "prompt"
                elif "question" in row:
                    fmt = "gsm8k"
                else:
                    raise _row_error(p, line_no, "missing field 'prompt' (or 'question' for GSM8K-style rows)")
            meta: dict[str, Any] = {"line": line_no}
            if fmt == "prompt":
                prompt = _string_field(row, "prompt", p, line_no)
                raw = _string_field(row, "answer", p, line_no, allow_number=True)
                answer = _canonical_answer(raw)
                if answer is None:
                    raise _row_error(p, line_no, "field 'answer' is empty once whitespace and a final '.' are "
                                                 "removed")
                if "solution" in row:
                    meta["solution"] = _string_field(row, "solution", p, line_no)
            else:
                prompt = _string_field(row, "question", p, line_no)
                raw = _string_field(row, "answer", p, line_no)
                if "####" not in raw:
                    raise _row_error(p, line_no, "field 'answer' must contain '####' before the final answer "
                                                 "(GSM8K format)")
                final = raw.rsplit("####", 1)[1].strip()
                if not final:
                    raise _row_error(p, line_no, "field 'answer' has nothing after '####'")
                answer = _canonical_answer(final)
                if answer is None:  # pragma: no cover - final is non-empty, so is its canonical form
                    raise _row_error(p, line_no, "field 'answer' has nothing after '####'")
                meta["solution"] = raw
            meta["raw_answer"] = raw
            if "id" in row:
                rid = row["id"]
                if isinstance(rid, bool) or not isinstance(rid, (str, int)):
                    raise _row_error(p, line_no, f"field 'id' must be a string or an integer, got {type(rid).__name__}")
                ex_id = str(rid)
            else:
                ex_id = f"{p.stem}/L{line_no}"
            if ex_id in seen:
                raise _row_error(p, line_no, f"duplicate id {ex_id!r} (first on line {seen[ex_id]})")
            seen[ex_id] = line_no
            rows.append(Example(id=ex_id, prompt=prompt, answer=answer, meta=meta))
    if not rows:
        raise ValueError(f"JSONL file {p} has no rows")
    return JsonlTask(rows, path=p, format=fmt or "prompt")


# ----------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------

def _jsonl_factory(path: str | os.PathLike | None = None, format: str = "auto") -> JsonlTask:
    if path is None:
        raise ValueError("task 'jsonl' needs the option path=<file.jsonl>")
    return load_jsonl(path, format=format)


_REGISTRY: dict[str, Callable[..., Task]] = {
    "arithmetic": Arithmetic,
    "prontoqa": ProntoQA,
    "game24": Game24,
    "jsonl": _jsonl_factory,
}


def names() -> list[str]:
    """Names of the registered tasks, sorted."""
    return sorted(_REGISTRY)


def register(name: str, factory: Callable[..., Task]) -> None:
    """Register a user task: ``get(name, **options)`` will return ``factory(**options)``.

    Raises:
        ValueError: ``name`` is not a non-empty string without ``:`` or whitespace, is already
            registered, or ``factory`` is not callable.
    """
    if not isinstance(name, str) or not name or re.search(r"[\s:,=]", name):
        raise ValueError(f"name must be a non-empty string without spaces, ':', ',' or '=', got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"task {name!r} is already registered")
    if not callable(factory):
        raise ValueError(f"factory must be callable, got {type(factory).__name__}")
    _REGISTRY[name] = factory


def get(name: str, **options: Any) -> Task:
    """The task ``name`` built with ``options`` (e.g. ``get("arithmetic", steps=3)``).

    Raises:
        ValueError: unknown name (the message lists the available names), an option the task does
            not take (the message lists its options), or a bad option value (the message names it).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; available: {', '.join(names())}")
    factory = _REGISTRY[name]
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        sig = None
    if sig is not None:
        params = sig.parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        allowed = [k for k, p in params.items()
                   if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        unknown = [k for k in options if k not in allowed]
        if unknown and not takes_any:
            raise ValueError(f"task {name!r} has no option {unknown[0]!r}; options: "
                             f"{', '.join(allowed) if allowed else '(none)'}")
    task = factory(**options)
    if not isinstance(task, Task):
        raise ValueError(f"the factory registered for task {name!r} returned {type(task).__name__}, not a Task")
    return task


def from_spec(spec: str) -> Task:
    """A task from a command-line spec ``"name"`` or ``"name:key=value,key=value"``.

    Values that look like integers are passed as ints, others as strings, e.g.
    ``from_spec("arithmetic:steps=3,ops=+*")`` or ``from_spec("jsonl:path=data.jsonl")``.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"task spec must be a non-empty string, got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    options: dict[str, Any] = {}
    if rest:
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ValueError(f"task spec {spec!r}: expected key=value, got {item!r}")
            value = value.strip()
            options[key.strip()] = int(value) if re.fullmatch(r"[-+]?\d+", value) else value
    return get(name.strip(), **options)
