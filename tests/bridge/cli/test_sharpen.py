"""``sharpsim lm sft|rlhf|xpo`` end to end on a tiny random GPT-2 with LoRA (CPU): the BoN-then-SFT
pipeline and its resume, the saved adapter reloaded on a fresh base, the RLHF and XPO tables, and
bad flags.

Every run here is seeded and deterministic: no assertion is statistical (false-failure rate 0 on a
given platform). Expected values are recomputed in the test from the written tables, never read
from the code under test.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

from bridge._tiny_runs import MAX_NEW, fresh_policy  # noqa: E402
from sharpsim import cli as top_cli  # noqa: E402
from sharpsim.bridge import scoring  # noqa: E402


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
    base = fresh_policy(model_dir)
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
    # resume: the same command again reuses samples.jsonl (nothing appended), a second invocation recorded
    assert _cli(*sft) == 0
    assert len((out / "samples.jsonl").read_text().splitlines()) == 3
    assert len(json.loads((out / "manifest.json").read_text())["invocations"]) == 2


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
