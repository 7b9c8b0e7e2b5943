"""The benchmarks run (quick sizes) and their same-law checks hold; no timing is asserted.

``test_sft_benchmark_quick_json`` also checks the per-core ratio's fields (two worker processes,
each pinned to one CPU); the other benchmarks are run here without it (``per_core=False``) to keep
the suite short, and ``tests/test_bench_per_core.py`` covers the per-core machinery itself."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sharpsim import bench, cli


def test_bon_benchmark_runs_and_laws_agree():
    result = bench.bench_bon(quick=True, num_prompts=10, num_responses=50, coverage=10.0, N=16, picks=3000,
                             per_core=False)
    assert "per_core" not in result and result["devices"]["num_devices"] >= 1
    # The chi-square two-sample test rejects a true "same law" with probability 1e-3 (fixed seeds).
    assert result["same_law"], result
    assert result["ratio"] > 0 and result["reference_picks_per_s"] > 0
    # Both hit rates estimate the exact probability: 3000 draws, |error| >= 0.05 has
    # probability <= 2 exp(-2 * 3000 * 0.05^2) < 1e-6 (Hoeffding).
    assert abs(result["hit_rate_reference"] - result["hit_rate_exact"]) < 0.05
    assert abs(result["hit_rate_sharpsim"] - result["hit_rate_exact"]) < 0.05


def test_sft_benchmark_quick_json(capsys):
    assert cli.main(["bench", "sft", "--quick", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["benchmark"] == "sft" and result["ratio"] > 0
    # KS two-sample test of the error distributions: false-failure probability 1e-3.
    assert result["same_law"], result
    # Both are Monte Carlo estimates of the same mean error (~0.37): 64 and 16 trials of a
    # quantity with sd ~0.03, a gap above 0.1 has probability < 1e-6.
    assert abs(result["mean_error_sharpsim"] - result["mean_error_reference"]) < 0.1
    assert set(result["seconds_per_trial_vs_N"]) == {"16", "64", "256", "1024", "4096"}
    # the per-core ratio: one worker process per side, interleaved repeats (3 with --quick)
    pc = result["per_core"]
    assert pc["repeats"] == 3 == len(pc["ratios"]) == len(pc["sharpsim_per_s_each"]) == len(pc["reference_per_s_each"])
    for r, a, b in zip(pc["ratios"], pc["sharpsim_per_s_each"], pc["reference_per_s_each"]):
        assert a > 0 and b > 0 and r == pytest.approx(a / b)
    assert pc["ratio"] == pytest.approx(float(np.median(pc["ratios"])))
    assert pc["ratio_min"] <= pc["ratio_quartiles"][0] <= pc["ratio"] <= pc["ratio_quartiles"][1] <= pc["ratio_max"]
    assert pc["unit"] == "trials" and pc["env"]["OMP_NUM_THREADS"] == "1"
    if pc["pinned"]:
        assert pc["affinity"] == {"sharpsim": [pc["cpu"]], "reference": [pc["cpu"]]}
    assert set(result["devices"]) >= {"platform", "device_kind", "num_devices", "process_count"}


def test_bench_unknown_name_is_a_clean_error(capsys):
    assert cli.main(["bench", "nope"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_xpo_benchmark_quick():
    result = json.loads(json.dumps(bench.bench_xpo(quick=True, per_core=False)))  # JSON-ready
    assert result["benchmark"] == "xpo" and result["ratio"] > 0
    # the exact ball regression matches SciPy's SLSQP objective (deterministic, no sampling)
    assert result["regression"]["max_relative_objective_gap"] <= 1e-6
    assert result["same_law"]
