"""Benchmark: SFT-Sharpening trials per second against devices, Dask workers, |Y| and seeds.

Same as ``sharpsim bench scale [--quick] [--json] [--devices 1,2,4] [--workers 1,2] [--seeds S]
[--responses LIST] [--seeds-sweep LIST] [--repeats R] [--out DIR]``; writes ``scale.csv``,
``scale.json`` and ``scale.png`` under ``--out`` (default ``benchmarks/scale``). See
:func:`sharpsim.bench.bench_scale`.
"""

from __future__ import annotations

import sys

from sharpsim import bench

if __name__ == "__main__":
    sys.exit(bench.main(["scale", *sys.argv[1:]]))
