"""Tiny GPT-2 style LMs with a character-level tokenizer: random ones for tests, trained ones for experiments.

The tokenizer (:func:`char_tokenizer`) has one token per printable ASCII character (codes 32-126)
and ``"\\n"``, plus four special tokens::

    id 0 <pad>   id 1 <bos>   id 2 <eos>   id 3 <unk>   ids 4.. the characters, in code order, then "\\n"

It is built with the ``tokenizers`` library (a merge-free BPE, i.e. one token per character, a
``Fuse`` decoder that joins tokens without spaces, a post-processor that prepends ``<bos>`` when
special tokens are requested) and wrapped in ``transformers.PreTrainedTokenizerFast`` with
``clean_up_tokenization_spaces=False`` and ``split_special_tokens=True``, so that decoding
round-trips any text over its alphabet exactly (even text that spells ``"<eos>"``). Other
characters encode to ``<unk>`` and vanish on decoding. Prompts encode as ``[<bos>] + chars``;
responses as ``chars + [<eos>]`` (see :class:`sharpsim.bridge.policy.LMPolicy`).

:func:`save_random_tiny` writes a randomly initialised GPT-2 with that tokenizer (tests);
:func:`train_tiny` trains one from scratch on (prompt, response) text pairs (experiments). Both
save with ``save_pretrained`` (safetensors), so ``LMPolicy.from_pretrained(dir)`` loads them.
Dropout is 0 in every model built here.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)
#: the tokenizer's characters, in id order after the special tokens
ALPHABET = tuple(chr(c) for c in range(32, 127)) + ("\n",)
VOCAB_SIZE = len(SPECIAL_TOKENS) + len(ALPHABET)  # 100
#: longest prompt + response (tokens, including <bos> and <eos>) the tiny models are built for
N_POSITIONS = 256

#: model sizes for :func:`train_tiny` (GPT-2 layers, width, heads); parameters are counted in the theory note
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"n_layer": 2, "n_embd": 64, "n_head": 2},
    "small": {"n_layer": 4, "n_embd": 128, "n_head": 4},
    "base": {"n_layer": 6, "n_embd": 256, "n_head": 8},
}


def char_tokenizer():
    """The project's character-level tokenizer (a ``PreTrainedTokenizerFast``; see the module doc)."""
    from tokenizers import Tokenizer, decoders, models, processors

    from sharpsim.bridge._deps import require

    transformers = require("transformers")
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + ALPHABET)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    tok.decoder = decoders.Fuse()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, vocab[BOS])])
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=PAD, bos_token=BOS, eos_token=EOS, unk_token=UNK,
        clean_up_tokenization_spaces=False, split_special_tokens=True, model_max_length=N_POSITIONS)


def _gpt2_config(*, n_layer: int, n_embd: int, n_head: int):
    from sharpsim.bridge._deps import require

    transformers = require("transformers")
    for name, value in (("n_layer", n_layer), ("n_embd", n_embd), ("n_head", n_head)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if n_embd % n_head:
        raise ValueError(f"n_embd must be divisible by n_head, got n_embd={n_embd}, n_head={n_head}")
    return transformers.GPT2Config(
        vocab_size=VOCAB_SIZE, n_positions=N_POSITIONS, n_layer=int(n_layer), n_embd=int(n_embd),
        n_head=int(n_head), resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=SPECIAL_TOKENS.index(BOS), eos_token_id=SPECIAL_TOKENS.index(EOS),
        pad_token_id=SPECIAL_TOKENS.index(PAD), tie_word_embeddings=True)


def _save(model, tokenizer, out_dir: Path) -> None:
    from sharpsim.bridge._deps import require

    transformers = require("transformers")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.generation_config = transformers.GenerationConfig(
        bos_token_id=model.config.bos_token_id, eos_token_id=model.config.eos_token_id,
        pad_token_id=model.config.pad_token_id)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


def save_random_tiny(out_dir, *, seed: int = 0, n_layer: int = 2, n_embd: int = 32, n_head: int = 2) -> Path:
    """Save a randomly initialised GPT-2 (fp32, no dropout) with :func:`char_tokenizer` to ``out_dir``.

    Args:
        out_dir: directory to create (or overwrite files in).
        seed: torch seed of the initialisation (the global torch RNG is left as it was).
        n_layer, n_embd, n_head: the GPT-2 shape (``n_embd`` divisible by ``n_head``).

    Returns:
        ``Path(out_dir)``, loadable with ``LMPolicy.from_pretrained``.
    """
    from sharpsim.bridge._deps import require

    torch = require("torch")
    transformers = require("transformers")
    config = _gpt2_config(n_layer=n_layer, n_embd=n_embd, n_head=n_head)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = transformers.GPT2LMHeadModel(config).eval()
    out = Path(out_dir)
    _save(model, char_tokenizer(), out)
    return out


def _encode_pairs(tokenizer, pairs) -> tuple[list[list[int]], list[list[int]]]:
    """``[<bos>] + prompt chars`` and ``response chars + [<eos>]`` for each pair (as LMPolicy encodes them)."""
    eos = tokenizer.eos_token_id
    prompts, responses = [], []
    for k, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                and all(isinstance(t, str) for t in pair)):
            raise ValueError(f"pairs[{k}] must be a (prompt, response) pair of strings, got {pair!r}")
        p = list(tokenizer(pair[0], add_special_tokens=True)["input_ids"])
        r = list(tokenizer(pair[1], add_special_tokens=False)["input_ids"]) + [eos]
        if len(p) + len(r) > N_POSITIONS:
            raise ValueError(f"pairs[{k}] is {len(p) + len(r)} tokens long with <bos> and <eos>; the tiny "
                             f"models take at most {N_POSITIONS}")
        prompts.append(p)
        responses.append(r)
    return prompts, responses


def train_tiny(pairs: Sequence[tuple[str, str]], out_dir, *, size: str = "tiny", steps: int, seed: int,
               device=None, lr: float = 3e-3, batch_size: int = 64, warmup: float = 0.05,
               weight_decay: float = 0.01, log_every: int | None = None) -> Path:
    """Train a GPT-2 style LM from scratch on ``pairs`` and save it (with its tokenizer) to ``out_dir``.

    Each pair is encoded as ``[<bos>] + prompt`` followed by ``response + [<eos>]``; the loss is the
    mean negative log-likelihood of the **response tokens only** (EOS included), computed with
    :func:`sharpsim.bridge.scoring.token_log_probs` — the same masked fp32 routine that scores
    responses everywhere else. Minibatches of ``batch_size`` pairs are drawn uniformly with
    replacement (numpy RNG seeded by ``seed``); AdamW (betas 0.9/0.98, ``weight_decay`` on
    matrices only), linear warm-up for ``warmup * steps`` steps then cosine decay to ``lr / 10``,
    gradients clipped at norm 1.

    Args:
        pairs: ``(prompt, response)`` strings over the tokenizer's alphabet (:data:`ALPHABET`).
        out_dir: where to save ``model.safetensors``, ``config.json``, the tokenizer and
            ``train_manifest.json`` (model config, parameter count, steps, losses, seconds, device).
        size: ``"tiny"``, ``"small"`` or ``"base"`` (:data:`SIZES`).
        steps: optimiser steps (>= 1).
        seed: seeds the initialisation (torch) and the minibatches (numpy); the global torch
            RNG is left as it was.
        device: None -> cuda if available, else cpu.
        lr, batch_size, warmup, weight_decay: optimiser settings (lr > 0, batch_size >= 1,
            0 <= warmup < 1, weight_decay >= 0).
        log_every: record the mean training loss every this many steps (default ``steps // 50``).

    Returns:
        ``Path(out_dir)``; ``LMPolicy.from_pretrained(out_dir)`` loads the trained model.
    """
    from sharpsim.bridge import scoring
    from sharpsim.bridge._deps import require

    torch = require("torch")
    transformers = require("transformers")
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if not (isinstance(warmup, (int, float)) and 0 <= warmup < 1):
        raise ValueError(f"warmup must be in [0, 1), got {warmup!r}")
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    if isinstance(pairs, (str, bytes)) or len(pairs) == 0:
        raise ValueError("pairs must be a non-empty sequence of (prompt, response) string pairs")
    log_every = max(1, steps // 50) if log_every is None else int(log_every)
    if log_every < 1:
        raise ValueError(f"log_every must be >= 1, got {log_every!r}")
    dev = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")

    tokenizer = char_tokenizer()
    prompts, responses = _encode_pairs(tokenizer, pairs)
    config = _gpt2_config(**SIZES[size])
    fork = [dev] if dev.type == "cuda" else []
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=fork):
        torch.manual_seed(int(seed))
        model = transformers.GPT2LMHeadModel(config).to(dev).train()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": float(weight_decay)},
                             {"params": no_decay, "weight_decay": 0.0}], lr=float(lr), betas=(0.9, 0.98))
    n_warm = int(warmup * steps)

    def lr_at(step: int) -> float:
        if step < n_warm:
            return lr * (step + 1) / n_warm
        frac = (step - n_warm) / max(1, steps - n_warm)
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    rng = np.random.default_rng(int(seed))
    history: list[dict] = []
    window: list[float] = []
    losses: list[float] = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        idx = rng.integers(0, len(prompts), size=batch_size)
        batch = scoring.pack([prompts[i] for i in idx], [responses[i] for i in idx],
                             pad_token_id=config.pad_token_id, device=dev)
        logp = scoring.token_log_probs(model, batch)
        loss = -logp.sum() / batch.response_mask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        value = float(loss.detach())
        losses.append(value)
        window.append(value)
        if (step + 1) % log_every == 0 or step + 1 == steps:
            history.append({"step": step + 1, "loss": float(np.mean(window)), "lr": lr_at(step)})
            window = []
    seconds = time.perf_counter() - t0
    model.eval()
    out = Path(out_dir)
    _save(model.to("cpu"), tokenizer, out)
    tail = min(len(losses), max(1, steps // 20))
    manifest = {
        "size": size, "model_config": {k: getattr(config, k) for k in ("n_layer", "n_embd", "n_head",
                                                                        "vocab_size", "n_positions")},
        "n_params": int(n_params), "steps": int(steps), "batch_size": int(batch_size), "lr": float(lr),
        "warmup": float(warmup), "weight_decay": float(weight_decay), "seed": int(seed),
        "n_pairs": len(pairs), "loss": "mean NLL per response token (nats), response tokens only, EOS included",
        "initial_loss": float(np.mean(losses[:tail])), "final_loss": float(np.mean(losses[-tail:])),
        "loss_history": history, "seconds": round(seconds, 3), "device": str(dev),
        "torch": torch.__version__, "transformers": transformers.__version__,
    }
    (out / "train_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out
