"""Benchmark: SFT-Sharpening trials per second, sharpsim against a plain NumPy reference.

Same as ``sharpsim bench sft [--quick] [--json] [--repeats R] [--no-per-core]``;
see :func:`sharpsim.bench.bench_sft`.
"""

from __future__ import annotations

import sys

from sharpsim import bench

if __name__ == "__main__":
    sys.exit(bench.main(["sft", *sys.argv[1:]]))
