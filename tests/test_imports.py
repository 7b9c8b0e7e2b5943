"""The import structure of the installed sharpsim package, read from its source with ``ast``.

* No import cycle among sharpsim's modules. The graph has an edge ``m -> t`` for every module-level
  import in ``m`` (``import a.b``, ``from a.b import c``, the relative forms ``from . import x``
  and ``from ..a import b``; statements inside module-level ``if``/``try``/``with`` blocks and class
  bodies count, imports inside functions and under ``if TYPE_CHECKING:`` do not). Importing a
  submodule runs its parent packages' ``__init__`` first, so ``m -> a.b.c`` also adds ``m -> a``
  and ``m -> a.b``, except for the packages that contain ``m`` itself: those are always being
  initialised before ``m`` runs, so an edge to them closes no cycle.
* No module of ``sharpsim.problems`` or ``sharpsim.classes`` defines a module-level ``__getattr__``
  (lazy re-exports hide cycles from the walk above).

That importing ``sharpsim`` (and the CLI's parser) never imports torch is checked by
``tests/test_core_no_torch.py``. The walker itself is checked on small fake packages built in
``tmp_path``.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
from pathlib import Path

import pytest


# ------------------------------------------------------------------------------ the walker
def module_files(root: Path, package: str) -> dict[str, Path]:
    """Map every module of the package rooted at ``root`` (a folder with ``__init__.py``) to its file.

    Args:
        root: the package's folder.
        package: the package's import name (the name ``root`` is imported under).

    Returns:
        ``{dotted module name: path}``; a package's ``__init__.py`` is stored under the package's
        own name.
    """
    out = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module):
    """Yield the import statements that run when the module is imported (see the module docstring)."""
    stack = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            body = [] if _is_type_checking(node.test) else node.body
            stack.extend(reversed(body + node.orelse))
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            handlers = [s for h in node.handlers for s in h.body]
            stack.extend(reversed(node.body + handlers + node.orelse + node.finalbody))
        elif isinstance(node, (ast.With, ast.ClassDef)):
            stack.extend(reversed(node.body))


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imported_modules(name: str, tree: ast.Module, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that importing module ``name`` (parsed as ``tree``) imports directly.

    Args:
        name: the module's dotted name.
        tree: its parsed source.
        is_package: whether it is a package's ``__init__.py`` (relative imports resolve from it).
        known: the dotted names of all modules of the package being walked.

    Returns:
        The targets, each with the parent packages it runs, less ``name`` and the packages that
        contain ``name``.
    """
    here = name if is_package else name.rpartition(".")[0]
    targets = set()
    for node in module_level_imports(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = here.split(".")
            base = base[: len(base) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module
        targets.add(module)
        targets.update(f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in known)
    skip = {name, *_ancestors(name)}
    out = set()
    for target in targets:
        out.update(m for m in [*_ancestors(target), target] if m in known and m not in skip)
    return out


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """The module-level import graph among the modules of the package rooted at ``root``.

    Args:
        root: the package's folder.
        package: its import name.

    Returns:
        ``{module: modules it imports directly}`` over all modules of the package.
    """
    files = module_files(root, package)
    known = set(files)
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = imported_modules(name, tree, path.name == "__init__.py", known)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None when the graph is acyclic.

    Args:
        graph: ``{node: successors}``; successors missing from the keys are leaves.

    Returns:
        The nodes of a cycle, the first repeated at the end, or None.
    """
    state = {}  # absent: unvisited; 1: on the current path; 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path, iters = [start], [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph.get(nxt, ()))))
    return None


def defines_module_getattr(tree: ast.Module) -> bool:
    """Whether a module defines ``__getattr__`` at module level (a def or an assignment)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "__getattr__":
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__getattr__" for t in targets):
                return True
    return False


def _sharpsim_root() -> Path:
    spec = importlib.util.find_spec("sharpsim")
    assert spec is not None and spec.submodule_search_locations, "sharpsim is not installed"
    return Path(next(iter(spec.submodule_search_locations)))


# ------------------------------------------------------------------------- the package
def test_sharpsim_has_no_import_cycle():
    graph = import_graph(_sharpsim_root(), "sharpsim")
    assert "sharpsim.laws" in graph and "sharpsim.problems" in graph  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle among sharpsim's modules: " + " -> ".join(cycle)


def test_problems_and_classes_define_no_module_getattr():
    files = module_files(_sharpsim_root(), "sharpsim")
    scoped = [n for n in files if n.split(".")[:2] in (["sharpsim", "problems"], ["sharpsim", "classes"])]
    assert "sharpsim.problems" in scoped and "sharpsim.classes" in scoped
    lazy = [n for n in scoped if defines_module_getattr(ast.parse(files[n].read_text(encoding="utf-8")))]
    assert lazy == [], f"module-level __getattr__ (lazy re-exports) in {lazy}"


# --------------------------------------------------------------- the walker on fake packages
def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_walker_finds_a_cycle_through_relative_and_absolute_imports(tmp_path):
    root = _write(tmp_path, {
        "pkg/__init__.py": "from pkg import a\n",
        "pkg/a.py": "from .sub import b\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/b.py": "import pkg.c\n",
        "pkg/c.py": "from . import a\n",
    })
    graph = import_graph(root, "pkg")
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.sub", "pkg.sub.b"},
        "pkg.sub": set(),
        "pkg.sub.b": {"pkg.c"},  # pkg itself contains pkg.sub.b: no edge to it
        "pkg.c": {"pkg.a"},
    }
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) == {"pkg.a", "pkg.sub.b", "pkg.c"} and len(cycle) == 4


def test_walker_counts_parent_package_inits(tmp_path):
    # e imports sub.b, which runs sub/__init__.py, which imports e: a cycle through the parent.
    root = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/e.py": "import pkg.sub.b\n",
        "pkg/sub/__init__.py": "from ..e import thing\n",
        "pkg/sub/b.py": "",
    })
    graph = import_graph(root, "pkg")
    assert graph["pkg.e"] == {"pkg.sub", "pkg.sub.b"}
    assert graph["pkg.sub"] == {"pkg.e"}
    assert find_cycle(graph) in (["pkg.e", "pkg.sub", "pkg.e"], ["pkg.sub", "pkg.e", "pkg.sub"])


def test_walker_ignores_function_local_and_type_checking_imports(tmp_path):
    root = _write(tmp_path, {
        "pkg/__init__.py": "from pkg.a import f\n",
        "pkg/a.py": (
            "from typing import TYPE_CHECKING\n"
            "import os\n"
            "if TYPE_CHECKING:\n    from pkg import b\n"
            "def f():\n    from pkg import b\n    return b\n"
        ),
        "pkg/b.py": (
            "try:\n    from pkg import a\nexcept ImportError:\n    a = None\n"
            "class K:\n    from pkg import c\n"
        ),
        "pkg/c.py": "",
    })
    graph = import_graph(root, "pkg")
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": set(), "pkg.b": {"pkg.a", "pkg.c"}, "pkg.c": set()}
    assert find_cycle(graph) is None


def test_walker_flags_a_module_getattr(tmp_path):
    assert defines_module_getattr(ast.parse("def __getattr__(name):\n    raise AttributeError(name)\n"))
    assert defines_module_getattr(ast.parse("__getattr__ = print\n"))
    assert not defines_module_getattr(ast.parse("class A:\n    def __getattr__(self, name):\n        return 1\n"))


@pytest.mark.parametrize(
    "graph,acyclic",
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, True),
        ({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, True),  # a diamond is no cycle
        ({"a": {"a"}}, False),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, False),
    ],
)
def test_find_cycle_on_small_graphs(graph, acyclic):
    cycle = find_cycle(graph)
    assert (cycle is None) == acyclic
    if cycle is not None:
        assert cycle[0] == cycle[-1] and all(b in graph[a] for a, b in itertools.pairwise(cycle))
