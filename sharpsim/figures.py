"""The figure registry behind ``sharpsim figures``.

Each figure is one module of :mod:`sharpsim.experiments` following the figure protocol
(:mod:`sharpsim.experiments.protocol`). :func:`generate` runs a figure's sweep resumably into
``<out>/<name>.csv``, draws ``<out>/<name>.png`` and ``.pdf`` and writes
``<out>/<name>.manifest.json`` (the cells computed in this process or on a Dask cluster,
:mod:`sharpsim.executors`), then rewrites ``<out>/RATES.md`` (:func:`rates_markdown`) from the
CSVs in ``out``, so the table of fitted rates always matches the committed rows.
"""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import os
import time
import types
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt

from sharpsim import executors
from sharpsim.experiments import (
    _runner,
    adaptive_draws,
    amortization,
    bon_inference,
    exploration,
    iterated,
    lower_bound_eps,
    lower_bound_size,
    passk_crossover,
    power_sampling,
    rlhf_beta,
    rlhf_margin,
    separation,
    sft_coverage,
    xpo_dimension,
)
from sharpsim.experiments.protocol import MODES, check_figure

__all__ = ["FIGURES", "MODES", "check", "default_jobs", "generate", "rates_markdown"]

#: The registered figure modules by name, in the order :func:`generate` runs them.
FIGURES: dict[str, types.ModuleType] = {
    module.NAME: check_figure(module)
    for module in (
        bon_inference,
        sft_coverage,
        lower_bound_eps,
        lower_bound_size,
        adaptive_draws,
        separation,
        exploration,
        xpo_dimension,
        rlhf_beta,
        rlhf_margin,
        iterated,
        power_sampling,
        passk_crossover,
        amortization,
    )
}


def generate(
    names: list[str] | None = None,
    *,
    out: str | Path = "figures",
    mode: str = "quick",
    progress: bool = True,
    log: Callable[[str], None] = print,
    jobs: int = 1,
    executor=None,
) -> list[Path]:
    """Runs (or resumes) and draws the named figures.

    Args:
      names: figure names (keys of :data:`FIGURES`); ``None`` or empty for all, in registry order.
      out: the output directory (created if missing). A figure's CSV there is resumed: cells
        already computed under the same configuration are not recomputed.
      mode: one of :data:`~sharpsim.experiments.protocol.MODES` (``"testing"``, ``"quick"``,
        ``"full"``).
      progress: show a progress bar per sweep.
      log: called with one summary line per figure.
      jobs: figures computed at once (``1``: one after another, with progress bars). In this
        process (the default executor) each figure beyond the first runs in its own process; with
        a remote executor (a Dask cluster) ``jobs`` is the number of figures whose cells are in
        flight on the cluster at once, submitted from threads of this process, which alone writes
        every file, and the figures are drawn here one after another. Every figure writes only
        its own files, so the rows, the resume and the never-overwrite guarantees are those of
        ``jobs=1``; the progress bars are hidden when ``jobs > 1`` (one summary line per figure
        as it finishes).
      executor: where the cells are computed (:mod:`sharpsim.executors`); ``None``: the current
        one (:func:`sharpsim.executors.current`: this process unless set by
        :func:`sharpsim.executors.use`). The CSVs are byte for byte those of an in-process run.

    Returns:
      The files written: per figure its PNG, PDF, CSV and manifest (``<out>/RATES.md``, rewritten
      from every figure's CSV in ``out`` by :func:`check`, is not listed).

    Raises:
      ValueError: on an unknown figure name or mode, a ``jobs`` below 1, or (from the runner)
        when a CSV in ``out`` holds columns other than the sweep's.
      TypeError: ``executor`` is not an executor.
    """
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {MODES}; got {mode!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"`jobs` must be an integer >= 1; got {jobs!r}")
    names = list(FIGURES) if not names else list(dict.fromkeys(names))  # each figure once
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; available: {sorted(FIGURES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    executor = executors.resolve(executor)
    written: list[Path] = []
    if executor.remote:
        # the cells go to the cluster; this process writes every file, from one thread per figure in flight
        one = jobs == 1 or len(names) == 1
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(jobs, len(names))) as pool:
            sweeps = {name: pool.submit(_sweep, name, out, mode, progress and one, executor) for name in names}
            try:
                to_draw, running = list(names), set(sweeps.values())
                while to_draw:
                    finished, running = concurrent.futures.wait(running, return_when="FIRST_COMPLETED")
                    for future in finished:
                        if future.exception() is not None:
                            raise future.exception()
                    while to_draw and sweeps[to_draw[0]].done():  # drawn here in order (pyplot: one thread)
                        name = to_draw.pop(0)
                        files, line = _draw(name, out, mode, *sweeps[name].result())
                        written += files
                        log(line)
            except BaseException:  # one figure failed (or Ctrl-C): stop the others' cells too
                pool.shutdown(wait=False, cancel_futures=True)
                cancel = getattr(executor, "cancel", None)
                if cancel is not None:
                    cancel()
                raise
    elif jobs == 1 or len(names) == 1:
        for name in names:
            files, line = _generate_one(name, out, mode, progress, executor)
            written += files
            log(line)
    else:
        # spawn, not fork: a forked child of a process running XLA's threads may deadlock
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(names)), mp_context=ctx) as pool:
            futures = {pool.submit(_generate_one, name, out, mode, False): name for name in names}
            done = {}
            for future in concurrent.futures.as_completed(futures):
                files, line = future.result()
                done[futures[future]] = files
                log(line)
        written = [f for name in names for f in done[name]]
    (out / "RATES.md").write_text(rates_markdown(check(out=out, mode=mode), mode=mode))
    return written


def _sweep(name: str, out: Path, mode: str, progress: bool, executor=None) -> tuple[list[dict], float]:
    """One figure's sweep (resumed from ``<out>/<name>.csv``); returns its rows and the seconds it took."""
    module = FIGURES[name]
    config = module.CONFIGS[mode]
    start = time.perf_counter()
    rows = _runner.run_sweep(
        module.cells(config),
        functools.partial(module.run_cell, config),  # pickles by reference: a worker imports the module
        out / f"{name}.csv",
        config=config,
        progress=progress,
        desc=name,
        executor=executor,
    )
    return rows, time.perf_counter() - start


def _draw(name: str, out: Path, mode: str, rows: list[dict], seconds: float) -> tuple[list[Path], str]:
    """One figure's drawing and manifest from its rows; returns the files written and the summary line."""
    module = FIGURES[name]
    config = module.CONFIGS[mode]
    start = time.perf_counter()
    fig = module.draw(rows, config)
    files = [out / f"{name}.png", out / f"{name}.pdf"]
    fig.savefig(files[0], dpi=150)
    fig.savefig(files[1])
    plt.close(fig)
    files.append(out / f"{name}.csv")
    manifest = out / f"{name}.manifest.json"
    seconds += time.perf_counter() - start
    _runner.write_manifest(manifest, name=name, mode=mode, config=config, files=[f.name for f in files],
                           seconds=seconds)
    return [*files, manifest], f"{name}: {len(rows)} rows, {seconds:.1f}s -> {out}/{name}.png"


def _generate_one(name: str, out: Path, mode: str, progress: bool, executor=None) -> tuple[list[Path], str]:
    """One figure's sweep, drawing and manifest; returns the files written and the summary line."""
    return _draw(name, out, mode, *_sweep(name, out, mode, progress, executor))


def default_jobs(executor=None) -> int:
    """The default ``jobs`` of :func:`generate` (and of ``sharpsim figures``).

    Args:
      executor: the executor the figures will use (``None``: the current one).

    Returns:
      With a remote executor (a cluster), every registered figure at once; otherwise the CPUs
      this process may run on (``os.sched_getaffinity``; ``os.cpu_count()`` elsewhere).

    Raises:
      TypeError: ``executor`` is not an executor.
    """
    if executors.resolve(executor).remote:
        return len(FIGURES)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: The header of the rates table (:func:`check`, :func:`rates_markdown`).
RATE_COLUMNS = ("figure", "fitted", "theory", "measured", "seed bootstrap", "grid resolution", "verdict",
                "crossing at a grid edge")


def check(*, out: str | Path = "figures", mode: str = "quick") -> list[list[str]]:
    """The fitted rates of every registered figure, read from the CSVs in ``out``.

    A figure whose module defines ``rates(rows, config)`` (:mod:`sharpsim.experiments.protocol`)
    gives one row per fitted exponent (:meth:`sharpsim.experiments.engine.Rate.cells`); the others
    give one row saying "no fitted rate", and a figure without rows of ``mode``'s configuration in
    ``out`` one saying "not generated". Nothing is computed beyond the fits.

    Args:
      out: the directory holding ``<name>.csv``.
      mode: the configuration whose rows are read (one of :data:`MODES`).

    Returns:
      The table's rows (strings, in the order of :data:`RATE_COLUMNS`).

    Raises:
      ValueError: on an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {MODES}; got {mode!r}")
    out = Path(out)
    table = []
    for name, module in FIGURES.items():
        config = module.CONFIGS[mode]
        digest = _runner.config_hash(config)
        rows = [r for r in _runner.read_rows(out / f"{name}.csv") if r.get("config_hash") == digest]
        if not hasattr(module, "rates"):
            table.append([name, "no fitted rate", "", "", "", "", "", ""])
        elif not rows:
            table.append([name, f"not generated in {out} ({mode})", "", "", "", "", "", ""])
        else:
            table += [rate.cells() for rate in module.rates(rows, config)]
    return table


def rates_markdown(table: list[list[str]], *, mode: str = "quick") -> str:
    """The rates table of :func:`check` as a Markdown document (``figures/RATES.md``).

    Args:
      table: the rows of :func:`check`.
      mode: the mode the rows were read for (stated in the heading).

    Returns:
      The document's text.
    """
    lines = [
        "# Fitted rates of the figures",
        "",
        f"Generated by `sharpsim figures` from the CSVs beside this file ({mode} settings); "
        "`sharpsim figures --check` prints the same table.",
        "",
        "Each fitted exponent is the least-squares slope of log m* on log x. *Seed bootstrap*: the 95 % "
        "percentile interval over resampled seeds. *Grid resolution*: the slopes allowed when each m* may lie "
        "anywhere between the last failing and the first passing budget of its grid. *Verdict*: the theory's "
        "exponent lies in the hull of the two intervals (agrees), or the hull is shallower (closer to 0) or steeper "
        "than it (disagrees). Most theory exponents here are those of upper bounds, so *shallower* is a rate at "
        "least as good as the bound's, not a contradiction. A degenerate interval is "
        "marked so; *crossing at a grid edge* lists the x whose crossing is not interior.",
        "",
        "| " + " | ".join(RATE_COLUMNS) + " |",
        "|" + "---|" * len(RATE_COLUMNS),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table]
    return "\n".join(lines) + "\n"
