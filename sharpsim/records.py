"""Records and resumption: append-only tables, manifests and atomic files (pure Python; no torch, no jax).

One module for everything that writes results to disk so that a killed computation resumes where
it stopped and nothing finished is ever overwritten. It serves the figure sweeps of
:mod:`sharpsim.experiments`, the run directories of the LM bridge (:mod:`sharpsim.bridge.runs`)
and the ``paper_repro`` scripts.

Pieces:

* JSON: :func:`jsonable` (plain JSON types; numpy scalars and arrays, paths, sets, dataclasses
  converted; non-finite floats become ``null``), :func:`plain` (dataclasses and containers to plain
  dicts and lists, leaves untouched) and :func:`config_hash` (a short stable digest of a
  configuration);
* atomic files: :func:`atomic_write_text`, :func:`write_json`, :func:`read_json` — a file is either
  its old or its new content, never a mix;
* append-only JSON lines: :func:`read_jsonl` and :func:`append_jsonl` (one ``write`` per append,
  flushed and fsynced; a partial last line left by a killed write is dropped on read and cut off
  before the next append);
* CSV: :func:`write_csv` (a whole summary table, atomically) and the append-only :class:`CsvTable` (header written once, rows appended together and fsynced,
  a different set of columns refused, so an existing file is never overwritten) and
  :func:`run_cells` (compute every cell not yet in the table, appending each as it finishes);
* provenance: :func:`versions` (package versions from metadata, nothing imported) and
  :func:`utc_now`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import importlib.metadata
import io
import json
import math
import os
import platform as _platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CsvTable",
    "append_jsonl",
    "atomic_write_text",
    "config_hash",
    "jsonable",
    "parse_csv_value",
    "plain",
    "read_json",
    "read_jsonl",
    "run_cells",
    "utc_now",
    "versions",
    "write_csv",
    "write_json",
]


# ============================================================================ JSON values
def _numpy():
    """The numpy module if it is already imported (an object cannot be a numpy value otherwise)."""
    return sys.modules.get("numpy")


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types, for writing.

    Mappings become dicts with string keys; lists and tuples lists; sets sorted lists; dataclass
    instances dicts of their fields; numpy arrays and scalars their Python values; non-finite
    floats ``None`` (JSON has no NaN); ``os.PathLike`` its path string; ``None``, bools, ints and
    strings are kept; anything else becomes ``str(obj)``.

    Args:
      obj: any value.

    Returns:
      A value made of dicts, lists, strings, numbers, bools and ``None``.
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(jsonable(v) for v in obj)
    np = _numpy()
    if np is not None:
        if isinstance(obj, np.ndarray):
            return jsonable(obj.tolist())
        if isinstance(obj, np.generic):
            return jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return str(obj)


def plain(obj: Any) -> Any:
    """Dataclass instances, dicts, lists and tuples turned into plain dicts and lists; leaves untouched.

    Unlike :func:`jsonable` nothing is lost or renamed (a NaN stays NaN), so two configurations
    that differ anywhere give different :func:`config_hash` values.

    Args:
      obj: a (nested) configuration.

    Returns:
      The same structure with dataclasses as dicts of their fields and tuples as lists.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [plain(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): plain(o) for k, o in obj.items()}
    return obj


def config_hash(config: Any) -> str:
    """A short, stable digest of a configuration (a dataclass or nested dicts/lists of JSON values).

    Args:
      config: the configuration; it is passed through :func:`plain` and serialised with sorted keys.

    Returns:
      The first 12 hex digits of the SHA-256 of that serialisation.

    Raises:
      TypeError: a leaf of ``config`` is not JSON-serialisable.
    """
    payload = json.dumps(plain(config), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


# ============================================================================ atomic files
def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, fsynced, then renamed.

    Args:
      path: the file; its folder must exist.
      text: the content (UTF-8).

    Returns:
      ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_json(path, obj: Any) -> Path:
    """Write ``obj`` (through :func:`jsonable`) as indented JSON with a final newline, atomically.

    Args:
      path: the file; its folder must exist.
      obj: the value.

    Returns:
      ``path`` as a :class:`~pathlib.Path`.
    """
    return atomic_write_text(path, json.dumps(jsonable(obj), indent=2) + "\n")


def read_json(path, default: Any = None) -> Any:
    """The JSON value in ``path``, or ``default`` when there is no such file.

    Raises:
      json.JSONDecodeError: the file is not valid JSON.
    """
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default


def utc_now(t: float | None = None) -> str:
    """``t`` (default: now) as an ISO-8601 UTC time stamp to the second, e.g. ``2025-01-31T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def versions(packages: Sequence[str], *, with_platform: bool = False) -> dict[str, str | None]:
    """The Python version and the installed versions of ``packages`` (``None`` where absent).

    Read from package metadata, so nothing (torch, jax) is imported.

    Args:
      packages: distribution names, e.g. ``("sharpsim", "numpy")``.
      with_platform: also record ``platform.platform()`` under ``"platform"``.

    Returns:
      ``{"python": "3.x.y", ["platform": ...,] name: version or None, ...}`` in that order.
    """
    out: dict[str, str | None] = {"python": _platform.python_version()}
    if with_platform:
        out["platform"] = _platform.platform()
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


# ============================================================================ JSON lines
def read_jsonl(path) -> tuple[list[dict], bool]:
    """The rows of an append-only JSON-lines file, and whether its last line was partial.

    A last line without its newline (a write killed midway) is dropped and reported; blank lines
    are skipped.

    Args:
      path: the file (a missing file has no rows).

    Returns:
      ``(rows, partial)``: the complete rows in file order, and ``True`` if a partial last line was
      dropped.

    Raises:
      ValueError: a line other than the last is not a JSON object (names the file and line).
    """
    path = Path(path)
    if not path.exists():
        return [], False
    lines = path.read_bytes().split(b"\n")
    partial = lines[-1] != b""
    rows = []
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: line {number} is not valid JSON ({err.msg}); the file is damaged") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}: line {number} is not a JSON object")
        rows.append(row)
    return rows, partial


def _cut_partial_line(path: Path) -> bool:
    """Cut a partial last line (no trailing newline) off ``path``; returns whether there was one."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with open(path, "rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return False
        fh.seek(0)
        keep = fh.read().rfind(b"\n") + 1
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def append_jsonl(path, rows: Sequence[Mapping]) -> bool:
    """Append ``rows`` to a JSON-lines file in one write, then flush and fsync.

    A partial last line (a killed earlier write) is cut off first, so the new rows start on a line
    of their own. Values go through :func:`jsonable`; lines are compact (``","`` and ``":"``).

    Args:
      path: the file (created if absent; its folder must exist).
      rows: dicts; nothing is written for an empty sequence.

    Returns:
      ``True`` if a partial last line was cut off.

    Raises:
      ValueError: a row is not a mapping (names its index).
    """
    path = Path(path)
    rows = list(rows)
    if not rows:
        return False
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ValueError(f"rows[{i}] must be a dict, got {type(row).__name__}")
    cut = _cut_partial_line(path)
    text = "".join(json.dumps(jsonable(r), separators=(",", ":")) + "\n" for r in rows)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return cut


# ============================================================================ CSV
def parse_csv_value(value: str) -> Any:
    """A CSV cell as Python: ``"True"``/``"False"`` as bools, integers and floats as numbers, else the string."""
    if value in ("True", "False"):
        return value == "True"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def write_csv(path, rows: Sequence[Mapping]) -> Path:
    """Write a whole tidy table to ``path`` at once, atomically (for summaries written at the end).

    Columns are the union of the rows' keys in first-seen order; values go through
    :func:`jsonable`; ``None`` is written empty and lists/dicts as JSON; lines end in ``"\\n"``.

    Args:
      path: the CSV file; its folder must exist.
      rows: dicts (an empty sequence writes an empty header line).

    Returns:
      ``path`` as a :class:`~pathlib.Path`.
    """
    rows = [jsonable(r) for r in rows]
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else json.dumps(v) if isinstance(v, (list, dict)) else v)
                         for k, v in r.items()})
    return atomic_write_text(path, buf.getvalue())


def _matches(raw_row: Mapping[str, str], where: Mapping[str, Any]) -> bool:
    """Whether a row as read from disk (strings) carries every ``{column: value}`` of ``where``.

    A cell matches when its text equals ``str(value)`` or its parsed value equals ``value``, so a
    string such as the digest ``"880180e43465"`` is compared as written, never as the float it
    would parse to.
    """
    for k, v in where.items():
        cell = raw_row.get(k)
        if cell is None or not (cell == str(v) or parse_csv_value(cell) == v):
            return False
    return True


class CsvTable:
    """An append-only CSV file of result rows: never rewritten, resumable by key.

    The header is written with the first rows; every later append must have exactly those
    columns, in that order, else it is refused (so a file written by another computation is never
    mixed with, or overwritten by, this one). The rows of one :meth:`append` land in one write,
    flushed and fsynced, so a group of rows is either all on disk or absent.

    Args:
      path: the CSV file (its folder is created on the first append).
      float_format: optional format spec for float cells (e.g. ``".6g"``); default ``str(value)``.
      text_columns: columns read back as text even when parsing (default: ``config_hash``).
    """

    def __init__(self, path, *, float_format: str | None = None, text_columns: Sequence[str] = ("config_hash",)):
        self.path = Path(path)
        self.float_format = float_format
        self.text_columns = tuple(text_columns)

    def parse_row(self, row: Mapping[str, str]) -> dict:
        """A row as read from disk with its cells through :func:`parse_csv_value`, except the
        ``text_columns`` (digests such as ``"880180e43465"`` would otherwise parse as floats)."""
        return {k: (v if k in self.text_columns else parse_csv_value(v)) for k, v in row.items()}

    def header(self) -> list[str] | None:
        """The column names on disk, or ``None`` when the file does not exist or is empty."""
        if not self.path.exists():
            return None
        with self.path.open(newline="") as fh:
            return next(csv.reader(fh), None)

    def rows(self, *, parse: bool = False) -> list[dict]:
        """The rows on disk in file order (``[]`` without a file); with ``parse``, cells via :func:`parse_csv_value`."""
        if not self.path.exists():
            return []
        with self.path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            if parse:
                return [self.parse_row(row) for row in reader]
            return list(reader)

    def keys(self, columns: Sequence[str], *, where: Mapping[str, Any] | None = None,
             parse: bool = False) -> set[tuple[str, ...]]:
        """The keys already on disk: ``tuple(str(row[c]) for c in columns)`` of every row matching ``where``.

        Args:
          columns: the key columns.
          where: optional ``{column: value}`` that a row must match (see :func:`_matches`).
          parse: read cells through :func:`parse_csv_value` first (so ``"0.50"`` gives the key ``"0.5"``).
        """
        where = dict(where or {})
        rows = [r for r in self.rows() if _matches(r, where)]
        if parse:
            rows = [self.parse_row(r) for r in rows]
        return {tuple(str(r[c]) for c in columns) for r in rows}

    def _cell(self, value):
        if self.float_format is not None and isinstance(value, float):
            return format(value, self.float_format)
        return value

    def append(self, rows: Sequence[Mapping]) -> None:
        """Append ``rows`` (dicts with the same keys in the same order) in one write, flushed and fsynced.

        Writes the header first when the file is new. ``None`` cells are written empty.

        Raises:
          ValueError: a row's columns differ from the file's header or from the first row's
            (the message says to choose another output folder instead of overwriting).
        """
        rows = list(rows)
        if not rows:
            return
        header = self.header()
        new = header is None
        if new:
            header = list(rows[0])
        for row in rows:
            if list(row) != header:
                raise ValueError(
                    f"{self.path} holds results with columns {header}, but these rows have columns "
                    f"{list(row)}; pass another output directory (`--out`) or move the old file away "
                    "instead of overwriting it")
        buf = io.StringIO()
        writer = csv.writer(buf)
        if new:
            writer.writerow(header)
        writer.writerows([[self._cell(row[k]) for k in header] for row in rows])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="") as fh:
            fh.write(buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())


def run_cells(cells: Iterable[Mapping], run_cell: Callable[[dict], Mapping | list[Mapping]], table: CsvTable, *,
              prefix: Mapping[str, Any] | None = None, progress: bool = False, desc: str = "") -> list[dict]:
    """Compute every cell not yet in ``table``; return all of this computation's rows in cell order.

    A cell is a dict of sweep variables; its key is its values (as strings) under its own column
    names, the first cell's keys. ``prefix`` (e.g. ``{"config_hash": digest}``) is prepended to
    every row and restricts resumption to the rows on disk that carry it, so rows of other
    configurations stay in the file untouched. ``run_cell(cell)`` returns one row or a list of
    rows (e.g. one per seed); each row is ``{**prefix, **cell, **row}``. All rows of a cell are
    appended together as soon as the cell finishes, so a killed run loses at most the cell in
    progress.

    Args:
      cells: the cells, in the order of the returned rows.
      run_cell: computes one cell.
      table: the append-only CSV.
      prefix: columns put first in every row, and the filter for what counts as done.
      progress: show a tqdm bar over the cells still to do.
      desc: the bar's label.

    Returns:
      The rows of ``table`` that carry ``prefix``, parsed (:func:`parse_csv_value`), sorted by the
      position of their cell in ``cells`` (rows of unknown cells last).

    Raises:
      ValueError: the table on disk has other columns (see :meth:`CsvTable.append`).
    """
    prefix = dict(prefix or {})
    cells = [dict(c) for c in cells]
    key_names = list(cells[0]) if cells else []
    done = table.keys(key_names, where=prefix, parse=True)
    todo = [c for c in cells if tuple(str(c[k]) for k in key_names) not in done]
    bar = todo
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(todo, desc=desc, leave=False)
    for cell in bar:
        out = run_cell(cell)
        table.append([{**prefix, **cell, **r} for r in (out if isinstance(out, list) else [out])])
    rows = [table.parse_row(r) for r in table.rows() if _matches(r, prefix)]
    order = {tuple(str(c[k]) for k in key_names): i for i, c in enumerate(cells)}
    rows.sort(key=lambda r: order.get(tuple(str(r[k]) for k in key_names), len(order)))
    return rows
