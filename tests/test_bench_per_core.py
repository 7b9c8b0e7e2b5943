"""The per-core measurement of ``sharpsim bench`` (``sharpsim.bench.per_core_ratio``) and its CLI.

No timing is asserted: only the structure of the result, that rates are finite and positive,
that each ratio is its repeat's sharpsim rate over its reference rate, and that both worker
processes ran pinned to the same CPU with one thread. Nothing here is statistical.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from sharpsim import bench, cli

BON = {"num_prompts": 10, "num_responses": 50, "coverage": 10.0, "N": 16, "seed": 0}


def test_per_core_ratio_structure_and_consistency():
    pc = bench.per_core_ratio("sharpsim.bench:side_bon_sharpsim", {**BON, "picks": 2000},
                              "sharpsim.bench:side_bon_reference", {**BON, "picks": 200},
                              repeats=2, min_seconds=0.05, unit="picks")
    assert pc["repeats"] == 2 and len(pc["ratios"]) == 2 and pc["unit"] == "picks"
    for r, a, b in zip(pc["ratios"], pc["sharpsim_per_s_each"], pc["reference_per_s_each"]):
        assert math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0
        assert r == pytest.approx(a / b)
    assert pc["ratio"] == pytest.approx(float(np.median(pc["ratios"])))
    assert pc["ratio_min"] == min(pc["ratios"]) and pc["ratio_max"] == max(pc["ratios"])
    assert pc["sharpsim_per_s"] == pytest.approx(float(np.median(pc["sharpsim_per_s_each"])))
    assert pc["loops"]["sharpsim"] >= 1 and pc["loops"]["reference"] >= 1
    assert pc["env"] == bench.SINGLE_THREAD_ENV
    c = pc["cpu_time"]  # the same statistics by process CPU time
    for r, a, b in zip(c["ratios"], c["sharpsim_per_cpu_s_each"], c["reference_per_cpu_s_each"]):
        assert math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0 and r == pytest.approx(a / b)
    assert c["ratio_min"] <= c["ratio"] <= c["ratio_max"] and len(c["ratios"]) == 2
    if hasattr(os, "sched_setaffinity"):
        assert pc["pinned"] and pc["cpu"] in os.sched_getaffinity(0)
        assert pc["affinity"] == {"sharpsim": [pc["cpu"]], "reference": [pc["cpu"]]}
    # the text report shows the per-core line next to the whole-machine one
    line = bench._per_core_line("bon", pc)
    assert "per core" in line and "interleaved repeats" in line and "quartiles" in line


def test_per_core_bad_input_and_worker_failure():
    with pytest.raises(ValueError, match="repeats must be an integer >= 1"):
        bench.per_core_ratio("a:b", {}, "a:b", {}, repeats=0)
    with pytest.raises(ValueError, match="min_seconds must be >= 0"):
        bench.per_core_ratio("a:b", {}, "a:b", {}, min_seconds=-1)
    # a side that cannot be built fails with the worker's traceback, and no process is left behind
    with pytest.raises(RuntimeError, match="no_such_side"):
        bench.per_core_ratio("sharpsim.bench:no_such_side", {}, "sharpsim.bench:side_bon_reference",
                             {**BON, "picks": 10}, repeats=1, min_seconds=0.0)


def test_bench_arguments_parse():
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--quick", action="store_true")
    bench.add_arguments(parser)
    args = parser.parse_args(["scale", "--devices", "1,2", "--workers", "", "--repeats", "2", "--no-per-core",
                              "--responses", "100,1e4", "--out", "X"])
    assert args.devices == [1, 2] and args.workers == [] and args.repeats == 2 and args.no_per_core
    assert args.responses == [100, 10000] and args.out == "X" and args.seeds_sweep is None
    with pytest.raises(SystemExit):
        parser.parse_args(["scale", "--devices", "0,2"])
    args.repeats = 0
    with pytest.raises(ValueError, match="--repeats must be >= 1"):
        bench.run(args)
    args.name = "nope"
    with pytest.raises(ValueError, match="unknown benchmark 'nope'"):
        bench.run(args)


def test_benchmark_scripts_accept_the_new_options(capsys):
    # benchmarks/*.py call bench.main, which has every option of `sharpsim bench`
    assert bench.main(["bon", "--quick", "--json", "--no-per-core"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "per_core" not in result and result["devices"]["num_devices"] >= 1
    assert bench.main(["bon", "--repeats", "0"]) == 2
    assert "--repeats must be >= 1" in capsys.readouterr().err


def test_cli_bench_no_per_core(capsys):
    # needs the `bench.add_arguments(...)` and `bench.run_cli(args)` lines in sharpsim/cli.py
    assert cli.main(["bench", "bon", "--quick", "--no-per-core"]) == 0
    out = capsys.readouterr().out
    assert "whole machine" in out and "per core" not in out and "devices: " in out
