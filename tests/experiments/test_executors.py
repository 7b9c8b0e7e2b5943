"""Executors (:mod:`sharpsim.executors`): the in-process default, the pending side file that keeps a
sweep's CSV in cell order whatever order cells finish in, and a real two-worker Dask
``LocalCluster``: the same CSV text as in-process, a worker killed mid-sweep (only its cell is
recomputed), and a driver killed mid-sweep (the rerun computes only the missing cells)."""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import functools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from sharpsim import executors, records
from sharpsim.experiments import _runner

try:
    import cloudpickle
except ImportError:  # without the cluster extra (dask, distributed) the cluster tests skip themselves
    cloudpickle = None
else:  # the cell functions below travel to the workers by value (the workers need not import this file)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])

CELLS = [{"i": i, "label": f"c{i}"} for i in range(6)]
PREFIX = {"config_hash": "0123456789ab"}


def _rows(i: int) -> list[dict]:
    """Three rows of cell ``i`` with floats whose text is long (so formatting differences would show)."""
    return [{"seed": s, "value": i / 7 + s / 3, "flag": s % 2 == 0} for s in range(3)]


def _plain_cell(cell: dict) -> list[dict]:
    return _rows(cell["i"])


def _keys_on_disk(csv_path: Path) -> set[int]:
    """The cells ``i`` whose rows are in the CSV or its pending side file."""
    keys = set()
    for path in (csv_path, records.pending_path(csv_path)):
        if path.exists():
            with path.open(newline="") as fh:
                keys |= {int(r["i"]) for r in csv.DictReader(fh) if r.get("i", "").isdigit()}
    return keys


def _marked_cell(marks: str, csv_path: str, kill: int, cell: dict) -> list[dict]:
    """A cell that leaves a marker per execution; cell ``kill`` kills its own worker process on its first
    execution, once every cell this worker finished before it is on disk (so none of them is lost with it)."""
    marks, i, pid = Path(marks), cell["i"], os.getpid()
    (marks / f"start-{i}-{pid}-{uuid.uuid4().hex}").touch()
    time.sleep(0.2)
    if i == kill:
        try:
            os.close(os.open(marks / "killed", os.O_CREAT | os.O_EXCL))
            first = True
        except FileExistsError:
            first = False
        if first:
            mine = {int(p.name.split("-")[1]) for p in marks.glob(f"done-*-{pid}")}
            deadline = time.monotonic() + 60
            while not mine <= _keys_on_disk(Path(csv_path)) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # the driver has released those results
            os.kill(pid, signal.SIGKILL)
    (marks / f"done-{i}-{pid}").touch()
    return _rows(i)


def _starts(marks: Path) -> dict[int, list[int]]:
    """Per cell, the worker pids of its executions."""
    out: dict[int, list[int]] = {}
    for p in marks.glob("start-*"):
        _, i, pid, _ = p.name.split("-")
        out.setdefault(int(i), []).append(int(pid))
    return out


def _reference(tmp_path: Path, cells=CELLS) -> str:
    """The CSV text of an uninterrupted in-process run."""
    path = tmp_path / "reference.csv"
    records.run_cells(cells, _plain_cell, records.CsvTable(path), prefix=PREFIX, executor=executors.InProcess())
    return path.read_text()


# ============================================================================ without a cluster
class _Reversed:
    """An executor that computes every item, then yields them last first (``stop_after``: raise after that many)."""

    remote = False

    def __init__(self, stop_after: int | None = None):
        self.stop_after = stop_after
        self.calls: list[int] = []

    def imap_unordered(self, fn, items, *, name=""):
        results = []
        for i, item in enumerate(items):
            self.calls.append(item["i"])
            results.append((i, fn(item)))
        for n, pair in enumerate(reversed(results)):
            if self.stop_after is not None and n == self.stop_after:
                raise RuntimeError("driver stopped")
            yield pair

    def close(self):
        pass


def test_out_of_order_results_land_in_cell_order_and_resume(tmp_path):
    """Cells finishing last-first give the in-process CSV text; a run stopped midway leaves the finished
    later cells in the pending file, and the rerun computes only the cells in neither file."""
    reference = _reference(tmp_path)
    table = records.CsvTable(tmp_path / "reversed.csv")
    rows = records.run_cells(CELLS, _plain_cell, table, prefix=PREFIX, executor=_Reversed())
    assert table.path.read_text() == reference
    assert not records.pending_path(table.path).exists()
    assert [r["i"] for r in rows] == [c["i"] for c in CELLS for _ in range(3)]

    table = records.CsvTable(tmp_path / "stopped.csv")
    with pytest.raises(RuntimeError, match="driver stopped"):
        records.run_cells(CELLS, _plain_cell, table, prefix=PREFIX, executor=_Reversed(stop_after=2))
    assert not table.path.exists()  # cell 0 never arrived: nothing may enter the CSV out of order
    assert _keys_on_disk(table.path) == {4, 5}
    again = _Reversed()
    records.run_cells(CELLS, _plain_cell, table, prefix=PREFIX, executor=again)
    assert sorted(again.calls) == [0, 1, 2, 3]
    assert table.path.read_text() == reference
    assert not records.pending_path(table.path).exists()

    # the pending file of one configuration never touches another's rows
    other = records.CsvTable(tmp_path / "two.csv")
    with pytest.raises(RuntimeError):
        records.run_cells(CELLS, _plain_cell, other, prefix={"config_hash": "aaaaaaaaaaaa"},
                          executor=_Reversed(stop_after=1))
    records.run_cells(CELLS, _plain_cell, other, prefix=PREFIX)
    assert records.pending_path(other.path).exists()  # the other configuration's cell 5 still waits
    rows = records.run_cells(CELLS, _plain_cell, other, prefix={"config_hash": "aaaaaaaaaaaa"})
    assert len(rows) == 3 * len(CELLS) and not records.pending_path(other.path).exists()


def test_pending_rows_with_other_columns_are_refused_before_writing(tmp_path):
    """A cell finished out of order whose columns the CSV would refuse is refused at once."""
    table = records.CsvTable(tmp_path / "t.csv")
    table.append([{**PREFIX, "i": 9, "label": "c9", "other": 1}])
    with pytest.raises(ValueError, match="columns"):
        records.run_cells(CELLS, _plain_cell, table, prefix=PREFIX, executor=_Reversed())
    assert not records.pending_path(table.path).exists()


def test_in_process_is_the_default_and_use_sets_the_current_executor(tmp_path):
    assert isinstance(executors.current(), executors.InProcess)
    fake = _Reversed()
    with executors.use(fake) as chosen:
        assert chosen is fake and executors.current() is fake
        _runner.run_sweep(CELLS, _plain_cell, tmp_path / "s.csv", config={"a": 1}, progress=False)
    assert sorted(fake.calls) == [c["i"] for c in CELLS]
    assert isinstance(executors.current(), executors.InProcess)
    with pytest.raises(TypeError, match="`executor`"):
        records.run_cells(CELLS, _plain_cell, records.CsvTable(tmp_path / "x.csv"), executor="dask")
    with pytest.raises(TypeError, match="`executor`"), executors.use(object()):
        pass


def test_options_and_bad_input():
    pytest.importorskip("distributed")
    assert isinstance(executors.from_options("inprocess"), executors.InProcess)
    remote = executors.from_options("dask", address="tcp://127.0.0.1:1")
    assert isinstance(remote, executors.DaskExecutor) and remote.remote and remote.address == "tcp://127.0.0.1:1"
    local = executors.from_options("dask-local", workers=3)
    assert local.workers == 3 and local._client is None  # nothing started until used
    for kwargs, match in [
        (dict(kind="spark"), "`executor` must be one of"),
        (dict(kind="dask"), "needs the scheduler's `address`"),
        (dict(kind="dask", address="tcp://h:1", workers=2), "`workers` applies to --executor dask-local"),
        (dict(kind="dask-local", address="tcp://h:1"), "`address` applies to --executor dask only"),
        (dict(kind="dask-local", workers=0), "`workers` must be an integer >= 1"),
        (dict(kind="inprocess", workers=2), "need a Dask executor"),
    ]:
        with pytest.raises(ValueError, match=match):
            executors.from_options(**kwargs)
    with pytest.raises(ValueError, match="at most one of"):
        executors.DaskExecutor("tcp://h:1", workers=2)
    with pytest.raises(ValueError, match="`threads_per_worker`"):
        executors.DaskExecutor(workers=1, threads_per_worker=0)
    with pytest.raises(ValueError, match="`address`"):
        executors.DaskExecutor("  ")
    with pytest.raises(ValueError, match=r"`client` must be a distributed\.Client"):
        executors.DaskExecutor(client="tcp://h:1")

    parser = argparse.ArgumentParser()
    executors.add_arguments(parser)
    args = parser.parse_args(["--executor", "dask-local", "--workers", "2"])
    assert executors.from_args(args).workers == 2
    assert isinstance(executors.from_args(parser.parse_args([])), executors.InProcess)
    with pytest.raises(SystemExit):
        parser.parse_args(["--executor", "ray"])


def test_unreachable_scheduler_is_a_clear_error():
    dask = pytest.importorskip("dask")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(ValueError, match="no Dask scheduler answered"):
        _ = executors.DaskExecutor("tcp://127.0.0.1:9").client


def test_dask_stays_optional(monkeypatch):
    """Importing the core, the runner and the figures imports no Dask; a missing `distributed` says what to
    install."""
    code = ("import sys, sharpsim.records, sharpsim.executors, sharpsim.figures; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'sharpsim\[cluster\]'"):
        executors.DaskExecutor(workers=1)


class _FailOrWait:
    """A remote-looking executor: the sweep named ``fail`` raises at once, the others wait for :meth:`cancel`."""

    remote = True

    def __init__(self, fail: str):
        self.fail = fail
        self.cancelled = threading.Event()
        self.names: list[str] = []

    def imap_unordered(self, fn, items, *, name=""):
        self.names.append(name)
        if name == self.fail:
            raise RuntimeError(f"{name} failed")
        if not self.cancelled.wait(120):
            raise AssertionError("never cancelled")
        raise concurrent.futures.CancelledError()
        yield  # a generator, like the real executors

    def cancel(self):
        self.cancelled.set()

    def close(self):
        pass


def test_a_failing_figure_on_a_cluster_cancels_the_others(tmp_path):
    """With a remote executor the figures' sweeps run from driver threads; one failing cancels the others' cells
    and its error reaches the caller (nothing is computed here: the executor computes no cell)."""
    from sharpsim import figures

    fake = _FailOrWait(fail="sft_coverage")
    with pytest.raises(RuntimeError, match="sft_coverage failed"):
        figures.generate(["bon_inference", "sft_coverage"], out=tmp_path, mode="testing", progress=False,
                         log=lambda s: None, executor=fake, jobs=2)
    assert fake.cancelled.is_set() and sorted(fake.names) == ["bon_inference", "sft_coverage"]
    assert figures.default_jobs(fake) == len(figures.FIGURES)
    assert figures.default_jobs(executors.InProcess()) == figures.default_jobs()


# ============================================================================ a real LocalCluster
@pytest.fixture(scope="module")
def cluster():
    """A real two-process LocalCluster (one thread each) and an executor on its client."""
    distributed = pytest.importorskip("distributed")
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(local)
    try:
        yield executors.DaskExecutor(client=client)
    finally:
        client.close()
        local.close()


def test_dask_sweep_writes_the_in_process_csv(tmp_path, cluster):
    """A sweep on the cluster writes exactly the in-process CSV text, returns its rows in cell order, leaves
    no pending file; rerunning it computes nothing; a cell's error reaches the driver."""
    reference = _reference(tmp_path)
    path = tmp_path / "dask.csv"
    rows = _runner.run_sweep(CELLS, _plain_cell, path, config={"k": 1}, progress=False, executor=cluster)
    expected = _runner.run_sweep(CELLS, _plain_cell, tmp_path / "inproc.csv", config={"k": 1}, progress=False)
    assert rows == expected
    assert path.read_text() == (tmp_path / "inproc.csv").read_text()
    records.run_cells(CELLS, _plain_cell, records.CsvTable(tmp_path / "cells.csv"), prefix=PREFIX, executor=cluster)
    assert (tmp_path / "cells.csv").read_text() == reference
    assert not records.pending_path(path).exists()
    marks = tmp_path / "marks"
    marks.mkdir()
    records.run_cells(CELLS, functools.partial(_marked_cell, str(marks), str(tmp_path / "cells.csv"), -1),
                      records.CsvTable(tmp_path / "cells.csv"), prefix=PREFIX, executor=cluster)
    assert _starts(marks) == {}  # resumed: nothing recomputed

    def broken(cell):
        if cell["i"] == 3:
            raise ArithmeticError("cell 3 is broken")
        return _rows(cell["i"])

    with pytest.raises(ArithmeticError, match="cell 3 is broken"):
        records.run_cells(CELLS, broken, records.CsvTable(tmp_path / "broken.csv"), prefix=PREFIX, executor=cluster)
    assert 3 not in _keys_on_disk(tmp_path / "broken.csv")


def _slow_cell(cell: dict) -> list[dict]:
    time.sleep(3)
    return _rows(cell["i"])


def test_cancel_stops_a_running_sweep(tmp_path, cluster):
    """DaskExecutor.cancel (what a failing figure calls) makes a sweep running in another thread raise."""
    outcome = {}

    def sweep():
        try:
            records.run_cells(CELLS, _slow_cell, records.CsvTable(tmp_path / "slow.csv"), executor=cluster)
        except BaseException as err:
            outcome["error"] = err

    thread = threading.Thread(target=sweep)
    thread.start()
    deadline = time.monotonic() + 60
    while not cluster._inflight and time.monotonic() < deadline:
        time.sleep(0.05)
    cluster.cancel()
    thread.join(60)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), concurrent.futures.CancelledError)
    assert not (tmp_path / "slow.csv").exists()


def test_a_killed_worker_loses_no_finished_cell(tmp_path, cluster):
    """Cell 2 kills its worker process on its first execution: the scheduler gives it to a worker again, it is
    the only cell executed twice, and the CSV is the in-process one."""
    reference = _reference(tmp_path)
    marks = tmp_path / "marks"
    marks.mkdir()
    path = tmp_path / "killed.csv"
    run_cell = functools.partial(_marked_cell, str(marks), str(path), 2)
    records.run_cells(CELLS, run_cell, records.CsvTable(path), prefix=PREFIX, executor=cluster)
    starts = _starts(marks)
    assert (marks / "killed").exists()
    assert {i: len(p) for i, p in starts.items()} == {c["i"]: 1 + (c["i"] == 2) for c in CELLS}
    assert len(set(starts[2])) == 2  # the second execution ran in another worker process
    assert path.read_text() == reference
    assert not records.pending_path(path).exists()


_DRIVER = textwrap.dedent('''
    import functools, os, sys, time, uuid
    from pathlib import Path
    from sharpsim import executors, records

    def cell(marks, phase, cell):
        (Path(marks) / f"{phase}-{cell['i']}-{uuid.uuid4().hex}").touch()
        time.sleep(0.4)
        return [{"seed": s, "value": cell["i"] / 7 + s / 3, "flag": s % 2 == 0} for s in range(3)]

    if __name__ == "__main__":
        marks, path, phase, cells = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
        with executors.DaskExecutor(workers=2, cluster_options={"dashboard_address": ":0"}) as ex:
            records.run_cells([{"i": i, "label": f"c{i}"} for i in range(cells)],
                              functools.partial(cell, marks, phase), records.CsvTable(path),
                              prefix={"config_hash": "0123456789ab"}, executor=ex)
''')


def test_a_killed_driver_resumes_with_only_the_missing_cells(tmp_path):
    """The driver (with its local cluster) is killed once 3 cells are on disk; the rerun computes exactly the
    cells not on disk and the final CSV equals an uninterrupted run's."""
    pytest.importorskip("distributed")
    cells = [{"i": i, "label": f"c{i}"} for i in range(10)]
    reference = _reference(tmp_path, cells)
    script = tmp_path / "driver.py"
    script.write_text(_DRIVER)
    marks = tmp_path / "marks"
    marks.mkdir()
    path = tmp_path / "sweep.csv"
    command = [sys.executable, str(script), str(marks), str(path)]
    first = subprocess.Popen([*command, "first", str(len(cells))], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while len(_keys_on_disk(path)) < 3 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the driver and the cluster it started
        first.wait()
    on_disk = _keys_on_disk(path)
    assert 3 <= len(on_disk) < len(cells), (on_disk, first.stderr.read().decode()[-2000:])
    second = subprocess.run([*command, "second", str(len(cells))], capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    rerun = sorted(int(p.name.split("-")[1]) for p in marks.glob("second-*"))
    assert rerun == sorted(set(range(len(cells))) - on_disk)
    assert path.read_text() == reference
    assert not records.pending_path(path).exists()


# ============================================================================ the command line
def test_cli_executor_bad_input(tmp_path, capsys):
    from sharpsim import cli

    assert cli.main(["figures", "--testing", "--out", str(tmp_path), "--executor", "dask"]) == 2
    assert "needs the scheduler's `address`" in capsys.readouterr().err
    assert cli.main(["figures", "--testing", "--out", str(tmp_path), "--workers", "2"]) == 2
    assert "need a Dask executor" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing computed


@pytest.mark.slow
def test_cli_dask_local_writes_the_in_process_csv(tmp_path):
    from sharpsim import cli, figures

    name = "bon_inference"
    figures.generate([name], out=tmp_path / "inprocess", mode="testing", progress=False, log=lambda s: None)
    assert cli.main(["figures", "--testing", "--only", name, "--out", str(tmp_path / "dask"), "--no-progress",
                     "--executor", "dask-local", "--workers", "2"]) == 0
    assert (tmp_path / "dask" / f"{name}.csv").read_text() == (tmp_path / "inprocess" / f"{name}.csv").read_text()
