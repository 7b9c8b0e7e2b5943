"""The site's build-only pages (``sharpsim.site.generate``) and the notebook execution rules the
site relies on (myst-nb skips cells tagged ``skip-execution``, hides ``remove-cell``, and fails the
build on an error), without building the whole site."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from docs.conftest import require
from sharpsim import cli, site

ROOT = Path(__file__).resolve().parents[2]
_LINK = re.compile(r"\]\(([^()\s]+)\)")


def _links(text: str) -> list[str]:
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            out += _LINK.findall(line)
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    docs = tmp_path_factory.mktemp("docs")
    site.generate(docs, ROOT)
    return docs / site.GENERATED


def test_theory_notes_are_copied_with_links_inside_the_site(generated):
    """Every note is a page (README.md becomes the index, with a toctree of the notes), and no link
    leaves the site: a note links to notes, copied images or API pages only."""
    notes = sorted(p.name for p in (ROOT / "theory").glob("*.md") if p.name != "README.md")
    pages = sorted(p.name for p in (generated / "theory").glob("*.md"))
    assert pages == sorted([*notes, "index.md"])
    assert "```{toctree}" in (generated / "theory" / "index.md").read_text()
    for page in (generated / "theory").glob("*.md"):
        for href in _links(page.read_text()):
            if href.startswith(("http://", "https://", "#")):
                continue
            target = (page.parent / href.split("#")[0]).resolve()
            assert target.is_file(), f"{page.name}: link {href} points to nothing in the site"
            assert generated.resolve() in target.parents, f"{page.name}: link {href} leaves the site"


def test_link_rewriting(tmp_path):
    """Links out of theory/ become code text, API links or copied figures; links between notes,
    URLs and fenced code are left alone."""
    root = tmp_path / "repo"
    (root / "theory").mkdir(parents=True)
    (root / "figures").mkdir()
    (root / "figures" / "f.png").write_bytes((ROOT / "figures" / "bon_inference.png").read_bytes())
    note = root / "theory" / "n.md"
    out = tmp_path / "gen"
    out.mkdir()
    text = "\n".join([
        "See [the benchmarks](../benchmarks/RESULTS.md) and [`paper_repro/README.md`](../paper_repro/README.md).",
        "Code: [laws](../sharpsim/laws.py), [XPO](../sharpsim/algorithms/xpo.py), [cfg](../sharpsim/_config.py).",
        "Notes: [other](other.md#sec), [index](README.md), [web](https://example.org), ![fig](../figures/f.png).",
        "```", "[kept](../benchmarks/RESULTS.md)", "```",
    ])
    got = site._rewrite_links(text, note, root, out).splitlines()
    assert got[0] == "See the benchmarks (`benchmarks/RESULTS.md`) and `paper_repro/README.md`."
    assert got[1] == ("Code: [laws](../api/sharpsim.laws.md), [XPO](../api/sharpsim.algorithms.md), "
                      "cfg (`sharpsim/_config.py`).")
    assert got[2] == "Notes: [other](other.md#sec), [index](index.md), [web](https://example.org), ![fig](../img/f.png)."
    assert got[3:] == ["```", "[kept](../benchmarks/RESULTS.md)", "```"]
    assert (out / "img" / "f.png").is_file()


def test_figures_gallery(generated):
    """One section per registered figure: its image, description, theory note and command."""
    from sharpsim import figures

    text = (generated / "figures.md").read_text()
    for name, module in figures.FIGURES.items():
        assert (generated / "img" / f"{name}.png").is_file()
        assert f"img/{name}.png" in text and module.DESCRIPTION in text
        assert f"sharpsim figures --only {name}" in text
        assert f"(theory/{Path(module.THEORY_NOTE).name})" in text


def test_api_pages(generated):
    """One page per public module; the top-level names link to the module that documents them."""
    pages = sorted(p.stem for p in (generated / "api").glob("*.md"))
    assert pages == sorted([*site.API_MODULES, "index"])
    top = (generated / "api" / "sharpsim.md").read_text()
    assert "{py:obj}`coverage <sharpsim.coefficients.coverage>`" in top
    assert ".. automodule:: sharpsim.laws" in (generated / "api" / "sharpsim.laws.md").read_text()


def test_generate_needs_theory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"theory/README\.md"):
        site.generate(tmp_path / "docs", tmp_path)


def test_build_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"conf\.py"):
        site.build(tmp_path / "out", docs_dir=tmp_path)
    with pytest.raises(ValueError, match="jobs"):
        site.build(tmp_path / "out", docs_dir=ROOT / "docs", jobs=0)


def test_cli_docs_help(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["docs", "build", "--help"])
    assert exc.value.code == 0
    assert "--out" in capsys.readouterr().out


# --- the execution rules, on a one-page project -------------------------------------------------

NOTEBOOK = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A page

```{{code-cell}} ipython3
:tags: [student, remove-cell, skip-execution]

raise RuntimeError("a stub must not run")
```

```{{code-cell}} ipython3
print("visible-" + "output")
{extra}
```
"""

CONF = """extensions = ["myst_nb"]
nb_execution_mode = "force"
nb_execution_raise_on_error = True
exclude_patterns = ["_build"]
"""


def _build_one_page(tmp_path: Path, extra: str) -> tuple[int, str, Path]:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF)
    (src / "index.md").write_text(NOTEBOOK.format(extra=extra))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", "-T", str(src), str(out)],
                          capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr, out


@pytest.mark.docs
def test_skip_execution_and_remove_cell(tmp_path):
    """A cell tagged skip-execution (the students' stub) is not run, one tagged remove-cell is not
    shown, and the other cells run with their outputs on the page."""
    require(site_deps(), "the docs and teach extras are not installed: pip install -e '.[docs,teach]'")
    status, log, out = _build_one_page(tmp_path, "")
    assert status == 0, log
    html = (out / "index.html").read_text()
    assert "visible-output" in html and "a stub must not run" not in html


@pytest.mark.docs
def test_an_error_fails_the_build(tmp_path):
    """With nb_execution_raise_on_error (as in docs/conf.py) a cell that raises fails the build."""
    require(site_deps(), "the docs and teach extras are not installed: pip install -e '.[docs,teach]'")
    status, log, _ = _build_one_page(tmp_path, 'raise ValueError("wrong check")')
    assert status != 0
    assert "wrong check" in log


def site_deps() -> bool:
    from docs.conftest import docs_extra_installed

    return docs_extra_installed()
