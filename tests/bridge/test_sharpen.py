"""SFT-Sharpening, RLHF-Sharpening (Eq 8) and XPO on a tiny random GPT-2 with LoRA (CPU).

Every run here is seeded and deterministic: no assertion is statistical (false-failure rate 0 on a
given platform). Expected values are computed in the test from the sampled data (hand formulas),
never read from the code under test.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

from sharpsim import cli as top_cli  # noqa: E402
from sharpsim.bridge import lora, losses, rlhf, scoring, sft, tasks, tiny, xpo  # noqa: E402
from sharpsim.bridge.policy import LMPolicy  # noqa: E402

MAX_NEW = 8
TASK = tasks.get("arithmetic")
EXAMPLES = TASK.examples(3, seed=0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny.save_random_tiny(tmp_path_factory.mktemp("tiny") / "model", seed=0)


def _policy(model_dir):
    """A fresh base policy (the trainers wrap the model with LoRA in place)."""
    return LMPolicy.from_pretrained(model_dir, device="cpu")


@pytest.fixture(scope="module")
def sft_result(model_dir):
    config = sft.SFTConfig(N=3, lora_rank=4, lr=1e-2, epochs=4, max_new_tokens=MAX_NEW, seed=0, eval_samples=2)
    return sft.sft_sharpen(_policy(model_dir), EXAMPLES, TASK, config)


# ----------------------------------------------------------------------------- losses
def test_losses_on_hand_values():
    lp = torch.tensor([-1.0, -3.0])
    assert float(losses.sft_loss(lp)) == pytest.approx(2.0)
    assert float(losses.sft_loss(lp, reduction="sum")) == pytest.approx(4.0)
    assert float(losses.sft_loss(lp, weights=[3.0, 1.0])) == pytest.approx((3 + 3) / 4)
    # one triple: beta=0.5, log-ratios 0.2 and -0.4, rewards -1 and -2 -> 0.5*0.2 + 0.5*0.4 - 1 = -0.7
    args = [torch.tensor([x]) for x in (-0.8, -1.4, -1.0, -1.0, -1.0, -2.0)]
    assert float(losses.eq8_loss(*args, 0.5)) == pytest.approx(0.49)
    # alpha * log pi(y'|x) + resid^2 = 2 * (-1.4) + 0.49
    assert float(losses.xpo_loss(*args, 0.5, 2.0)) == pytest.approx(-2.8 + 0.49)


def test_kl_estimators_by_hand_and_masked():
    lp = torch.tensor([[0.0, -0.5, -1.0, 9.0]])
    ref = torch.tensor([[0.0, -1.0, -0.2, -7.0]])
    mask = torch.tensor([[False, True, True, False]])  # the prompt and a pad position are masked
    k1, k3 = losses.kl_estimates(lp, ref, mask)
    d = np.array([-0.5, 0.8])  # log rho = ref - lp on the two response tokens
    assert float(k1[0]) == pytest.approx(-d.sum(), abs=1e-6)
    assert float(k3[0]) == pytest.approx(float(np.sum(np.exp(d) - 1 - d)), abs=1e-6)
    assert float(k3[0]) >= 0


# ---------------------------------------------------------------------------------- SFT
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


def test_adapter_disabled_reference_equals_the_original_model(sft_result, model_dir):
    original = _policy(model_dir).model
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


# --------------------------------------------------------------------------------- Eq 8
def test_eq8_training_lowers_the_eq8_loss(model_dir):
    beta = 0.5
    config = rlhf.RLHFConfig(n=4, beta=beta, lora_rank=4, lr=1e-2, epochs=6, max_new_tokens=MAX_NEW, seed=0,
                             eval_samples=2)
    res = rlhf.rlhf_sharpen(_policy(model_dir), EXAMPLES, config, task=TASK)
    tri = res.triples
    assert len(tri) == 4 and [t["example_id"] for t in tri] == [EXAMPLES[i % 3].id for i in range(4)]
    # at the start pi = pi_base, so each residual is -(r(y) - r(y')) = -(log pi_base(y) - log pi_base(y'))
    start = np.mean([(t["ref_y"] - t["ref_yp"]) ** 2 for t in tri])
    s = res.summary
    assert s["num_queries"] == 8
    assert s["eq8_loss_initial"] == pytest.approx(start, rel=1e-4)
    assert s["eq8_loss_final"] < 0.9 * s["eq8_loss_initial"]
    assert s["kl_k3"] >= 0 and all(e["k3"] >= 0 for e in res.evaluation)


# ---------------------------------------------------------------------------------- XPO
def test_xpo_grows_the_dataset_and_logs_kl(model_dir):
    T, batch = 3, 2
    config = xpo.XPOConfig(T=T, beta=0.5, alpha=0.5, batch=batch, steps_per_round=2, lr=1e-2, lora_rank=4,
                           max_new_tokens=MAX_NEW, seed=0)
    res = xpo.xpo(_policy(model_dir), EXAMPLES, config, task=TASK)
    assert [r["data_size"] for r in res.rounds] == [batch * t for t in range(1, T + 1)]
    assert [d["round"] for d in res.data] == [t for t in range(1, T + 1) for _ in range(batch)]
    assert len(res.loss_curve) == 2 * T
    # round 1 samples from pi^(1) = pi_base (LoRA B = 0): both estimators are exactly 0 there
    assert res.rounds[0]["kl_k1"] == 0.0 and res.rounds[0]["kl_k3"] == 0.0
    assert all(r["kl_k3"] >= 0 for r in res.rounds)
    assert all(math.isfinite(r["loss_after"]) for r in res.rounds)
    # y' comes from the base and r = log pi_base: re-score with a fresh copy of the base
    base = _policy(model_dir)
    pids = base.encode_prompts([d["prompt"] for d in res.data])
    r_yp = base.log_prob_ids(pids, [d["yp"] for d in res.data])
    r_y = base.log_prob_ids(pids, [d["y"] for d in res.data])
    np.testing.assert_allclose([d["r_yp"] for d in res.data], r_yp, rtol=0, atol=1e-4)
    np.testing.assert_allclose([d["r_y"] for d in res.data], r_y, rtol=0, atol=1e-4)
    first = [d for d in res.data if d["round"] == 1]
    assert all(d["logp_y"] == d["r_y"] for d in first)
    assert res.summary["num_queries"] == 2 * T * batch


# ------------------------------------------------------------------------------- CLI
def _cli(*argv) -> int:
    return top_cli.main(["lm", *map(str, argv)])


def test_cli_bon_then_sft_pipeline_and_resume(model_dir, tmp_path):
    bon, out = tmp_path / "bon", tmp_path / "sft"
    common = ["--model", model_dir, "--task", "arithmetic", "--n-prompts", 3, "--max-new-tokens", MAX_NEW,
              "--no-progress"]
    assert _cli("bon", *common, "--N", 3, "--out", bon, "--n-boot", 20, "--rewards", "loglik") == 0
    sft = ["sft", *common, "--N", 3, "--epochs", 2, "--lora-rank", 2, "--lr", 1e-2, "--eval-samples", 1,
           "--from-bon", bon, "--out", out]
    assert _cli(*sft) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("base_greedy_acc", "bon_acc", "tuned_sampled_acc", "bon_lift_abs", "tuned_lift_abs",
                "amortization_gap", "loglik_lift"):
        assert key in summary
    assert summary["reused_bon_prompts"] == 3
    for name in ("train_curve.png", "train_curve.pdf", "table1.png", "table1.pdf", "samples.csv",
                 "train_curve.csv", "eval.csv", "manifest.json", "adapter/adapter_config.json"):
        assert (out / name).is_file(), name
    # the draws are the bon run's own (no resampling): same tokens and scores per (prompt, index)
    bon_rows = {(r["example_id"], r["sample_index"]): r for r in map(json.loads, (bon / "samples.jsonl").open())}
    rows = [json.loads(line) for line in (out / "samples.jsonl").open()]
    assert len(rows) == 3
    for r in rows:
        for j in range(3):
            assert r["tokens"][j] == bon_rows[(r["example_id"], j)]["tokens"]
            assert r["log_prob"][j] == bon_rows[(r["example_id"], j)]["log_prob"]
    # the saved adapter reproduces the tuned model on a fresh base
    base = _policy(model_dir)
    loaded = peft.PeftModel.from_pretrained(base.model, str(out / "adapter")).eval()
    pids = base.encode_prompts([r["prompt"] for r in rows])
    picks = [r["tokens"][r["pick"]] for r in rows]
    batch = scoring.pack(pids, picks, pad_token_id=base.pad_token_id)
    with torch.no_grad():
        got = scoring.response_log_probs(loaded, batch)
        with loaded.disable_adapter():
            ref = scoring.response_log_probs(loaded, batch)
    assert float(-got.mean()) == pytest.approx(summary["train_loss_final"], rel=1e-4)
    assert float(-ref.mean()) == pytest.approx(summary["train_loss_initial"], rel=1e-4)
    # resume: the same command again reuses samples.jsonl (nothing appended), new session recorded
    assert _cli(*sft) == 0
    assert len((out / "samples.jsonl").read_text().splitlines()) == 3
    assert len(json.loads((out / "manifest.json").read_text())["sessions"]) == 2


def test_cli_rlhf_and_xpo_write_their_tables(model_dir, tmp_path):
    common = ["--model", model_dir, "--task", "arithmetic", "--n-prompts", 2, "--max-new-tokens", MAX_NEW,
              "--no-progress", "--lora-rank", 2, "--lr", 1e-2]
    assert _cli("rlhf", *common, "--beta", 0.5, "--epochs", 2, "--eval-samples", 1, "--out", tmp_path / "r") == 0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["n"] == 2 and s["num_queries"] == 4 and s["beta"] == 0.5
    assert len((tmp_path / "r" / "triples.jsonl").read_text().splitlines()) == 2
    assert (tmp_path / "r" / "train_curve.pdf").is_file() and (tmp_path / "r" / "adapter").is_dir()
    assert _cli("xpo", *common, "--T", 2, "--alpha", 0.2, "--steps-per-round", 1, "--out", tmp_path / "x") == 0
    rounds = (tmp_path / "x" / "rounds.csv").read_text().splitlines()
    assert len(rounds) == 3 and rounds[0].startswith("round,data_size")
    assert (tmp_path / "x" / "xpo_rounds.png").is_file() and (tmp_path / "x" / "adapter").is_dir()


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, match", [
    (lambda: sft.SFTConfig(N=2, lora_rank=0), "`lora_rank` must be an integer >= 1"),
    (lambda: rlhf.RLHFConfig(beta=1.0, lora_rank=0), "`lora_rank` must be an integer >= 1"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, lora_rank=0), "`lora_rank` must be an integer"),
    (lambda: sft.SFTConfig(N=0), "`N` must be an integer >= 1"),
    (lambda: rlhf.RLHFConfig(n=0, beta=1.0), "`n` must be an integer >= 1"),
    (lambda: rlhf.RLHFConfig(beta=0.0), "`beta` must be > 0"),
    (lambda: rlhf.RLHFConfig(beta=-1.0), "`beta` must be > 0"),
    (lambda: xpo.XPOConfig(T=1, beta=0.0, alpha=0.0), "`beta` must be > 0"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=-0.1), "`alpha` must be >= 0"),
    (lambda: xpo.XPOConfig(T=0, beta=1.0, alpha=0.0), "`T` must be an integer >= 1"),
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
    (lambda: rlhf.RLHFConfig(beta=1.0, epochs=0), "`epochs` must be an integer >= 1"),
    (lambda: rlhf.RLHFConfig(beta=1.0, lora_dropout=-0.5), "`lora_dropout` must be >= 0"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, batch=0), "`batch` must be an integer >= 1"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, steps_per_round=0), "`steps_per_round` must be an integer"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, chunk_size=0), "`chunk_size` must be an integer >= 1"),
    (lambda: xpo.XPOConfig(T=1, beta=1.0, alpha=0.0, lr=-1e-3), "`lr` must be > 0"),
])
def test_bad_config_raises_one_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: sft.SFTConfig(N=2.5), "`N` must be an integer"),
    (lambda: xpo.XPOConfig(T="3", beta=1.0, alpha=0.0), "`T` must be an integer"),
])
def test_non_integer_config_settings_are_type_errors(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_configs_are_frozen_keyword_only_and_normalised():
    c = rlhf.RLHFConfig(beta=1, n=np.int64(3))
    assert c.beta == 1.0 and isinstance(c.beta, float) and c.n == 3 and type(c.n) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.beta = 2.0
    with pytest.raises(TypeError):
        sft.SFTConfig(3)  # keyword-only


@pytest.mark.parametrize("call, match", [
    (lambda p: lora.add_lora(p.model, rank=0), "`rank` must be an integer >= 1"),
    (lambda p: sft.sft_sharpen(p, [], TASK, sft.SFTConfig(N=2)), "`examples` is empty"),
    (lambda p: sft.sft_sharpen(p, EXAMPLES, TASK, sft.SFTConfig(N=2), eval_examples=[]), "`eval_examples` is empty"),
    (lambda p: rlhf.rlhf_sharpen(p, [], rlhf.RLHFConfig(beta=1.0)), "`examples` is empty"),
    (lambda p: xpo.xpo(p, [], xpo.XPOConfig(T=1, beta=1.0, alpha=0.0)), "`examples` is empty"),
])
def test_bad_input_raises_one_clear_error(model_dir, call, match):
    policy = _policy(model_dir)
    with pytest.raises(ValueError, match=match):
        call(policy)
    assert not hasattr(policy.model, "peft_config")  # rejected before the model was touched


@pytest.mark.parametrize("call", [
    lambda p: sft.sft_sharpen(p, EXAMPLES, TASK, rlhf.RLHFConfig(beta=1.0)),
    lambda p: rlhf.rlhf_sharpen(p, EXAMPLES, {"beta": 1.0}),
    lambda p: xpo.xpo(p, EXAMPLES, sft.SFTConfig(N=2)),
])
def test_a_trainer_refuses_another_trainers_config(model_dir, call):
    policy = _policy(model_dir)
    with pytest.raises(TypeError, match="`config` must be an"):
        call(policy)
    assert not hasattr(policy.model, "peft_config")


@pytest.mark.parametrize("fn, kwargs, match", [
    (losses.eq8_loss, {"beta": 0.0}, "`beta` must be > 0"),
    (losses.xpo_loss, {"beta": 1.0, "alpha": -1.0}, "`alpha` must be >= 0"),
    (losses.xpo_loss, {"beta": -2.0, "alpha": 1.0}, "`beta` must be > 0"),
])
def test_bad_loss_arguments(fn, kwargs, match):
    x = [torch.zeros(2)] * 6
    with pytest.raises(ValueError, match=match):
        fn(*x, **kwargs)


@pytest.mark.parametrize("command, flags, match", [
    ("sft", ["--lora-rank", 0], "--lora-rank must be an integer >= 1"),
    ("sft", ["--N", 0], "--N must be an integer >= 1"),
    ("rlhf", ["--beta", 0], "--beta must be a finite number > 0"),
    ("xpo", ["--beta", -1], "--beta must be a finite number > 0"),
    ("xpo", ["--alpha", -0.5], "--alpha must be a finite number >= 0"),
    ("xpo", ["--T", 0], "--T must be an integer >= 1"),
])
def test_cli_bad_flags(model_dir, tmp_path, capsys, command, flags, match):
    rc = _cli(command, "--model", model_dir, "--task", "arithmetic", "--n-prompts", 2, "--out", tmp_path / "o", *flags)
    assert rc == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing written
