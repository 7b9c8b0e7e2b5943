"""The bridge's one training loop: AdamW steps on a LoRA adapter, with clipping and optional linear decay.

:func:`train_steps` is the loop every trainer uses: for each item, zero the gradients, let the
caller compute the loss and back-propagate it, clip the gradient norm, step AdamW (and the linear
learning-rate decay, when asked). The model is in training mode only for LoRA's own dropout
(:func:`sharpsim.bridge.lora.set_train_mode`), so the reference ``π_base`` stays exact.
:func:`fit` is the minibatch form (shuffled epochs, linear decay to 0) used by SFT-Sharpening and
RLHF-Sharpening; XPO calls :func:`train_steps` once per round with full-batch steps.

Under ``torchrun`` (several processes), :func:`fit` is data-parallel: each rank back-propagates its
shard of every global minibatch and the gradients are summed over the ranks before clipping
(:mod:`sharpsim.bridge.distributed`), so the steps are those of one process on the whole minibatch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from sharpsim import _validation as v
from sharpsim.bridge import _common, distributed
from sharpsim.bridge._deps import require
from sharpsim.bridge.lora import set_train_mode

torch = require("torch")

__all__ = ["check_common_settings", "check_optimiser_settings", "fit", "make_optimizer", "train_steps"]


def check_optimiser_settings(*, lr, weight_decay, grad_clip) -> None:
    """Validate AdamW settings.

    Args:
      lr: learning rate ``> 0``.
      weight_decay: ``>= 0``.
      grad_clip: gradient-norm clip ``> 0``, or ``None`` for no clipping.

    Raises:
      ValueError: a setting out of range (the message names it).
    """
    v.check_positive("lr", lr)
    v.check_at_least("weight_decay", weight_decay, 0.0)
    if grad_clip is not None:
        v.check_positive("grad_clip", grad_clip)


def make_optimizer(model, *, lr: float, weight_decay: float):
    """AdamW over ``model``'s trainable parameters.

    Args:
      model: the (LoRA-wrapped) model.
      lr, weight_decay: AdamW's settings.

    Returns:
      ``(params, optimizer)``: the trainable parameters and the ``torch.optim.AdamW`` over them.

    Raises:
      ValueError: the model has no trainable parameter (no adapter).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (LoRA adapter missing?)")
    return params, torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def train_steps(model, items: Iterable, step_loss: Callable[[Any], float], *, lr: float, weight_decay: float,
                grad_clip: float | None, decay_steps: int | None = None, data_parallel: bool = False) -> list[dict]:
    """One optimiser step per item of ``items`` with a fresh AdamW (see the module doc).

    Args:
      model: the LoRA-wrapped model.
      items: what each step works on (e.g. minibatch indices); consumed lazily, one per step.
      step_loss: ``step_loss(item)`` computes the step's loss, calls ``backward`` on it (gradients
        may be accumulated over chunks) and returns its value.
      lr, weight_decay: AdamW's settings.
      grad_clip: gradient-norm clip; ``None`` or 0 for none (the norm is still reported).
      decay_steps: if given, the learning rate decays linearly from ``lr`` to 0 over that many steps.
      data_parallel: in a multi-process job, ``step_loss`` back-propagates this rank's weighted
        share of the step's loss (and returns its weighted value); the trainable parameters are
        broadcast from rank 0 first, and after each ``step_loss`` the gradients and loss values are
        summed over the ranks (:func:`sharpsim.bridge.distributed.all_reduce_gradients`). Ignored
        with one process.

    Returns:
      One dict per step: ``item``, ``loss``, ``lr`` (the rate the step used) and ``grad_norm``
      (before clipping).
    """
    params, opt = make_optimizer(model, lr=lr, weight_decay=weight_decay)
    reduce = data_parallel and distributed.world()[1] > 1
    if reduce:
        distributed.broadcast_parameters(params)
    sched = None
    if decay_steps is not None:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / decay_steps))
    out = []
    set_train_mode(model, True)
    try:
        for item in items:
            opt.zero_grad(set_to_none=True)
            loss = step_loss(item)
            if reduce:
                loss = distributed.all_reduce_gradients(params, loss)
            gnorm = torch.nn.utils.clip_grad_norm_(params, grad_clip if grad_clip else float("inf"))
            current_lr = opt.param_groups[0]["lr"]
            opt.step()
            if sched is not None:
                sched.step()
            out.append({"item": item, "loss": float(loss), "lr": current_lr, "grad_norm": float(gnorm)})
    finally:
        set_train_mode(model, False)
    return out


def fit(model, n_items: int, batch_loss: Callable[[list[int]], Any], *, epochs: int, batch_size: int, lr: float,
        weight_decay: float, grad_clip: float | None, seed: int, progress: bool = False,
        desc: str = "train") -> list[dict]:
    """Minibatch AdamW over ``n_items`` items: shuffled epochs, linear decay to 0, gradient-norm clipping.

    Each epoch draws a permutation of the items from a ``torch.Generator`` seeded with ``seed``
    and steps on consecutive minibatches of ``batch_size`` of it. In a multi-process job every rank
    draws the same permutation, computes ``batch_loss`` on its shard ``minibatch[rank::world_size]``
    weighted by the shard's share of the minibatch, and the gradients are summed over the ranks
    (see the module doc); ``batch_loss`` must be a mean over its indices for this to equal the
    one-process step.

    Args:
      model: the LoRA-wrapped model.
      n_items: number of training items.
      batch_loss: ``batch_loss(indices)`` returns the minibatch's scalar loss tensor (not yet
        back-propagated).
      epochs, batch_size: passes over the items and items per step.
      lr, weight_decay, grad_clip: as in :func:`train_steps`.
      seed: the shuffling seed.
      progress: show a progress bar over the epochs.
      desc: the bar's label.

    Returns:
      The loss curve: one row per optimiser step with ``step``, ``epoch``, ``loss`` (the minibatch
      loss), ``lr`` and ``grad_norm``.
    """
    per_epoch = math.ceil(n_items / batch_size)
    gen = torch.Generator().manual_seed(int(seed))

    def batches():
        for epoch in _common.progress(range(epochs), enabled=progress, desc=desc):
            order = torch.randperm(n_items, generator=gen).tolist()
            for s in range(0, n_items, batch_size):
                yield epoch, order[s: s + batch_size]

    rank, size = distributed.world()

    def step_loss(item):
        if size == 1:
            loss = batch_loss(item[1])
            loss.backward()
            return float(loss.detach())
        mine = distributed.shard(item[1], rank, size)
        if not mine:
            return 0.0
        weight = len(mine) / len(item[1])
        loss = batch_loss(mine) * weight
        loss.backward()
        return float(loss.detach())

    steps = train_steps(model, batches(), step_loss, lr=lr, weight_decay=weight_decay, grad_clip=grad_clip,
                        decay_steps=epochs * per_epoch, data_parallel=True)
    return [{"step": k, "epoch": s["item"][0] + 1, "loss": s["loss"], "lr": s["lr"], "grad_norm": s["grad_norm"]}
            for k, s in enumerate(steps, start=1)]


def check_common_settings(config) -> None:
    """Validate the settings every LoRA trainer's config shares, in a fixed order.

    Checks ``lora_rank >= 1``, ``lr > 0``, ``weight_decay >= 0``, ``grad_clip > 0`` (or ``None``),
    ``batch_size >= 1`` (``batch`` for XPO), ``max_new_tokens >= 1``, then ``lora_alpha > 0`` (or
    ``None``) and ``lora_dropout`` in ``[0, 1)`` where the config has them.

    Args:
      config: an :class:`~sharpsim.bridge.sft.SFTConfig`, :class:`~sharpsim.bridge.rlhf.RLHFConfig`
        or :class:`~sharpsim.bridge.xpo.XPOConfig`.

    Raises:
      ValueError: a setting out of range (the message names it).
      TypeError: an integer setting that is not an integer (the message names it).
    """
    from sharpsim.bridge.lora import check_lora_settings

    v.check_positive_int("lora_rank", config.lora_rank)
    check_optimiser_settings(lr=config.lr, weight_decay=config.weight_decay, grad_clip=config.grad_clip)
    v.check_positive_int("batch_size", getattr(config, "batch_size", getattr(config, "batch", None)))
    v.check_positive_int("max_new_tokens", config.max_new_tokens)
    check_lora_settings(rank=config.lora_rank, alpha=config.lora_alpha,
                        dropout=getattr(config, "lora_dropout", 0.0), rank_name="lora_rank")
