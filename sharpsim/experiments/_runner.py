"""Resumable sweeps: cells computed one by one, each appended to a tidy CSV as it finishes.

A sweep is a list of *cells* (dicts of sweep variables) and a function computing one row per
cell. Rows carry every sweep variable plus ``config_hash``, a digest of the experiment's
configuration. Re-running the same configuration skips the cells already in the CSV (a killed
sweep resumes where it stopped); rows from other configurations are kept, never overwritten.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

from tqdm.auto import tqdm


def config_hash(config) -> str:
    """A short, stable digest of a (dataclass) configuration."""
    payload = json.dumps(_jsonable(config), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _jsonable(obj):
    if dataclasses.is_dataclass(obj):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(o) for o in obj]
    if isinstance(obj, dict):
        return {str(k): _jsonable(o) for k, o in obj.items()}
    return obj


def _parse(value: str):
    if value in ("True", "False"):
        return value == "True"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def read_rows(path: Path) -> list[dict]:
    """Reads a tidy CSV written by :func:`run_sweep`, parsing numbers and booleans."""
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def run_sweep(
    cells: Iterable[dict],
    run_cell: Callable[[dict], dict],
    csv_path: Path,
    *,
    config,
    progress: bool = True,
    desc: str = "",
) -> list[dict]:
    """Computes every cell not yet in ``csv_path`` for this ``config``; returns this config's rows.

    ``run_cell(cell)`` returns one row (a dict) or a list of rows (e.g. one per seed); the
    cell's variables are prepended to each.

    Each finished row is appended and flushed to disk at once, so nothing computed is lost.

    Raises:
      ValueError: if ``csv_path`` exists with a different set of columns (the message says
        to choose another output directory rather than overwrite it).
    """
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    digest = config_hash(config)
    cells = list(cells)
    key_names = list(cells[0]) if cells else []
    existing = [r for r in read_rows(csv_path) if r.get("config_hash") == digest]
    done = {tuple(str(r[k]) for k in key_names) for r in existing}
    todo = [c for c in cells if tuple(str(c[k]) for k in key_names) not in done]
    header = None
    if csv_path.exists():
        with csv_path.open(newline="") as fh:
            header = next(csv.reader(fh), None)
    for cell in tqdm(todo, desc=desc, disable=not progress or not todo, leave=False):
        out = run_cell(cell)
        rows = [{"config_hash": digest, **cell, **r} for r in (out if isinstance(out, list) else [out])]
        if header is None:
            header = list(rows[0])
            with csv_path.open("w", newline="") as fh:
                csv.writer(fh).writerow(header)
        for row in rows:
            if list(row) != header:
                raise ValueError(
                    f"{csv_path} holds results with columns {header}, but this sweep writes "
                    f"{list(row)}; pass another output directory (`--out`) instead of overwriting it"
                )
        # all rows of a cell land together, so a cell is either finished on disk or absent
        with csv_path.open("a", newline="") as fh:
            csv.writer(fh).writerows([[row[k] for k in header] for row in rows])
            fh.flush()
            os.fsync(fh.fileno())
    rows = [r for r in read_rows(csv_path) if r.get("config_hash") == digest]
    order = {tuple(str(c[k]) for k in key_names): i for i, c in enumerate(cells)}
    rows.sort(key=lambda r: order.get(tuple(str(r[k]) for k in key_names), len(order)))
    return rows


def versions() -> dict:
    """Versions of Python, the platform and the packages that shape the numbers."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("sharpsim", "jax", "jaxlib", "numpy", "scipy", "matplotlib", "optax", "hypothesis"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def write_manifest(path: Path, *, name: str, mode: str, config, files: list[str], seconds: float) -> None:
    """Writes the JSON manifest beside a figure: configuration, seeds, versions, files."""
    manifest = {
        "figure": name,
        "mode": mode,
        "config": _jsonable(config),
        "config_hash": config_hash(config),
        "versions": versions(),
        "command": " ".join(sys.argv),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(seconds, 2),
        "files": files,
    }
    Path(path).write_text(json.dumps(manifest, indent=2) + "\n")
