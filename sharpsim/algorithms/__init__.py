"""Algorithms: pure functions ``(key, problem, ...) -> result`` that see ``π_base`` only through
:mod:`sharpsim.oracle`."""

from sharpsim.algorithms.bon import BonResult, best_of_n
from sharpsim.algorithms.rlhf import rlhf_sharpening
from sharpsim.algorithms.sft import SharpeningResult, adaptive_sft_sharpening, sft_sharpening
from sharpsim.algorithms.xpo import XPOResult, xpo

__all__ = [
    "BonResult",
    "SharpeningResult",
    "XPOResult",
    "adaptive_sft_sharpening",
    "best_of_n",
    "rlhf_sharpening",
    "sft_sharpening",
    "xpo",
]
