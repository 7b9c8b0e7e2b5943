"""Evaluation of a tuned model against its base: on-policy KL, log π_base, accuracy, lifts.

The trainers (:mod:`sharpsim.bridge.sft`, :mod:`~sharpsim.bridge.rlhf`, :mod:`~sharpsim.bridge.xpo`)
evaluate with these functions, and so do scripts that must evaluate other models exactly as the
trainers do (e.g. the base model on the same sampling seeds). ``π_base`` is the tuned model with
its LoRA adapter disabled (:func:`sharpsim.bridge.lora.base_of`); KL is estimated on the tuned
model's own samples with :func:`sharpsim.bridge.losses.kl_estimates`.
"""

from __future__ import annotations

import numpy as np

from sharpsim.bridge import _common, scoring
from sharpsim.bridge._deps import require
from sharpsim.bridge.lora import base_of
from sharpsim.bridge.losses import kl_estimates

torch = require("torch")

__all__ = ["accuracy_lift", "evaluate_tuned", "evaluation_summary", "greedy_accuracy", "kl_to_base",
           "score_texts"]


def kl_to_base(model, prompt_ids, response_ids, *, pad_token_id: int, chunk: int = 64):
    """Log-probabilities and KL estimates of responses sampled from the adapter-on ``model``.

    Args:
      model: the LoRA-wrapped model (adapter on = the sampling policy π).
      prompt_ids, response_ids: token-id lists of the sampled pairs.
      pad_token_id: the padding token.
      chunk: pairs per forward pass.

    Returns:
      ``(logp, ref, k1, k3)``: numpy ``[B]`` float64 arrays of ``log π(y|x)``, ``log π_base(y|x)``
      and the k1/k3 estimates of ``KL(π‖π_base)`` per sample.
    """
    device = _common.device_of(model)
    cols: list[list[np.ndarray]] = [[], [], [], []]
    with torch.no_grad():
        for s in range(0, len(prompt_ids), chunk):
            batch = scoring.pack(prompt_ids[s: s + chunk], response_ids[s: s + chunk],
                                 pad_token_id=pad_token_id, device=device)
            lt = scoring.token_log_probs(model, batch)
            with base_of(model):
                rt = scoring.token_log_probs(model, batch)
            k1, k3 = kl_estimates(lt, rt, batch.response_mask)
            for c, t in zip(cols, (lt.sum(-1), rt.sum(-1), k1, k3)):
                c.append(t.double().cpu().numpy())
    return tuple(np.concatenate(c) for c in cols)


def score_texts(task, example, texts) -> list[bool | None]:
    """Correctness of each of ``texts`` for ``example`` under ``task`` (all ``None`` without a task)."""
    if task is None:
        return [None] * len(texts)
    return [bool(task.is_correct(example, t)) for t in texts]


def evaluate_tuned(tuned, examples, task, *, samples: int, max_new_tokens: int, seed: int, progress: bool,
                   pad_token_id: int) -> list[dict]:
    """Sample the tuned model and score each sample under it and under the base.

    ``samples`` responses per prompt at temperature 1 from ``tuned`` (adapter on), seeded by the
    evaluation stage of ``seed`` and the prompt's position, so that two models evaluated with the
    same seed draw with the same random numbers.

    Args:
      tuned: an ``LMPolicy`` of the LoRA-wrapped model (a plain model gives KL 0).
      examples: the prompts (:class:`~sharpsim.bridge.tasks.Example`).
      task: the task (correctness), or ``None``.
      samples: responses per prompt.
      max_new_tokens: the response cap.
      seed: the run's seed.
      progress: show a progress bar.
      pad_token_id: the padding token.

    Returns:
      One row per sample: ``example_id``, ``sample_index``, ``text``, ``tokens``, ``length``,
      ``hit_eos``, ``log_prob`` (tuned), ``base_log_prob``, ``k1``, ``k3``, ``correct``.
    """
    rows = []
    chunks = list(_common.chunks(len(examples)))
    for idx in _common.progress(chunks, enabled=progress, desc="eval tuned"):
        exs = [examples[i] for i in idx]
        s = tuned.sample([e.prompt for e in exs], n=samples, temperature=1.0, max_new_tokens=max_new_tokens,
                         seed=_common.stage_seed(seed, 3), prompt_ids=idx)
        pids = [tuned.encode_prompts([exs[k].prompt])[0] for k in s.prompt_index]
        logp, ref, k1, k3 = kl_to_base(tuned.model, pids, s.tokens, pad_token_id=pad_token_id)
        for r in range(len(s.tokens)):
            ex = exs[int(s.prompt_index[r])]
            rows.append({"example_id": ex.id, "sample_index": int(s.sample_index[r]), "text": s.text[r],
                         "tokens": s.tokens[r], "length": int(s.length[r]), "hit_eos": bool(s.hit_eos[r]),
                         "log_prob": float(logp[r]), "base_log_prob": float(ref[r]),
                         "k1": float(k1[r]), "k3": float(k3[r]),
                         "correct": None if task is None else bool(task.is_correct(ex, s.text[r]))})
    return rows


def evaluation_summary(rows) -> dict:
    """Means over :func:`evaluate_tuned`'s rows.

    Returns:
      ``tuned_sampled_acc`` (``None`` without correctness), ``tuned_loglik_under_base`` and its
      ``_median``, ``kl_k1``, ``kl_k3``, ``tuned_mean_length``.
    """
    correct = [r["correct"] for r in rows if r["correct"] is not None]
    return {
        "tuned_sampled_acc": _common.mean(correct) if correct else None,
        "tuned_loglik_under_base": _common.mean(r["base_log_prob"] for r in rows),
        "tuned_loglik_under_base_median": _common.median(r["base_log_prob"] for r in rows),
        "kl_k1": _common.mean(r["k1"] for r in rows),
        "kl_k3": _common.mean(r["k3"] for r in rows),
        "tuned_mean_length": _common.mean(r["length"] for r in rows),
    }


def greedy_accuracy(policy, examples, task, *, max_new_tokens: int, chunk: int = 64):
    """Greedy decoding of every example and its accuracy.

    Args:
      policy: the ``LMPolicy`` to decode.
      examples: the prompts.
      task: the task, or ``None`` (then nothing is decoded).
      max_new_tokens: the response cap.
      chunk: prompts per call.

    Returns:
      ``(accuracy, rows)``: the mean correctness and one row per example (``example_id``, ``text``,
      ``log_prob``, ``correct``); ``(None, [])`` without a task.
    """
    if task is None:
        return None, []
    rows = []
    for s in range(0, len(examples), chunk):
        part = examples[s: s + chunk]
        g = policy.greedy([e.prompt for e in part], max_new_tokens=max_new_tokens)
        for e, text, lp in zip(part, g.text, g.log_prob):
            rows.append({"example_id": e.id, "text": text, "log_prob": float(lp),
                         "correct": bool(task.is_correct(e, text))})
    return _common.mean(r["correct"] for r in rows), rows


def accuracy_lift(acc: float | None, greedy: float | None) -> tuple[float | None, float | None]:
    """Accuracy lift over greedy as ``(lift_abs, lift_pct)``, as ``sharpsim lm bon`` reports it.

    Args:
      acc: an accuracy (or ``None``).
      greedy: the greedy accuracy (or ``None``).

    Returns:
      ``(acc − greedy, 100 (acc − greedy) / greedy)``; the second is ``None`` when greedy is 0, both
      when either input is ``None``.
    """
    if acc is None or greedy is None:
        return None, None
    return acc - greedy, (100.0 * (acc - greedy) / greedy if greedy > 0 else None)
