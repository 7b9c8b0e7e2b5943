"""Algorithms: pure functions ``(key, problem, ...) -> result`` that see ``π_base`` only through
:mod:`sharpsim.oracle` (the sample-and-evaluate framework, Def 3.2).

* :func:`sft_sharpening` (Sec 2.1), :func:`adaptive_sft_sharpening` (App D),
  :func:`rlhf_sharpening` (Sec 2.2, Eq 8), :func:`xpo` (Alg 1) — training-time sharpening; each
  returns its own result type with the shared core ``(policy, num_queries, error)``
  (:mod:`~sharpsim.algorithms.results`);
* :func:`best_of_n` — inference-time best-of-N (Prop C.1);
* :func:`iterate` — iterated self-improvement (each round's output is the next base), with the
  ready rounds :func:`bon_step`, :func:`kl_step`, :func:`sft_step`.
"""

from sharpsim.algorithms.bon import BonResult, best_of_n
from sharpsim.algorithms.iterate import IterateResult, bon_step, iterate, kl_step, sft_step
from sharpsim.algorithms.results import (
    AdaptiveSFTResult,
    AlgorithmResult,
    RLHFResult,
    SFTResult,
    SharpeningResult,
    XPOResult,
)
from sharpsim.algorithms.rlhf import rlhf_sharpening
from sharpsim.algorithms.sft import adaptive_sft_sharpening, sft_sharpening
from sharpsim.algorithms.xpo import xpo

__all__ = [
    "AdaptiveSFTResult",
    "AlgorithmResult",
    "BonResult",
    "IterateResult",
    "RLHFResult",
    "SFTResult",
    "SharpeningResult",
    "XPOResult",
    "adaptive_sft_sharpening",
    "best_of_n",
    "bon_step",
    "iterate",
    "kl_step",
    "rlhf_sharpening",
    "sft_sharpening",
    "sft_step",
    "xpo",
]
