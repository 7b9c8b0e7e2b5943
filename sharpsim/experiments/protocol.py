"""The protocol every figure module of :mod:`sharpsim.experiments` follows.

One figure is one module. The module defines, at top level:

``NAME``
  The figure's name: the stem of ``<out>/<NAME>.csv``, ``.png``, ``.pdf`` and ``.manifest.json``
  and the argument of ``sharpsim figures --only``.
``DESCRIPTION``
  One line for ``sharpsim figures --list``.
``THEORY_NOTE``
  The path, relative to the repository root, of the ``theory/*.md`` note that states the result
  the figure tests and how the figure is made.
``Config``
  A frozen dataclass defining the sweep. Its fields and their values are hashed into each row's
  ``config_hash`` (:func:`sharpsim.experiments._runner.config_hash`), so a resumed sweep only
  reuses rows computed under the same configuration.
``CONFIGS``
  ``{mode: Config}`` for the modes ``"testing"`` (seconds; used by the tests), ``"quick"`` (the
  default job) and ``"full"`` (the thorough settings).
``cells(config) -> list[dict]``
  The sweep's cells: dicts of sweep variables, every cell with the same keys.
``run_cell(config, cell) -> list[dict]``
  Computes one cell and returns its rows (one or more dicts, e.g. one per seed), all with the
  same keys; the runner prepends ``config_hash`` and the cell's variables to each row.
``instance(config, cell)``
  The figure's problem instance for the cell's variables (only the keys it needs are read): an
  object with ``problem`` and ``model_class`` attributes (an :class:`Instance`, or a family's own
  instance type such as ``problems.LowerBoundInstance``). Cached, so every cell of a setting and
  the drawing code see the same instance.
``draw(rows, config) -> matplotlib.figure.Figure``
  Draws the figure from the rows of :func:`run_cell` (as read back from the CSV).

Figures that read a sample complexity ``m*`` off a budget sweep (:mod:`.engine`) also define

``BUDGET``
  The cell key that holds the budget (``"N"``, ``"n"`` or ``"budget"``).
``budgets(config, cell) -> list[int]``
  The increasing budget grid for the cell's other variables. A cell may leave the budget out
  when its ``run_cell`` scans the grid itself (stopping past the crossing, as
  :func:`sharpsim.experiments.engine.scan_budgets` does); its rows then carry ``BUDGET``.

Figures that fit a rate may also define

``rates(rows, config) -> list[engine.Rate]``
  The fitted exponents with the theory's, each with its seed-bootstrap and grid-resolution
  intervals (:class:`sharpsim.experiments.engine.Rate`). ``sharpsim figures --check`` and
  ``figures/RATES.md`` list them; a figure without ``rates`` is listed as "no fitted rate".

:func:`check_figure` verifies a module against this protocol.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any, NamedTuple, Protocol, runtime_checkable

__all__ = ["MODES", "BudgetedFigureModule", "FigureModule", "Instance", "check_figure"]

#: The modes every figure's ``CONFIGS`` defines, fastest first.
MODES = ("testing", "quick", "full")


class Instance(NamedTuple):
    """A figure's problem instance.

    Attributes:
      problem: the :class:`sharpsim.problems.Problem` the algorithms run on.
      model_class: the model class the learners fit, or ``None`` when the figure fits none
        (e.g. inference-time best-of-N).
    """

    problem: Any
    model_class: Any = None


@runtime_checkable
class FigureModule(Protocol):
    """What a figure module defines (see the module docstring for each name's meaning)."""

    NAME: str
    DESCRIPTION: str
    THEORY_NOTE: str
    Config: type
    CONFIGS: dict

    def cells(self, config) -> list[dict]:
        """The sweep's cells."""

    def run_cell(self, config, cell: dict) -> list[dict]:
        """The rows of one cell."""

    def instance(self, config, cell: dict):
        """The problem instance of a cell."""

    def draw(self, rows: list[dict], config):
        """The figure drawn from the rows."""


@runtime_checkable
class BudgetedFigureModule(FigureModule, Protocol):
    """A figure module that sweeps a budget and reads ``m*`` off it."""

    BUDGET: str

    def budgets(self, config, cell: dict) -> list[int]:
        """The budget grid of a cell's setting."""


def check_figure(module: types.ModuleType) -> types.ModuleType:
    """Checks that ``module`` follows the figure protocol.

    Args:
      module: a figure module.

    Returns:
      ``module`` itself.

    Raises:
      TypeError: naming the first missing or malformed member: a missing name, a ``NAME``,
        ``DESCRIPTION`` or ``THEORY_NOTE`` that is not a non-empty string, a ``Config`` that is not
        a frozen dataclass, ``CONFIGS`` without a ``Config`` for every mode of :data:`MODES`, a
        non-callable function (``rates`` included, when defined), or a ``BUDGET`` without
        ``budgets`` (or the reverse).
    """
    label = getattr(module, "__name__", repr(module))
    for name in ("NAME", "DESCRIPTION", "THEORY_NOTE", "Config", "CONFIGS", "cells", "run_cell", "instance",
                 "draw"):
        if not hasattr(module, name):
            raise TypeError(f"figure module {label} does not define `{name}`")
    for name in ("NAME", "DESCRIPTION", "THEORY_NOTE"):
        value = getattr(module, name)
        if not isinstance(value, str) or not value:
            raise TypeError(f"`{label}.{name}` must be a non-empty string; got {value!r}")
    config_cls = module.Config
    if not (isinstance(config_cls, type) and dataclasses.is_dataclass(config_cls)
            and config_cls.__dataclass_params__.frozen):
        raise TypeError(f"`{label}.Config` must be a frozen dataclass; got {config_cls!r}")
    configs = module.CONFIGS
    if not isinstance(configs, dict) or set(configs) != set(MODES):
        raise TypeError(f"`{label}.CONFIGS` must map exactly the modes {MODES} to configs; got "
                        f"{sorted(configs) if isinstance(configs, dict) else configs!r}")
    for mode, config in configs.items():
        if not isinstance(config, config_cls):
            raise TypeError(f"`{label}.CONFIGS[{mode!r}]` must be a `{label}.Config`; got {type(config).__name__}")
    for name in ("cells", "run_cell", "instance", "draw"):
        if not callable(getattr(module, name)):
            raise TypeError(f"`{label}.{name}` must be callable")
    if hasattr(module, "BUDGET") != hasattr(module, "budgets"):
        raise TypeError(f"figure module {label} must define both `BUDGET` and `budgets` or neither")
    if hasattr(module, "BUDGET") and not (isinstance(module.BUDGET, str) and callable(module.budgets)):
        raise TypeError(f"`{label}.BUDGET` must be a string and `{label}.budgets` callable")
    if hasattr(module, "rates") and not callable(module.rates):
        raise TypeError(f"`{label}.rates` must be callable")
    return module
