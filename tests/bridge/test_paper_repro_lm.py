"""``paper_repro/lm/run.py`` and ``report.py`` end to end on a micro setting (one task, one tiny model
trained for a few steps, N = 4, 4 prompts): every output exists, the Fig 1 heatmap cells equal the
runs' ``summary.json`` numbers and an independent recomputation from the per-sample tables, the
Table 1 row equals the SFT summary, a second run skips every finished step, and bad input is
refused with one clear error per row."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import random
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from sharpsim.bridge import tasks

REPRO = Path(__file__).resolve().parents[2] / "paper_repro" / "lm"
TASK = "test_repro_even"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"paper_repro_lm_{name}", REPRO / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_mod = _load("run")
report_mod = _load("report")


class EvenFirst(tasks.Task):
    """Correct when the response's first character has an even code. A model trained for a few
    steps answers with varied first characters, so correctness varies across draws and prompts
    (the test checks this, so that the comparisons below are not all 0 = 0)."""

    name = TASK

    def __init__(self, top: int = 999) -> None:
        super().__init__()
        if not isinstance(top, int) or top < 1:
            raise ValueError(f"{TASK}: top must be an integer >= 1, got {top!r}")
        self.top = top
        self.options = {"top": top}

    def _example(self, rng: random.Random, seed: int, index: int) -> tasks.Example:
        return tasks.Example(id=f"{self.name}/seed{seed}/{index}", prompt=f"q{rng.randint(0, self.top)}=", answer="b")

    def solution(self, example):
        return "b"

    def extract(self, response):
        return response[0] if response else None

    def is_correct(self, example, response):
        got = self.extract(response)
        return got is not None and ord(got) % 2 == 0


@pytest.fixture(scope="module", autouse=True)
def _task():
    """Register the test task for this module only (the registry is restored afterwards)."""
    saved = dict(tasks.registry._REGISTRY)
    tasks.register(TASK, EvenFirst)
    yield
    tasks.registry._REGISTRY.clear()
    tasks.registry._REGISTRY.update(saved)


def _micro(out, *extra) -> list[str]:
    return ["--out", str(out), "--tasks", TASK, "--sizes", "tiny", "--train-steps", "3", "--examples", "50",
            "--eval-examples", "0", "--N", "4", "--n-prompts", "4", "--passk-n", "4", "--sft-epochs", "1",
            "--eval-samples", "2", "--n-boot", "50", "--max-new-tokens", "6", "--no-progress", *extra]


@pytest.fixture(scope="module")
def micro_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("repro") / "runs"
    assert run_mod.main(_micro(out)) == 0
    result = report_mod.report(out)
    return out, result


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _close(a, b, tol=1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)


def test_outputs_exist(micro_run):
    out, result = micro_run
    cell = out / TASK / "tiny"
    for f in ("model/model.safetensors", "model/train_manifest.json", "bon/summary.json", "bon/lift_vs_n.csv",
              "passk/summary.json", "sft/summary.json"):
        assert (cell / f).is_file(), f
    for f in ("fig1_heatmap.png", "fig1_heatmap.pdf", "fig1_heatmap.csv", "fig3_lift_vs_n.png",
              "fig3_lift_vs_n.pdf", "fig3_lift_vs_n.csv", "table1.csv", "table1.md", "results.md",
              "run_config.json", "steps.json"):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    assert {"fig1_heatmap.png", "fig3_lift_vs_n.pdf", "table1.csv", "results.md"} <= {p.name for p in result["files"]}
    steps = json.loads((out / "steps.json").read_text())
    assert sorted(steps) == sorted(f"{TASK}/tiny/{s}" for s in ("train", "bon", "passk", "sft"))
    assert all(v["seconds"] > 0 for v in steps.values())
    config = json.loads((out / "run_config.json").read_text())
    assert config["environment"]["device"] == "cpu"
    assert config["tasks"][TASK]["max_new_tokens"] == 6
    md = (out / "results.md").read_text()
    assert "torch" in md and "Wall time per step" in md and f"{TASK}/tiny/sft" in md


def test_heatmap_cells_equal_summaries_and_recomputation(micro_run):
    out, _ = micro_run
    bon_dir = out / TASK / "tiny" / "bon"
    summary = json.loads((bon_dir / "summary.json").read_text())
    cells = _read_csv(out / "fig1_heatmap.csv")
    assert len(cells) == 1
    cell = cells[0]
    assert (cell["task"], cell["model"], cell["reward"], int(cell["N"])) == (TASK, "tiny", "loglik", 4)
    assert _close(float(cell["greedy_accuracy"]), summary["greedy_accuracy"])
    assert _close(float(cell["bon_accuracy"]), summary["bon"]["loglik"]["bon_accuracy"])
    assert _close(float(cell["lift_abs"]), summary["bon"]["loglik"]["lift_abs"])
    pct = None if cell["lift_pct"] == "" else float(cell["lift_pct"])
    assert _close(pct, summary["bon"]["loglik"]["lift_pct"])

    # independent recomputation from the per-sample tables: greedy accuracy, and BoN by the
    # argmax of log π over each prompt's 4 draws (first among ties)
    samples = _read_jsonl(bon_dir / "samples.jsonl")
    greedy = _read_jsonl(bon_dir / "greedy.jsonl")
    assert 0 < sum(r["correct"] for r in samples) < len(samples)  # mixed, so the checks bite
    greedy_acc = sum(r["correct"] for r in greedy) / len(greedy)
    by_prompt: dict = {}
    for r in samples:
        by_prompt.setdefault(r["example_id"], []).append(r)
    assert len(by_prompt) == 4 and all(len(v) == 4 for v in by_prompt.values())
    picks = []
    for rows in by_prompt.values():
        rows = sorted(rows, key=lambda r: r["sample_index"])
        best = max(range(len(rows)), key=lambda j: (rows[j]["log_prob"], -j))
        picks.append(rows[best]["correct"])
    bon_acc = sum(picks) / len(picks)
    assert _close(float(cell["greedy_accuracy"]), greedy_acc)
    assert _close(float(cell["bon_accuracy"]), bon_acc)
    assert _close(float(cell["lift_abs"]), bon_acc - greedy_acc)
    assert _close(pct, None if greedy_acc == 0 else 100 * (bon_acc - greedy_acc) / greedy_acc, tol=1e-6)


def test_lift_vs_n_and_table1_match_runs(micro_run):
    out, _ = micro_run
    cell = out / TASK / "tiny"
    mine = [r for r in _read_csv(cell / "bon" / "lift_vs_n.csv") if r["reward"] == "loglik"]
    fig3 = _read_csv(out / "fig3_lift_vs_n.csv")
    assert [int(r["N"]) for r in fig3] == [int(r["N"]) for r in mine] == [1, 2, 4]
    for a, b in zip(fig3, mine):
        assert _close(float(a["lift_abs"]), float(b["lift_abs"]))
    sft = json.loads((cell / "sft" / "summary.json").read_text())
    bon = json.loads((cell / "bon" / "summary.json").read_text())
    rows = _read_csv(out / "table1.csv")
    assert len(rows) == 1
    row = rows[0]
    for key in ("base_greedy_acc", "bon_acc", "tuned_sampled_acc", "amortization_gap", "loglik_lift", "kl_k3"):
        assert _close(float(row[key]), sft[key]), key
    # the sft step reused the bon draws (--from-bon): same greedy and BoN accuracy as the bon run
    assert sft["reused_bon_prompts"] == 4
    assert _close(sft["bon_acc"], bon["bon"]["loglik"]["bon_accuracy"])
    assert _close(sft["base_greedy_acc"], bon["greedy_accuracy"])
    assert _close(float(row["amortization_gap"]), sft["bon_acc"] - sft["tuned_sampled_acc"])
    passk = json.loads((cell / "passk" / "summary.json").read_text())
    assert _close(float(row["pass_at_passk_k"]), passk["pass_at_k"]["4"]["pass_at_k"])


def test_second_run_skips_finished_steps(micro_run, capsys):
    out, _ = micro_run
    samples = out / TASK / "tiny" / "bon" / "samples.jsonl"
    before = (samples.read_bytes(), (out / "steps.json").read_text())
    capsys.readouterr()
    assert run_mod.main(_micro(out)) == 0
    printed = capsys.readouterr().out
    assert printed.count("skipped") == 4
    assert (samples.read_bytes(), (out / "steps.json").read_text()) == before


def test_retraining_with_other_settings_is_refused(micro_run):
    out, _ = micro_run
    argv = _micro(out)
    argv[argv.index("--train-steps") + 1] = "4"
    with pytest.raises(ValueError, match="trained with other settings"):
        run_mod.main(argv)


def test_local_checkpoint_without_training(tmp_path):
    """``--sizes none --models DIR``: no training; the checkpoint's folder name labels its row."""
    from sharpsim.bridge.tiny import save_random_tiny

    ckpt = save_random_tiny(tmp_path / "my-ckpt", seed=1)
    out = tmp_path / "runs"
    argv = _micro(out, "--models", str(ckpt), "--steps", "bon", "--task-option", f"{TASK}:top=50")
    argv[argv.index("--sizes") + 1] = "none"
    assert run_mod.main(argv) == 0
    manifest = json.loads((out / TASK / "my-ckpt" / "bon" / "manifest.json").read_text())
    assert manifest["config"]["task_option"] == {"top": 50}  # the option reached the bon run
    prompts = [json.loads(line)["prompt"] for line in (out / TASK / "my-ckpt" / "bon" / "prompts.jsonl").open()]
    assert all(int(p[1:-1]) <= 50 for p in prompts)
    assert sorted(json.loads((out / "steps.json").read_text())) == [f"{TASK}/my-ckpt/bon"]
    assert not (out / TASK / "my-ckpt" / "model").exists()
    summary = json.loads((out / TASK / "my-ckpt" / "bon" / "summary.json").read_text())
    assert summary["model"] == str(ckpt.resolve())
    rows = report_mod.report(out)["heatmap"]
    assert [(r["model"], r["bon_accuracy"]) for r in rows] == [("my-ckpt", summary["bon"]["loglik"]["bon_accuracy"])]


@pytest.mark.parametrize("extra, exc, match", [
    (["--N", "0"], ValueError, "--N must be an integer >= 1"),
    (["--n-prompts", "0"], ValueError, "--n-prompts must be an integer >= 1"),
    (["--passk-n", "0"], ValueError, "--passk-n must be"),
    (["--train-steps", "0"], ValueError, "--train-steps must be"),
    (["--sft-epochs", "0"], ValueError, "--sft-epochs must be"),
    (["--lora-rank", "0"], ValueError, "--lora-rank must be"),
    (["--max-new-tokens", "0"], ValueError, "--max-new-tokens must be"),
    (["--threads", "0"], ValueError, "--threads must be"),
    (["--tasks", "nosuch"], ValueError, "--tasks: unknown task 'nosuch'"),
    (["--tasks", "arithmetic,arithmetic"], ValueError, "--tasks repeats"),
    (["--sizes", "huge"], ValueError, "--sizes: unknown size 'huge'"),
    (["--steps", "bon,fly"], ValueError, "--steps: unknown step 'fly'"),
    (["--sizes", "none"], ValueError, "nothing to run"),
    (["--models", "/no/such/checkpoint"], FileNotFoundError, "--models '/no/such/checkpoint'"),
    (["--task-option", "hops=3"], ValueError, "--task-option must be TASK:KEY=VALUE"),
    (["--task-option", "game24:steps=3"], ValueError, "task 'game24' is not in --tasks"),
    (["--task-option", "arithmetic:colour=red"], ValueError, "--task-option for 'arithmetic'"),
    (["--task-option", "arithmetic:steps=3", "--task-option", "arithmetic:steps=4"], ValueError, "given twice"),
])
def test_bad_input(tmp_path, extra, exc, match):
    argv = ["--out", str(tmp_path / "x"), "--quick", *extra]
    with pytest.raises(exc, match=match):
        run_mod.parse_args(argv)
    assert not (tmp_path / "x").exists()  # nothing written before the arguments are checked


def test_report_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        report_mod.report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no finished run"):
        report_mod.report(tmp_path / "empty")
