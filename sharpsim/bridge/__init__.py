"""The LM bridge: sharpening algorithms on real Hugging Face causal LMs (``pip install 'sharpsim[lm]'``).

Why the lazy loading: the core of sharpsim never imports torch (importing ``sharpsim``, building the
``sharpsim`` command line and ``sharpsim --help`` must work, and stay fast, without the ``lm``
extra). This package therefore imports nothing heavy when it is imported: its torch-backed names
are resolved on first attribute access by the module ``__getattr__`` below (PEP 562), which
imports the module that defines them. The pure-Python modules (``tasks``, ``rewards``,
``analysis``, ``runs``, ``cli``) never import torch at all.

Modules, along the core's seams:

* ``policy`` — ``LMPolicy.from_pretrained(path, *, device=None, dtype=None)``, a local causal LM
  with ``.sample``, ``.greedy`` and ``.log_prob`` (fp32, masked sums over response tokens);
* ``scoring`` — teacher-forced, masked, fp32 log-probabilities of responses (differentiable);
* ``losses`` — the pure losses: SFT's NLL, the Eq 8 square loss, XPO's objective, KL estimators;
* ``lora`` — LoRA adapters in place, the adapter-off reference ``π_base``;
* ``training`` — the one training loop (AdamW, clipping, linear decay);
* ``distributed`` — data-parallel training and sampling over ``torchrun`` processes (rank 0 writes);
* ``evaluation`` — KL to the base, accuracy and lifts of a tuned model;
* ``sft``, ``rlhf``, ``xpo`` — one module per algorithm, each with a config dataclass
  (``SFTConfig``, ``RLHFConfig``, ``XPOConfig``) and a trainer;
* ``tasks`` — generated tasks with exact checkers, and a JSONL loader (``tasks.get(name)``);
* ``rewards`` (self-rewards and the best-of-N pick), ``analysis`` (BoN vs N, pass@k),
  ``runs`` (resumable run directories), ``tiny`` (train a small GPT-2 from scratch),
  ``cli`` (the ``sharpsim lm`` subcommands);
* ``planted`` — the core's exact predictions (coverage, margin, BoN vs N, pass@k, greedy vs mode)
  for an LM on the ``planted`` task, read off the LM's own log-probs.
"""

from __future__ import annotations

import importlib

#: public name -> (module, attribute or None for the module itself), imported on first access
_LAZY = {
    "LMPolicy": ("sharpsim.bridge.policy", "LMPolicy"),
    "Samples": ("sharpsim.bridge.policy", "Samples"),
    "SFTConfig": ("sharpsim.bridge.sft", "SFTConfig"),
    "RLHFConfig": ("sharpsim.bridge.rlhf", "RLHFConfig"),
    "XPOConfig": ("sharpsim.bridge.xpo", "XPOConfig"),
    "analysis": ("sharpsim.bridge.analysis", None),
    "cli": ("sharpsim.bridge.cli", None),
    "distributed": ("sharpsim.bridge.distributed", None),
    "evaluation": ("sharpsim.bridge.evaluation", None),
    "lora": ("sharpsim.bridge.lora", None),
    "losses": ("sharpsim.bridge.losses", None),
    "planted": ("sharpsim.bridge.planted", None),
    "policy": ("sharpsim.bridge.policy", None),
    "rewards": ("sharpsim.bridge.rewards", None),
    "rlhf": ("sharpsim.bridge.rlhf", None),
    "runs": ("sharpsim.bridge.runs", None),
    "scoring": ("sharpsim.bridge.scoring", None),
    "sft": ("sharpsim.bridge.sft", None),
    "tasks": ("sharpsim.bridge.tasks", None),
    "tiny": ("sharpsim.bridge.tiny", None),
    "training": ("sharpsim.bridge.training", None),
    "xpo": ("sharpsim.bridge.xpo", None),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    """Import and return the lazily loaded public ``name`` (see the module doc).

    Raises:
      AttributeError: ``name`` is not a public name of the bridge.
    """
    if name not in _LAZY:
        raise AttributeError(f"module 'sharpsim.bridge' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attr is None else getattr(module, attr)
