"""The documentation site: the build-only pages and the ``sharpsim docs build`` command.

The site is a Sphinx project in ``docs/`` (MyST pages, the seminar's MyST notebooks executed by
myst-nb, autodoc of the Google-style docstrings through napoleon, the ``sphinx-book-theme``; the
``docs`` extra installs them). Three parts of it are generated before every build into
``docs/_generated/`` (git-ignored) by :func:`generate`, from the sources they describe:

* ``theory/``: a copy of every note of ``theory/`` (``theory/README.md`` becomes the section's
  index), with links that leave the notes rewritten: a figure is copied in, a link to the
  package's source becomes a link to its API page (or code text), any other file of the
  repository becomes code text;
* ``figures.md``: the gallery of the registered figures (:data:`sharpsim.figures.FIGURES`), each
  with its description, its theory note and the command that redraws it, and the table of fitted
  rates (``figures/RATES.md``);
* ``api/``: one page per public module (:data:`API_MODULES`), by ``automodule``.

:func:`build` runs ``sphinx-build -W --keep-going`` (warnings are errors) offline.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["API_MODULES", "BRIDGE_MODULES", "BRIDGE_TORCH_MODULES", "GENERATED", "BuildError", "build", "default_docs_dir", "default_out", "generate",
           "version"]

#: The modules of the API reference, in the order of its index.
API_MODULES = (
    "sharpsim",
    "sharpsim.problems",
    "sharpsim.classes",
    "sharpsim.algorithms",
    "sharpsim.oracle",
    "sharpsim.laws",
    "sharpsim.metrics",
    "sharpsim.power",
    "sharpsim.coefficients",
    "sharpsim.bounds",
    "sharpsim.objectives",
    "sharpsim.policies",
    "sharpsim.experiments.engine",
    "sharpsim.records",
    "sharpsim.executors",
    "sharpsim.parallel",
    "sharpsim.figures",
    "sharpsim.seminar",
    "sharpsim.theorems",
    "sharpsim.testing",
    "sharpsim.bridge",
)

#: The build-only folder under ``docs/``.
GENERATED = "_generated"

_LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(([^()\s]+)\)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".gif")


class BuildError(RuntimeError):
    """``sphinx-build`` failed (a warning, an error, or a notebook cell that raised)."""


def version() -> str:
    """The installed version of sharpsim (``0+unknown`` when it is not installed).

    Returns:
      The version string.
    """
    from importlib import metadata

    try:
        return metadata.version("sharpsim")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree on sys.path
        return "0+unknown"


def default_docs_dir() -> Path:
    """``docs/`` of the source tree this package was installed from (editable install).

    Returns:
      The path (it may not exist in a non-editable install).
    """
    return Path(__file__).resolve().parents[1] / "docs"


def default_out() -> Path:
    """The default output folder of :func:`build`: ``docs/_build/html``.

    Returns:
      The path.
    """
    return default_docs_dir() / "_build" / "html"


# --------------------------------------------------------------------------------------------
# The build-only pages
# --------------------------------------------------------------------------------------------


def generate(docs_dir: str | Path | None = None, root: str | Path | None = None) -> list[Path]:
    """Writes the build-only pages into ``<docs_dir>/_generated/`` (replacing what was there).

    Args:
      docs_dir: the Sphinx source folder (default :func:`default_docs_dir`).
      root: the repository root holding ``theory/`` and ``figures/`` (default: the parent of
        ``docs_dir``).

    Returns:
      The files written.

    Raises:
      FileNotFoundError: if ``theory/README.md`` or a registered figure's PNG is missing.
    """
    docs = Path(docs_dir) if docs_dir is not None else default_docs_dir()
    root = Path(root) if root is not None else docs.parent
    out = docs / GENERATED
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = [*_api_pages(out / "api"), *_theory_pages(root, out), *_figures_page(root, out)]
    return written


def _module_page(name: str) -> str | None:
    """The docname (relative to ``_generated/``) documenting the module ``name``, if any."""
    for mod in sorted(API_MODULES, key=len, reverse=True):
        if mod != "sharpsim" and (name == mod or name.startswith(mod + ".")):
            return f"api/{mod}"
    return None


def _api_pages(out: Path) -> list[Path]:
    out.mkdir(parents=True)
    written = []
    index = ["# API reference", "",
             "Generated from the docstrings (Google style: *Args*, *Returns*, *Raises*). The top-level",
             "`sharpsim` namespace re-exports the most used names; each is documented in its module.", "",
             "```{toctree}", ":maxdepth: 1", "", *API_MODULES, "```", ""]
    written.append(_write(out / "index.md", "\n".join(index)))
    for name in API_MODULES:
        if name == "sharpsim":
            text = _top_level_page()
        elif name == "sharpsim.bridge":
            text = _bridge_page()
        else:
            text = f"# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n```\n"
        written.append(_write(out / f"{name}.md", text))
    return written


def _top_level_page() -> str:
    """The ``sharpsim`` page: its docstring and a table of its names, each linked to its module."""
    top = importlib.import_module("sharpsim")
    rows = []
    for name in top.__all__:
        obj = getattr(top, name)
        home = None
        for mod in API_MODULES[1:]:
            module = importlib.import_module(mod)
            if name in getattr(module, "__all__", ()) and getattr(module, name, None) is obj:
                home = mod
                break
        cell = f"{{py:obj}}`{name} <{home}.{name}>`" if home else f"`{name}`"
        rows.append(f"| {cell} | `{home or getattr(obj, '__module__', None) or 'sharpsim'}` |")
    return "\n".join([
        "# `sharpsim`", "",
        "```{eval-rst}", ".. automodule:: sharpsim", "   :no-members:", "```", "",
        "## Names of the top-level namespace", "",
        "| name | documented in |", "| --- | --- |", *rows, "",
    ])


#: The LM bridge's modules on its API page: those that never import torch, then (when torch is
#: installed, the ``lm`` extra) the torch-backed ones.
BRIDGE_MODULES = ("tasks", "rewards", "analysis", "runs", "tiny", "planted")
BRIDGE_TORCH_MODULES = ("policy", "scoring", "losses", "lora", "training", "evaluation", "sft", "rlhf", "xpo")


def _bridge_page() -> str:
    """The ``sharpsim.bridge`` page: its docstring, then one section per module (its names are
    imported lazily, so the package itself documents none)."""
    import importlib.util

    torch = importlib.util.find_spec("torch") is not None
    parts = ["# `sharpsim.bridge`", "", "```{eval-rst}", ".. automodule:: sharpsim.bridge", "   :no-members:",
             "```", ""]
    for name in BRIDGE_MODULES + (BRIDGE_TORCH_MODULES if torch else ()):
        parts += [f"## `sharpsim.bridge.{name}`", "", "```{eval-rst}", f".. automodule:: sharpsim.bridge.{name}",
                  "```", ""]
    if not torch:
        parts += ["The torch-backed modules (" + ", ".join(f"`{n}`" for n in BRIDGE_TORCH_MODULES)
                  + ") are documented when the site is built with the `lm` extra installed.", ""]
    return "\n".join(parts)


def _theory_pages(root: Path, out: Path) -> list[Path]:
    theory = root / "theory"
    if not (theory / "README.md").is_file():
        raise FileNotFoundError(f"no theory/README.md under {root}")
    target = out / "theory"
    target.mkdir(parents=True)
    written = []
    notes = sorted(p for p in theory.glob("*.md") if p.name != "README.md")
    for note in [theory / "README.md", *notes]:
        text = _rewrite_links(note.read_text(encoding="utf-8"), note, root, out)
        name = "index.md" if note.name == "README.md" else note.name
        if note.name == "README.md":
            text = re.sub(r"\A# theory/: ", "# Theory notes: ", text)
            text += "\n```{toctree}\n:hidden:\n:glob:\n\n*\n```\n"
        written.append(_write(target / name, text))
    return written


def _rewrite_links(text: str, note: Path, root: Path, out: Path) -> str:
    """Rewrites the links of a theory note that leave ``theory/`` (outside fenced code)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            line = _LINK.sub(lambda m: _rewrite_one(m, note, root, out), line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def _rewrite_one(match: re.Match, note: Path, root: Path, out: Path) -> str:
    bang, label, href = match.groups()
    if re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith("#"):
        return match.group(0)  # a URL or an anchor on the same page
    path, _, anchor = href.partition("#")
    resolved = (note.parent / path).resolve()
    try:
        rel = resolved.relative_to(root.resolve())
    except ValueError:
        rel = Path(path)
    if rel.parent == Path("theory") and rel.suffix == ".md":
        name = "index.md" if rel.name == "README.md" else rel.name
        return f"{bang}[{label}]({name}{'#' + anchor if anchor else ''})"
    if rel.suffix.lower() in _IMAGE_SUFFIXES and resolved.is_file():
        (out / "img").mkdir(exist_ok=True)
        shutil.copyfile(resolved, out / "img" / rel.name)
        return f"{bang}[{label}](../img/{rel.name})"
    code = f"`{rel.as_posix()}`"
    if rel.parts and rel.parts[0] == "sharpsim":
        module = ".".join(rel.with_suffix("").parts)
        module = module.removesuffix(".__init__")
        page = _module_page(module)
        if page is not None:
            return f"[{label}](../{page}.md)"
    plain = label.strip("`")
    if plain in (rel.as_posix(), rel.name, path) or not plain:
        return code
    return f"{label} ({code})"


def _figures_page(root: Path, out: Path) -> list[Path]:
    from sharpsim import figures

    img = out / "img"
    img.mkdir(exist_ok=True)
    written = []
    parts = ["# Figures", "",
             "Each figure is one module of `sharpsim.experiments`, registered by name in",
             "{py:obj}`sharpsim.figures.FIGURES`. The images are those committed in `figures/` (quick",
             "settings); `sharpsim figures --quick --out figures` redraws them all from the committed",
             "data, and a new `--out` folder recomputes every sweep.", ""]
    for name, module in figures.FIGURES.items():
        png = root / "figures" / f"{name}.png"
        if not png.is_file():
            raise FileNotFoundError(f"figure {name!r}: {png} is missing (run `sharpsim figures --only {name}`)")
        shutil.copyfile(png, img / png.name)
        written.append(img / png.name)
        note = Path(module.THEORY_NOTE)
        parts += [f"## `{name}`", "",
                  f"```{{image}} img/{png.name}", f":alt: {module.DESCRIPTION}", ":width: 100%", "```", "",
                  module.DESCRIPTION.rstrip(".") + ".", ""]
        if note.parts[:1] == ("theory",) and (root / note).is_file():
            parts += [f"Theory: [{_title(root / note)}](theory/{note.name}).", ""]
        parts += ["Redraw it:", "", "```bash", f"sharpsim figures --only {name}", "```", ""]
    rates = root / "figures" / "RATES.md"
    if rates.is_file():
        body = rates.read_text(encoding="utf-8").splitlines()
        body = [("#" + line) if line.startswith("# ") else line for line in body]
        parts += [*body, ""]
    written.append(_write(out / "figures.md", "\n".join(parts)))
    return written


def _title(note: Path) -> str:
    """The note's first level-1 heading, escaped for use as a Markdown link text."""
    title = note.stem
    for line in note.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            title = line[2:].strip()
            break
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", title)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------------


def build(out: str | Path | None = None, *, docs_dir: str | Path | None = None, jobs: int = 1,
          quiet: bool = False) -> Path:
    """Builds the HTML site with ``sphinx-build -W --keep-going -E`` (every page re-read, every
    lecture re-executed; any warning fails the build).

    Args:
      out: the output folder (default :func:`default_out`, ``docs/_build/html``).
      docs_dir: the Sphinx source folder (default :func:`default_docs_dir`).
      jobs: Sphinx's parallel readers (``-j``).
      quiet: pass ``-q`` (only warnings and errors are printed).

    Returns:
      The output folder (``index.html`` is its landing page).

    Raises:
      FileNotFoundError: if ``docs_dir`` has no ``conf.py``.
      ValueError: if ``jobs`` is below 1.
      ImportError: without Sphinx and myst-nb (``pip install -e '.[docs]'``).
      BuildError: if ``sphinx-build`` fails.
    """
    docs = Path(docs_dir) if docs_dir is not None else default_docs_dir()
    if not (docs / "conf.py").is_file():
        raise FileNotFoundError(f"no Sphinx project (conf.py) in {docs}")
    if jobs < 1:
        raise ValueError(f"`jobs` must be at least 1; got {jobs}")
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ImportError(f"building the site needs {module}: pip install -e '.[docs]'") from err
    out = Path(out) if out is not None else default_out()
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-E", "-T", "-j", str(jobs),
           "-d", str(out / ".doctrees"), str(docs), str(out)]
    if quiet:
        cmd.insert(3, "-q")
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    status = subprocess.run(cmd, env=env, check=False).returncode
    if status != 0:
        raise BuildError(f"sphinx-build failed with exit status {status} (warnings are errors); see above")
    return out
