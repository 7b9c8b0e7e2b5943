"""The LM bridge: sharpening algorithms on real Hugging Face causal LMs (``pip install 'sharpsim[lm]'``).

The core of sharpsim never imports torch; this package imports torch, transformers and peft only
when one of its torch-backed names is first used. ``sharpsim.bridge.tasks`` is pure Python.

Public names:

* ``LMPolicy.from_pretrained(path, *, device=None, dtype=None)`` — a local causal LM with
  ``.sample``, ``.greedy`` and ``.log_prob`` (fp32, masked sums over response tokens);
* ``tasks.get(name)`` — generated tasks with exact checkers, and a JSONL loader;
* ``scoring`` — teacher-forced, masked, fp32 log-probabilities of responses (differentiable);
* ``rewards`` (self-rewards), ``analysis`` (BoN vs N, pass@k), ``sharpen`` (LoRA SFT / Eq 8 / XPO),
  ``runs`` (resumable run directories), ``tiny`` (train a small GPT-2 from scratch).
"""

from __future__ import annotations

import importlib

_LAZY = {
    "LMPolicy": ("sharpsim.bridge.policy", "LMPolicy"),
    "tasks": ("sharpsim.bridge.tasks", None),
    "Samples": ("sharpsim.bridge.policy", "Samples"),
    "scoring": ("sharpsim.bridge.scoring", None),
    "rewards": ("sharpsim.bridge.rewards", None),
    "analysis": ("sharpsim.bridge.analysis", None),
    "sharpen": ("sharpsim.bridge.sharpen", None),
    "runs": ("sharpsim.bridge.runs", None),
    "tiny": ("sharpsim.bridge.tiny", None),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'sharpsim.bridge' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attr is None else getattr(module, attr)
