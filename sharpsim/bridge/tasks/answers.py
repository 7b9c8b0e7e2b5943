"""Answer parsing shared by the tasks: the ``Answer:`` marker, number and text canonicalisation.

Pure Python. Every task's ``extract`` looks at the text after the *last* answer marker
(:func:`last_answer_tail`) and reads its answer with one of the patterns below; JSONL data compares
canonical strings (:func:`canonical_answer`), so ``"1,234.50"``, ``"$1234.5"`` and ``"1234.5 dollars"``
all read as ``"1234.5"``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["ANSWER_RE", "BOOL_AFTER_RE", "EXPR_AFTER_RE", "GSM8K_MARK_RE", "INT_AFTER_RE", "NUMBER_RE",
           "canonical_answer", "canonical_number", "canonical_text", "last_answer_tail"]

#: The answer marker. Extraction looks at the text after the LAST match (case-insensitive).
ANSWER_RE = re.compile(r"answer\s*:", re.IGNORECASE)
#: GSM8K's final-answer marker (the text after the last ``####``).
GSM8K_MARK_RE = re.compile(r"####")
#: A decimal number: optional sign, digits with optional thousands commas, optional fraction part.
NUMBER_RE = re.compile(r"(?:(?<![\w)])[-+])?(?<![\d.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d|,\d)")
#: An integer right after the answer marker: optional sign (spaces allowed after it), digits (optionally
#: grouped by thousands commas); not followed by a digit, ",digit" or ".digit" (so "6.5" is no integer).
INT_AFTER_RE = re.compile(r"\s*([-+]?)\s*(\d{1,3}(?:,\d{3})+|\d+)(?!\d|,\d|\.\d)")
#: True/False right after the answer marker.
BOOL_AFTER_RE = re.compile(r"\s*(true|false)\b", re.IGNORECASE)
#: A Game-of-24 expression right after the answer marker: digits, + - * / ( ) and spaces/tabs.
EXPR_AFTER_RE = re.compile(r"[ \t]*([0-9+\-*/() \t]+)")


def last_answer_tail(response: str) -> str | None:
    """The text after the last ``Answer:`` marker (case-insensitive), or None without one."""
    last = None
    for m in ANSWER_RE.finditer(response):
        last = m
    return None if last is None else response[last.end():]


def canonical_number(text: str) -> str | None:
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


def canonical_text(text: str) -> str:
    """Whitespace collapsed, stripped, one trailing period removed, case-folded."""
    t = " ".join(text.split())
    if t.endswith("."):
        t = t[:-1].rstrip()
    return t.casefold()


def canonical_answer(text: str) -> str | None:
    """An answer string in canonical form (used for gold answers and for the text after a marker).

    If ``text`` (stripped, one leading ``$`` dropped) starts with a number (``NUMBER_RE``), that
    number in canonical form (so ``"5 dollars"`` and ``"$5."`` give ``"5"``); else the text
    canonicalised by :func:`canonical_text`; None if empty.
    """
    t = text.strip()
    if t.startswith("$"):
        t = t[1:].lstrip()
    m = NUMBER_RE.match(t)
    if m is not None:
        num = canonical_number(m.group(0))
        if num is not None:
            return num
    t = canonical_text(t)
    return t or None
