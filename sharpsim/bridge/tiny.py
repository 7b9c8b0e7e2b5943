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
