"""Sphinx configuration of the sharpsim site (build it with ``sharpsim docs build``).

The site is built offline: no intersphinx, MathJax served from the build (``sphinx-mathjax-offline``),
no widget JavaScript from a CDN. ``sharpsim.site.generate`` writes the build-only pages (the theory
notes, the figures gallery, the API reference) into ``docs/_generated/`` before Sphinx reads the
sources; this file calls it too, so a plain ``sphinx-build docs OUT`` works as well.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

# The seminar's notebooks run at build time: a wrong check raises (the build fails) and the
# interactive cells draw static figures. The kernels myst-nb starts inherit these variables.
# matplotlib draws without a display, on the inline backend: it renders each figure to a PNG output
# of its cell (static, like Agg, which it builds on). MPLBACKEND=Agg would make plt.show() in a
# kernel a no-op, and the pages would have no figures.
os.environ["SHARPSIM_SEMINAR_STRICT"] = "1"
os.environ["SHARPSIM_SEMINAR_STATIC"] = "1"
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"

from sharpsim import site  # noqa: E402  (after the environment above)

site.generate(DOCS, ROOT)

project = "sharpsim"
author = "sharpsim developers"
copyright = "sharpsim developers"
release = site.version()

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",
]

exclude_patterns = ["_build", "README.md", ".gitignore", "**/.ipynb_checkpoints"]
root_doc = "index"

# --- MyST and myst-nb -------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 3
# Execute every notebook (the lectures) on every build: outputs are never stale against the code.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 600  # seconds per cell
nb_execution_show_tb = True
nb_execution_in_temp = True  # a notebook that writes files leaves nothing in docs/
# The site shows static figures only: never load the widget JavaScript (it comes from a CDN).
nb_ipywidgets_js = {}
nb_merge_streams = True

# --- autodoc / napoleon (Google-style docstrings) --------------------------------------------
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = False
napoleon_use_rtype = False

# --- HTML -------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "sharpsim"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
}
html_static_path: list[str] = []
html_last_updated_fmt = None


# --- docstring adjustments (no docstring is edited; see docs/README.md) -----------------------
import re  # noqa: E402

# The docstrings write set sizes as |Y|, |X|, |Π| (plain text, as in the paper). In
# reStructuredText |Y| is a substitution reference, so each '|' outside inline literals,
# interpreted text, literal blocks, line blocks and tables is escaped: the page shows |Y|.
_LITERAL = re.compile(r"(``.+?``|(?::[\w:.-]+:)?`[^`]+`_{0,2})")


def _escape_bars(line: str) -> str:
    parts = _LITERAL.split(line)
    return "".join(p if i % 2 else p.replace("|", r"\|") for i, p in enumerate(parts))


def _escape_substitutions(app, what, name, obj, options, lines):
    literal_indent = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if stripped and indent <= literal_indent:
                literal_indent = None
            else:
                continue
        if stripped.startswith(("|", "+-", "+=", ">>>", "...")):
            continue
        lines[i] = _escape_bars(line)
        if stripped.endswith("::"):
            literal_indent = indent


_INLINE_SECTION = re.compile(r"^(\s*)(Args|Arguments|Returns|Raises|Yields): (\S.*)$")


def _split_inline_sections(app, what, name, obj, options, lines):
    # "Returns: text" on one line is a Google-style section written inline; napoleon reads a
    # section only from a header alone on its line, so the text moves to the next line.
    for i in range(len(lines) - 1, -1, -1):
        match = _INLINE_SECTION.match(lines[i])
        if match:
            indent, section, text = match.groups()
            lines[i:i + 1] = [f"{indent}{section}:", f"{indent}  {text}"]


def _attributes_section(cls) -> set[str]:
    """The names listed in the ``Attributes:`` section of a class docstring (Google style)."""
    names, inside, base = set(), False, None
    for line in (cls.__doc__ or "").splitlines():
        if line.strip() == "Attributes:":
            inside, base = True, None
            continue
        if inside:
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip())
            base = indent if base is None else base
            if indent < base:
                inside = False
            elif indent == base and ":" in line:
                names.add(line.strip().split(":")[0].split(" ")[0])
    return names


def _skip_documented_property(app, what, name, obj, skip, options):
    # A property that its class's docstring already documents under "Attributes:" is shown
    # once, there (napoleon writes it as an attribute; autodoc would add it a second time).
    fget = getattr(obj, "fget", None)
    if what != "class" or fget is None or "." not in getattr(fget, "__qualname__", ""):
        return None
    owner = sys.modules.get(fget.__module__)
    for part in fget.__qualname__.split(".")[:-1]:
        owner = getattr(owner, part, None)
    if isinstance(owner, type) and name in _attributes_section(owner):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _split_inline_sections, priority=400)  # before napoleon
    app.connect("autodoc-process-docstring", _escape_substitutions)
    app.connect("autodoc-skip-member", _skip_documented_property)
