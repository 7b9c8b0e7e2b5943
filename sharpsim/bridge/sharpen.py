"""SFT-Sharpening, RLHF-Sharpening (Eq 8) and XPO (Alg 1) on Hugging Face causal LMs with LoRA.

The same definitions as the JAX core (``sharpsim.algorithms.sft``, ``.rlhf``, ``.xpo``; THEORY.md §5),
with every ``log π(y|x)`` taken by :func:`sharpsim.bridge.scoring.response_log_probs` (fp32, summed
over the response tokens through the first EOS, prompt and padding masked). The self-reward is
``r(y|x) = log π_base(y|x)``.

Losses (pure functions of ``[B]`` tensors of sequence log-probabilities)::

    sft_loss  = − mean_i log π(y_i^BoN | x_i)                                   (per-sequence sums)
    eq8_loss  = mean_i ( β(log π(y_i|x_i) − log π_ref(y_i|x_i)) − β(log π(y'_i|x_i) − log π_ref(y'_i|x_i))
                         − (r(y_i|x_i) − r(y'_i|x_i)) )²
    xpo_loss  = mean_i [ α log π(y'_i|x_i) + (the Eq 8 residual)² ]

``reduction="sum"`` gives the core's normalisation exactly (the core minimises sums over the data:
``classes.FiniteClass.log_likelihoods``, ``.regression_losses`` and XPO's ``α Σ_D log π(y'|x) + Σ_D (...)²``);
``"mean"`` (the default, used for training) divides both terms by the number of triples, which
leaves the minimiser and the α : square-loss ratio unchanged. Optional ``weights`` give weighted sums
or means (e.g. population losses over an enumerated response set, as in the parity test).

LoRA and the reference: :func:`add_lora` wraps the model with a peft LoRA adapter *in place*; the
reference ``π_base`` is the same weights with the adapter disabled (``with model.disable_adapter():``),
so there is one copy of the weights in memory. Fine-tuning keeps the base model in eval mode (its own
dropout off) so that ``π_base`` is deterministic and the reference exact; only LoRA's dropout is
active in training.

KL on on-policy samples (:func:`kl_estimates`): for ``y ~ π`` and per-token ratios
``ρ_t = π_ref(y_t|x, y_<t) / π(y_t|x, y_<t)``, ``k1 = Σ_t −log ρ_t = log π(y|x) − log π_ref(y|x)`` and
``k3 = Σ_t (ρ_t − 1) − log ρ_t``, summed over response tokens only (padding and post-EOS tokens
masked). Both are unbiased for ``KL(π‖π_ref)`` of the sequence law; every ``k3`` term is ``>= 0``.

Trainers: :func:`sft_sharpen`, :func:`rlhf_sharpen`, :func:`xpo`; each returns a result object and,
given a :class:`~sharpsim.bridge.runs.RunDir`, writes its tables there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sharpsim import _validation as v
from sharpsim.bridge import rewards, scoring
from sharpsim.bridge._deps import require

torch = require("torch")

__all__ = [
    "RLHFResult",
    "SFTResult",
    "XPOResult",
    "add_lora",
    "eq8_loss",
    "eq8_residual",
    "kl_estimates",
    "lora_target_modules",
    "rlhf_sharpen",
    "sft_loss",
    "sft_sharpen",
    "xpo",
    "xpo_loss",
]

REDUCTIONS = ("mean", "sum")
#: prompts per ``LMPolicy.sample`` call (each call draws N per prompt)
PROMPTS_PER_CALL = 8


# ================================================================================ losses
def _reduce(per: torch.Tensor, weights, reduction: str) -> torch.Tensor:
    if reduction not in REDUCTIONS:
        raise ValueError(f"`reduction` must be 'mean' or 'sum'; got {reduction!r}")
    if per.ndim != 1:
        raise ValueError(f"sequence log-probabilities must be 1-D [B] tensors; got shape {tuple(per.shape)}")
    if weights is None:
        return per.sum() if reduction == "sum" else per.mean()
    w = torch.as_tensor(weights, dtype=per.dtype, device=per.device)
    if w.shape != per.shape:
        raise ValueError(f"`weights` must have shape {tuple(per.shape)}; got {tuple(w.shape)}")
    total = (w * per).sum()
    return total if reduction == "sum" else total / w.sum()


def sft_loss(logp: torch.Tensor, *, weights=None, reduction: str = "mean") -> torch.Tensor:
    """Completion-only negative log-likelihood of the BoN picks (SFT-Sharpening, Sec 2.1).

    Args:
      logp: ``[B]`` ``log π(y_i|x_i)`` of the picks, each the *sum* over its response tokens
        (:func:`scoring.response_log_probs`; prompt tokens never enter the loss).
      weights: optional ``[B]`` non-negative weights.
      reduction: ``"mean"`` (default) averages the per-sequence NLL over sequences; ``"sum"`` is
        ``−Σ_i log π(y_i|x_i)``, the negative of what the core's MLE maximises
        (``classes.FiniteClass.log_likelihoods``).

    Returns a scalar tensor (nats per sequence with ``"mean"``).
    """
    return _reduce(-logp, weights, reduction)


def eq8_residual(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta) -> torch.Tensor:
    """``[B]`` the Eq 8 residual ``β(log π(y|x) − log π_ref(y|x)) − β(log π(y'|x) − log π_ref(y'|x)) − (r(y|x) − r(y'|x))``.

    All inputs are ``[B]`` sequence log-probabilities / rewards (nats); ``beta > 0``.
    """
    beta = v.check_positive("beta", float(beta))
    return beta * (logp_y - ref_y) - beta * (logp_yp - ref_yp) - (r_y - r_yp)


def eq8_loss(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta, *, weights=None,
             reduction: str = "mean") -> torch.Tensor:
    """The Eq 8 (reward-regression DPO) square loss: mean (or sum) over triples of
    :func:`eq8_residual` squared. With ``reduction="sum"`` it equals the core's
    ``classes.FiniteClass.regression_losses`` on the same triples; with ``weights`` =
    ``μ(x) π_base(y|x) π_base(y'|x)`` over all pairs it is the population loss
    ``objectives.regression_loss``.

    Raises:
      ValueError: ``beta <= 0``, or a bad ``reduction`` / ``weights`` shape.
    """
    resid = eq8_residual(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta)
    return _reduce(resid**2, weights, reduction)


def xpo_loss(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta, alpha, *, weights=None,
             reduction: str = "mean") -> torch.Tensor:
    """XPO's objective (Alg 1; THEORY.md §5, note the ``+``): over the triples ``(x, y, y')``,

        α log π(y'|x) + (β log(π(y|x)/π_ref(y|x)) − β log(π(y'|x)/π_ref(y'|x)) − (r(y|x) − r(y'|x)))²

    summed (``reduction="sum"``, the core's normalisation) or averaged over triples (``"mean"``,
    the same minimiser). ``y'`` is the base sample; the α-term lowers its likelihood (optimism).

    Raises:
      ValueError: ``beta <= 0`` or ``alpha < 0`` (naming the argument).
    """
    alpha = v.check_at_least("alpha", float(alpha), 0.0)
    resid = eq8_residual(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta)
    return _reduce(alpha * logp_yp + resid**2, weights, reduction)


def kl_estimates(logp_tokens: torch.Tensor, ref_tokens: torch.Tensor, mask: torch.Tensor):
    """Per-sequence k1 and k3 estimates of ``KL(π ‖ π_ref)`` from on-policy samples ``y ~ π``.

    Args:
      logp_tokens, ref_tokens: ``[B, L]`` per-token ``log π`` and ``log π_ref`` of the sampled
        tokens (:func:`scoring.token_log_probs`).
      mask: ``[B, L]`` bool, True on response tokens (``PackedBatch.response_mask``).

    Returns:
      ``(k1, k3)``, each ``[B]`` fp32: ``k1 = Σ_t (log π − log π_ref)`` and
      ``k3 = Σ_t (ρ_t − 1) − log ρ_t`` with ``ρ_t = π_ref/π`` (``expm1(d) − d``, ``d = log ρ_t``), summed
      over the masked tokens. Each k3 term is ``>= 0``; both have expectation ``KL(π‖π_ref)``.
    """
    d = (ref_tokens.float() - logp_tokens.float()).masked_fill(~mask, 0.0)
    k1 = (-d).sum(-1)
    k3 = (torch.expm1(d) - d).masked_fill(~mask, 0.0).sum(-1)
    return k1, k3


# ================================================================================= LoRA
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
    """Default LoRA targets: the names of every ``nn.Linear`` / GPT-2 ``Conv1D`` layer inside the
    transformer blocks, i.e. all of them except the output head (``get_output_embeddings()``,
    ``lm_head``) — GPT-2: ``c_attn, c_proj, c_fc``; Llama/Mistral/Phi-3: ``q_proj, k_proj, v_proj,
    o_proj, gate_proj, up_proj, down_proj`` (or the fused ``qkv_proj``, ``gate_up_proj``).

    Raises:
      ValueError: the model has no such layer.
    """
    names = _leaf_linear_names(model)
    if not names:
        raise ValueError("found no Linear/Conv1D layer to put LoRA on; pass `target_modules`")
    return names


def add_lora(model, *, rank: int, alpha: float | None = None, dropout: float = 0.0,
             target_modules: Sequence[str] | None = None, rank_name: str = "rank"):
    """Wrap ``model`` with a fresh LoRA adapter (peft), in place; returns the ``PeftModel``.

    The adapter starts at zero (``B = 0``), so the wrapped model equals the base model; the base
    weights are frozen. ``with peft_model.disable_adapter():`` gives back ``π_base`` exactly (one
    copy of the weights in memory). The model is left in eval mode.

    Args:
      rank: LoRA rank ``r >= 1``.
      alpha: LoRA scaling numerator (default ``2 * rank``: scale ``alpha / rank = 2``).
      dropout: LoRA dropout in ``[0, 1)``.
      target_modules: leaf module names; default :func:`lora_target_modules`.
      rank_name: the argument name used in error messages (``lora_rank`` from the trainers).

    Raises:
      ValueError: ``rank < 1``, ``alpha <= 0``, ``dropout`` outside ``[0, 1)``, or ``model`` already
        carries a peft adapter.
    """
    rank = v.check_positive_int(rank_name, rank)
    alpha = 2.0 * rank if alpha is None else v.check_positive("lora_alpha", alpha)
    dropout = v.check_at_least("lora_dropout", dropout, 0.0)
    if dropout >= 1.0:
        raise ValueError(f"`lora_dropout` must be in [0, 1); got {dropout}")
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


def _train_mode(peft_model, on: bool) -> None:
    """Eval mode everywhere, except LoRA's own dropout modules while training (see the module doc)."""
    peft_model.eval()
    if on:
        for name, module in peft_model.named_modules():
            if "lora_dropout" in name and isinstance(module, torch.nn.Dropout):
                module.train()


def _base_of(model):
    """Context manager: ``π_base`` (adapter disabled) for a peft model; a no-op for a plain model."""
    return model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()


# ============================================================================== helpers
def _device_of(model):
    return next(model.parameters()).device


def _seq_log_probs(model, prompt_ids, response_ids, *, pad_token_id: int, grad: bool,
                   chunk: int = 64) -> torch.Tensor:
    """``[B]`` fp32 ``log π(response|prompt)`` via :func:`scoring.response_log_probs` (chunked when no grad)."""
    device = _device_of(model)
    if grad:
        batch = scoring.pack(prompt_ids, response_ids, pad_token_id=pad_token_id, device=device)
        return scoring.response_log_probs(model, batch)
    out = []
    with torch.no_grad():
        for s in range(0, len(prompt_ids), chunk):
            batch = scoring.pack(prompt_ids[s: s + chunk], response_ids[s: s + chunk],
                                 pad_token_id=pad_token_id, device=device)
            out.append(scoring.response_log_probs(model, batch))
    return torch.cat(out)


def _kl_of(model, prompt_ids, response_ids, *, pad_token_id: int, chunk: int = 64):
    """``(logp, ref, k1, k3)`` as numpy ``[B]`` arrays for responses sampled from the adapter-on model."""
    device = _device_of(model)
    cols: list[list[np.ndarray]] = [[], [], [], []]
    with torch.no_grad():
        for s in range(0, len(prompt_ids), chunk):
            batch = scoring.pack(prompt_ids[s: s + chunk], response_ids[s: s + chunk],
                                 pad_token_id=pad_token_id, device=device)
            lt = scoring.token_log_probs(model, batch)
            with _base_of(model):
                rt = scoring.token_log_probs(model, batch)
            k1, k3 = kl_estimates(lt, rt, batch.response_mask)
            for c, t in zip(cols, (lt.sum(-1), rt.sum(-1), k1, k3)):
                c.append(t.double().cpu().numpy())
    return tuple(np.concatenate(c) for c in cols)


def _stage_seed(seed: int, stage: int) -> int:
    """The sampler seed of one stage of a run (1: BoN draws / pairs / y, 2: y', 3: tuned evaluation).

    Within a stage, ``LMPolicy.sample`` seeds each prompt's draws by ``(seed, prompt_ids[i])``, so a
    resumed run that samples only its unfinished prompts draws what a fresh run would have."""
    return (int(seed) * 1_000_003 + stage * 7_919_113) % (2**31 - 1)


def _chunks(n: int, size: int = PROMPTS_PER_CALL):
    for s in range(0, n, size):
        yield list(range(s, min(n, s + size)))


def _progress(iterable, *, enabled: bool, desc: str, total=None):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def _lift(acc: float | None, greedy: float | None) -> tuple[float | None, float | None]:
    """Accuracy lift over greedy as ``(lift_abs, lift_pct)``: ``acc − greedy`` (accuracy units) and
    ``100 (acc − greedy) / greedy`` (``None`` when greedy is 0), as ``sharpsim lm bon`` reports it."""
    if acc is None or greedy is None:
        return None, None
    return acc - greedy, (100.0 * (acc - greedy) / greedy if greedy > 0 else None)


def _mean(xs) -> float | None:
    xs = [float(x) for x in xs]
    return float(np.mean(xs)) if xs else None


def _median(xs) -> float | None:
    xs = [float(x) for x in xs]
    return float(np.median(xs)) if xs else None


def _optimizer(model, *, lr: float, weight_decay: float):
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (LoRA adapter missing?)")
    return params, torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _fit(model, n_items: int, batch_loss: Callable[[list[int]], torch.Tensor], *, epochs: int,
         batch_size: int, lr: float, weight_decay: float, grad_clip: float | None, seed: int,
         progress: bool, desc: str) -> list[dict]:
    """Minibatch AdamW with linear decay to 0 and gradient-norm clipping; returns the loss curve
    (one row per optimiser step: step, epoch, loss (the minibatch mean), lr, grad_norm)."""
    params, opt = _optimizer(model, lr=lr, weight_decay=weight_decay)
    per_epoch = math.ceil(n_items / batch_size)
    total = epochs * per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / total))
    gen = torch.Generator().manual_seed(int(seed))
    curve = []
    step = 0
    _train_mode(model, True)
    try:
        for epoch in _progress(range(epochs), enabled=progress, desc=desc):
            order = torch.randperm(n_items, generator=gen).tolist()
            for s in range(0, n_items, batch_size):
                idx = order[s: s + batch_size]
                opt.zero_grad(set_to_none=True)
                loss = batch_loss(idx)
                loss.backward()
                gnorm = torch.nn.utils.clip_grad_norm_(params, grad_clip if grad_clip else float("inf"))
                current_lr = opt.param_groups[0]["lr"]
                opt.step()
                sched.step()
                step += 1
                curve.append({"step": step, "epoch": epoch + 1, "loss": float(loss.detach()),
                              "lr": current_lr, "grad_norm": float(gnorm)})
    finally:
        _train_mode(model, False)
    return curve


def _check_common(*, lora_rank, lr, weight_decay, grad_clip, batch_size, max_new_tokens):
    v.check_positive_int("lora_rank", lora_rank)
    v.check_positive("lr", lr)
    v.check_at_least("weight_decay", weight_decay, 0.0)
    if grad_clip is not None:
        v.check_positive("grad_clip", grad_clip)
    v.check_positive_int("batch_size", batch_size)
    v.check_positive_int("max_new_tokens", max_new_tokens)


def _check_examples(examples) -> list:
    examples = list(examples)
    if not examples:
        raise ValueError("`examples` is empty; give at least one prompt")
    return examples


def _policy_from(model, policy):
    from sharpsim.bridge.policy import LMPolicy

    return LMPolicy.from_model(model, policy.tokenizer, device=policy.device)


def _score_rows(task, example, texts) -> list[bool | None]:
    if task is None:
        return [None] * len(texts)
    return [bool(task.is_correct(example, t)) for t in texts]


def _eval_tuned(tuned, examples, task, *, samples: int, max_new_tokens: int, seed: int, progress: bool,
                pad_token_id: int) -> list[dict]:
    """Sample ``samples`` responses per prompt from the tuned model (adapter on, temperature 1) and
    score each under the tuned model and the base (adapter off); KL estimates per sample."""
    rows = []
    chunks = list(_chunks(len(examples)))
    for idx in _progress(chunks, enabled=progress, desc="eval tuned"):
        exs = [examples[i] for i in idx]
        s = tuned.sample([e.prompt for e in exs], n=samples, temperature=1.0, max_new_tokens=max_new_tokens,
                         seed=_stage_seed(seed, 3), prompt_ids=idx)
        pids = [tuned.encode_prompts([exs[k].prompt])[0] for k in s.prompt_index]
        logp, ref, k1, k3 = _kl_of(tuned.model, pids, s.tokens, pad_token_id=pad_token_id)
        for r in range(len(s.tokens)):
            ex = exs[int(s.prompt_index[r])]
            rows.append({"example_id": ex.id, "sample_index": int(s.sample_index[r]), "text": s.text[r],
                         "tokens": s.tokens[r], "length": int(s.length[r]), "hit_eos": bool(s.hit_eos[r]),
                         "log_prob": float(logp[r]), "base_log_prob": float(ref[r]),
                         "k1": float(k1[r]), "k3": float(k3[r]),
                         "correct": None if task is None else bool(task.is_correct(ex, s.text[r]))})
    return rows


def _eval_summary(rows) -> dict:
    correct = [r["correct"] for r in rows if r["correct"] is not None]
    return {
        "tuned_sampled_acc": _mean(correct) if correct else None,
        "tuned_loglik_under_base": _mean(r["base_log_prob"] for r in rows),
        "tuned_loglik_under_base_median": _median(r["base_log_prob"] for r in rows),
        "kl_k1": _mean(r["k1"] for r in rows),
        "kl_k3": _mean(r["k3"] for r in rows),
        "tuned_mean_length": _mean(r["length"] for r in rows),
    }


def _greedy_acc(policy, examples, task, *, max_new_tokens: int, chunk: int = 64):
    if task is None:
        return None, []
    rows = []
    for s in range(0, len(examples), chunk):
        part = examples[s: s + chunk]
        g = policy.greedy([e.prompt for e in part], max_new_tokens=max_new_tokens)
        for e, text, lp in zip(part, g.text, g.log_prob):
            rows.append({"example_id": e.id, "text": text, "log_prob": float(lp),
                         "correct": bool(task.is_correct(e, text))})
    return _mean(r["correct"] for r in rows), rows


# ================================================================================= SFT
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
    for idx in _progress(list(_chunks(len(todo))), enabled=progress, desc=f"BoN N={N}"):
        ids = [todo[k] for k in idx]
        exs = [examples[i] for i in ids]
        s = policy.sample([e.prompt for e in exs], n=N, temperature=1.0, max_new_tokens=max_new_tokens,
                          seed=_stage_seed(seed, stage), prompt_ids=ids)
        new_rows = []
        for k, (i, ex) in enumerate(zip(ids, exs)):
            r = np.flatnonzero(s.prompt_index == k)
            new_rows.append(_bon_row(i, ex, task, reward, tokens=[s.tokens[j] for j in r],
                                     text=[s.text[j] for j in r], log_prob=s.log_prob[r], length=s.length[r],
                                     hit_eos=s.hit_eos[r]))
        if run is not None:
            run.append("samples", new_rows)
        fresh.update({row["example_id"]: row for row in new_rows})
    return [done[ex.id] if ex.id in done else fresh[ex.id] for ex in examples]


def sft_sharpen(policy, examples, task, *, N: int, lora_rank: int = 8, lr: float = 3e-4, epochs: int = 30,
                batch_size: int = 4, grad_clip: float | None = 0.1, weight_decay: float = 0.0,
                max_new_tokens: int = 64, seed: int = 0, reward: str = "loglik", lora_alpha: float | None = None,
                lora_dropout: float = 0.0, eval_samples: int = 4, eval_examples=None, draws=None, run=None,
                progress: bool = False) -> SFTResult:
    """SFT-Sharpening (Sec 2.1) with LoRA, and its amortization of inference-time BoN (Table 1 analogue).

    1. Per prompt, ``N`` draws from the base at temperature 1; keep the BoN pick by ``reward``
       (default ``"loglik"``: ``argmax_j log π_base(y_j|x)``, first drawn among ties).
    2. LoRA fine-tune (:func:`add_lora`, rank ``lora_rank``) on the picks with the completion-only
       :func:`sft_loss` (sequence NLL averaged over the minibatch), AdamW, linear decay to 0,
       gradient-norm clipping, ``epochs`` passes in minibatches of ``batch_size``.
    3. Evaluate on ``eval_examples`` (default: the training prompts — amortization of the same BoN):
       base greedy accuracy; base sampled accuracy and mean log π_base (from the N draws); BoN
       accuracy and log π_base of the picks; the tuned model sampled at temperature 1
       (``eval_samples`` per prompt): accuracy and mean log π_base of its samples, KL k1/k3.

    ``summary``: ``base_greedy_acc``, ``base_sampled_acc``, ``bon_acc``, ``tuned_sampled_acc``,
    ``bon_lift_abs/_pct``, ``tuned_lift_abs/_pct`` (over base greedy; ``_abs`` in accuracy units,
    ``_pct`` relative, as ``sharpsim lm bon``), ``amortization_gap``
    (``bon_acc − tuned_sampled_acc``, in accuracy units), ``base_sampled_loglik``, ``bon_loglik``,
    ``tuned_loglik_under_base``, ``loglik_lift`` (tuned − base sampled, nats), KL, training losses.
    With ``eval_examples`` given, BoN is re-drawn on them (``N`` draws) for the gap.

    ``draws`` (optional): example id -> ``{"tokens", "text", "log_prob", "length", "hit_eos"}`` lists
    of at least ``N`` temperature-1 draws from this same base (e.g. a ``sharpsim lm bon`` run's
    ``samples.jsonl``); their first ``N`` replace sampling for those prompts.

    ``policy.model`` is wrapped with LoRA *in place* (one copy in memory): afterwards the adapter
    is active in it; use ``with result.model.disable_adapter():`` for the base.

    Raises:
      ValueError: ``N < 1``, ``lora_rank < 1``, ``lr <= 0``, ``epochs < 1``, ``eval_samples < 1``,
        an unknown ``reward``, empty ``examples`` (each message names the argument).
    """
    N = v.check_positive_int("N", N)
    epochs = v.check_positive_int("epochs", epochs)
    eval_samples = v.check_positive_int("eval_samples", eval_samples)
    _check_common(lora_rank=lora_rank, lr=lr, weight_decay=weight_decay, grad_clip=grad_clip,
                  batch_size=batch_size, max_new_tokens=max_new_tokens)
    if isinstance(reward, str):
        rewards.get_reward(reward)  # ValueError naming the known rewards
    examples = _check_examples(examples)
    t0 = time.time()
    pad = policy.pad_token_id

    rows = _bon_rows(policy, examples, task, N=N, max_new_tokens=max_new_tokens, seed=seed, reward=reward,
                     run=run, progress=progress, draws=draws)
    greedy_acc, greedy_rows = _greedy_acc(policy, examples, task, max_new_tokens=max_new_tokens)
    t_sample = time.time() - t0

    prompt_ids = policy.encode_prompts([r["prompt"] for r in rows])
    pick_ids = [r["tokens"][r["pick"]] for r in rows]
    torch.manual_seed(int(seed))
    model = add_lora(policy.model, rank=lora_rank, alpha=lora_alpha, dropout=lora_dropout, rank_name="lora_rank")

    def batch_loss(idx):
        lp = _seq_log_probs(model, [prompt_ids[i] for i in idx], [pick_ids[i] for i in idx],
                            pad_token_id=pad, grad=True)
        return sft_loss(lp)

    with torch.no_grad():
        initial = float(sft_loss(_seq_log_probs(model, prompt_ids, pick_ids, pad_token_id=pad, grad=False)))
    curve = _fit(model, len(rows), batch_loss, epochs=epochs, batch_size=batch_size, lr=lr,
                 weight_decay=weight_decay, grad_clip=grad_clip, seed=seed, progress=progress, desc="SFT")
    with torch.no_grad():
        final = float(sft_loss(_seq_log_probs(model, prompt_ids, pick_ids, pad_token_id=pad, grad=False)))
    t_train = time.time() - t0 - t_sample

    tuned = _policy_from(model, policy)
    eval_set = examples if eval_examples is None else _check_examples(eval_examples)
    bon_rows = rows
    if eval_examples is not None:
        with _base_of(model):
            bon_rows = [dict(r) for r in _bon_rows(tuned, eval_set, task, N=N, max_new_tokens=max_new_tokens,
                                                   seed=seed, reward=reward, run=None, progress=progress,
                                                   stage=4)]
            greedy_acc, greedy_rows = _greedy_acc(tuned, eval_set, task, max_new_tokens=max_new_tokens)
    evaluation = _eval_tuned(tuned, eval_set, task, samples=eval_samples, max_new_tokens=max_new_tokens,
                             seed=seed, progress=progress, pad_token_id=pad)

    flat_correct = [c for r in bon_rows for c in r["correct"] if c is not None]
    bon_correct = [r["correct"][r["pick"]] for r in bon_rows if r["correct"][r["pick"]] is not None]
    ev = _eval_summary(evaluation)
    base_ll = _mean(x for r in bon_rows for x in r["log_prob"])
    bon_acc = _mean(bon_correct) if bon_correct else None
    summary = {
        "algorithm": "sft", "n_prompts": len(examples), "n_eval_prompts": len(eval_set), "N": N,
        "reward": reward, "lora_rank": lora_rank, "epochs": epochs,
        "base_greedy_acc": greedy_acc,
        "base_sampled_acc": _mean(flat_correct) if flat_correct else None,
        "bon_acc": bon_acc,
        "tuned_sampled_acc": ev["tuned_sampled_acc"],
        **dict(zip(("bon_lift_abs", "bon_lift_pct"), _lift(bon_acc, greedy_acc))),
        **dict(zip(("tuned_lift_abs", "tuned_lift_pct"), _lift(ev["tuned_sampled_acc"], greedy_acc))),
        "amortization_gap": (None if bon_acc is None or ev["tuned_sampled_acc"] is None
                             else bon_acc - ev["tuned_sampled_acc"]),
        "base_sampled_loglik": base_ll,
        "bon_loglik": _mean(r["log_prob"][r["pick"]] for r in bon_rows),
        "tuned_loglik_under_base": ev["tuned_loglik_under_base"],
        "loglik_lift": (None if base_ll is None else ev["tuned_loglik_under_base"] - base_ll),
        "base_sampled_loglik_median": _median(x for r in bon_rows for x in r["log_prob"]),
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


# ================================================================================ RLHF
@dataclasses.dataclass
class RLHFResult:
    """Output of :func:`rlhf_sharpen`: ``model`` (peft), ``policy`` (tuned sampler), ``triples``
    (x, y, y' with their base log-probs), ``loss_curve``, ``evaluation`` (tuned samples with
    base log-prob, k1, k3, correctness) and ``summary``."""

    model: Any
    policy: Any
    triples: list[dict]
    loss_curve: list[dict]
    evaluation: list[dict]
    summary: dict


def rlhf_sharpen(policy, examples, *, n: int | None = None, beta: float, lora_rank: int = 8, epochs: int = 10,
                 lr: float = 3e-4, batch_size: int = 4, grad_clip: float | None = 1.0, weight_decay: float = 0.0,
                 max_new_tokens: int = 64, seed: int = 0, task=None, lora_alpha: float | None = None,
                 lora_dropout: float = 0.0, eval_samples: int = 4, run=None, progress: bool = False) -> RLHFResult:
    """RLHF-Sharpening by reward regression (Eq 8) with LoRA; reference = adapter disabled.

    ``n`` triples (default ``len(examples)``; prompt ``i`` is ``examples[i % len(examples)]``, i.e.
    μ uniform over the examples, drawn stratified): two base draws ``y, y' ~ π_base(·|x)`` at
    temperature 1 each (``m = 2n``), rewards ``r = log π_base`` (the draws' own fp32 scores). Then a
    LoRA fine-tune of :func:`eq8_loss` (mean over the minibatch) against ``π_ref = π_base``, AdamW,
    linear decay, clipping. The population minimiser is ``π*_β ∝ π_base^{1+1/β}`` (Thm 4.2).
    Evaluation: ``eval_samples`` on-policy draws per example from the tuned model: KL k1/k3, mean
    log π_base, accuracy (with ``task``). Writes ``triples.jsonl``, ``train_curve.csv``, ``eval.csv``.

    Raises:
      ValueError: ``n < 1``, ``beta <= 0``, ``lora_rank < 1``, ``epochs < 1``, ... (naming the argument).
    """
    examples = _check_examples(examples)
    n = len(examples) if n is None else v.check_positive_int("n", n)
    beta = v.check_positive("beta", beta)
    epochs = v.check_positive_int("epochs", epochs)
    eval_samples = v.check_positive_int("eval_samples", eval_samples)
    _check_common(lora_rank=lora_rank, lr=lr, weight_decay=weight_decay, grad_clip=grad_clip,
                  batch_size=batch_size, max_new_tokens=max_new_tokens)
    t0 = time.time()
    pad = policy.pad_token_id
    done = {str(r["id"]): r for r in run.read("triples")} if run is not None else {}
    ids = [f"{i}:{examples[i % len(examples)].id}" for i in range(n)]
    todo = [i for i in range(n) if ids[i] not in done]
    fresh: dict[str, dict] = {}
    for idx in _progress(list(_chunks(len(todo))), enabled=progress, desc="pairs"):
        rows_i = [todo[k] for k in idx]
        exs = [examples[i % len(examples)] for i in rows_i]
        s = policy.sample([e.prompt for e in exs], n=2, temperature=1.0, max_new_tokens=max_new_tokens,
                          seed=_stage_seed(seed, 1), prompt_ids=rows_i)
        new_rows = []
        for k, (i, ex) in enumerate(zip(rows_i, exs)):
            a, b = np.flatnonzero(s.prompt_index == k)
            new_rows.append({"id": ids[i], "example_id": ex.id, "prompt": ex.prompt, "y": s.tokens[a],
                             "yp": s.tokens[b], "y_text": s.text[a], "yp_text": s.text[b],
                             "ref_y": float(s.log_prob[a]), "ref_yp": float(s.log_prob[b])})
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
    torch.manual_seed(int(seed))
    model = add_lora(policy.model, rank=lora_rank, alpha=lora_alpha, dropout=lora_dropout, rank_name="lora_rank")
    device = _device_of(model)
    ref_y, ref_yp = ref_y.to(device), ref_yp.to(device)

    def loss_on(idx, grad):
        k = len(idx)
        lp = _seq_log_probs(model, [pids[i] for i in idx] * 2, [y[i] for i in idx] + [yp[i] for i in idx],
                            pad_token_id=pad, grad=grad)
        ry, ryp = ref_y[idx], ref_yp[idx]
        return eq8_loss(lp[:k], lp[k:], ry, ryp, ry, ryp, beta)

    with torch.no_grad():
        initial = float(loss_on(list(range(n)), False))
    curve = _fit(model, n, lambda idx: loss_on(idx, True), epochs=epochs, batch_size=batch_size, lr=lr,
                 weight_decay=weight_decay, grad_clip=grad_clip, seed=seed, progress=progress, desc="Eq 8")
    with torch.no_grad():
        final = float(loss_on(list(range(n)), False))
    t_train = time.time() - t0 - t_sample

    tuned = _policy_from(model, policy)
    evaluation = _eval_tuned(tuned, examples, task, samples=eval_samples, max_new_tokens=max_new_tokens,
                             seed=seed, progress=progress, pad_token_id=pad)
    ev = _eval_summary(evaluation)
    base_ll = _mean(x for t in triples for x in (t["ref_y"], t["ref_yp"]))
    summary = {"algorithm": "rlhf", "n": n, "num_queries": 2 * n, "beta": beta, "lora_rank": lora_rank,
               "epochs": epochs, "eq8_loss_initial": initial, "eq8_loss_final": final,
               "base_sampled_loglik": base_ll, **ev,
               "loglik_lift": None if base_ll is None else ev["tuned_loglik_under_base"] - base_ll,
               "seconds": {"sampling": t_sample, "training": t_train, "total": time.time() - t0}}
    if run is not None:
        run.write_csv("train_curve", curve)
        run.write_csv("eval", [{k: x for k, x in e.items() if k != "tokens"} for e in evaluation])
    return RLHFResult(model, tuned, triples, curve, evaluation, summary)


# ================================================================================= XPO
@dataclasses.dataclass
class XPOResult:
    """Output of :func:`xpo`: ``model`` (peft; adapter = the last iterate π^(T+1)), ``policy``,
    ``data`` (the final ``D_T``, one row per triple with its round), ``rounds`` (per round: |D_t|,
    loss before/after, KL k1/k3 and mean log π_base of the round's on-policy draws, Ĵ_β),
    ``loss_curve`` (every optimiser step) and ``summary``."""

    model: Any
    policy: Any
    data: list[dict]
    rounds: list[dict]
    loss_curve: list[dict]
    summary: dict


def xpo(policy, examples, *, T: int, beta: float, alpha: float, batch: int = 1, steps_per_round: int = 10,
        lr: float = 1e-3, lora_rank: int = 8, grad_clip: float | None = 1.0, weight_decay: float = 0.0,
        max_new_tokens: int = 64, seed: int = 0, task=None, lora_alpha: float | None = None,
        chunk_size: int = 16, run=None, progress: bool = False) -> XPOResult:
    """XPO, reward-based (Alg 1) with LoRA: growing data, optimism α, reference = adapter disabled.

    Start at ``π^(1) = π_base`` (LoRA ``B = 0``), ``D = ∅``. For ``t = 1..T``: prompts
    ``x = examples[(t·batch + j) mod K]`` (``j < batch``), ``y ~ π^(t)(·|x)`` (adapter on) and
    ``y' ~ π_base(·|x)`` (adapter off), rewards ``r = log π_base`` of both; add the ``batch`` triples
    to ``D`` (``|D_t| = t·batch``) and take ``steps_per_round`` full-batch AdamW steps (a fresh
    optimiser each round, warm-started parameters, as the core's inner Adam) on
    :func:`xpo_loss` over ``D_t`` (mean over triples). ``m = 2 T batch`` base log-probability queries.

    Logged per round (``rounds``): the loss on ``D_t`` before and after the round's steps, and on
    the round's on-policy draws ``y ~ π^(t)``: KL k1/k3 of ``π^(t)`` to ``π_base``, the mean
    ``log π_base(y|x)`` and ``Ĵ_β = mean(log π_base(y|x) − β k1)`` (the core's held-out estimator of
    ``J_β``). The returned model is the last iterate (the core can select the best iterate
    exactly; here that would need every iterate's adapter — use ``rounds``' Ĵ_β to choose T).

    Raises:
      ValueError: ``T < 1``, ``beta <= 0``, ``alpha < 0``, ``batch < 1``, ``steps_per_round < 1``,
        ``lora_rank < 1`` (naming the argument).
    """
    examples = _check_examples(examples)
    T = v.check_positive_int("T", T)
    beta = v.check_positive("beta", beta)
    alpha = v.check_at_least("alpha", alpha, 0.0)
    batch = v.check_positive_int("batch", batch)
    steps_per_round = v.check_positive_int("steps_per_round", steps_per_round)
    chunk_size = v.check_positive_int("chunk_size", chunk_size)
    _check_common(lora_rank=lora_rank, lr=lr, weight_decay=weight_decay, grad_clip=grad_clip,
                  batch_size=batch, max_new_tokens=max_new_tokens)
    t0 = time.time()
    pad = policy.pad_token_id
    torch.manual_seed(int(seed))
    model = add_lora(policy.model, rank=lora_rank, alpha=lora_alpha, rank_name="lora_rank")
    current = _policy_from(model, policy)
    device = _device_of(model)
    data: list[dict] = []
    pids: list[list[int]] = []
    rounds, curve = [], []
    step = 0

    def loss_over(grad: bool) -> float:
        """Full-batch XPO loss over D (chunked; gradients accumulated into .grad when grad)."""
        total = 0.0
        size = len(data)
        for s in range(0, size, chunk_size):
            part = list(range(s, min(size, s + chunk_size)))
            k = len(part)
            ctx = contextlib.nullcontext() if grad else torch.no_grad()
            with ctx:
                lp = _seq_log_probs(model, [pids[i] for i in part] * 2,
                                    [data[i]["y"] for i in part] + [data[i]["yp"] for i in part],
                                    pad_token_id=pad, grad=True)
                ry = torch.tensor([data[i]["r_y"] for i in part], dtype=torch.float32, device=device)
                ryp = torch.tensor([data[i]["r_yp"] for i in part], dtype=torch.float32, device=device)
                part_loss = xpo_loss(lp[:k], lp[k:], ry, ryp, ry, ryp, beta, alpha, reduction="sum") / size
                if grad:
                    part_loss.backward()
            total += float(part_loss.detach())
        return total

    for t in _progress(range(T), enabled=progress, desc="XPO rounds"):
        exs = [examples[(t * batch + j) % len(examples)] for j in range(batch)]
        prompts = [e.prompt for e in exs]
        draw_ids = [t * batch + j for j in range(batch)]
        s_y = current.sample(prompts, n=1, temperature=1.0, max_new_tokens=max_new_tokens,
                             seed=_stage_seed(seed, 1), prompt_ids=draw_ids)
        with _base_of(model):
            s_yp = current.sample(prompts, n=1, temperature=1.0, max_new_tokens=max_new_tokens,
                                  seed=_stage_seed(seed, 2), prompt_ids=draw_ids)
        p_ids = current.encode_prompts(prompts)
        logp_y, r_y, k1, k3 = _kl_of(model, p_ids, s_y.tokens, pad_token_id=pad)
        for j, e in enumerate(exs):
            data.append({"round": t + 1, "example_id": e.id, "prompt": e.prompt, "y": s_y.tokens[j],
                         "yp": s_yp.tokens[j], "y_text": s_y.text[j], "yp_text": s_yp.text[j],
                         "logp_y": float(logp_y[j]), "r_y": float(r_y[j]), "r_yp": float(s_yp.log_prob[j])})
            pids.append(p_ids[j])
        before = loss_over(False)
        params, opt = _optimizer(model, lr=lr, weight_decay=weight_decay)
        _train_mode(model, True)
        try:
            for _ in range(steps_per_round):
                opt.zero_grad(set_to_none=True)
                loss = loss_over(True)
                gnorm = torch.nn.utils.clip_grad_norm_(params, grad_clip if grad_clip else float("inf"))
                opt.step()
                step += 1
                curve.append({"step": step, "round": t + 1, "loss": loss, "grad_norm": float(gnorm)})
        finally:
            _train_mode(model, False)
        after = loss_over(False)
        correct = [c for j, e in enumerate(exs) for c in _score_rows(task, e, [s_y.text[j]]) if c is not None]
        rounds.append({"round": t + 1, "data_size": len(data), "loss_before": before, "loss_after": after,
                       "kl_k1": float(np.mean(k1)), "kl_k3": float(np.mean(k3)),
                       "base_loglik": float(np.mean(r_y)), "j_beta_hat": float(np.mean(r_y - beta * k1)),
                       "length": float(np.mean(s_y.length)),
                       "acc": _mean(correct) if correct else None})
    summary = {"algorithm": "xpo", "T": T, "batch": batch, "beta": beta, "alpha": alpha,
               "steps_per_round": steps_per_round, "num_queries": 2 * T * batch, "lora_rank": lora_rank,
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
