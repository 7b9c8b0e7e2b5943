"""The students' export (``sharpsim.seminar.export`` and ``sharpsim seminar export``).

A students' notebook keeps every cell but the instructor's solutions (tag ``solution``), keeps
each student stub (tag ``student``) without the ``remove-cell`` / ``skip-execution`` tags that
hide it on the site, and has no outputs. Checked on a small synthetic lecture written here (so the
test does not depend on the lectures' contents) and on every real lecture in ``docs/seminar``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sharpsim import cli, seminar

try:
    import jupytext  # noqa: F401
    import nbformat
except ImportError:  # the teach extra: CI installs it, so there it is a failure, not a skip
    if os.environ.get("CI", "").lower() in ("true", "1"):
        raise
    pytest.skip("the students' export needs the teach extra: pip install -e '.[teach]'", allow_module_level=True)

REAL = Path(__file__).resolve().parents[2] / "docs" / "seminar"
HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

SYNTHETIC = HEADER + """
# Lecture 9: a synthetic lecture

Some text.

```{code-cell} ipython3
x = 1
```

Exercise 9.1: write `double`.

```{code-cell} ipython3
:tags: [student, remove-cell, skip-execution]

def double(v):
    ...  # your code
```

```{code-cell} ipython3
:tags: [solution]

def double(v):
    return 2 * v  # the instructor's solution
```

```{code-cell} ipython3
print(double(x))
```
"""


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _check_students_notebook(path: Path, source: Path) -> None:
    import jupytext

    nb = nbformat.read(path, as_version=4)
    original = jupytext.read(source)
    kept = [c for c in original.cells if "solution" not in _tags(c)]
    assert [c.source for c in nb.cells] == [c.source for c in kept], f"{path.name}: the cells differ"
    for cell in nb.cells:
        tags = _tags(cell)
        assert "solution" not in tags, f"{path.name}: a solution cell is left"
        assert not {"remove-cell", "skip-execution"} & set(tags), f"{path.name}: a stub is still hidden: {tags}"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: a cell has outputs"
    stubs = {c.source for c in original.cells if "student" in _tags(c)}
    exported = {c.source: c for c in nb.cells}
    for stub in stubs:
        assert stub in exported, f"{path.name}: a student stub is missing"
        assert exported[stub].cell_type == "code"


@pytest.fixture
def synthetic(tmp_path) -> Path:
    source = tmp_path / "lectures"
    source.mkdir()
    (source / "lecture9_synthetic.md").write_text(SYNTHETIC, encoding="utf-8")
    (source / "notes.md").write_text("# not a lecture\n", encoding="utf-8")
    return source


def test_export_synthetic_lecture(synthetic, tmp_path):
    written = seminar.export(tmp_path / "out", source=synthetic)
    assert [p.name for p in written] == ["lecture9_synthetic.ipynb"]
    _check_students_notebook(written[0], synthetic / "lecture9_synthetic.md")
    text = written[0].read_text(encoding="utf-8")
    assert "the instructor's solution" not in text and "...  # your code" in text


def test_cli_export_synthetic_lecture(synthetic, tmp_path, capsys):
    out = tmp_path / "cli-out"
    assert cli.main(["seminar", "export", "--out", str(out), "--source", str(synthetic)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["lecture9_synthetic.ipynb"]
    _check_students_notebook(out / "lecture9_synthetic.ipynb", synthetic / "lecture9_synthetic.md")
    assert "1 students' notebook(s) written" in capsys.readouterr().out


def test_export_lectures_in_order(tmp_path):
    source = tmp_path / "lectures"
    source.mkdir()
    for n in (10, 2, 1):
        (source / f"lecture{n}_x.md").write_text(SYNTHETIC.replace("Lecture 9", f"Lecture {n}"), encoding="utf-8")
    assert [p.name for p in seminar.export(tmp_path / "out", source=source)] == [
        "lecture1_x.ipynb", "lecture2_x.ipynb", "lecture10_x.ipynb"]


def test_export_without_lectures_is_a_clear_error(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no lecture notebooks"):
        seminar.export(tmp_path / "out", source=empty)
    assert cli.main(["seminar", "export", "--out", str(tmp_path / "out"), "--source", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "sharpsim seminar: error: no lecture notebooks" in err and str(empty) in err


@pytest.mark.parametrize("lecture", sorted(p.name for p in REAL.glob("lecture[0-9]*_*.md")) or ["(none)"])
def test_export_real_lectures(lecture, tmp_path):
    if lecture == "(none)":
        pytest.skip("no lecture in docs/seminar yet")
    written = {p.name: p for p in seminar.export(tmp_path, source=REAL)}
    path = written[lecture.removesuffix(".md") + ".ipynb"]
    _check_students_notebook(path, REAL / lecture)
    import jupytext

    assert any("student" in _tags(c) for c in jupytext.read(REAL / lecture).cells), f"{lecture}: no student stub"
