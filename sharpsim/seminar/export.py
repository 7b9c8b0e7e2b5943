"""The students' version of the seminar: every lecture without the instructor's solutions.

The lectures are MyST-markdown notebooks (``docs/seminar/lecture<L>_*.md``). Cell tags:

* ``solution``: the instructor's solution; dropped from the students' version.
* ``student``: the stub a student completes; in the source it also carries ``remove-cell`` and
  ``skip-execution`` (the site neither shows nor runs it); the students' version keeps it with
  those tags removed.

:func:`export` writes one ``.ipynb`` per lecture (no outputs) with jupytext (the ``teach`` extra).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["HIDDEN_TAGS", "SOLUTION_TAG", "STUDENT_TAG", "default_source", "export", "lecture_files"]

SOLUTION_TAG = "solution"
STUDENT_TAG = "student"
#: Tags a student stub carries in the source and loses in the students' version.
HIDDEN_TAGS = ("remove-cell", "skip-execution", STUDENT_TAG)


def default_source() -> Path:
    """``docs/seminar`` of the source tree this package was installed from (editable install)."""
    return Path(__file__).resolve().parents[2] / "docs" / "seminar"


def lecture_files(source: str | Path | None = None) -> list[Path]:
    """The lecture notebooks in ``source`` (default :func:`default_source`), in lecture order.

    Args:
      source: the folder holding ``lecture<L>_*.md``.

    Returns:
      The paths, sorted by lecture number.

    Raises:
      FileNotFoundError: if ``source`` holds no lecture.
    """
    source = default_source() if source is None else Path(source)
    files = sorted(source.glob("lecture[0-9]*_*.md"), key=lambda p: int(p.name[7:].split("_")[0]))
    if not files:
        raise FileNotFoundError(f"no lecture notebooks (lecture<L>_*.md) in {source}")
    return files


def _students_notebook(path: Path):
    try:
        import jupytext
    except ImportError as err:  # pragma: no cover - depends on the extra
        raise ImportError("the students' export needs jupytext: pip install -e '.[teach]'") from err
    nb = jupytext.read(path)
    cells = []
    for cell in nb.cells:
        tags = list(cell.get("metadata", {}).get("tags", []))
        if SOLUTION_TAG in tags:
            continue
        if STUDENT_TAG in tags:
            cell.metadata["tags"] = [t for t in tags if t not in HIDDEN_TAGS]
            if not cell.metadata["tags"]:
                del cell.metadata["tags"]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    return nb


def export(out: str | Path, *, source: str | Path | None = None) -> list[Path]:
    """Writes the students' version of every lecture to ``out`` (``lecture<L>_*.ipynb``).

    Args:
      out: the output folder (created if missing; existing notebooks of the same name are
        replaced).
      source: the folder of the instructor's lectures (default :func:`default_source`).

    Returns:
      The notebooks written.

    Raises:
      FileNotFoundError: if ``source`` holds no lecture.
      ImportError: without jupytext (``pip install -e '.[teach]'``).
    """
    import nbformat

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in lecture_files(source):
        nb = _students_notebook(path)
        target = out / (path.stem + ".ipynb")
        nbformat.write(nb, target)
        written.append(target)
    return written
