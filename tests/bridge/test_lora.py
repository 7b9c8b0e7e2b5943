"""LoRA plumbing (:mod:`sharpsim.bridge.lora`) on a tiny random GPT-2 (CPU): the adapter-off reference
``π_base`` is bit-identical to the original model, and a bad rank is rejected before the model is
touched. Deterministic: no assertion is statistical."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from bridge._tiny_runs import EXAMPLES, assert_rejected_untouched, fresh_policy  # noqa: E402
from sharpsim.bridge import lora, scoring  # noqa: E402


def test_adapter_disabled_reference_equals_the_original_model(sft_result, model_dir):
    original = fresh_policy(model_dir).model
    pids = sft_result.policy.encode_prompts([ex.prompt for ex in EXAMPLES])
    picks = [r["tokens"][r["pick"]] for r in sft_result.samples]
    batch = scoring.pack(pids, picks, pad_token_id=sft_result.policy.pad_token_id)
    with torch.no_grad():
        want = scoring.response_log_probs(original, batch)
        tuned = scoring.response_log_probs(sft_result.model, batch)
        with sft_result.model.disable_adapter():
            ref = scoring.response_log_probs(sft_result.model, batch)
    assert torch.equal(ref, want)  # bit-identical: one copy of the weights, adapter off
    assert float((tuned - want).abs().max()) > 1e-3  # the adapter was trained
    assert bool((tuned > want).all())  # ... towards the picks


def test_bad_rank_is_rejected_before_the_model_is_touched(model_dir):
    assert_rejected_untouched(model_dir, lambda p: lora.add_lora(p.model, rank=0), ValueError,
                              "`rank` must be an integer >= 1")
