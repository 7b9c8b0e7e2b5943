"""Teacher-forced log-probabilities of responses under a causal LM, masked and in fp32.

The one routine every bridge algorithm uses to score ``log π(y|x)``: sampling (self-reward),
BoN, the SFT loss, the Eq 8 loss and XPO's loss all go through :func:`response_log_probs`, so
they agree by construction with each other and (on a one-token LM) with the JAX core.

Layout of a packed batch (right padding, one row per (prompt, response) pair)::

    [ prompt tokens | response tokens (through the first EOS, inclusive) | pad ... ]

``attention_mask`` is 1 on prompt and response tokens; ``response_mask`` is 1 on response tokens
only. Position ids are ``cumsum(attention_mask) - 1`` so that real tokens sit at the positions
they would have unpadded. Tokens after the first EOS of a response are dropped before packing
(:func:`truncate_at_eos`); the EOS itself is scored, since emitting it is part of the response.
Log-probabilities are taken from the logits cast to float32 at temperature 1, whatever the
model's dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sharpsim.bridge._deps import require

torch = require("torch")


def input_device(model):
    """The device a batch for ``model`` goes on: where its input embeddings run.

    For a model placed by accelerate (``device_map``; layers spread over GPUs, the CPU or disk)
    that is the execution device of the embedding layer's dispatch hook (its weight may be on the
    ``meta`` device when offloaded); otherwise the device of the model's first parameter. Hooks
    move activations between the model's devices, so a batch on this device is all it needs.

    Args:
      model: a causal LM (plain, peft-wrapped or dispatched by accelerate).

    Returns:
      A ``torch.device`` (the CPU for a model without parameters).
    """
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    hook = getattr(emb, "_hf_hook", None) if emb is not None else None
    dev = getattr(hook, "execution_device", None)
    if dev is not None:
        return torch.device("cuda", dev) if isinstance(dev, int) else torch.device(dev)
    if emb is not None and getattr(emb, "weight", None) is not None and emb.weight.device.type != "meta":
        return emb.weight.device
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


class PackedBatch(NamedTuple):
    """One right-padded batch of (prompt, response) pairs (see the module doc for the layout)."""

    input_ids: torch.Tensor  # [B, L] long
    attention_mask: torch.Tensor  # [B, L] long
    response_mask: torch.Tensor  # [B, L] bool, True on response tokens
    position_ids: torch.Tensor  # [B, L] long


def truncate_at_eos(tokens: Sequence[int], eos_token_id: int | None) -> tuple[list[int], bool]:
    """``tokens`` cut just after the first EOS (kept), and whether an EOS was found."""
    tokens = [int(t) for t in tokens]
    if eos_token_id is not None and eos_token_id in tokens:
        return tokens[: tokens.index(eos_token_id) + 1], True
    return tokens, False


def pack(prompt_ids: Sequence[Sequence[int]], response_ids: Sequence[Sequence[int]], *, pad_token_id: int,
         device=None) -> PackedBatch:
    """Right-pad prompt+response pairs into one batch with a response mask (see the module doc).

    Args:
      prompt_ids, response_ids: token-id lists, one pair per row.
      pad_token_id: the padding token.
      device: optional device to move the tensors to.

    Returns:
      A :class:`PackedBatch`.

    Raises:
      ValueError: the two lists differ in length, are empty, or every pair is empty.
    """
    if len(prompt_ids) != len(response_ids):
        raise ValueError(f"prompt_ids and response_ids must have the same length, got "
                         f"{len(prompt_ids)} and {len(response_ids)}")
    if len(prompt_ids) == 0:
        raise ValueError("pack needs at least one (prompt, response) pair")
    rows = [list(map(int, p)) + list(map(int, r)) for p, r in zip(prompt_ids, response_ids)]
    width = max(len(r) for r in rows)
    if width == 0:
        raise ValueError("every prompt and response is empty")
    b = len(rows)
    input_ids = torch.full((b, width), int(pad_token_id), dtype=torch.long)
    attention = torch.zeros((b, width), dtype=torch.long)
    resp = torch.zeros((b, width), dtype=torch.bool)
    for i, (p, r) in enumerate(zip(prompt_ids, response_ids)):
        n_p, n_r = len(p), len(r)
        input_ids[i, : n_p + n_r] = torch.tensor(rows[i], dtype=torch.long)
        attention[i, : n_p + n_r] = 1
        resp[i, n_p: n_p + n_r] = True
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    batch = PackedBatch(input_ids, attention, resp, positions)
    if device is not None:
        batch = PackedBatch(*(t.to(device) for t in batch))
    return batch


def token_log_probs(model, batch: PackedBatch) -> torch.Tensor:
    """``[B, L]`` fp32 log-probability of each token given the ones before it (0 where not a response token).

    Differentiable in the model's parameters. The first position is never a response token
    (a response follows a prompt of length >= 1, checked in :func:`response_log_probs`).
    """
    out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                position_ids=batch.position_ids)
    logits = out.logits[:, :-1, :].float()
    targets = batch.input_ids[:, 1:]
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    mask = batch.response_mask[:, 1:]
    logp = torch.where(mask, logp, torch.zeros_like(logp))
    return torch.nn.functional.pad(logp, (1, 0))


def response_log_probs(model, batch: PackedBatch) -> torch.Tensor:
    """``[B]`` fp32 ``log π(response | prompt)``: the sum of :func:`token_log_probs` over the response."""
    if bool(batch.response_mask[:, 0].any()):
        raise ValueError("every response needs a non-empty prompt before it (the first token has no "
                         "context to be scored from); prepend a BOS token to empty prompts")
    return token_log_probs(model, batch).sum(-1)


def sequence_log_probs(model, prompt_ids: Sequence[Sequence[int]], response_ids: Sequence[Sequence[int]], *,
                       pad_token_id: int, grad: bool, chunk: int = 64) -> torch.Tensor:
    """``[B]`` fp32 ``log π(response|prompt)`` of many pairs, via :func:`response_log_probs`.

    Args:
      model: the causal LM (the batch goes on :func:`input_device`).
      prompt_ids, response_ids: ``B`` token-id lists each.
      pad_token_id: the padding token.
      grad: ``True``: one batch, differentiable; ``False``: chunks of ``chunk`` pairs under
        ``torch.no_grad()``.
      chunk: pairs per forward pass without gradients.

    Returns:
      A ``[B]`` tensor on the model's (output) device.
    """
    device = input_device(model)
    if grad:
        return response_log_probs(model, pack(prompt_ids, response_ids, pad_token_id=pad_token_id, device=device))
    out = []
    with torch.no_grad():
        for s in range(0, len(prompt_ids), chunk):
            batch = pack(prompt_ids[s: s + chunk], response_ids[s: s + chunk], pad_token_id=pad_token_id,
                         device=device)
            out.append(response_log_probs(model, batch))
    return torch.cat(out)
