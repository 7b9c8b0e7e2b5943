"""SFT-Sharpening (Huang et al., ICLR 2025, Sec 2.1) on a Hugging Face causal LM with LoRA.

Per prompt, ``N`` base draws at temperature 1 and the best-of-N pick by a self-reward
(:mod:`sharpsim.bridge.rewards`; default ``log π_base``); then a LoRA fine-tune on the picks with
the completion-only :func:`~sharpsim.bridge.losses.sft_loss` (:func:`~sharpsim.bridge.training.fit`),
and an evaluation of how much of inference-time BoN the tuned model amortizes (a Table 1 analogue).
The same definitions as the JAX core's ``sharpsim.algorithms.sft``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from sharpsim import _validation as v
from sharpsim.bridge import _common, distributed, rewards, scoring
from sharpsim.bridge._deps import require
from sharpsim.bridge.evaluation import (
    accuracy_lift,
    evaluate_tuned,
    evaluation_summary,
    greedy_accuracy,
)
from sharpsim.bridge.lora import add_lora, base_of
from sharpsim.bridge.losses import sft_loss
from sharpsim.bridge.training import check_common_settings, fit

torch = require("torch")

__all__ = ["SFTConfig", "SFTResult", "sft_sharpen"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SFTConfig:
    """The settings of :func:`sft_sharpen` (validated on construction).

    Attributes:
      N: base draws per prompt for best-of-N (``>= 1``).
      lora_rank: LoRA rank (``>= 1``).
      lr: AdamW learning rate (``> 0``).
      epochs: passes over the picks (``>= 1``).
      batch_size: picks per optimiser step (``>= 1``).
      grad_clip: gradient-norm clip (``> 0``; ``None``: none); 0.1 as in the paper's experiments.
      weight_decay: AdamW weight decay (``>= 0``).
      max_new_tokens: response cap (``>= 1``).
      seed: sampling and training seed.
      reward: the self-reward picking the BoN response: a registered name (``"loglik"``,
        ``"norm_loglik"``, ``"majority"``), a :class:`~sharpsim.bridge.rewards.Reward` or a callable.
      lora_alpha: LoRA scaling numerator (``> 0``; ``None``: ``2 * lora_rank``).
      lora_dropout: LoRA dropout in ``[0, 1)``.
      eval_samples: tuned-model samples per prompt for the evaluation (``>= 1``).

    Raises:
      ValueError: a setting out of range or an unknown reward name (the message names it).
      TypeError: an integer setting that is not an integer.
    """

    N: int
    lora_rank: int = 8
    lr: float = 3e-4
    epochs: int = 30
    batch_size: int = 4
    grad_clip: float | None = 0.1
    weight_decay: float = 0.0
    max_new_tokens: int = 64
    seed: int = 0
    reward: Any = "loglik"
    lora_alpha: float | None = None
    lora_dropout: float = 0.0
    eval_samples: int = 4

    def __post_init__(self):
        object.__setattr__(self, "N", v.check_positive_int("N", self.N))
        object.__setattr__(self, "epochs", v.check_positive_int("epochs", self.epochs))
        object.__setattr__(self, "eval_samples", v.check_positive_int("eval_samples", self.eval_samples))
        check_common_settings(self)
        if isinstance(self.reward, str):
            rewards.get_reward(self.reward)  # ValueError naming the known rewards


@dataclasses.dataclass
class SFTResult:
    """Output of :func:`sft_sharpen`.

    Attributes:
      model: the peft model (adapter on = the tuned π̂; ``with model.disable_adapter():`` = π_base).
      policy: an ``LMPolicy`` sampling the tuned model.
      samples: per prompt, the ``N`` base draws (tokens, text, log_prob, length, hit_eos, correct) and ``pick``.
      loss_curve: one row per optimiser step (step, epoch, loss, lr, grad_norm).
      evaluation: the tuned model's samples (text, correct, log_prob, base_log_prob, k1, k3).
      greedy: the base's greedy responses.
      summary: the Table 1 analogue (see :func:`sft_sharpen`).
    """

    model: Any
    policy: Any
    samples: list[dict]
    loss_curve: list[dict]
    evaluation: list[dict]
    greedy: list[dict]
    summary: dict


def _bon_row(i, ex, task, reward, *, tokens, text, log_prob, length, hit_eos) -> dict:
    log_prob = np.asarray(log_prob, dtype=np.float64)
    length = np.asarray(length)
    answers = [task.extract(t) for t in text] if task is not None else [None] * len(text)
    scores = rewards.scores(reward, log_prob, length, answers)
    pick = rewards.pick(reward, log_prob, length, answers)
    return {"example_id": ex.id, "prompt_index": i, "prompt": ex.prompt, "tokens": [list(t) for t in tokens],
            "text": list(text), "log_prob": [float(x) for x in log_prob], "length": [int(x) for x in length],
            "hit_eos": [bool(x) for x in hit_eos], "reward": [float(x) for x in scores], "answer": answers,
            "correct": [None if task is None else bool(task.is_correct(ex, t)) for t in text], "pick": int(pick)}


def _bon_rows(policy, examples, task, *, N, max_new_tokens, seed, reward, run, progress,
              stage: int = 1, draws=None) -> list[dict]:
    """Per prompt: ``N`` base draws at temperature 1 and the BoN pick by ``reward`` (resumes from
    ``run``'s ``samples.jsonl``: finished prompts are not resampled). ``draws``: example id ->
    precomputed draws (the first ``N`` are used), e.g. from a ``sharpsim lm bon`` run."""
    done = {}
    if run is not None:
        done = {str(r["example_id"]): r for r in run.read("samples")}
    fresh: dict[str, dict] = {}
    if draws is not None:
        reused = []
        for i, ex in enumerate(examples):
            d = draws.get(ex.id)
            if ex.id in done or d is None:
                continue
            if len(d["tokens"]) < N:
                raise ValueError(f"draws for {ex.id!r} hold {len(d['tokens'])} responses, fewer than N = {N}")
            reused.append(_bon_row(i, ex, task, reward, **{k: list(d[k])[:N] for k in
                                                            ("tokens", "text", "log_prob", "length", "hit_eos")}))
        if run is not None:
            run.append("samples", reused)
        fresh.update({row["example_id"]: row for row in reused})
    todo = [i for i, ex in enumerate(examples) if ex.id not in done and ex.id not in fresh]
    # several processes: each rank draws every W-th chunk and the rows are gathered (same draws as one process)
    mine = list(distributed.my_chunks(list(_common.chunks(len(todo)))))
    for idx in _common.progress(mine, enabled=progress, desc=f"BoN N={N}"):
        ids = [todo[k] for k in idx]
        exs = [examples[i] for i in ids]
        new_rows = []
        if ids:
            s = policy.sample([e.prompt for e in exs], n=N, temperature=1.0, max_new_tokens=max_new_tokens,
                              seed=_common.stage_seed(seed, stage), prompt_ids=ids)
            for k, (i, ex) in enumerate(zip(ids, exs)):
                r = np.flatnonzero(s.prompt_index == k)
                new_rows.append(_bon_row(i, ex, task, reward, tokens=[s.tokens[j] for j in r],
                                         text=[s.text[j] for j in r], log_prob=s.log_prob[r], length=s.length[r],
                                         hit_eos=s.hit_eos[r]))
        new_rows = distributed.gather_rows(new_rows)
        if run is not None:
            run.append("samples", new_rows)
        fresh.update({row["example_id"]: row for row in new_rows})
    return [done[ex.id] if ex.id in done else fresh[ex.id] for ex in examples]


def sft_sharpen(policy, examples, task, config: SFTConfig, *, eval_examples=None, draws=None, run=None,
                progress: bool = False) -> SFTResult:
    """SFT-Sharpening (Sec 2.1) with LoRA, and its amortization of inference-time BoN (Table 1 analogue).

    1. Per prompt, ``config.N`` draws from the base at temperature 1; keep the BoN pick by
       ``config.reward`` (default ``"loglik"``: ``argmax_j log π_base(y_j|x)``, first drawn among ties).
    2. LoRA fine-tune (:func:`~sharpsim.bridge.lora.add_lora`, rank ``config.lora_rank``) on the
       picks with the completion-only :func:`~sharpsim.bridge.losses.sft_loss` (sequence NLL
       averaged over the minibatch), AdamW, linear decay to 0, gradient-norm clipping,
       ``config.epochs`` passes in minibatches of ``config.batch_size``.
    3. Evaluate on ``eval_examples`` (default: the training prompts — amortization of the same BoN):
       base greedy accuracy; base sampled accuracy and mean log π_base (from the N draws); BoN
       accuracy and log π_base of the picks; the tuned model sampled at temperature 1
       (``config.eval_samples`` per prompt): accuracy and mean log π_base of its samples, KL k1/k3.

    ``summary``: ``base_greedy_acc``, ``base_sampled_acc``, ``bon_acc``, ``tuned_sampled_acc``,
    ``bon_lift_abs/_pct``, ``tuned_lift_abs/_pct`` (over base greedy; ``_abs`` in accuracy units,
    ``_pct`` relative, as ``sharpsim lm bon``), ``amortization_gap``
    (``bon_acc − tuned_sampled_acc``, in accuracy units), ``base_sampled_loglik``, ``bon_loglik``,
    ``tuned_loglik_under_base``, ``loglik_lift`` (tuned − base sampled, nats), KL, training losses.
    With ``eval_examples`` given, BoN is re-drawn on them (``N`` draws) for the gap.

    ``policy.model`` is wrapped with LoRA *in place* (one copy in memory): afterwards the adapter
    is active in it; use ``with result.model.disable_adapter():`` for the base.

    Args:
      policy: the base ``LMPolicy``.
      examples: the training prompts (:class:`~sharpsim.bridge.tasks.Example`).
      task: the task (answer extraction for rewards, correctness), or ``None``.
      config: the settings.
      eval_examples: optional evaluation prompts (default: ``examples``).
      draws: optional example id -> ``{"tokens", "text", "log_prob", "length", "hit_eos"}`` lists of
        at least ``N`` temperature-1 draws from this same base (e.g. a ``sharpsim lm bon`` run's
        ``samples.jsonl``); their first ``N`` replace sampling for those prompts.
      run: optional :class:`~sharpsim.bridge.runs.RunDir`: the draws are appended to its
        ``samples.jsonl`` (a resumed run does not resample them) and the tables written there.
      progress: show progress bars.

    Returns:
      An :class:`SFTResult`.

    Raises:
      TypeError: ``config`` is not an :class:`SFTConfig`.
      ValueError: empty ``examples`` or ``eval_examples``, or draws with fewer than ``N`` responses.
    """
    if not isinstance(config, SFTConfig):
        raise TypeError(f"`config` must be an SFTConfig, got {type(config).__name__}")
    c = config
    examples = _common.check_examples(examples)
    eval_set = examples if eval_examples is None else _common.check_examples(eval_examples, "eval_examples")
    t0 = time.time()
    pad = policy.pad_token_id

    rows = _bon_rows(policy, examples, task, N=c.N, max_new_tokens=c.max_new_tokens, seed=c.seed, reward=c.reward,
                     run=run, progress=progress, draws=draws)
    greedy_acc, greedy_rows = greedy_accuracy(policy, examples, task, max_new_tokens=c.max_new_tokens)
    t_sample = time.time() - t0

    prompt_ids = policy.encode_prompts([r["prompt"] for r in rows])
    pick_ids = [r["tokens"][r["pick"]] for r in rows]
    torch.manual_seed(int(c.seed))
    model = add_lora(policy.model, rank=c.lora_rank, alpha=c.lora_alpha, dropout=c.lora_dropout,
                     rank_name="lora_rank")

    def batch_loss(idx):
        lp = scoring.sequence_log_probs(model, [prompt_ids[i] for i in idx], [pick_ids[i] for i in idx],
                                        pad_token_id=pad, grad=True)
        return sft_loss(lp)

    def full_loss() -> float:
        with torch.no_grad():
            return float(sft_loss(scoring.sequence_log_probs(model, prompt_ids, pick_ids, pad_token_id=pad,
                                                             grad=False)))

    initial = full_loss()
    curve = fit(model, len(rows), batch_loss, epochs=c.epochs, batch_size=c.batch_size, lr=c.lr,
                weight_decay=c.weight_decay, grad_clip=c.grad_clip, seed=c.seed, progress=progress, desc="SFT")
    final = full_loss()
    t_train = time.time() - t0 - t_sample

    tuned = _common.policy_from(model, policy)
    bon_rows = rows
    if eval_examples is not None:
        with base_of(model):
            bon_rows = [dict(r) for r in _bon_rows(tuned, eval_set, task, N=c.N, max_new_tokens=c.max_new_tokens,
                                                   seed=c.seed, reward=c.reward, run=None, progress=progress,
                                                   stage=4)]
            greedy_acc, greedy_rows = greedy_accuracy(tuned, eval_set, task, max_new_tokens=c.max_new_tokens)
    evaluation = evaluate_tuned(tuned, eval_set, task, samples=c.eval_samples, max_new_tokens=c.max_new_tokens,
                                seed=c.seed, progress=progress, pad_token_id=pad)

    flat_correct = [x for r in bon_rows for x in r["correct"] if x is not None]
    bon_correct = [r["correct"][r["pick"]] for r in bon_rows if r["correct"][r["pick"]] is not None]
    ev = evaluation_summary(evaluation)
    base_ll = _common.mean(x for r in bon_rows for x in r["log_prob"])
    bon_acc = _common.mean(bon_correct) if bon_correct else None
    summary = {
        "algorithm": "sft", "n_prompts": len(examples), "n_eval_prompts": len(eval_set), "N": c.N,
        "reward": c.reward, "lora_rank": c.lora_rank, "epochs": c.epochs,
        "base_greedy_acc": greedy_acc,
        "base_sampled_acc": _common.mean(flat_correct) if flat_correct else None,
        "bon_acc": bon_acc,
        "tuned_sampled_acc": ev["tuned_sampled_acc"],
        **dict(zip(("bon_lift_abs", "bon_lift_pct"), accuracy_lift(bon_acc, greedy_acc))),
        **dict(zip(("tuned_lift_abs", "tuned_lift_pct"), accuracy_lift(ev["tuned_sampled_acc"], greedy_acc))),
        "amortization_gap": (None if bon_acc is None or ev["tuned_sampled_acc"] is None
                             else bon_acc - ev["tuned_sampled_acc"]),
        "base_sampled_loglik": base_ll,
        "bon_loglik": _common.mean(r["log_prob"][r["pick"]] for r in bon_rows),
        "tuned_loglik_under_base": ev["tuned_loglik_under_base"],
        "loglik_lift": (None if base_ll is None else ev["tuned_loglik_under_base"] - base_ll),
        "base_sampled_loglik_median": _common.median(x for r in bon_rows for x in r["log_prob"]),
        "tuned_loglik_under_base_median": ev["tuned_loglik_under_base_median"],
        "kl_k1": ev["kl_k1"], "kl_k3": ev["kl_k3"],
        "train_loss_initial": initial, "train_loss_final": final,
        "seconds": {"sampling": t_sample, "training": t_train, "total": time.time() - t0},
    }
    if run is not None:
        run.write_csv("train_curve", curve)
        run.write_csv("samples", [
            {"example_id": r["example_id"], "sample_index": j, "log_prob": r["log_prob"][j],
             "length": r["length"][j], "hit_eos": r["hit_eos"][j], "reward": r["reward"][j],
             "answer": (r["answer"] or [None] * len(r["text"]))[j], "correct": r["correct"][j],
             "picked": j == r["pick"], "text": r["text"][j]}
            for r in rows for j in range(len(r["text"]))])
        run.write_csv("eval", [{k: x for k, x in e.items() if k != "tokens"} for e in evaluation])
        if greedy_rows:
            run.write_csv("greedy", greedy_rows)
    return SFTResult(model, tuned, rows, curve, evaluation, greedy_rows, summary)
