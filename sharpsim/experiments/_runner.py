"""Resumable figure sweeps on top of :mod:`sharpsim.records`.

A sweep is a list of *cells* (dicts of sweep variables) and a function computing the rows of one
cell. Rows carry ``config_hash`` (a digest of the figure's configuration), every sweep variable
and the cell's results, and are appended to a tidy CSV as each cell finishes. Re-running the same
configuration skips the cells already in the CSV (a killed sweep resumes where it stopped); rows
of other configurations stay in the file, never overwritten. The storage itself (append-only
table, atomic JSON, digests, versions) is :mod:`sharpsim.records`, shared with the LM bridge. The
cells run in this process or on a Dask cluster (:mod:`sharpsim.executors`); either way this
process alone writes the CSV.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from sharpsim import records

#: The packages whose versions shape a figure's numbers (recorded in its manifest).
VERSIONED_PACKAGES = ("sharpsim", "jax", "jaxlib", "numpy", "scipy", "matplotlib", "optax", "hypothesis")


def config_hash(config) -> str:
    """A short, stable digest of a (dataclass) configuration (:func:`sharpsim.records.config_hash`)."""
    return records.config_hash(config)


def read_rows(path: Path) -> list[dict]:
    """The rows of a tidy CSV written by :func:`run_sweep`, numbers and booleans parsed (``[]`` without a file)."""
    return records.CsvTable(path).rows(parse=True)


def run_sweep(
    cells: Iterable[dict],
    run_cell: Callable[[dict], dict | list[dict]],
    csv_path: Path,
    *,
    config,
    progress: bool = True,
    desc: str = "",
    executor=None,
) -> list[dict]:
    """Computes every cell not yet in ``csv_path`` for this ``config``; returns this config's rows.

    Args:
      cells: the sweep's cells, in the order of the returned rows.
      run_cell: ``run_cell(cell)`` returns one row (a dict) or a list of rows (e.g. one per seed);
        ``config_hash`` and the cell's variables are prepended to each.
      csv_path: the tidy CSV (its folder is created). Each finished cell's rows are appended and
        fsynced at once, so nothing computed is lost.
      config: the figure's configuration; only rows with its :func:`config_hash` count as done.
      progress: show a progress bar over the cells still to do.
      desc: the bar's label (and the task names on a cluster).
      executor: where the cells are computed (:mod:`sharpsim.executors`): ``None`` for the
        current one (:func:`sharpsim.executors.current`: in this process unless set by
        :func:`sharpsim.executors.use`). This process alone writes ``csv_path``, in cell order,
        whatever the executor (:func:`sharpsim.records.run_cells`).

    Returns:
      This configuration's rows, parsed, in the order of ``cells``.

    Raises:
      ValueError: if ``csv_path`` exists with a different set of columns (the message says
        to choose another output directory rather than overwrite it).
      TypeError: ``executor`` is not an executor, or cannot ship ``run_cell`` to its workers.
    """
    return records.run_cells(
        cells,
        run_cell,
        records.CsvTable(csv_path),
        prefix={"config_hash": config_hash(config)},
        progress=progress,
        desc=desc,
        executor=executor,
    )


def versions() -> dict:
    """Versions of Python, the platform and the packages that shape the numbers."""
    return records.versions(VERSIONED_PACKAGES, with_platform=True)


def write_manifest(path: Path, *, name: str, mode: str, config, files: list[str], seconds: float) -> None:
    """Writes the JSON manifest beside a figure: configuration, digest, versions, command, files.

    Args:
      path: the manifest file.
      name: the figure's name.
      mode: ``"testing"``, ``"quick"`` or ``"full"``.
      config: the figure's configuration.
      files: the files written for the figure.
      seconds: wall time of this run (a resumed run counts only what it recomputed and drew).
    """
    manifest = {
        "figure": name,
        "mode": mode,
        "config": records.plain(config),
        "config_hash": config_hash(config),
        "versions": versions(),
        "command": " ".join(sys.argv),
        "written_at": records.utc_now(),
        "seconds": round(seconds, 2),
        "files": files,
    }
    records.write_json(path, manifest)
