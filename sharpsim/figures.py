"""The figure registry behind ``sharpsim figures``.

Each figure is one module of :mod:`sharpsim.experiments` following the figure protocol
(:mod:`sharpsim.experiments.protocol`). :func:`generate` runs a figure's sweep resumably into
``<out>/<name>.csv``, draws ``<out>/<name>.png`` and ``.pdf`` and writes
``<out>/<name>.manifest.json``.
"""

from __future__ import annotations

import functools
import time
import types
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt

from sharpsim.experiments import (
    _runner,
    adaptive_draws,
    bon_inference,
    exploration,
    lower_bound_eps,
    lower_bound_size,
    rlhf_beta,
    rlhf_margin,
    separation,
    sft_coverage,
)
from sharpsim.experiments.protocol import MODES, check_figure

__all__ = ["FIGURES", "MODES", "generate"]

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
        rlhf_beta,
        rlhf_margin,
    )
}


def generate(
    names: list[str] | None = None,
    *,
    out: str | Path = "figures",
    mode: str = "quick",
    progress: bool = True,
    log: Callable[[str], None] = print,
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

    Returns:
      The files written: per figure its PNG, PDF, CSV and manifest.

    Raises:
      ValueError: on an unknown figure name or mode, or (from the runner) when a CSV in ``out``
        holds columns other than the sweep's.
    """
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {MODES}; got {mode!r}")
    names = list(FIGURES) if not names else names
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; available: {sorted(FIGURES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in names:
        module = FIGURES[name]
        config = module.CONFIGS[mode]
        start = time.perf_counter()
        rows = _runner.run_sweep(
            module.cells(config),
            functools.partial(module.run_cell, config),
            out / f"{name}.csv",
            config=config,
            progress=progress,
            desc=name,
        )
        fig = module.draw(rows, config)
        files = [out / f"{name}.png", out / f"{name}.pdf"]
        fig.savefig(files[0], dpi=150)
        fig.savefig(files[1])
        plt.close(fig)
        files.append(out / f"{name}.csv")
        manifest = out / f"{name}.manifest.json"
        _runner.write_manifest(
            manifest,
            name=name,
            mode=mode,
            config=config,
            files=[f.name for f in files],
            seconds=time.perf_counter() - start,
        )
        written += [*files, manifest]
        log(f"{name}: {len(rows)} rows, {time.perf_counter() - start:.1f}s -> {out}/{name}.png")
    return written
