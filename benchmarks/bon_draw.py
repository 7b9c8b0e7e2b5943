"""Benchmark: exact best-of-N draws against a plain NumPy literal reference, in one run.

Same as ``sharpsim bench bon [--quick] [--json] [--repeats R] [--no-per-core]``;
see :func:`sharpsim.bench.bench_bon`.
"""

from __future__ import annotations

import sys

from sharpsim import bench

if __name__ == "__main__":
    sys.exit(bench.main(["bon", *sys.argv[1:]]))
