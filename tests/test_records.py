"""sharpsim.records: JSON conversion, config digests, atomic files, append-only JSONL and CSV, resumable cells."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sharpsim import records


# ------------------------------------------------------------------------------ JSON values
def test_jsonable_converts_numpy_paths_sets_dataclasses_and_non_finite_floats():
    @dataclasses.dataclass
    class Cfg:
        a: int
        b: tuple

    obj = {"x": np.float64(0.5), "y": np.arange(3), "z": {2, 1}, "p": Path("/tmp/a"), "nan": math.nan,
           "inf": np.float32("inf"), 3: (1, None, True), "cfg": Cfg(1, (2, 3)), "other": object}
    out = records.jsonable(obj)
    assert out["x"] == 0.5 and type(out["x"]) is float
    assert out["y"] == [0, 1, 2] and out["z"] == [1, 2] and out["p"] == "/tmp/a"
    assert out["nan"] is None and out["inf"] is None
    assert out["3"] == [1, None, True]
    assert out["cfg"] == {"a": 1, "b": [2, 3]}
    assert out["other"] == str(object)
    json.dumps(out)  # plain JSON


def test_plain_keeps_leaves_and_config_hash_is_stable_and_sensitive():
    @dataclasses.dataclass(frozen=True)
    class Cfg:
        n: int = 3
        betas: tuple = (0.5, 2.0)

    assert records.plain(Cfg()) == {"n": 3, "betas": [0.5, 2.0]}
    assert math.isnan(records.plain({"x": math.nan})["x"])  # nothing lost
    h = records.config_hash(Cfg())
    assert h == records.config_hash({"betas": [0.5, 2.0], "n": 3}) and len(h) == 12
    assert int(h, 16) >= 0
    assert h != records.config_hash(Cfg(n=4))
    with pytest.raises(TypeError):
        records.config_hash({"s": {1, 2}})


# ------------------------------------------------------------------------------ atomic files
def test_write_json_is_atomic_indented_and_read_json_defaults(tmp_path):
    path = records.write_json(tmp_path / "a.json", {"v": np.int64(2), "bad": math.inf})
    assert path.read_text() == json.dumps({"v": 2, "bad": None}, indent=2) + "\n"
    assert records.read_json(path) == {"v": 2, "bad": None}
    assert records.read_json(tmp_path / "missing.json") is None
    assert records.read_json(tmp_path / "missing.json", default={}) == {}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary file left behind


def test_atomic_write_leaves_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    records.atomic_write_text(path, "old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(records.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        records.atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_versions_reads_metadata_without_importing(monkeypatch):
    v = records.versions(["numpy", "surely-not-a-package-xyz"], with_platform=True)
    assert list(v) == ["python", "platform", "numpy", "surely-not-a-package-xyz"]
    assert v["python"] == ".".join(map(str, sys.version_info[:3]))
    assert v["numpy"] == np.__version__ and v["surely-not-a-package-xyz"] is None
    assert "platform" not in records.versions([])


def test_utc_now_format():
    assert records.utc_now(0) == "1970-01-01T00:00:00Z"


def test_module_imports_neither_torch_nor_numpy_itself():
    code = ("import sys, types, importlib.util;"
            f"spec = importlib.util.spec_from_file_location('r', {records.__file__!r});"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
            "print(sorted(x for x in ('torch', 'jax', 'numpy') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ JSON lines
def test_jsonl_append_read_and_partial_last_line(tmp_path):
    path = tmp_path / "t.jsonl"
    assert records.read_jsonl(path) == ([], False)
    assert records.append_jsonl(path, []) is False and not path.exists()
    records.append_jsonl(path, [{"id": 1, "x": np.float64(0.5)}, {"id": 2}])
    assert path.read_text() == '{"id":1,"x":0.5}\n{"id":2}\n'
    with path.open("a") as fh:
        fh.write('{"id": 3, "x"')  # a killed write
    rows, partial = records.read_jsonl(path)
    assert [r["id"] for r in rows] == [1, 2] and partial
    assert records.append_jsonl(path, [{"id": 4}]) is True  # the partial line is cut off first
    rows, partial = records.read_jsonl(path)
    assert [r["id"] for r in rows] == [1, 2, 4] and not partial


def test_jsonl_damaged_middle_line_and_bad_rows_raise(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        records.read_jsonl(path)
    path.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(ValueError, match="line 2 is not a JSON object"):
        records.read_jsonl(path)
    with pytest.raises(ValueError, match=r"rows\[1\] must be a dict"):
        records.append_jsonl(tmp_path / "u.jsonl", [{"a": 1}, [1]])
    assert not (tmp_path / "u.jsonl").exists()


# ------------------------------------------------------------------------------ CSV
def test_write_csv_union_of_columns_json_cells_and_empty_none(tmp_path):
    path = records.write_csv(tmp_path / "s.csv", [{"a": 1, "b": [1, 2]}, {"a": None, "c": {"k": 1}}])
    assert path.read_text() == 'a,b,c\n1,"[1, 2]",\n,,"{""k"": 1}"\n'


def test_csv_table_appends_never_overwrites_and_parses(tmp_path):
    table = records.CsvTable(tmp_path / "sub" / "r.csv")
    assert table.header() is None and table.rows() == []
    table.append([{"k": "a", "v": 0.1, "ok": True}, {"k": "b", "v": None, "ok": False}])
    table.append([{"k": "c", "v": 3, "ok": True}])
    assert table.header() == ["k", "v", "ok"]
    assert table.rows() == [{"k": "a", "v": "0.1", "ok": "True"}, {"k": "b", "v": "", "ok": "False"},
                            {"k": "c", "v": "3", "ok": "True"}]
    assert table.rows(parse=True)[0] == {"k": "a", "v": 0.1, "ok": True}
    assert table.keys(["k"]) == {("a",), ("b",), ("c",)}
    assert table.keys(["k"], where={"ok": True}, parse=True) == {("a",), ("c",)}
    before = table.path.read_bytes()
    with pytest.raises(ValueError, match=r"holds results with columns .* pass another output directory"):
        table.append([{"k": "d", "other": 1}])
    with pytest.raises(ValueError, match="holds results with columns"):
        records.CsvTable(tmp_path / "new.csv").append([{"a": 1}, {"b": 2}])
    assert not (tmp_path / "new.csv").exists()  # refused before anything was written
    assert table.path.read_bytes() == before  # nothing overwritten


def test_csv_table_float_format_and_csv_module_line_endings(tmp_path):
    table = records.CsvTable(tmp_path / "r.csv", float_format=".6g")
    table.append([{"key": "x", "value": 1 / 3, "n": 2, "np": np.float64(2.0) / 3}])
    assert table.path.read_bytes() == b"key,value,n,np\r\nx,0.333333,2,0.666667\r\n"
    with table.path.open(newline="") as fh:
        assert list(csv.DictReader(fh)) == [{"key": "x", "value": "0.333333", "n": "2", "np": "0.666667"}]


@pytest.mark.parametrize("value, parsed", [("True", True), ("False", False), ("3", 3), ("-2", -2),
                                           ("0.5", 0.5), ("1e-3", 1e-3), ("abc", "abc"), ("", "")])
def test_parse_csv_value(value, parsed):
    assert records.parse_csv_value(value) == parsed
    assert type(records.parse_csv_value(value)) is type(parsed)


# ------------------------------------------------------------------------------ resumable cells
def test_run_cells_resumes_skips_done_cells_and_keeps_other_prefixes(tmp_path):
    table = records.CsvTable(tmp_path / "sweep.csv")
    cells = [{"n": n, "beta": b} for n in (1, 2) for b in (0.5, 1.0)]
    calls = []

    def flaky(cell):
        calls.append(cell)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return [{"seed": s, "value": cell["n"] * cell["beta"] + s} for s in (0, 1)]

    with pytest.raises(RuntimeError):
        records.run_cells(cells, flaky, table, prefix={"config_hash": "h1"})
    assert len(table.rows()) == 4  # two finished cells, two rows each
    calls.clear()
    rows = records.run_cells(cells, lambda c: [{"seed": s, "value": -1.0} for s in (0, 1)], table,
                             prefix={"config_hash": "h1"})
    assert len(rows) == 8 and [(r["n"], r["beta"]) for r in rows[::2]] == [(c["n"], c["beta"]) for c in cells]
    assert rows[0] == {"config_hash": "h1", "n": 1, "beta": 0.5, "seed": 0, "value": 0.5}
    assert [r["value"] for r in rows[4:]] == [-1.0] * 4  # only the unfinished cells were computed

    def must_not_run(cell):
        raise AssertionError("a finished cell was recomputed")

    assert len(records.run_cells(cells, must_not_run, table, prefix={"config_hash": "h1"})) == 8
    other = records.run_cells(cells[:1], lambda c: {"seed": 0, "value": 9.0}, table, prefix={"config_hash": "h2"})
    assert [r["value"] for r in other] == [9.0]
    assert len(table.rows()) == 9  # rows of the other configuration are kept, not overwritten
    assert records.run_cells([], must_not_run, table, prefix={"config_hash": "h3"}) == []


def test_a_digest_that_parses_as_a_float_still_resumes(tmp_path):
    """``config_hash`` values like ``"880180e43465"`` are valid float literals; resumption must
    compare them as written."""
    table = records.CsvTable(tmp_path / "rows.csv")
    calls = []

    def run_cell(cell):
        calls.append(cell["x"])
        return {"y": cell["x"] * 2}

    cells = [{"x": 1}, {"x": 2}]
    prefix = {"config_hash": "880180e43465"}
    first = records.run_cells(cells, run_cell, table, prefix=prefix)
    again = records.run_cells(cells, run_cell, table, prefix=prefix)
    assert calls == [1, 2]  # nothing recomputed on the second run
    assert [r["y"] for r in first] == [r["y"] for r in again] == [2, 4]
    assert table.keys(["x"], where=prefix) == {("1",), ("2",)}
    assert {r["config_hash"] for r in again} == {"880180e43465"}  # read back as text, not inf
    assert {r["config_hash"] for r in table.rows(parse=True)} == {"880180e43465"}
