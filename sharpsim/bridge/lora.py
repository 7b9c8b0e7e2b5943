"""LoRA plumbing: adapter targets, wrapping a model in place, and the adapter-off reference.

:func:`add_lora` wraps a causal LM with a fresh peft LoRA adapter *in place*; the reference
``π_base`` is the same weights with the adapter disabled (:func:`base_of`, i.e.
``with model.disable_adapter():``), so there is one copy of the weights in memory. Fine-tuning
keeps the base model in eval mode (its own dropout off) so that ``π_base`` is deterministic and the
reference exact; only LoRA's dropout is active in training (:func:`set_train_mode`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from sharpsim import _validation as v
from sharpsim.bridge._deps import require

torch = require("torch")

__all__ = ["add_lora", "base_of", "check_lora_settings", "lora_target_modules", "set_train_mode"]


def _leaf_linear_names(model) -> list[str]:
    from transformers.pytorch_utils import Conv1D

    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    names: list[str] = []
    for full, module in model.named_modules():
        if module is out or not isinstance(module, (torch.nn.Linear, Conv1D)):
            continue
        leaf = full.rsplit(".", 1)[-1]
        if leaf in ("lm_head", "score", "classifier") or leaf in names:
            continue
        names.append(leaf)
    return names


def lora_target_modules(model) -> list[str]:
    """Default LoRA targets: every ``nn.Linear`` / GPT-2 ``Conv1D`` layer inside the transformer blocks.

    That is all of them except the output head (``get_output_embeddings()``, ``lm_head``) —
    GPT-2: ``c_attn, c_proj, c_fc``; Llama/Mistral/Phi-3: ``q_proj, k_proj, v_proj, o_proj,
    gate_proj, up_proj, down_proj`` (or the fused ``qkv_proj``, ``gate_up_proj``).

    Args:
      model: a Hugging Face causal LM.

    Returns:
      The leaf module names, in order of first appearance.

    Raises:
      ValueError: the model has no such layer.
    """
    names = _leaf_linear_names(model)
    if not names:
        raise ValueError("found no Linear/Conv1D layer to put LoRA on; pass `target_modules`")
    return names


def check_lora_settings(*, rank, alpha=None, dropout=0.0, rank_name: str = "rank") -> tuple[int, float, float]:
    """Validate LoRA settings without touching a model.

    Args:
      rank: LoRA rank ``r >= 1``.
      alpha: LoRA scaling numerator ``> 0``, or ``None`` for the default ``2 * rank``.
      dropout: LoRA dropout in ``[0, 1)``.
      rank_name: the argument name used in the rank's error message.

    Returns:
      ``(rank, alpha, dropout)`` with the default ``alpha`` filled in.

    Raises:
      ValueError: ``rank < 1``, ``alpha <= 0`` (``lora_alpha``) or ``dropout`` outside ``[0, 1)``
        (``lora_dropout``).
    """
    rank = v.check_positive_int(rank_name, rank)
    alpha = 2.0 * rank if alpha is None else v.check_positive("lora_alpha", alpha)
    dropout = v.check_at_least("lora_dropout", dropout, 0.0)
    if dropout >= 1.0:
        raise ValueError(f"`lora_dropout` must be in [0, 1); got {dropout}")
    return rank, alpha, dropout


def add_lora(model, *, rank: int, alpha: float | None = None, dropout: float = 0.0,
             target_modules: Sequence[str] | None = None, rank_name: str = "rank"):
    """Wrap ``model`` with a fresh LoRA adapter (peft), in place; returns the ``PeftModel``.

    The adapter starts at zero (``B = 0``), so the wrapped model equals the base model; the base
    weights are frozen. ``with peft_model.disable_adapter():`` gives back ``π_base`` exactly (one
    copy of the weights in memory). The model is left in eval mode.

    Args:
      model: a Hugging Face causal LM without an adapter.
      rank: LoRA rank ``r >= 1``.
      alpha: LoRA scaling numerator (default ``2 * rank``: scale ``alpha / rank = 2``).
      dropout: LoRA dropout in ``[0, 1)``.
      target_modules: leaf module names; default :func:`lora_target_modules`.
      rank_name: the argument name used in error messages (``lora_rank`` from the trainers).

    Returns:
      The ``peft.PeftModel`` wrapping ``model``.

    Raises:
      ValueError: ``rank < 1``, ``alpha <= 0``, ``dropout`` outside ``[0, 1)``, or ``model`` already
        carries a peft adapter.
    """
    rank, alpha, dropout = check_lora_settings(rank=rank, alpha=alpha, dropout=dropout, rank_name=rank_name)
    peft = require("peft")
    from transformers.pytorch_utils import Conv1D

    if isinstance(model, peft.PeftModel) or getattr(model, "peft_config", None):
        raise ValueError("`model` already carries a peft adapter; pass the base model")
    targets = list(target_modules) if target_modules is not None else lora_target_modules(model)
    conv1d = any(isinstance(m, Conv1D) and n.rsplit(".", 1)[-1] in targets for n, m in model.named_modules())
    config = peft.LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
                             fan_in_fan_out=conv1d, bias="none", task_type="CAUSAL_LM")
    peft_model = peft.get_peft_model(model, config)
    peft_model.eval()
    return peft_model


def set_train_mode(peft_model, on: bool) -> None:
    """Eval mode everywhere, except LoRA's own dropout modules when ``on`` (see the module doc).

    Args:
      peft_model: the wrapped model.
      on: ``True`` while training, ``False`` after.
    """
    peft_model.eval()
    if on:
        for name, module in peft_model.named_modules():
            if "lora_dropout" in name and isinstance(module, torch.nn.Dropout):
                module.train()


def base_of(model):
    """A context manager under which ``model`` is ``π_base`` (adapter disabled); a no-op for a plain model.

    Args:
      model: a peft model, or a model without an adapter.

    Returns:
      ``model.disable_adapter()`` or ``contextlib.nullcontext()``.
    """
    return model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()
