"""Benchmark: resident memory and XLA compilations of an eager loop over distinct budgets.

Same as ``sharpsim bench memory [--quick] [--json]``; see :func:`sharpsim.bench.bench_memory`.
"""

from __future__ import annotations

import sys

from sharpsim import bench

if __name__ == "__main__":
    sys.exit(bench.main(["memory", *sys.argv[1:]]))
