"""The figure pipeline on the TESTING settings: files, manifest, resume, statistics."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from sharpsim import figures
from sharpsim.experiments import _runner, bon_inference


def test_generate_writes_every_artifact(tmp_path):
    written = figures.generate(["bon_inference"], out=tmp_path, mode="testing", progress=False, log=lambda s: None)
    names = {p.name for p in written}
    assert names == {"bon_inference.png", "bon_inference.pdf", "bon_inference.csv", "bon_inference.manifest.json"}
    for p in written:
        assert p.stat().st_size > 0
    manifest = json.loads((tmp_path / "bon_inference.manifest.json").read_text())
    config = bon_inference.CONFIGS["testing"]
    assert manifest["mode"] == "testing"
    assert manifest["config"]["seed"] == config.seed
    assert manifest["config_hash"] == _runner.config_hash(config)
    assert manifest["versions"]["jax"]
    rows = _runner.read_rows(tmp_path / "bon_inference.csv")
    assert len(rows) == len(bon_inference.cells(config))


def test_rows_agree_with_exact_law_and_prop_c1(tmp_path):
    figures.generate(["bon_inference"], out=tmp_path, mode="testing", progress=False, log=lambda s: None)
    rows = _runner.read_rows(tmp_path / "bon_inference.csv")
    for r in rows:
        # Prop C.1 is an exact inequality: (1-p)^N <= e^{-Np}.
        assert r["prop_c1_bound"] <= r["exact"] + 1e-12
        assert r["num_queries"] == r["trials"] * r["N"]
        # Statistical: a 99.99% Clopper-Pearson interval around the measured frequency must
        # contain the exact probability; false-failure probability <= 1e-4 per row (4 rows).
        ci = stats.binomtest(r["hits"], r["trials"]).proportion_ci(0.9999, method="exact")
        assert ci.low <= r["exact"] <= ci.high, r


def test_sweep_resumes_without_recomputing(tmp_path, monkeypatch):
    config = bon_inference.CONFIGS["testing"]
    cells = bon_inference.cells(config)
    calls = []

    def flaky(cell):
        calls.append(cell)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the sweep is killed while computing the third cell
        return {"value": len(calls)}

    path = tmp_path / "sweep.csv"
    with pytest.raises(KeyboardInterrupt):
        _runner.run_sweep(cells, flaky, path, config=config, progress=False)
    assert len(_runner.read_rows(path)) == 2  # the two finished cells are on disk

    calls.clear()
    rows = _runner.run_sweep(cells, lambda c: {"value": -1}, path, config=config, progress=False)
    assert len(rows) == len(cells)
    assert [r["value"] for r in rows[:2]] == [1, 2]  # kept, not recomputed
    assert all(r["value"] == -1 for r in rows[2:])

    # A third run computes nothing at all.
    def must_not_run(cell):
        raise AssertionError("a finished cell was recomputed")

    assert len(_runner.run_sweep(cells, must_not_run, path, config=config, progress=False)) == len(cells)


def test_other_configs_are_kept_and_columns_guarded(tmp_path):
    config = bon_inference.CONFIGS["testing"]
    other = bon_inference.Config(**{**config.__dict__, "seed": 99})
    path = tmp_path / "sweep.csv"
    cells = bon_inference.cells(config)
    _runner.run_sweep(cells, lambda c: {"value": 1}, path, config=config, progress=False)
    _runner.run_sweep(cells, lambda c: {"value": 2}, path, config=other, progress=False)
    all_rows = _runner.read_rows(path)
    assert len(all_rows) == 2 * len(cells)
    assert {r["value"] for r in all_rows} == {1, 2}
    third = bon_inference.Config(**{**config.__dict__, "seed": 7})
    with pytest.raises(ValueError, match="--out"):
        _runner.run_sweep(cells, lambda c: {"other_column": 3}, path, config=third, progress=False)


def test_unknown_figure_and_mode_raise(tmp_path):
    with pytest.raises(ValueError, match="unknown figure"):
        figures.generate(["nope"], out=tmp_path)
    with pytest.raises(ValueError, match="`mode`"):
        figures.generate(None, out=tmp_path, mode="slowest")
    for jobs in (0, 1.5, True):
        with pytest.raises(ValueError, match=r"`jobs` must be an integer >= 1"):
            figures.generate(["bon_inference"], out=tmp_path, mode="testing", jobs=jobs)


def test_parallel_figures_write_the_same_rows(tmp_path):
    """``jobs=2`` computes each figure in its own (spawned) process: the same rows as in-process."""
    names = ["bon_inference", "adaptive_draws"]
    lines = []
    figures.generate(names, out=tmp_path / "one", mode="testing", progress=False, log=lambda s: None)
    written = figures.generate(names + ["bon_inference"], out=tmp_path / "two", mode="testing", progress=False,
                               log=lines.append, jobs=2)
    assert sorted(line.split(":")[0] for line in lines) == sorted(names)  # each figure once
    assert {p.name for p in written} == {f"{n}.{ext}" for n in names for ext in ("png", "pdf", "csv", "manifest.json")}
    for name in names:
        a = _runner.read_rows(tmp_path / "one" / f"{name}.csv")
        b = _runner.read_rows(tmp_path / "two" / f"{name}.csv")
        assert a == b and len(a) > 0
    rates = [(tmp_path / d / "RATES.md").read_text().replace(str(tmp_path / d), "OUT") for d in ("one", "two")]
    assert rates[0] == rates[1]


@pytest.mark.parametrize("name", sorted(figures.FIGURES))
def test_every_figure_runs_on_testing_settings(tmp_path, name):
    """The TESTING subset of every sweep runs end to end, so no plotting code rots."""
    written = figures.generate([name], out=tmp_path, mode="testing", progress=False, log=lambda s: None)
    assert {p.suffix for p in written} == {".png", ".pdf", ".csv", ".json"}
    module = figures.FIGURES[name]
    config = module.CONFIGS["testing"]
    rows = _runner.read_rows(tmp_path / f"{name}.csv")
    cells = module.cells(config)
    keys = list(cells[0])
    covered = {tuple(str(r[k]) for k in keys) for r in rows}
    assert covered == {tuple(str(c[k]) for k in keys) for c in cells}
    manifest = json.loads((tmp_path / f"{name}.manifest.json").read_text())
    assert manifest["config_hash"] == _runner.config_hash(config)
    for r in rows:  # every measured row carries finite numbers, never NaN
        for k, v in r.items():
            if isinstance(v, float):
                assert v == v, (k, r)


def test_rates_md_and_check_are_true_to_the_csvs(tmp_path, capsys):
    """RATES.md is rewritten from the CSVs whenever figures are generated; --check prints the same rows."""
    from sharpsim import cli

    figures.generate(["lower_bound_size"], out=tmp_path, mode="testing", progress=False, log=lambda s: None)
    table = figures.check(out=tmp_path, mode="testing")
    by_name = {row[0]: row for row in table}
    assert by_name["bon_inference"][1] == "no fitted rate"
    assert by_name["sft_coverage"][1].startswith("not generated")
    row = by_name["lower_bound_size"]
    module = figures.FIGURES["lower_bound_size"]
    rows = _runner.read_rows(tmp_path / "lower_bound_size.csv")
    want = module.rates(rows, module.CONFIGS["testing"])[0]
    assert row == want.cells()
    assert row[6] in ("agrees", "disagrees (shallower)", "disagrees (steeper)", "disagrees (above)",
                      "disagrees (below)", "undetermined")
    text = (tmp_path / "RATES.md").read_text()
    assert "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" in text  # Markdown escapes "|"
    assert cli.main(["figures", "--check", "--testing", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert row[3] in printed and "lower_bound_size" in printed and "no fitted rate" in printed
