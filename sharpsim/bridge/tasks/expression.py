"""A safe parser of arithmetic expressions for the Game-of-24 checker (an ``ast`` whitelist, never ``eval``)."""

from __future__ import annotations

import ast
import re
from fractions import Fraction

__all__ = ["MAX_EXPRESSION_CHARS", "apply_op", "evaluate_expression"]


def apply_op(op: str, a: Fraction, b: Fraction) -> Fraction | None:
    """``a op b`` for ``op`` in ``+ - * /`` in exact arithmetic; ``None`` for a division by zero."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return None if b == 0 else a / b


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
            value = apply_op(op, left, right)
            if value is None:
                raise ValueError("division by zero")
            return value
        raise ValueError(f"{type(node).__name__} is not allowed in an expression (only integers, + - * /, "
                         "parentheses)")

    return walk(tree.body), numbers
