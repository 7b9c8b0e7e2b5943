"""Self-checking exercises and interactive exact figures for the seminar notebooks.

An exercise is registered once, in the module of its lecture (``sharpsim.seminar.lecture<L>``),
with :func:`exercise`: a checker that takes the student's answer and returns ``None`` when it is
right, or a hint when it is wrong, and at least one deliberately wrong answer (the tests check
that every registered wrong answer is refused and every instructor solution accepted). A notebook
calls :func:`check` with the exercise's id (``"L.k"``); the lecture's module is imported on first
use.

:func:`interactive` draws an exact curve at its default controls and, in a live Jupyter kernel
with ``ipywidgets`` installed (``pip install -e '.[teach]'``), adds sliders that redraw it; where
no widget frontend is present (the rendered site, CI, ``SHARPSIM_SEMINAR_STATIC=1``) only the
static figure is drawn.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["CheckResult", "Exercise", "check", "exercise", "exercises", "interactive", "widgets_available"]

#: Set to ``1`` to make a wrong answer raise (the tests execute the instructor's notebooks so).
STRICT_ENV = "SHARPSIM_SEMINAR_STRICT"
#: Set to ``1`` to draw only static figures (the site build and CI set it).
STATIC_ENV = "SHARPSIM_SEMINAR_STATIC"


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer.

    Attributes:
      exercise: the exercise id (``"L.k"``).
      ok: whether the answer is right.
      message: what was checked (right) or a hint (wrong).
    """

    exercise: str
    ok: bool
    message: str

    def __str__(self) -> str:
        return f"{'right' if self.ok else 'wrong'} ({self.exercise}): {self.message}"

    def __bool__(self) -> bool:
        return self.ok

    def _repr_markdown_(self) -> str:  # how a notebook shows it
        mark = "✅ **right**" if self.ok else "❌ **not yet**"
        return f"{mark} (exercise {self.exercise}): {self.message}"


@dataclasses.dataclass(frozen=True)
class Exercise:
    """A registered exercise.

    Attributes:
      id: ``"L.k"`` (lecture L, exercise k).
      title: one line shown in listings.
      checker: ``checker(answer) -> None | str``: ``None`` when right, else a hint.
      wrong: deliberately wrong answers (each must be refused; used by the tests).
      right_message: what a right answer is told.
    """

    id: str
    title: str
    checker: Callable[[Any], str | None]
    wrong: tuple = ()
    right_message: str = "the answer passes every check"


_REGISTRY: dict[str, Exercise] = {}


def exercise(id: str, *, title: str, wrong: Sequence = (), right_message: str = "the answer passes every check"):
    """Registers the decorated checker as exercise ``id``.

    Args:
      id: ``"L.k"``, unique.
      title: one line.
      wrong: at least one deliberately wrong answer (a sequence of answers).
      right_message: the message of a right answer.

    Returns:
      The decorator (it returns the checker unchanged).

    Raises:
      ValueError: on a malformed or duplicate id, or no wrong answer.
    """
    parts = id.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"`id` must look like 'L.k' (lecture.exercise); got {id!r}")
    if not wrong:
        raise ValueError(f"exercise {id}: `wrong` must hold at least one deliberately wrong answer")

    def register(checker):
        if id in _REGISTRY:
            raise ValueError(f"exercise {id} is registered twice")
        _REGISTRY[id] = Exercise(id, title, checker, tuple(wrong), right_message)
        return checker

    return register


def _load(lecture: str) -> None:
    try:
        importlib.import_module(f"sharpsim.seminar.lecture{lecture}")
    except ModuleNotFoundError as err:
        if err.name != f"sharpsim.seminar.lecture{lecture}":
            raise


def exercises(lecture: int | None = None) -> list[Exercise]:
    """The registered exercises (of one lecture, or of every lecture module found), by id.

    Args:
      lecture: the lecture number, or ``None`` for all (lectures 1 to 7 are imported).

    Returns:
      The exercises sorted by (lecture, number).
    """
    for lec in [lecture] if lecture is not None else range(1, 8):
        _load(str(lec))
    out = [e for e in _REGISTRY.values() if lecture is None or e.id.split(".")[0] == str(lecture)]
    return sorted(out, key=lambda e: tuple(int(p) for p in e.id.split(".")))


def check(id: str, answer) -> CheckResult:
    """Checks an answer to exercise ``id`` and returns (in a notebook: shows) the verdict.

    A checker that raises is reported as a wrong answer with the error as the hint (a student's
    answer of the wrong type is a wrong answer, not a crash).

    Args:
      id: the exercise id, ``"L.k"``.
      answer: the student's answer (a number, an array, a function: as the exercise asks).

    Returns:
      A :class:`CheckResult`.

    Raises:
      KeyError: on an unknown exercise id.
      AssertionError: on a wrong answer when the environment variable ``SHARPSIM_SEMINAR_STRICT``
        is ``1`` (how the tests run the instructor's notebooks).
    """
    _load(id.split(".")[0])
    if id not in _REGISTRY:
        raise KeyError(f"unknown exercise {id!r}; known: {sorted(_REGISTRY)}")
    ex = _REGISTRY[id]
    try:
        hint = ex.checker(answer)
    except Exception as err:  # a student's malformed answer is a wrong answer, not a crash
        hint = f"checking the answer raised {type(err).__name__}: {err}"
    result = CheckResult(id, hint is None, ex.right_message if hint is None else hint)
    if not result.ok and os.environ.get(STRICT_ENV) == "1":
        raise AssertionError(str(result))
    return result


def widgets_available() -> bool:
    """Whether :func:`interactive` can show live controls: ``ipywidgets`` importable, a Jupyter
    kernel running, and ``SHARPSIM_SEMINAR_STATIC`` not set to ``1``."""
    if os.environ.get(STATIC_ENV) == "1":
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def interactive(draw: Callable[..., Any], **controls) -> None:
    """Draws ``draw(**defaults)``; adds live controls where a widget frontend is present.

    Args:
      draw: a function of the controls' values that draws one figure (matplotlib's current
        figure is shown).
      **controls: per keyword, either ``(default, low, high)`` / ``(default, low, high, step)``
        for a slider, or a list of options (the first is the default).

    Raises:
      ValueError: on a malformed control (a default outside ``[low, high]``, an empty list).
    """
    import matplotlib.pyplot as plt

    defaults, specs = {}, {}
    for name, spec in controls.items():
        if isinstance(spec, list):
            if not spec:
                raise ValueError(f"control `{name}`: the list of options is empty")
            defaults[name], specs[name] = spec[0], spec
        elif isinstance(spec, tuple) and len(spec) in (3, 4):
            default, low, high = spec[:3]
            if not low <= default <= high:
                raise ValueError(f"control `{name}`: default {default} is outside [{low}, {high}]")
            defaults[name], specs[name] = default, spec
        else:
            raise ValueError(f"control `{name}` must be (default, low, high[, step]) or a list of options; got {spec!r}")
    if not widgets_available():
        draw(**defaults)
        plt.show()
        return
    import ipywidgets as w

    kwargs = {}
    for name, spec in specs.items():
        if isinstance(spec, list):
            kwargs[name] = w.Dropdown(options=spec, value=spec[0], description=name)
        else:
            default, low, high = spec[:3]
            step = spec[3] if len(spec) == 4 else None
            if all(isinstance(x, int) for x in (default, low, high)) and (step is None or isinstance(step, int)):
                kwargs[name] = w.IntSlider(value=default, min=low, max=high, step=step or 1, description=name)
            else:
                kwargs[name] = w.FloatSlider(value=default, min=low, max=high, step=step or (high - low) / 100,
                                             description=name)

    def show(**values):
        draw(**values)
        plt.show()

    w.interact(show, **kwargs)
