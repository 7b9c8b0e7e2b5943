"""SFT-Sharpening (:mod:`sharpsim.bridge.sft`) on a tiny random GPT-2 with LoRA (CPU): the BoN picks,
the training loss, the Table 1 analogue, and bad configurations and input.

Every run here is seeded and deterministic: no assertion is statistical (false-failure rate 0 on a
given platform). Expected values are computed in the test from the sampled data (hand formulas),
never read from the code under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from bridge._tiny_runs import EXAMPLES, TASK, assert_rejected_untouched
from sharpsim.bridge import rlhf, sft


def test_sft_picks_are_the_argmax_of_self_likelihood(sft_result):
    assert len(sft_result.samples) == len(EXAMPLES)
    for row, ex in zip(sft_result.samples, EXAMPLES):
        assert row["example_id"] == ex.id and len(row["tokens"]) == 3
        assert row["pick"] == int(np.argmax(row["log_prob"]))


def test_lora_sft_lowers_the_loss_on_bon_picks(sft_result):
    s = sft_result.summary
    picks_lp = [r["log_prob"][r["pick"]] for r in sft_result.samples]
    # the loss is the per-sequence NLL (summed over response tokens) averaged over the picks
    assert s["train_loss_initial"] == pytest.approx(-np.mean(picks_lp), rel=1e-5)
    assert s["train_loss_final"] < s["train_loss_initial"] - 0.5
    curve = sft_result.loss_curve
    assert len(curve) == 4  # 4 epochs x ceil(3 picks / batch 4)
    lrs = [c["lr"] for c in curve]
    assert lrs[0] == pytest.approx(1e-2) and all(a > b for a, b in itertools.pairwise(lrs))  # linear decay


def test_sft_summary_is_the_table1_analogue(sft_result):
    s = sft_result.summary
    rows = sft_result.samples
    bon = np.mean([TASK.is_correct(ex, r["text"][r["pick"]]) for ex, r in zip(EXAMPLES, rows)])
    sampled = np.mean([TASK.is_correct(ex, t) for ex, r in zip(EXAMPLES, rows) for t in r["text"]])
    tuned = np.mean([e["correct"] for e in sft_result.evaluation])
    assert s["bon_acc"] == pytest.approx(bon) and s["base_sampled_acc"] == pytest.approx(sampled)
    assert s["tuned_sampled_acc"] == pytest.approx(tuned)
    assert s["amortization_gap"] == pytest.approx(bon - tuned)
    assert s["base_sampled_loglik"] == pytest.approx(np.mean([x for r in rows for x in r["log_prob"]]))
    assert s["bon_loglik"] == pytest.approx(np.mean([r["log_prob"][r["pick"]] for r in rows]))
    ev = sft_result.evaluation
    assert len(ev) == 2 * len(EXAMPLES)
    assert s["tuned_loglik_under_base"] == pytest.approx(np.mean([e["base_log_prob"] for e in ev]))
    assert s["loglik_lift"] == pytest.approx(s["tuned_loglik_under_base"] - s["base_sampled_loglik"])
    assert all(e["k3"] >= 0 for e in ev)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, match", [
    (lambda: sft.SFTConfig(N=2, lora_rank=0), "`lora_rank` must be an integer >= 1"),
    (lambda: sft.SFTConfig(N=0), "`N` must be an integer >= 1"),
    (lambda: sft.SFTConfig(N=2, reward="nope"), "unknown reward 'nope'"),
    (lambda: sft.SFTConfig(N=2, epochs=0), "`epochs` must be an integer >= 1"),
    (lambda: sft.SFTConfig(N=2, eval_samples=0), "`eval_samples` must be an integer >= 1"),
    (lambda: sft.SFTConfig(N=2, lr=0.0), "`lr` must be > 0"),
    (lambda: sft.SFTConfig(N=2, weight_decay=-1.0), "`weight_decay` must be >= 0"),
    (lambda: sft.SFTConfig(N=2, grad_clip=-0.1), "`grad_clip` must be > 0"),
    (lambda: sft.SFTConfig(N=2, batch_size=0), "`batch_size` must be an integer >= 1"),
    (lambda: sft.SFTConfig(N=2, max_new_tokens=0), "`max_new_tokens` must be an integer >= 1"),
    (lambda: sft.SFTConfig(N=2, lora_alpha=0.0), "`lora_alpha` must be > 0"),
    (lambda: sft.SFTConfig(N=2, lora_dropout=1.0), r"`lora_dropout` must be in \[0, 1\)"),
])
def test_bad_config_raises_one_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: sft.SFTConfig(N=2.5), "`N` must be an integer"),
])
def test_non_integer_config_settings_are_type_errors(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_config_is_keyword_only():
    with pytest.raises(TypeError):
        sft.SFTConfig(3)  # keyword-only


@pytest.mark.parametrize("call, error, match", [
    (lambda p: sft.sft_sharpen(p, [], TASK, sft.SFTConfig(N=2)), ValueError, "`examples` is empty"),
    (lambda p: sft.sft_sharpen(p, EXAMPLES, TASK, sft.SFTConfig(N=2), eval_examples=[]), ValueError, "`eval_examples` is empty"),
    (lambda p: sft.sft_sharpen(p, EXAMPLES, TASK, rlhf.RLHFConfig(beta=1.0)), TypeError, "`config` must be an"),
])
def test_bad_input_is_rejected_before_the_model_is_touched(model_dir, call, error, match):
    assert_rejected_untouched(model_dir, call, error, match)
