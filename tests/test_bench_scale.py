"""``sharpsim bench scale`` (``sharpsim.bench.bench_scale``): structure and sanity, never speed.

The default test runs one forced-host-device process and the two per-trial cost sweeps at one
point each; the full sweep (1, 2 and 4 devices, 1 and 2 Dask workers) is marked slow. Nothing
here is statistical.
"""

from __future__ import annotations

import csv
import json
import math
import sys

import pytest

from sharpsim import bench


def _finite_positive(x) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_scale_one_device_writes_csv_json_png(tmp_path):
    r = bench.bench_scale(devices=[1], workers=[], seeds=32, responses=[100], seeds_sweep=[10], repeats=1,
                          out=tmp_path, trial={"num_prompts": 10, "num_responses": 100, "n": 50})
    (dev,) = r["devices_sweep"]
    assert dev["x"] == 1 and dev["num_devices_seen"] == 1 and _finite_positive(dev["trials_per_s"])
    assert dev["ideal_trials_per_s"] == dev["trials_per_s"]
    assert math.isfinite(dev["cores_used"]) and dev["cores_used"] >= 0
    assert r["dask_sweep"] == []
    for section in ("responses_sweep", "seeds_sweep"):
        (p,) = r[section]
        assert _finite_positive(p["seconds_per_trial"]) and p["trials_per_s"] == pytest.approx(1 / p["seconds_per_trial"])
        assert math.isfinite(p["cores_used"]) and p["cores_used"] >= 0
    assert set(r["devices"]) >= {"platform", "device_kind", "num_devices"}
    rows = list(csv.DictReader(open(tmp_path / "scale.csv")))
    assert [(row["section"], row["x"]) for row in rows] == [("devices", "1"), ("responses", "100"), ("seeds", "10")]
    assert json.loads((tmp_path / "scale.json").read_text())["devices_sweep"][0]["x"] == 1
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "forced host devices 1" in bench.report(r)


def test_scale_bad_input_and_missing_distributed(monkeypatch):
    with pytest.raises(ValueError, match="devices must be a list of positive integers"):
        bench.bench_scale(devices=[0], workers=[], out=None)
    with pytest.raises(ValueError, match="unknown keys"):
        bench.bench_scale(devices=[], workers=[], out=None, trial={"bogus": 1})
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'sharpsim\[cluster\]'"):
        bench.bench_scale(devices=[], workers=[1], out=None)


@pytest.mark.slow
def test_scale_full_sweep(tmp_path):
    pytest.importorskip("distributed")
    r = bench.bench_scale(devices=[1, 2, 4], workers=[1, 2], seeds=256, responses=[100, 10000],
                          seeds_sweep=[10, 1000], repeats=2, out=tmp_path)
    assert [p["x"] for p in r["devices_sweep"]] == [1, 2, 4]
    assert [p["num_devices_seen"] for p in r["devices_sweep"]] == [1, 2, 4]
    assert [p["x"] for p in r["dask_sweep"]] == [1, 2]
    for section in ("devices_sweep", "dask_sweep"):
        base = r[section][0]["trials_per_s"]
        for p in r[section]:
            assert _finite_positive(p["trials_per_s"]) and p["ideal_trials_per_s"] == pytest.approx(base * p["x"])
            assert math.isfinite(p["cores_used"]) and p["cores_used"] > 0
    assert len(r["responses_sweep"]) == 2 and len(r["seeds_sweep"]) == 2
    assert len(list(csv.DictReader(open(tmp_path / "scale.csv")))) == 3 + 2 + 2 + 2


def test_cli_bench_scale_in_process_only(tmp_path, capsys):
    # needs the `bench.add_arguments(...)` and `bench.run_cli(args)` lines in sharpsim/cli.py
    from sharpsim import cli

    assert cli.main(["bench", "scale", "--devices", "", "--workers", "", "--responses", "100", "--seeds-sweep", "10",
                     "--repeats", "1", "--out", str(tmp_path), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["devices_sweep"] == [] and r["dask_sweep"] == []
    assert [p["x"] for p in r["responses_sweep"]] == [100] and [p["x"] for p in r["seeds_sweep"]] == [10]
    assert r["files"]["png"] == str(tmp_path / "scale.png") and (tmp_path / "scale.csv").exists()
