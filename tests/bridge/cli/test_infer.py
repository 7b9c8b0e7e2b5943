"""``sharpsim lm bon|passk`` end to end on a tiny random GPT-2: outputs, numbers recomputed from the
per-sample tables, resume without resampling (also after a killed write), and bad input."""

from __future__ import annotations

import csv
import json
import random
import shutil

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from sharpsim.bridge import cli as lm_cli
from sharpsim.bridge import tasks
from sharpsim.bridge.policy import LMPolicy
from sharpsim.cli import _parser

N_PROMPTS, N = 3, 4


class FirstChar(tasks.Task):
    """A task a random character-level model solves about half the time: the answer is the
    response's first character, correct when its code is even; so correctness varies across draws."""

    name = "test_first_char"

    def _example(self, rng: random.Random, seed: int, index: int) -> tasks.Example:
        return tasks.Example(id=f"{self.name}/seed{seed}/{index}", prompt=f"q{rng.randint(0, 99)}=", answer="a")

    def solution(self, example):
        return "a"

    def extract(self, response):
        return response[0] if response else None

    def is_correct(self, example, response):
        got = self.extract(response)
        return got is not None and ord(got) % 2 == 0


@pytest.fixture(scope="module", autouse=True)
def _first_char_task():
    """Register the test task for this module only (the registry is restored afterwards)."""
    saved = dict(tasks.registry._REGISTRY)
    tasks.register(FirstChar.name, FirstChar)
    yield
    tasks.registry._REGISTRY.clear()
    tasks.registry._REGISTRY.update(saved)


def _args(command, model, out, *extra):
    argv = ["lm", command, "--model", str(model), "--task", FirstChar.name, "--n-prompts", str(N_PROMPTS),
            "--N", str(N), "--out", str(out), "--max-new-tokens", "6", "--no-progress", "--n-boot", "50",
            "--chunk-prompts", "1", *extra]
    return _parser().parse_args(argv)


def _run(command, model, out, *extra):
    return lm_cli.main(_args(command, model, out, *extra))


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _csv(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def count_sampling(monkeypatch):
    """Counts the prompts passed to LMPolicy.sample."""
    seen: list = []
    original = LMPolicy.sample

    def counting(self, prompts, **kw):
        seen.extend(kw.get("prompt_ids") or range(len(prompts)))
        return original(self, prompts, **kw)

    monkeypatch.setattr(LMPolicy, "sample", counting)
    return seen


@pytest.fixture(scope="module")
def bon_run(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bon") / "run"
    assert _run("bon", model_dir, out) == 0
    return out


def test_bon_writes_all_outputs(bon_run):
    summary = json.loads((bon_run / "summary.json").read_text())
    for name in summary["files"]:
        assert (bon_run / name).stat().st_size > 0, name
    for stem in ("lift_vs_n", "pick_loglik_vs_n", "loglik_hist", "passk"):
        assert (bon_run / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (bon_run / f"{stem}.pdf").read_bytes()[:4] == b"%PDF"
    manifest = json.loads((bon_run / "manifest.json").read_text())
    assert manifest["finished"] and len(manifest["model_fingerprint"]) == 64
    assert manifest["config"]["N"] == N and manifest["seeds"]["seed"] == 0
    samples = _jsonl(bon_run / "samples.jsonl")
    assert len(samples) == N_PROMPTS * N
    for key in ("example_id", "prompt_index", "sample_index", "tokens", "text", "log_prob", "length", "hit_eos",
                "answer", "correct"):
        assert all(key in r for r in samples), key
    assert all(r["length"] == len(r["tokens"]) for r in samples)
    assert len(_jsonl(bon_run / "greedy.jsonl")) == N_PROMPTS
    lift = _csv(bon_run / "lift_vs_n.csv")
    assert sorted({(r["reward"], int(r["N"])) for r in lift}) == sorted(
        (rw, n) for rw in ("loglik", "norm_loglik", "majority") for n in (1, 2, 4))


def test_bon_numbers_recomputed_from_the_tables(bon_run):
    samples = _jsonl(bon_run / "samples.jsonl")
    greedy = {r["example_id"]: r for r in _jsonl(bon_run / "greedy.jsonl")}
    by_prompt: dict = {}
    for r in samples:
        by_prompt.setdefault(r["example_id"], []).append(r)
    summary = json.loads((bon_run / "summary.json").read_text())
    assert 0 < summary["sample_accuracy"] < 1  # the fixture's draws are mixed, so the checks below bite
    greedy_acc = sum(g["correct"] for g in greedy.values()) / N_PROMPTS
    assert summary["greedy_accuracy"] == pytest.approx(greedy_acc)
    # BoN under loglik: the most likely draw (first index among equals)
    best = {ex: max(rows, key=lambda r: (r["log_prob"], -r["sample_index"])) for ex, rows in by_prompt.items()}
    bon_acc = sum(b["correct"] for b in best.values()) / N_PROMPTS
    assert summary["bon"]["loglik"]["bon_accuracy"] == pytest.approx(bon_acc)
    assert summary["bon"]["loglik"]["lift_abs"] == pytest.approx(bon_acc - greedy_acc)
    if greedy_acc > 0:
        assert summary["bon"]["loglik"]["lift_pct"] == pytest.approx(100 * (bon_acc - greedy_acc) / greedy_acc)
    picks = [r for r in _csv(bon_run / "bon_picks.csv") if r["reward"] == "loglik"]
    assert {r["example_id"]: int(r["sample_index"]) for r in picks} == {
        ex: b["sample_index"] for ex, b in best.items()}
    # the other rewards, recomputed by hand with the documented tie rule (log-likelihood, then index)
    hand = {
        "norm_loglik": lambda rows, r: r["log_prob"] / r["length"],
        "majority": lambda rows, r: 0 if r["answer"] is None else sum(o["answer"] == r["answer"] for o in rows),
    }
    for reward, score in hand.items():
        chosen = {ex: max(rows, key=lambda r, rows=rows: (score(rows, r), r["log_prob"], -r["sample_index"]))
                  for ex, rows in by_prompt.items()}
        got = {r["example_id"]: int(r["sample_index"]) for r in _csv(bon_run / "bon_picks.csv")
               if r["reward"] == reward}
        assert got == {ex: c["sample_index"] for ex, c in chosen.items()}, reward
        assert summary["bon"][reward]["bon_accuracy"] == pytest.approx(
            sum(c["correct"] for c in chosen.values()) / N_PROMPTS)
    # pass@N: any correct draw; N=1 BoN accuracy: the mean correctness of single draws
    assert summary["pass_at_k"][str(N)] == pytest.approx(
        sum(any(r["correct"] for r in rows) for rows in by_prompt.values()) / N_PROMPTS)
    one = {r["reward"]: float(r["bon_accuracy"]) for r in _csv(bon_run / "lift_vs_n.csv") if r["N"] == "1"}
    mean_draw = sum(r["correct"] for r in samples) / len(samples)
    assert one == pytest.approx({"loglik": mean_draw, "norm_loglik": mean_draw, "majority": mean_draw})
    hist = _csv(bon_run / "loglik_hist.csv")
    assert sum(int(h["count_correct"]) + int(h["count_incorrect"]) for h in hist) == len(samples)


def test_second_run_resumes_without_resampling(bon_run, model_dir, count_sampling):
    before = (bon_run / "samples.jsonl").read_bytes()
    summary_before = json.loads((bon_run / "summary.json").read_text())
    assert _run("bon", model_dir, bon_run) == 0
    assert count_sampling == []
    assert (bon_run / "samples.jsonl").read_bytes() == before
    summary = json.loads((bon_run / "summary.json").read_text())
    assert summary["prompts_resumed"] == N_PROMPTS and summary["bon"] == summary_before["bon"]


def test_killed_write_redoes_only_that_prompt_with_the_same_draws(bon_run, model_dir, tmp_path, count_sampling):
    out = tmp_path / "run"
    shutil.copytree(bon_run, out)
    first = _jsonl(out / "samples.jsonl")
    markers = out / "prompts.jsonl"
    markers.write_bytes(markers.read_bytes()[:-7])  # a crash in the middle of the last prompt's marker
    assert _run("bon", model_dir, out) == 0
    assert count_sampling == [N_PROMPTS - 1]  # only the last prompt is sampled again
    again = _jsonl(out / "samples.jsonl")
    assert len(again) == len(first) + N
    # per-prompt seeding: the redone prompt's draws equal the first ones
    assert again[-N:] == first[-N:]
    assert len(_jsonl(markers)) == N_PROMPTS


def test_passk_end_to_end(model_dir, tmp_path):
    out = tmp_path / "pk"
    assert _run("passk", model_dir, out, "--k", "1,3") == 0
    rows = _csv(out / "passk.csv")
    assert [int(r["k"]) for r in rows] == [1, 3]
    samples = _jsonl(out / "samples.jsonl")
    assert not (out / "greedy.jsonl").exists()
    by_prompt: dict = {}
    for r in samples:
        by_prompt.setdefault(r["example_id"], []).append(r["correct"])
    # pass@1 = mean over prompts of c/n (hand form of the estimator at k = 1)
    assert float(rows[0]["pass_at_k"]) == pytest.approx(sum(sum(v) / N for v in by_prompt.values()) / N_PROMPTS)
    for r in rows:
        assert float(r["pass_at_k_low"]) <= float(r["pass_at_k"]) <= float(r["pass_at_k_high"])
    for stem in ("passk", "loglik_hist"):
        assert (out / f"{stem}.png").stat().st_size > 0 and (out / f"{stem}.pdf").stat().st_size > 0
    assert json.loads((out / "manifest.json").read_text())["command"] == "passk"


@pytest.mark.parametrize(
    ("extra", "error", "match"),
    [
        (("--N", "0"), ValueError, "--N must be >= 1, got 0"),
        (("--max-new-tokens", "0"), ValueError, "--max-new-tokens must be >= 1, got 0"),
        (("--n-prompts", "0"), ValueError, "--n-prompts must be >= 1"),
        (("--task", "nope"), ValueError, "--task 'nope': unknown task 'nope'"),
        (("--rewards", "loglik,nope"), ValueError, "--rewards: unknown reward 'nope'"),
        (("--rewards", ","), ValueError, "--rewards must name at least one"),
        (("--task-option", "steps"), ValueError, "--task-option must be KEY=VALUE, got 'steps'"),
        (("--task-option", "=3"), ValueError, "--task-option must be KEY=VALUE"),
        (("--task-option", "a=1", "--task-option", "a=2"), ValueError, "given twice"),
        (("--task-option", "steps=3"), ValueError, "has no option 'steps'"),
        (("--temperature", "0"), ValueError, "--temperature must be a finite number > 0"),
        (("--top-p", "0"), ValueError, r"--top-p must be in \(0, 1\]"),
        (("--confidence", "1"), ValueError, r"--confidence must be in \(0, 1\)"),
        (("--n-subsets", "0"), ValueError, "--n-subsets must be >= 1"),
        (("--model", "/nonexistent/model"), FileNotFoundError, "--model '/nonexistent/model' does not exist"),
    ],
)
def test_bad_input(model_dir, tmp_path, extra, error, match):
    with pytest.raises(error, match=match):
        _run("bon", model_dir, tmp_path / "run", *extra)
    assert not (tmp_path / "run").exists()  # nothing written before the arguments are checked


def test_passk_bad_k(model_dir, tmp_path):
    with pytest.raises(ValueError, match=r"--k values must be in 1\.\.N=4"):
        _run("passk", model_dir, tmp_path / "run", "--k", "1,5")
    with pytest.raises(ValueError, match="--k must be comma-separated integers"):
        _run("passk", model_dir, tmp_path / "run", "--k", "1,x")


def test_resume_with_other_settings_names_them(bon_run, model_dir):
    with pytest.raises(ValueError, match=r"config differs in max_new_tokens, seed"):
        _run("bon", model_dir, bon_run, "--seed", "1", "--max-new-tokens", "5")


@pytest.fixture(scope="module")
def adapter_dir(model_dir, tmp_path_factory):
    """A LoRA adapter on the tiny model with random (seeded) non-zero B, saved as ``sharpsim lm sft`` does."""
    import torch

    from sharpsim.bridge import lora

    base = LMPolicy.from_pretrained(model_dir, device="cpu")
    peft_model = lora.add_lora(base.model, rank=4)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.copy_(0.5 * torch.randn(param.shape, generator=gen))
    out = tmp_path_factory.mktemp("adapter") / "adapter"
    peft_model.save_pretrained(str(out))
    return out


def test_passk_with_adapter_samples_the_tuned_model(model_dir, adapter_dir, tmp_path):
    from sharpsim.bridge.cli.infer import load_policy

    out = tmp_path / "pk"
    assert _run("passk", model_dir, out, "--k", "1,2", "--adapter", str(adapter_dir)) == 0
    samples = _jsonl(out / "samples.jsonl")
    assert len(samples) == N_PROMPTS * N
    tuned = load_policy(model_dir, adapter=adapter_dir, device="cpu")
    assert hasattr(tuned.model, "peft_config")  # so vLLM is never used for it
    base = LMPolicy.from_pretrained(model_dir, device="cpu")
    prompts = {r["example_id"]: r["prompt"] for r in _jsonl(out / "prompts.jsonl")}
    p_ids = [tuned.encode_prompts([prompts[r["example_id"]]])[0] for r in samples]
    r_ids = [r["tokens"] for r in samples]
    stored = [r["log_prob"] for r in samples]
    # the recorded scores are the tuned model's (adapter on), not the base's
    assert tuned.log_prob_ids(p_ids, r_ids) == pytest.approx(stored, rel=1e-5, abs=1e-5)
    assert max(abs(a - b) for a, b in zip(base.log_prob_ids(p_ids, r_ids), stored)) > 1e-2
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["adapter"] == str(adapter_dir.resolve()) and len(config["adapter_fingerprint"]) == 64
    assert json.loads((out / "summary.json").read_text())["adapter"] == str(adapter_dir)
    # the run is the adapter's: resuming it without the adapter is refused
    with pytest.raises(ValueError, match="config differs in adapter"):
        _run("passk", model_dir, out, "--k", "1,2")


def test_adapter_bad_input(model_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="--adapter '/nonexistent/adapter' does not exist"):
        _run("passk", model_dir, tmp_path / "run", "--adapter", "/nonexistent/adapter")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"is not a peft adapter folder: it has no adapter_config\.json"):
        _run("passk", model_dir, tmp_path / "run", "--adapter", str(tmp_path / "empty"))
    assert not (tmp_path / "run").exists()
