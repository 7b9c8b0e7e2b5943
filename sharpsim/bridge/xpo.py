"""XPO, reward-based (Huang et al., ICLR 2025, Alg 1), on a causal LM with LoRA.

Growing data, optimism weight α, reference = the adapter disabled: each round adds triples of an
on-policy draw and a base draw and takes full-batch AdamW steps
(:func:`~sharpsim.bridge.training.train_steps`) on :func:`~sharpsim.bridge.losses.xpo_loss`. The
same definitions as the JAX core's ``sharpsim.algorithms.xpo``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any

import numpy as np

from sharpsim import _validation as v
from sharpsim.bridge import _common, distributed, scoring
from sharpsim.bridge._deps import require
from sharpsim.bridge.evaluation import kl_to_base, score_texts
from sharpsim.bridge.lora import add_lora, base_of
from sharpsim.bridge.losses import xpo_loss
from sharpsim.bridge.training import check_common_settings, train_steps

torch = require("torch")

__all__ = ["XPOConfig", "XPOResult", "xpo"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class XPOConfig:
    """The settings of :func:`xpo` (validated on construction).

    Attributes:
      T: rounds (``>= 1``).
      beta: the KL weight ``β > 0``.
      alpha: the optimism weight ``α >= 0``.
      batch: triples added per round (``>= 1``).
      steps_per_round: full-batch AdamW steps on ``D_t`` per round (``>= 1``).
      lr: AdamW learning rate (``> 0``).
      lora_rank: LoRA rank (``>= 1``).
      grad_clip: gradient-norm clip (``> 0``; ``None``: none).
      weight_decay: AdamW weight decay (``>= 0``).
      max_new_tokens: response cap (``>= 1``).
      seed: sampling and training seed.
      lora_alpha: LoRA scaling numerator (``> 0``; ``None``: ``2 * lora_rank``).
      chunk_size: triples per forward pass when the loss over ``D_t`` is accumulated (``>= 1``).

    Raises:
      ValueError: a setting out of range (the message names it).
      TypeError: an integer setting that is not an integer.
    """

    T: int
    beta: float
    alpha: float
    batch: int = 1
    steps_per_round: int = 10
    lr: float = 1e-3
    lora_rank: int = 8
    grad_clip: float | None = 1.0
    weight_decay: float = 0.0
    max_new_tokens: int = 64
    seed: int = 0
    lora_alpha: float | None = None
    chunk_size: int = 16

    def __post_init__(self):
        object.__setattr__(self, "T", v.check_positive_int("T", self.T))
        object.__setattr__(self, "beta", v.check_positive("beta", self.beta))
        object.__setattr__(self, "alpha", v.check_at_least("alpha", self.alpha, 0.0))
        object.__setattr__(self, "batch", v.check_positive_int("batch", self.batch))
        object.__setattr__(self, "steps_per_round", v.check_positive_int("steps_per_round", self.steps_per_round))
        object.__setattr__(self, "chunk_size", v.check_positive_int("chunk_size", self.chunk_size))
        check_common_settings(self)


@dataclasses.dataclass
class XPOResult:
    """Output of :func:`xpo`.

    Attributes:
      model: the peft model; the adapter is the last iterate ``π^(T+1)``.
      policy: an ``LMPolicy`` sampling it.
      data: the final ``D_T``, one row per triple with its round.
      rounds: per round: ``|D_t|``, loss before/after, KL k1/k3 and mean log π_base of the round's
        on-policy draws, ``Ĵ_β``.
      loss_curve: every optimiser step.
      summary: headline numbers.
    """

    model: Any
    policy: Any
    data: list[dict]
    rounds: list[dict]
    loss_curve: list[dict]
    summary: dict


def xpo(policy, examples, config: XPOConfig, *, task=None, run=None, progress: bool = False) -> XPOResult:
    """XPO, reward-based (Alg 1) with LoRA: growing data, optimism α, reference = adapter disabled.

    Start at ``π^(1) = π_base`` (LoRA ``B = 0``), ``D = ∅``. For ``t = 1..T``: prompts
    ``x = examples[(t·batch + j) mod K]`` (``j < batch``), ``y ~ π^(t)(·|x)`` (adapter on) and
    ``y' ~ π_base(·|x)`` (adapter off), rewards ``r = log π_base`` of both; add the ``batch`` triples
    to ``D`` (``|D_t| = t·batch``) and take ``steps_per_round`` full-batch AdamW steps (a fresh
    optimiser each round, warm-started parameters, as the core's inner Adam) on
    :func:`~sharpsim.bridge.losses.xpo_loss` over ``D_t`` (mean over triples).
    ``m = 2 T batch`` base log-probability queries.

    Logged per round (``rounds``): the loss on ``D_t`` before and after the round's steps, and on
    the round's on-policy draws ``y ~ π^(t)``: KL k1/k3 of ``π^(t)`` to ``π_base``, the mean
    ``log π_base(y|x)`` and ``Ĵ_β = mean(log π_base(y|x) − β k1)`` (the core's held-out estimator of
    ``J_β``). The returned model is the last iterate (the core can select the best iterate
    exactly; here that would need every iterate's adapter — use ``rounds``' Ĵ_β to choose T).

    Args:
      policy: the base ``LMPolicy`` (its model is wrapped with LoRA in place).
      examples: the prompts.
      config: the settings.
      task: the task (per-round accuracy), or ``None``.
      run: optional :class:`~sharpsim.bridge.runs.RunDir`: ``train_curve.csv``, ``rounds.csv`` and
        ``data.csv`` are written there (XPO interleaves sampling and training, so it always starts over).
      progress: show a progress bar over the rounds.

    Returns:
      An :class:`XPOResult`.

    Raises:
      TypeError: ``config`` is not an :class:`XPOConfig`.
      ValueError: ``examples`` is empty, or the call is in a multi-process ``torch.distributed``
        job (XPO's rounds alternate on-policy sampling and small full-batch steps; it runs in one
        process).
    """
    if not isinstance(config, XPOConfig):
        raise TypeError(f"`config` must be an XPOConfig, got {type(config).__name__}")
    c = config
    examples = _common.check_examples(examples)
    if distributed.world()[1] > 1:
        raise ValueError("xpo runs in one process (its rounds alternate on-policy sampling and full-batch "
                         "steps on D_t); run it without torchrun (for a model larger than one GPU: "
                         "--device-map auto)")
    T, beta, alpha, batch = c.T, c.beta, c.alpha, c.batch
    t0 = time.time()
    pad = policy.pad_token_id
    torch.manual_seed(int(c.seed))
    model = add_lora(policy.model, rank=c.lora_rank, alpha=c.lora_alpha, rank_name="lora_rank")
    current = _common.policy_from(model, policy)
    device = _common.device_of(model)
    data: list[dict] = []
    pids: list[list[int]] = []
    rounds, curve = [], []

    def loss_over(grad: bool) -> float:
        """Full-batch XPO loss over D (chunked; gradients accumulated into .grad when grad)."""
        total = 0.0
        size = len(data)
        for s in range(0, size, c.chunk_size):
            part = list(range(s, min(size, s + c.chunk_size)))
            k = len(part)
            ctx = contextlib.nullcontext() if grad else torch.no_grad()
            with ctx:
                lp = scoring.sequence_log_probs(model, [pids[i] for i in part] * 2,
                                                [data[i]["y"] for i in part] + [data[i]["yp"] for i in part],
                                                pad_token_id=pad, grad=True)
                ry = torch.tensor([data[i]["r_y"] for i in part], dtype=torch.float32, device=device)
                ryp = torch.tensor([data[i]["r_yp"] for i in part], dtype=torch.float32, device=device)
                part_loss = xpo_loss(lp[:k], lp[k:], ry, ryp, ry, ryp, beta, alpha, reduction="sum") / size
                if grad:
                    part_loss.backward()
            total += float(part_loss.detach())
        return total

    for t in _common.progress(range(T), enabled=progress, desc="XPO rounds"):
        exs = [examples[(t * batch + j) % len(examples)] for j in range(batch)]
        prompts = [e.prompt for e in exs]
        draw_ids = [t * batch + j for j in range(batch)]
        s_y = current.sample(prompts, n=1, temperature=1.0, max_new_tokens=c.max_new_tokens,
                             seed=_common.stage_seed(c.seed, 1), prompt_ids=draw_ids)
        with base_of(model):
            s_yp = current.sample(prompts, n=1, temperature=1.0, max_new_tokens=c.max_new_tokens,
                                  seed=_common.stage_seed(c.seed, 2), prompt_ids=draw_ids)
        p_ids = current.encode_prompts(prompts)
        logp_y, r_y, k1, k3 = kl_to_base(model, p_ids, s_y.tokens, pad_token_id=pad)
        for j, e in enumerate(exs):
            data.append({"round": t + 1, "example_id": e.id, "prompt": e.prompt, "y": s_y.tokens[j],
                         "yp": s_yp.tokens[j], "y_text": s_y.text[j], "yp_text": s_yp.text[j],
                         "logp_y": float(logp_y[j]), "r_y": float(r_y[j]), "r_yp": float(s_yp.log_prob[j])})
            pids.append(p_ids[j])
        before = loss_over(False)
        steps = train_steps(model, range(c.steps_per_round), lambda _: loss_over(True), lr=c.lr,
                            weight_decay=c.weight_decay, grad_clip=c.grad_clip)
        curve += [{"step": len(curve) + k, "round": t + 1, "loss": st["loss"], "grad_norm": st["grad_norm"]}
                  for k, st in enumerate(steps, start=1)]
        after = loss_over(False)
        correct = [x for j, e in enumerate(exs) for x in score_texts(task, e, [s_y.text[j]]) if x is not None]
        rounds.append({"round": t + 1, "data_size": len(data), "loss_before": before, "loss_after": after,
                       "kl_k1": float(np.mean(k1)), "kl_k3": float(np.mean(k3)),
                       "base_loglik": float(np.mean(r_y)), "j_beta_hat": float(np.mean(r_y - beta * k1)),
                       "length": float(np.mean(s_y.length)),
                       "acc": _common.mean(correct) if correct else None})
    summary = {"algorithm": "xpo", "T": T, "batch": batch, "beta": beta, "alpha": alpha,
               "steps_per_round": c.steps_per_round, "num_queries": 2 * T * batch, "lora_rank": c.lora_rank,
               "final_loss": rounds[-1]["loss_after"],
               "kl_k1_last_round": rounds[-1]["kl_k1"], "kl_k3_last_round": rounds[-1]["kl_k3"],
               "base_loglik_first_round": rounds[0]["base_loglik"],
               "base_loglik_last_round": rounds[-1]["base_loglik"],
               "seconds": {"total": time.time() - t0}}
    if run is not None:
        run.write_csv("train_curve", curve)
        run.write_csv("rounds", rounds)
        run.write_csv("data", data)
    return XPOResult(model, current, data, rounds, curve, summary)
