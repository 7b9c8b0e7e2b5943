"""The task registry: built-in and user tasks by name, and command-line task specs."""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from typing import Any

from sharpsim.bridge.tasks.arithmetic import Arithmetic
from sharpsim.bridge.tasks.base import Task
from sharpsim.bridge.tasks.game24 import Game24
from sharpsim.bridge.tasks.jsonl import JsonlTask, load_jsonl
from sharpsim.bridge.tasks.planted import Planted
from sharpsim.bridge.tasks.prontoqa import ProntoQA

__all__ = ["from_spec", "get", "names", "register"]


def _jsonl_factory(path: str | os.PathLike | None = None, format: str = "auto") -> JsonlTask:
    if path is None:
        raise ValueError("task 'jsonl' needs the option path=<file.jsonl>")
    return load_jsonl(path, format=format)


_REGISTRY: dict[str, Callable[..., Task]] = {
    "arithmetic": Arithmetic,
    "prontoqa": ProntoQA,
    "game24": Game24,
    "jsonl": _jsonl_factory,
    "planted": Planted,
}


def names() -> list[str]:
    """Names of the registered tasks, sorted."""
    return sorted(_REGISTRY)


def register(name: str, factory: Callable[..., Task]) -> None:
    """Register a user task: ``get(name, **options)`` will return ``factory(**options)``.

    Raises:
        ValueError: ``name`` is not a non-empty string without ``:`` or whitespace, is already
            registered, or ``factory`` is not callable.
    """
    if not isinstance(name, str) or not name or re.search(r"[\s:,=]", name):
        raise ValueError(f"name must be a non-empty string without spaces, ':', ',' or '=', got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"task {name!r} is already registered")
    if not callable(factory):
        raise ValueError(f"factory must be callable, got {type(factory).__name__}")
    _REGISTRY[name] = factory


def get(name: str, **options: Any) -> Task:
    """The task ``name`` built with ``options`` (e.g. ``get("arithmetic", steps=3)``).

    Raises:
        ValueError: unknown name (the message lists the available names), an option the task does
            not take (the message lists its options), or a bad option value (the message names it).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; available: {', '.join(names())}")
    factory = _REGISTRY[name]
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        sig = None
    if sig is not None:
        params = sig.parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        allowed = [k for k, p in params.items()
                   if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        unknown = [k for k in options if k not in allowed]
        if unknown and not takes_any:
            raise ValueError(f"task {name!r} has no option {unknown[0]!r}; options: "
                             f"{', '.join(allowed) if allowed else '(none)'}")
    task = factory(**options)
    if not isinstance(task, Task):
        raise ValueError(f"the factory registered for task {name!r} returned {type(task).__name__}, not a Task")
    return task


def from_spec(spec: str) -> Task:
    """A task from a command-line spec ``"name"`` or ``"name:key=value,key=value"``.

    Values that look like integers are passed as ints, others as strings, e.g.
    ``from_spec("arithmetic:steps=3,ops=+*")``, ``from_spec("jsonl:path=data.jsonl")`` or
    ``from_spec("planted:p_mode=0.4,margin=0.1")`` (the planted task parses its decimal strings).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"task spec must be a non-empty string, got {spec!r}")
    name, _, rest = spec.strip().partition(":")
    options: dict[str, Any] = {}
    if rest:
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ValueError(f"task spec {spec!r}: expected key=value, got {item!r}")
            value = value.strip()
            options[key.strip()] = int(value) if re.fullmatch(r"[-+]?\d+", value) else value
    return get(name.strip(), **options)
