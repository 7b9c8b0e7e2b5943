"""`sharpsim lm train-tiny`: the command trains, saves and reports held-out accuracy; bad arguments."""

from __future__ import annotations

import argparse
import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from sharpsim.bridge.cli import tiny as cli_tiny
from sharpsim.bridge.policy import LMPolicy

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def _cli_args(*argv):
    parser = argparse.ArgumentParser()
    cli_tiny.configure(parser, "train-tiny")
    return parser.parse_args(list(argv))


def test_cli_trains_saves_and_reports_held_out_accuracy(tmp_path, capsys):
    pytest.importorskip("sharpsim.bridge.tasks")
    out = tmp_path / "arith"
    args = _cli_args("--task", "arithmetic", "--out", str(out), "--steps", "20", "--examples", "40",
                     "--eval-examples", "6", "--batch-size", "8", "--no-progress", "--max-new-tokens", "8")
    assert cli_tiny.main(args) == 0
    manifest = json.loads((out / "train_manifest.json").read_text())
    assert manifest["task"]["name"] == "arithmetic" and manifest["n_pairs"] == 40
    ev = manifest["eval"]
    assert 1 <= ev["n"] <= 6 and 0.0 <= ev["greedy_accuracy"] <= 1.0 and ev["max_new_tokens"] == 8
    assert "greedy accuracy" in capsys.readouterr().out
    LMPolicy.from_pretrained(out, device="cpu")


@pytest.mark.parametrize(("argv", "match"), [
    (["--steps", "0"], "--steps must be >= 1"),
    (["--examples", "0"], "--examples must be >= 1"),
    (["--eval-examples", "-1"], "--eval-examples must be >= 0"),
])
def test_cli_bad_arguments(tmp_path, argv, match):
    args = _cli_args("--task", "arithmetic", "--out", str(tmp_path / "m"), *argv)
    with pytest.raises(ValueError, match=match):
        cli_tiny.main(args)


def test_cli_unknown_task_is_a_clear_error(tmp_path):
    pytest.importorskip("sharpsim.bridge.tasks")
    args = _cli_args("--task", "no-such-task", "--out", str(tmp_path / "m"))
    with pytest.raises(ValueError, match="unknown task"):
        cli_tiny.main(args)


def test_cli_trains_on_the_planted_tasks_noisy_labels(tmp_path, monkeypatch):
    """With ``--task planted:...`` the training responses are the labels drawn from the planted law
    (``training_response``), not the correct answers."""
    from sharpsim.bridge import tasks, tiny

    seen = {}

    def fake_train(pairs, out_dir, **kwargs):
        seen["pairs"] = list(pairs)
        return tiny.save_random_tiny(out_dir, seed=0)

    monkeypatch.setattr(tiny, "train_tiny", fake_train)
    spec = "planted:prompts=2,p_mode=0.4,margin=0.1,wrong=3"
    args = _cli_args("--task", spec, "--out", str(tmp_path / "m"), "--steps", "1", "--examples", "60",
                     "--no-progress")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "train_manifest.json").write_text(json.dumps(
        {"n_params": 0, "seconds": 0.0, "device": "cpu", "initial_loss": 0.0, "final_loss": 0.0}))
    assert cli_tiny.main(args) == 0
    task = tasks.from_spec(spec)
    exs = task.examples(60, seed=0)
    assert seen["pairs"] == [(e.prompt, task.training_response(e)) for e in exs]
    # 60 draws with P(correct) = 0.4: all correct has probability 0.4^60 < 1e-23
    assert any(r != e.answer for (_, r), e in zip(seen["pairs"], exs))
