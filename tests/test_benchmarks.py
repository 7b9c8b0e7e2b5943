"""The benchmark scripts run (tiny sizes) and their same-law checks hold; no timing is asserted."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bon_draw_benchmark_runs_and_laws_agree(capsys):
    result = _load("bon_draw").main(["--prompts", "10", "--responses", "50", "--coverage", "10", "--N", "16", "--picks", "3000", "--json"])
    # The chi-square two-sample test rejects a true "same law" with probability 1e-3 (fixed seeds).
    assert result["same_law"], result
    assert result["ratio"] > 0 and result["numpy_picks_per_s"] > 0
    # Both hit rates estimate the exact probability: 3000 draws, |error| <= 0.05 fails w.p. < 1e-6.
    assert abs(result["hit_rate_numpy"] - result["hit_rate_exact"]) < 0.05
    assert abs(result["hit_rate_sharpsim"] - result["hit_rate_exact"]) < 0.05
    assert '"benchmark": "bon_draw"' in capsys.readouterr().out
