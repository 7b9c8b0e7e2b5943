"""RunDir: manifest, resume, config mismatch, crash-safe appends; model_fingerprint."""

from __future__ import annotations

import csv
import json
import sys

import numpy as np
import pytest

from sharpsim.bridge.runs import RunDir, model_fingerprint


def _model_dir(tmp_path, weights=b"\x00\x01\x02"):
    d = tmp_path / "model"
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text('{"n_layer": 2}')
    (d / "model.safetensors").write_bytes(weights)
    (d / "tokenizer.json").write_text("{}")
    return d


def test_manifest_records_command_config_model_seeds_versions(tmp_path):
    model = _model_dir(tmp_path)
    run = RunDir(tmp_path / "run", command="bon", config={"N": 4, "seed": 3, "temperature": np.float64(1.0)},
                 model_path=model)
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["command"] == "bon"
    assert m["config"] == {"N": 4, "seed": 3, "temperature": 1.0}
    assert m["seeds"] == {"seed": 3}
    assert m["model_path"] == str(model.resolve())
    assert m["model_fingerprint"] == model_fingerprint(model) and len(m["model_fingerprint"]) == 64
    assert m["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert m["versions"]["numpy"] == np.__version__
    assert m["finished"] is False and not run.resumed
    run.finish({"accuracy": 0.5})
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["finished"] is True and m["seconds"] >= 0
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == {"accuracy": 0.5}


def test_resume_keeps_rows_and_done_ids(tmp_path):
    run = RunDir(tmp_path / "run", command="bon", config={"N": 4})
    run.append("greedy", [{"example_id": "a/0", "x": 1}, {"example_id": "a/1", "x": 2}])
    run.append("other", [{"id": 7}])
    again = RunDir(tmp_path / "run", command="bon", config={"N": 4})
    assert again.resumed
    assert again.done("greedy") == {"a/0", "a/1"}
    assert again.done("other") == {"7"}
    assert again.read("greedy") == [{"example_id": "a/0", "x": 1}, {"example_id": "a/1", "x": 2}]
    again.append("greedy", [{"example_id": "a/2", "x": 3}])
    assert [r["x"] for r in RunDir(tmp_path / "run", command="bon", config={"N": 4}).read("greedy")] == [1, 2, 3]
    assert len(json.loads((tmp_path / "run" / "manifest.json").read_text())["invocations"]) == 3


def test_config_mismatch_names_the_keys(tmp_path):
    RunDir(tmp_path / "run", command="bon", config={"N": 4, "seed": 0, "task": "arithmetic"})
    with pytest.raises(ValueError, match=r"config differs in N, seed") as err:
        RunDir(tmp_path / "run", command="bon", config={"N": 8, "seed": 1, "task": "arithmetic"})
    assert "task" not in str(err.value).split("(")[0]
    with pytest.raises(ValueError, match="extra"):
        RunDir(tmp_path / "run", command="bon", config={"N": 4, "seed": 0, "task": "arithmetic", "extra": 1})
    with pytest.raises(ValueError, match="holds a 'bon' run"):
        RunDir(tmp_path / "run", command="passk", config={"N": 4, "seed": 0, "task": "arithmetic"})


def test_changed_model_files_refuse_resume(tmp_path):
    model = _model_dir(tmp_path)
    RunDir(tmp_path / "run", command="bon", config={}, model_path=model)
    (model / "model.safetensors").write_bytes(b"\x09\x09")
    with pytest.raises(ValueError, match="model_fingerprint"):
        RunDir(tmp_path / "run", command="bon", config={}, model_path=model)


def test_overwrite_starts_afresh(tmp_path):
    run = RunDir(tmp_path / "run", command="bon", config={"N": 4})
    run.append("samples", [{"id": "x"}])
    fresh = RunDir(tmp_path / "run", command="bon", config={"N": 8}, overwrite=True)
    assert not fresh.resumed and fresh.done("samples") == set()


def test_refuses_foreign_folder_and_file(tmp_path):
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a sharpsim run directory"):
        RunDir(tmp_path / "foreign", command="bon", config={}, overwrite=True)
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"
    (tmp_path / "afile").write_text("")
    with pytest.raises(ValueError, match="is a file"):
        RunDir(tmp_path / "afile", command="bon", config={})


def test_killed_write_drops_partial_last_line_and_prompt_is_redone(tmp_path):
    """A crash mid-write leaves a last line without its newline: it is dropped (its prompt is not
    'done', so the command redoes it) and the next append starts on a clean line."""
    run = RunDir(tmp_path / "run", command="bon", config={})
    run.append("greedy", [{"example_id": "p0"}, {"example_id": "p1"}])
    path = tmp_path / "run" / "greedy.jsonl"
    full = path.read_bytes()
    path.write_bytes(full[:-5])  # cut inside the last row
    again = RunDir(tmp_path / "run", command="bon", config={})
    assert again.done("greedy") == {"p0"}
    assert "greedy" in again.partial_tables
    again.append("greedy", [{"example_id": "p1", "redo": True}])
    assert again.read("greedy") == [{"example_id": "p0"}, {"example_id": "p1", "redo": True}]
    assert path.read_bytes().count(b"\n") == 2
    # a complete JSON object missing only its newline is also a partial write
    path.write_bytes(path.read_bytes()[:-1])
    assert RunDir(tmp_path / "run", command="bon", config={}).done("greedy") == {"p0"}


def test_damaged_middle_line_is_an_error(tmp_path):
    run = RunDir(tmp_path / "run", command="bon", config={})
    (tmp_path / "run" / "t.jsonl").write_text('{"id": 1}\n{"id": \n{"id": 3}\n')
    with pytest.raises(ValueError, match="line 2"):
        run.read("t")


def test_write_csv_and_json(tmp_path):
    run = RunDir(tmp_path / "run", command="bon", config={})
    run.write_csv("table", [{"a": 1, "b": 2.5}, {"a": 2, "c": None}])
    with open(tmp_path / "run" / "table.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [{"a": "1", "b": "2.5", "c": ""}, {"a": "2", "b": "", "c": ""}]
    run.write_json("x", {"v": float("nan"), "w": np.int64(3)})
    assert json.loads((tmp_path / "run" / "x.json").read_text()) == {"v": None, "w": 3}
    with pytest.raises(ValueError, match="name must be a plain file name"):
        run.write_json("../escape", {})
    with pytest.raises(ValueError, match="table must be a plain file name"):
        run.append("a/b", [{}])
    with pytest.raises(ValueError, match=r"rows\[0\] must be a dict"):
        run.append("t", [1])


def test_model_fingerprint_depends_on_bytes_not_location(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    a, b = _model_dir(tmp_path / "1"), _model_dir(tmp_path / "2")
    assert model_fingerprint(a) == model_fingerprint(b)
    (b / "model.safetensors").write_bytes(b"\x00\x01\x03")
    assert model_fingerprint(a) != model_fingerprint(b)
    (a / "training_log.csv").write_text("not part of the model")
    assert model_fingerprint(a) == model_fingerprint(_model_dir(tmp_path / "1"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model_fingerprint(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no config, weight or tokenizer file"):
        model_fingerprint(tmp_path / "empty")


def test_open_read_only_view(tmp_path):
    run = RunDir(tmp_path / "run", command="bon", config={"N": 4})
    run.append("prompts", [{"example_id": "a"}])
    manifest = (tmp_path / "run" / "manifest.json").read_bytes()
    view = RunDir.open(tmp_path / "run")
    assert view.command == "bon" and view.config == {"N": 4}
    assert view.done("prompts") == {"a"} and view.read("prompts") == [{"example_id": "a"}]
    for call in (lambda: view.append("prompts", [{"example_id": "b"}]), lambda: view.write_json("x", {}),
                 lambda: view.write_csv("x", []), lambda: view.finish({})):
        with pytest.raises(ValueError, match="opened read-only"):
            call()
    assert (tmp_path / "run" / "manifest.json").read_bytes() == manifest
    assert run.done("prompts") == {"a"}
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        RunDir.open(tmp_path / "elsewhere")
