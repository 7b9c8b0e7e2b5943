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
  :func:`run_cells` (compute every cell not yet in the table, appending each as it finishes, in this
  process or on a cluster, :mod:`sharpsim.executors`; :func:`pending_path` holds cells finished
  before an earlier one);
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
    "pending_path",
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

    def check_columns(self, rows: Sequence[Mapping]) -> list[str]:
        """The header ``rows`` would be appended under, after checking that every row has its columns.

        Args:
          rows: dicts (at least one).

        Returns:
          The file's header, or the first row's columns when the file is new.

        Raises:
          ValueError: a row's columns differ from the file's header or from the first row's
            (the message says to choose another output folder instead of overwriting).
        """
        header = self.header()
        if header is None:
            header = list(rows[0])
        for row in rows:
            if list(row) != header:
                raise ValueError(
                    f"{self.path} holds results with columns {header}, but these rows have columns "
                    f"{list(row)}; pass another output directory (`--out`) or move the old file away "
                    "instead of overwriting it")
        return header

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
        new = self.header() is None
        header = self.check_columns(rows)
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


def pending_path(path) -> Path:
    """The side file of a CSV's finished cells still waiting for an earlier cell: ``<dir>/.<name>.pending``.

    A sweep whose cells finish out of order (:class:`sharpsim.executors.DaskExecutor`) appends a
    cell that finishes before an earlier one here at once, and moves it into the CSV when every
    earlier cell is there; the file is removed when nothing in it is waiting any more.

    Args:
      path: the CSV file.

    Returns:
      The pending file's path (it may not exist).
    """
    path = Path(path)
    return path.with_name(f".{path.name}.pending")


def _prune_pending(pending: CsvTable, table: CsvTable, prefix: Mapping[str, Any], key_names: list[str]) -> None:
    """Drop from ``pending`` the rows of ``prefix`` whose cell is in ``table``; remove it when empty."""
    done = table.keys(key_names, where=prefix, parse=True)
    header = pending.header()
    rows = pending.rows()
    keep = [r for r in rows if not (_matches(r, prefix)
                                    and tuple(str(pending.parse_row(r)[k]) for k in key_names) in done)]
    if len(keep) == len(rows) and rows:
        return
    if not keep:
        pending.path.unlink(missing_ok=True)
        return
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows([[r[k] for k in header] for r in keep])
    atomic_write_text(pending.path, buf.getvalue())


def run_cells(cells: Iterable[Mapping], run_cell: Callable[[dict], Mapping | list[Mapping]], table: CsvTable, *,
              prefix: Mapping[str, Any] | None = None, progress: bool = False, desc: str = "",
              executor=None) -> list[dict]:
    """Compute every cell not yet in ``table``; return all of this computation's rows in cell order.

    A cell is a dict of sweep variables; its key is its values (as strings) under its own column
    names, the first cell's keys. ``prefix`` (e.g. ``{"config_hash": digest}``) is prepended to
    every row and restricts resumption to the rows on disk that carry it, so rows of other
    configurations stay in the file untouched. ``run_cell(cell)`` returns one row or a list of
    rows (e.g. one per seed); each row is ``{**prefix, **cell, **row}``. All rows of a cell are
    appended together as soon as the cell finishes, so a killed run loses at most the cells in
    progress.

    The cells are computed by ``executor`` (:mod:`sharpsim.executors`); this process alone writes.
    Rows land in ``table`` in cell order whatever the executor, so the file is byte for byte the
    one an in-process run writes: a cell finishing before an earlier one is appended at once to
    the side file :func:`pending_path` (same columns, same formatting) and moved into ``table``
    when every earlier cell is there. A rerun counts the cells in the side file as done.

    Args:
      cells: the cells, in the order of the returned rows.
      run_cell: computes one cell (it must pickle for a remote executor).
      table: the append-only CSV.
      prefix: columns put first in every row, and the filter for what counts as done.
      progress: show a tqdm bar over the cells still to do.
      desc: the bar's label (and the task names on a cluster).
      executor: an :class:`sharpsim.executors.Executor`; ``None``: :func:`sharpsim.executors.current`
        (:class:`~sharpsim.executors.InProcess` unless set by :func:`sharpsim.executors.use`).

    Returns:
      The rows of ``table`` that carry ``prefix``, parsed (:func:`parse_csv_value`), sorted by the
      position of their cell in ``cells`` (rows of unknown cells last).

    Raises:
      ValueError: the table on disk has other columns (see :meth:`CsvTable.append`).
      TypeError: ``executor`` is not an executor, or cannot ship ``run_cell``.
    """
    from sharpsim import executors

    executor = executors.resolve(executor)
    prefix = dict(prefix or {})
    cells = [dict(c) for c in cells]
    key_names = list(cells[0]) if cells else []

    def key(cell: Mapping) -> tuple[str, ...]:
        return tuple(str(cell[k]) for k in key_names)

    done = table.keys(key_names, where=prefix, parse=True)
    todo = [c for c in cells if key(c) not in done]
    pending = CsvTable(pending_path(table.path), float_format=table.float_format, text_columns=table.text_columns)
    held: dict[int, list[dict]] = {}  # position in todo -> finished rows waiting for an earlier cell
    if todo and pending.path.exists():
        parked: dict[tuple[str, ...], list[dict]] = {}
        for r in pending.rows():
            if _matches(r, prefix):
                parked.setdefault(key(pending.parse_row(r)), []).append(r)
        for j, c in enumerate(todo):
            if key(c) in parked:
                held[j] = parked.pop(key(c))
    compute = [j for j in range(len(todo)) if j not in held]
    position = 0  # the first cell of todo not yet in table

    def flush() -> None:
        nonlocal position
        while position in held:
            table.append(held.pop(position))
            position += 1

    flush()
    bar = None
    if progress and compute:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(compute), desc=desc, leave=False)
    results = executor.imap_unordered(run_cell, [todo[j] for j in compute], name=desc)
    try:
        for i, out in results:
            j = compute[i]
            rows = [{**prefix, **todo[j], **r} for r in (out if isinstance(out, list) else [out])]
            if j == position:
                table.append(rows)
                position += 1
                flush()
            else:
                table.check_columns(rows)  # refuse now what the table would refuse later
                pending.append(rows)
                held[j] = rows
            if bar is not None:
                bar.update()
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
        if bar is not None:
            bar.close()
    if pending.path.exists():
        _prune_pending(pending, table, prefix, key_names)
    rows = [table.parse_row(r) for r in table.rows() if _matches(r, prefix)]
    order = {key(c): i for i, c in enumerate(cells)}
    rows.sort(key=lambda r: order.get(tuple(str(r[k]) for k in key_names), len(order)))
    return rows
