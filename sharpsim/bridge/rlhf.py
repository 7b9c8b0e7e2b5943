"""RLHF-Sharpening by reward regression (Huang et al., ICLR 2025, Eq 8) on a causal LM with LoRA.

Triples ``(x, y, y')`` of two base draws per prompt, rewards ``r = log π_base``, and a LoRA
fine-tune of :func:`~sharpsim.bridge.losses.eq8_loss` against ``π_ref = π_base`` (the adapter
disabled). The population minimiser is ``π*_β ∝ π_base^{1+1/β}`` (Thm 4.2). The same definitions
as the JAX core's ``sharpsim.algorithms.rlhf``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from sharpsim import _validation as v
from sharpsim.bridge import _common, distributed, scoring
from sharpsim.bridge._deps import require
from sharpsim.bridge.evaluation import evaluate_tuned, evaluation_summary
from sharpsim.bridge.lora import add_lora
from sharpsim.bridge.losses import eq8_loss
from sharpsim.bridge.training import check_common_settings, fit

torch = require("torch")

__all__ = ["RLHFConfig", "RLHFResult", "rlhf_sharpen"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class RLHFConfig:
    """The settings of :func:`rlhf_sharpen` (validated on construction).

    Attributes:
      beta: the KL weight ``β > 0`` of Eq 8.
      n: number of triples (``>= 1``; ``None``: one per example), ``m = 2n`` base draws.
      lora_rank: LoRA rank (``>= 1``).
      epochs: passes over the triples (``>= 1``).
      lr: AdamW learning rate (``> 0``).
      batch_size: triples per optimiser step (``>= 1``).
      grad_clip: gradient-norm clip (``> 0``; ``None``: none).
      weight_decay: AdamW weight decay (``>= 0``).
      max_new_tokens: response cap (``>= 1``).
      seed: sampling and training seed.
      lora_alpha: LoRA scaling numerator (``> 0``; ``None``: ``2 * lora_rank``).
      lora_dropout: LoRA dropout in ``[0, 1)``.
      eval_samples: tuned-model samples per prompt for the evaluation (``>= 1``).

    Raises:
      ValueError: a setting out of range (the message names it).
      TypeError: an integer setting that is not an integer.
    """

    beta: float
    n: int | None = None
    lora_rank: int = 8
    epochs: int = 10
    lr: float = 3e-4
    batch_size: int = 4
    grad_clip: float | None = 1.0
    weight_decay: float = 0.0
    max_new_tokens: int = 64
    seed: int = 0
    lora_alpha: float | None = None
    lora_dropout: float = 0.0
    eval_samples: int = 4

    def __post_init__(self):
        if self.n is not None:
            object.__setattr__(self, "n", v.check_positive_int("n", self.n))
        object.__setattr__(self, "beta", v.check_positive("beta", self.beta))
        object.__setattr__(self, "epochs", v.check_positive_int("epochs", self.epochs))
        object.__setattr__(self, "eval_samples", v.check_positive_int("eval_samples", self.eval_samples))
        check_common_settings(self)


@dataclasses.dataclass
class RLHFResult:
    """Output of :func:`rlhf_sharpen`.

    Attributes:
      model: the peft model (adapter on = the tuned π̂).
      policy: an ``LMPolicy`` sampling the tuned model.
      triples: ``(x, y, y')`` with their base log-probabilities.
      loss_curve: one row per optimiser step.
      evaluation: the tuned model's samples with base log-prob, k1, k3, correctness.
      summary: headline numbers (see :func:`rlhf_sharpen`).
    """

    model: Any
    policy: Any
    triples: list[dict]
    loss_curve: list[dict]
    evaluation: list[dict]
    summary: dict


def rlhf_sharpen(policy, examples, config: RLHFConfig, *, task=None, run=None,
                 progress: bool = False) -> RLHFResult:
    """RLHF-Sharpening by reward regression (Eq 8) with LoRA; reference = adapter disabled.

    ``n`` triples (default ``len(examples)``; prompt ``i`` is ``examples[i % len(examples)]``, i.e.
    μ uniform over the examples, drawn stratified): two base draws ``y, y' ~ π_base(·|x)`` at
    temperature 1 each (``m = 2n``), rewards ``r = log π_base`` (the draws' own fp32 scores). Then a
    LoRA fine-tune of :func:`~sharpsim.bridge.losses.eq8_loss` (mean over the minibatch) against
    ``π_ref = π_base``, AdamW, linear decay, clipping. The population minimiser is
    ``π*_β ∝ π_base^{1+1/β}`` (Thm 4.2). Evaluation: ``eval_samples`` on-policy draws per example
    from the tuned model: KL k1/k3, mean log π_base, accuracy (with ``task``).

    Args:
      policy: the base ``LMPolicy`` (its model is wrapped with LoRA in place).
      examples: the prompts.
      config: the settings.
      task: the task (correctness in the evaluation), or ``None``.
      run: optional :class:`~sharpsim.bridge.runs.RunDir` (or any object with ``read``,
        ``append`` and ``write_csv``): the triples are appended to its ``triples.jsonl`` (a
        resumed run does not redraw them); ``train_curve.csv`` and ``eval.csv`` are written there.
      progress: show progress bars.

    Returns:
      An :class:`RLHFResult`.

    Raises:
      TypeError: ``config`` is not an :class:`RLHFConfig`.
      ValueError: ``examples`` is empty.
    """
    if not isinstance(config, RLHFConfig):
        raise TypeError(f"`config` must be an RLHFConfig, got {type(config).__name__}")
    c = config
    examples = _common.check_examples(examples)
    n = len(examples) if c.n is None else c.n
    beta = c.beta
    t0 = time.time()
    pad = policy.pad_token_id
    done = {str(r["id"]): r for r in run.read("triples")} if run is not None else {}
    ids = [f"{i}:{examples[i % len(examples)].id}" for i in range(n)]
    todo = [i for i in range(n) if ids[i] not in done]
    fresh: dict[str, dict] = {}
    # several processes: each rank draws every W-th chunk and the rows are gathered (same draws as one process)
    mine = list(distributed.my_chunks(list(_common.chunks(len(todo)))))
    for idx in _common.progress(mine, enabled=progress, desc="pairs"):
        rows_i = [todo[k] for k in idx]
        exs = [examples[i % len(examples)] for i in rows_i]
        new_rows = []
        if rows_i:
            s = policy.sample([e.prompt for e in exs], n=2, temperature=1.0, max_new_tokens=c.max_new_tokens,
                              seed=_common.stage_seed(c.seed, 1), prompt_ids=rows_i)
            for k, (i, ex) in enumerate(zip(rows_i, exs)):
                a, b = np.flatnonzero(s.prompt_index == k)
                new_rows.append({"id": ids[i], "example_id": ex.id, "prompt": ex.prompt, "y": s.tokens[a],
                                 "yp": s.tokens[b], "y_text": s.text[a], "yp_text": s.text[b],
                                 "ref_y": float(s.log_prob[a]), "ref_yp": float(s.log_prob[b])})
        new_rows = distributed.gather_rows(new_rows)
        if run is not None:
            run.append("triples", new_rows)
        fresh.update({r["id"]: r for r in new_rows})
    triples = [done[t] if t in done else fresh[t] for t in ids]
    t_sample = time.time() - t0

    pids = policy.encode_prompts([t["prompt"] for t in triples])
    y = [t["y"] for t in triples]
    yp = [t["yp"] for t in triples]
    ref_y = torch.tensor([t["ref_y"] for t in triples], dtype=torch.float32)
    ref_yp = torch.tensor([t["ref_yp"] for t in triples], dtype=torch.float32)
    torch.manual_seed(int(c.seed))
    model = add_lora(policy.model, rank=c.lora_rank, alpha=c.lora_alpha, dropout=c.lora_dropout,
                     rank_name="lora_rank")
    device = _common.device_of(model)
    ref_y, ref_yp = ref_y.to(device), ref_yp.to(device)

    def loss_on(idx, grad):
        k = len(idx)
        lp = scoring.sequence_log_probs(model, [pids[i] for i in idx] * 2,
                                        [y[i] for i in idx] + [yp[i] for i in idx], pad_token_id=pad, grad=grad)
        ry, ryp = ref_y[idx], ref_yp[idx]
        return eq8_loss(lp[:k], lp[k:], ry, ryp, ry, ryp, beta)

    with torch.no_grad():
        initial = float(loss_on(list(range(n)), False))
    curve = fit(model, n, lambda idx: loss_on(idx, True), epochs=c.epochs, batch_size=c.batch_size, lr=c.lr,
                weight_decay=c.weight_decay, grad_clip=c.grad_clip, seed=c.seed, progress=progress, desc="Eq 8")
    with torch.no_grad():
        final = float(loss_on(list(range(n)), False))
    t_train = time.time() - t0 - t_sample

    tuned = _common.policy_from(model, policy)
    evaluation = evaluate_tuned(tuned, examples, task, samples=c.eval_samples, max_new_tokens=c.max_new_tokens,
                                seed=c.seed, progress=progress, pad_token_id=pad)
    ev = evaluation_summary(evaluation)
    base_ll = _common.mean(x for t in triples for x in (t["ref_y"], t["ref_yp"]))
    summary = {"algorithm": "rlhf", "n": n, "num_queries": 2 * n, "beta": beta, "lora_rank": c.lora_rank,
               "epochs": c.epochs, "eq8_loss_initial": initial, "eq8_loss_final": final,
               "base_sampled_loglik": base_ll, **ev,
               "loglik_lift": None if base_ll is None else ev["tuned_loglik_under_base"] - base_ll,
               "seconds": {"sampling": t_sample, "training": t_train, "total": time.time() - t0}}
    if run is not None:
        run.write_csv("train_curve", curve)
        run.write_csv("eval", [{k: x for k, x in e.items() if k != "tokens"} for e in evaluation])
    return RLHFResult(model, tuned, triples, curve, evaluation, summary)
