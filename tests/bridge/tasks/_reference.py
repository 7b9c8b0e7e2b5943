"""Shared by the task tests: the exact-value oracle of Game-of-24 style expressions, and the
hypothesis settings of the property tests."""

from __future__ import annotations

import re
from fractions import Fraction

from hypothesis import settings

#: hypothesis settings of the task property tests (25 examples, no deadline)
FAST = settings(max_examples=25, deadline=None)


def exact(expr: str) -> Fraction:
    """Exact value of a trusted expression over + - * / and integers (test oracle; the string is
    checked against a strict character whitelist before Python evaluates it with Fractions)."""
    assert re.fullmatch(r"[0-9+\-*/() ]+", expr), expr
    return eval(re.sub(r"\d+", lambda m: f"Fraction({m.group(0)})", expr), {"Fraction": Fraction})
