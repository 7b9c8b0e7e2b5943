"""An exact Game-of-24 solver in ``Fraction`` arithmetic."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

from sharpsim.bridge.tasks.expression import apply_op

__all__ = ["node_str", "solve24", "solve_tree"]

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}
# A solver node: an int leaf, or (op, left, right).
_Node = Any


def node_str(node: _Node) -> str:
    """Infix with the fewest parentheses that keep the tree (``-`` and ``/`` are left-associative)."""
    if isinstance(node, int):
        return str(node)
    op, left, right = node
    ls, rs = node_str(left), node_str(right)
    if not isinstance(left, int) and _PREC[left[0]] < _PREC[op]:
        ls = f"({ls})"
    if not isinstance(right, int) and (_PREC[right[0]] < _PREC[op]
                                       or (_PREC[right[0]] == _PREC[op] and op in "-/")):
        rs = f"({rs})"
    return f"{ls}{op}{rs}"


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
            v = apply_op(op, x, y)
            if v is None or (v < 0 and not allow_negative):
                continue
            found = _search([*rest, (v, (op, nx, ny))], target, allow_negative, failed)
            if found is not None:
                return found
    failed.add(key)
    return None


@lru_cache(maxsize=4096)
def solve_tree(numbers: tuple[int, ...], target: int) -> _Node | None:
    """The expression tree combining ``numbers`` (sorted) into ``target``, or ``None`` if there is none.

    First a search with non-negative intermediate values only (nicer steps), then a full one.
    A tree is an ``int`` leaf or ``(op, left, right)``; :func:`node_str` writes it in infix.
    """
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
    node = solve_tree(nums, int(target))
    return None if node is None else node_str(node)
