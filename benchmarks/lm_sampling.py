"""Benchmark: tokens/s of the bridge's batched sampler (N = 50 per prompt, prompt encoded once)
against a naive one-sample-per-``generate`` loop, on the same model in one run; on CUDA also the
decode roofline. See :func:`sharpsim.bridge.bench.bench_sampling`.

    python benchmarks/lm_sampling.py [--quick] [--json] [--model DIR] [--device cuda] [--out FILE]
"""

from __future__ import annotations

import sys

from sharpsim.bridge import bench

if __name__ == "__main__":
    sys.exit(bench.main(sys.argv[1:]))
