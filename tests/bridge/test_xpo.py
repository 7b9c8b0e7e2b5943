"""XPO (Alg 1: growing data, alpha optimism; :mod:`sharpsim.bridge.xpo`) on a tiny random GPT-2 with
LoRA (CPU): the dataset grows by a batch per round, KL is logged, the rewards re-score under a fresh
base, and bad configurations and input.

Every run here is seeded and deterministic: no assertion is statistical (false-failure rate 0 on a
given platform). Expected values are computed in the test from the sampled data (hand formulas),
never read from the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from bridge._tiny_runs import EXAMPLES, MAX_NEW, TASK, assert_rejected_untouched, fresh_policy
from sharpsim.bridge import sft, xpo


def test_xpo_grows_the_dataset_and_logs_kl(model_dir):
    T, batch = 3, 2
    config = xpo.XPOConfig(T=T, beta=0.5, alpha=0.5, batch=batch, steps_per_round=2, lr=1e-2, lora_rank=4,
                           max_new_tokens=MAX_NEW, seed=0)
    res = xpo.xpo(fresh_policy(model_dir), EXAMPLES, config, task=TASK)
    assert [r["data_size"] for r in res.rounds] == [batch * t for t in range(1, T + 1)]
    assert [d["round"] for d in res.data] == [t for t in range(1, T + 1) for _ in range(batch)]
    assert len(res.loss_curve) == 2 * T
    # round 1 samples from pi^(1) = pi_base (LoRA B = 0): both estimators are exactly 0 there
    assert res.rounds[0]["kl_k1"] == 0.0 and res.rounds[0]["kl_k3"] == 0.0
    assert all(r["kl_k3"] >= 0 for r in res.rounds)
    assert all(math.isfinite(r["loss_after"]) for r in res.rounds)
    # y' comes from the base and r = log pi_base: re-score with a fresh copy of the base
    base = fresh_policy(model_dir)
    pids = base.encode_prompts([d["prompt"] for d in res.data])
    r_yp = base.log_prob_ids(pids, [d["yp"] for d in res.data])
    r_y = base.log_prob_ids(pids, [d["y"] for d in res.data])
    np.testing.assert_allclose([d["r_yp"] for d in res.data], r_yp, rtol=0, atol=1e-4)
    np.testing.assert_allclose([d["r_y"] for d in res.data], r_y, rtol=0, atol=1e-4)
    first = [d for d in res.data if d["round"] == 1]
    assert all(d["logp_y"] == d["r_y"] for d in first)
    assert res.summary["num_queries"] == 2 * T * batch


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, match", [
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, lora_rank=0), "`lora_rank` must be an integer"),
    (lambda: xpo.XPOConfig(T=1, beta=0.0, alpha=0.0), "`beta` must be > 0"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=-0.1), "`alpha` must be >= 0"),
    (lambda: xpo.XPOConfig(T=0, beta=1.0, alpha=0.0), "`T` must be an integer >= 1"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, batch=0), "`batch` must be an integer >= 1"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, steps_per_round=0), "`steps_per_round` must be an integer"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, chunk_size=0), "`chunk_size` must be an integer >= 1"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, lr=-1e-3), "`lr` must be > 0"),
])
def test_bad_config_raises_one_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: xpo.XPOConfig(T="3", beta=1.0, alpha=0.0), "`T` must be an integer"),
])
def test_non_integer_config_settings_are_type_errors(make, match):
    with pytest.raises(TypeError, match=match):
        make()


@pytest.mark.parametrize("call, error, match", [
    (lambda p: xpo.xpo(p, [], xpo.XPOConfig(T=1, beta=1.0, alpha=0.0)), ValueError, "`examples` is empty"),
    (lambda p: xpo.xpo(p, EXAMPLES, sft.SFTConfig(N=2)), TypeError, "`config` must be an"),
])
def test_bad_input_is_rejected_before_the_model_is_touched(model_dir, call, error, match):
    assert_rejected_untouched(model_dir, call, error, match)
