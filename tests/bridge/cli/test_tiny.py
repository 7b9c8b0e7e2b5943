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
