"""Every registered figure, on its testing settings, computed on a real two-worker Dask ``LocalCluster``
writes exactly the CSV text of an in-process run (slow: every figure twice)."""

from __future__ import annotations

import pytest

from sharpsim import executors, figures, records


@pytest.mark.slow
def test_every_figure_on_a_local_cluster_writes_the_in_process_csv(tmp_path):
    distributed = pytest.importorskip("distributed")
    names = list(figures.FIGURES)
    figures.generate(names, out=tmp_path / "inprocess", mode="testing", progress=False, log=lambda s: None,
                     executor=executors.InProcess())
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(local)
    lines: list[str] = []
    try:
        written = figures.generate(names, out=tmp_path / "dask", mode="testing", progress=False, log=lines.append,
                                   executor=executors.DaskExecutor(client=client), jobs=3)
    finally:
        client.close()
        local.close()
    assert [line.split(":")[0] for line in lines] == names  # drawn in registry order
    assert {p.name for p in written} == {f"{n}.{e}" for n in names for e in ("png", "pdf", "csv", "manifest.json")}
    for name in names:
        text = (tmp_path / "dask" / f"{name}.csv").read_text()
        assert text == (tmp_path / "inprocess" / f"{name}.csv").read_text(), name
        assert text.count("\n") > 1 and not records.pending_path(tmp_path / "dask" / f"{name}.csv").exists()
    rates = [(tmp_path / d / "RATES.md").read_text().replace(str(tmp_path / d), "OUT") for d in ("inprocess", "dask")]
    assert rates[0] == rates[1]
