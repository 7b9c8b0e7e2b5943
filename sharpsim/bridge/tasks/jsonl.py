"""User data from a JSONL file: ``{"prompt", "answer"}`` rows or GSM8K-style ``{"question", "answer"}`` rows."""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sharpsim.bridge.tasks.answers import (
    ANSWER_RE,
    GSM8K_MARK_RE,
    NUMBER_RE,
    canonical_answer,
    canonical_number,
)
from sharpsim.bridge.tasks.base import Example, Task, check_n_seed

__all__ = ["JSONL_FORMATS", "JsonlTask", "load_jsonl"]

#: the accepted ``format`` arguments of :func:`load_jsonl`
JSONL_FORMATS = ("auto", "prompt", "gsm8k")


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
        check_n_seed(n, seed)
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
            return canonical_answer(response[last.end():].split("\n", 1)[0])
        nums = NUMBER_RE.findall(response)
        return canonical_number(nums[-1]) if nums else None


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
                answer = canonical_answer(raw)
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
                answer = canonical_answer(final)
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
