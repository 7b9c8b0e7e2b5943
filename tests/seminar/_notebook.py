"""Reading and running the seminar's MyST notebooks in the test process."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import pytest

SEMINAR = Path(__file__).resolve().parents[2] / "docs" / "seminar"


def notebook(lecture: int) -> Path:
    """The source of lecture ``lecture`` (``docs/seminar/lecture<L>_*.md``)."""
    return next(SEMINAR.glob(f"lecture{lecture}_*.md"))


def raises(*args, **kwargs):
    """A student's answer with a bug."""
    raise RuntimeError("a student's bug")


def code_cells(path: Path) -> list[tuple[list[str], str]]:
    """``(tags, source)`` of every code cell of a MyST notebook, by jupytext when it is installed
    (the ``teach`` extra), else by a minimal reader of the ```` ```{code-cell} ```` blocks."""
    try:
        import jupytext
    except ImportError:
        cells, lines, inside, tags = [], [], False, []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not inside and line.startswith("```{code-cell}"):
                inside, lines, tags = True, [], []
            elif inside and line.startswith("```"):
                cells.append((tags, "\n".join(lines).strip("\n")))
                inside = False
            elif inside and not lines and line.startswith(":tags:"):
                tags = [t.strip() for t in line.split(":", 2)[2].strip().strip("[]").split(",")]
            elif inside:
                lines.append(line)
        return cells
    return [(list(c.metadata.get("tags", [])), c.source) for c in jupytext.read(path).cells if c.cell_type == "code"]


def run_notebook(path: Path, monkeypatch, *, students: bool = False, needs_torch: bool = False) -> dict:
    """Executes every code cell of ``path`` except the students' stubs (with ``students``: except
    the solutions, with the checks not strict) in one namespace, and returns it.

    ``SHARPSIM_SEMINAR_STRICT=1`` makes a refused solution raise, so any failing cell fails the
    caller; figures are drawn on Agg and closed; the interactive cells are static. With
    ``needs_torch`` (the LM lecture) torch's thread count and the warning filters are restored.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("SHARPSIM_SEMINAR_STRICT", "0" if students else "1")
    monkeypatch.setenv("SHARPSIM_SEMINAR_STATIC", "1")
    monkeypatch.setattr(plt, "show", lambda *a, **k: plt.close("all"))
    restore = contextlib.nullcontext
    if needs_torch:
        for module in ("torch", "transformers", "peft"):
            pytest.importorskip(module)
        import torch

        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        threads = torch.get_num_threads()

        @contextlib.contextmanager
        def restore():
            try:
                yield
            finally:
                torch.set_num_threads(threads)

    namespace: dict = {"__name__": "__lecture__"}
    with restore(), warnings.catch_warnings():
        for i, (tags, source) in enumerate(code_cells(path)):
            if ("solution" if students else "student") in tags:
                continue
            exec(compile(source, f"{path.name}[code cell {i}]", "exec"), namespace)
    plt.close("all")
    return namespace
