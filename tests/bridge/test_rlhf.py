"""RLHF-Sharpening (Eq 8 reward regression, :mod:`sharpsim.bridge.rlhf`) on a tiny random GPT-2 with
LoRA (CPU): the Eq 8 loss falls from its hand-computed start, and bad configurations and input.

Every run here is seeded and deterministic: no assertion is statistical (false-failure rate 0 on a
given platform). Expected values are computed in the test from the sampled data (hand formulas),
never read from the code under test.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from bridge._tiny_runs import EXAMPLES, MAX_NEW, TASK, assert_rejected_untouched, fresh_policy
from sharpsim.bridge import rlhf


def test_eq8_training_lowers_the_eq8_loss(model_dir):
    beta = 0.5
    config = rlhf.RLHFConfig(n=4, beta=beta, lora_rank=4, lr=1e-2, epochs=6, max_new_tokens=MAX_NEW, seed=0,
                             eval_samples=2)
    res = rlhf.rlhf_sharpen(fresh_policy(model_dir), EXAMPLES, config, task=TASK)
    tri = res.triples
    assert len(tri) == 4 and [t["example_id"] for t in tri] == [EXAMPLES[i % 3].id for i in range(4)]
    # at the start pi = pi_base, so each residual is -(r(y) - r(y')) = -(log pi_base(y) - log pi_base(y'))
    start = np.mean([(t["ref_y"] - t["ref_yp"]) ** 2 for t in tri])
    s = res.summary
    assert s["num_queries"] == 8
    assert s["eq8_loss_initial"] == pytest.approx(start, rel=1e-4)
    assert s["eq8_loss_final"] < 0.9 * s["eq8_loss_initial"]
    assert s["kl_k3"] >= 0 and all(e["k3"] >= 0 for e in res.evaluation)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, match", [
    (lambda: rlhf.RLHFConfig(beta=1.0, lora_rank=0), "`lora_rank` must be an integer >= 1"),
    (lambda: rlhf.RLHFConfig(n=0, beta=1.0), "`n` must be an integer >= 1"),
    (lambda: rlhf.RLHFConfig(beta=0.0), "`beta` must be > 0"),
    (lambda: rlhf.RLHFConfig(beta=-1.0), "`beta` must be > 0"),
    (lambda: rlhf.RLHFConfig(beta=1.0, epochs=0), "`epochs` must be an integer >= 1"),
    (lambda: rlhf.RLHFConfig(beta=1.0, lora_dropout=-0.5), "`lora_dropout` must be >= 0"),
])
def test_bad_config_raises_one_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_config_is_frozen_and_normalised():
    c = rlhf.RLHFConfig(beta=1, n=np.int64(3))
    assert c.beta == 1.0 and isinstance(c.beta, float) and c.n == 3 and type(c.n) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.beta = 2.0


@pytest.mark.parametrize("call, error, match", [
    (lambda p: rlhf.rlhf_sharpen(p, [], rlhf.RLHFConfig(beta=1.0)), ValueError, "`examples` is empty"),
    (lambda p: rlhf.rlhf_sharpen(p, EXAMPLES, {"beta": 1.0}), TypeError, "`config` must be an"),
])
def test_bad_input_is_rejected_before_the_model_is_touched(model_dir, call, error, match):
    assert_rejected_untouched(model_dir, call, error, match)
