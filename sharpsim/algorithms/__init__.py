"""Algorithms: pure functions ``(key, problem, ...) -> result`` that see ``π_base`` only through
:mod:`sharpsim.oracle`."""

from sharpsim.algorithms.bon import BonResult, best_of_n

__all__ = ["BonResult", "best_of_n"]
