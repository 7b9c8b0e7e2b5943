"""Settings shared by the trainer tests (LoRA, SFT, RLHF, XPO and ``sharpsim lm sft|rlhf|xpo``): the
task, its examples and the response cap of the tiny runs, a fresh base policy, and the check that a
trainer rejects bad input before it touches the model."""

from __future__ import annotations

import pytest

from sharpsim.bridge import tasks

MAX_NEW = 8
TASK = tasks.get("arithmetic")
EXAMPLES = TASK.examples(3, seed=0)


def fresh_policy(model_dir):
    """A fresh base policy (the trainers wrap the model with LoRA in place)."""
    from sharpsim.bridge.policy import LMPolicy

    return LMPolicy.from_pretrained(model_dir, device="cpu")


def assert_rejected_untouched(model_dir, call, error, match) -> None:
    """``call(policy)`` on a fresh policy raises ``error`` matching ``match``, and the model was never
    wrapped with LoRA (the input was rejected before the model was touched)."""
    policy = fresh_policy(model_dir)
    with pytest.raises(error, match=match):
        call(policy)
    assert not hasattr(policy.model, "peft_config")
