"""Benchmark: exact best-of-N draws against a plain NumPy literal reference, in one run.

The reference is written the way a researcher would: for each prompt draw N responses with
``rng.choice`` and keep the most likely. sharpsim's path draws each pick from the exact BoN law
in O(log |Y|) (``sharpsim.oracle.best_of_n(method="exact")``), jitted. Both run in this process
on the same problem; the script checks that they give the same law of picks (a chi-square
two-sample test on the pick's probability rank, stated false-failure rate 1e-3) and prints the
throughput ratio (picks per second). Usage::

    python benchmarks/bon_draw.py [--responses 1000] [--N 256] [--picks 20000] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np
from scipy import stats

import sharpsim as ss
from sharpsim import oracle, problems


def numpy_reference(rng: np.random.Generator, probs: np.ndarray, prompts: np.ndarray, N: int) -> np.ndarray:
    picks = np.empty(len(prompts), dtype=np.int64)
    for i, x in enumerate(prompts):
        draws = rng.choice(probs.shape[1], size=N, p=probs[x])
        picks[i] = draws[np.argmax(probs[x, draws])]
    return picks


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--responses", type=int, default=1000)
    parser.add_argument("--coverage", type=float, default=50.0)
    parser.add_argument("--N", type=int, default=256)
    parser.add_argument("--picks", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    problem = problems.with_coverage(jax.random.key(0), args.prompts, args.responses, args.coverage)
    probs = np.asarray(problem.probs)
    rng = np.random.default_rng(0)
    prompts = rng.integers(0, args.prompts, size=args.picks)

    t0 = time.perf_counter()
    ref = numpy_reference(rng, probs, prompts, args.N)
    t_ref = time.perf_counter() - t0

    def picks(key, problem, N):  # the problem is an argument: closing over it makes XLA
        batch = oracle.best_of_n(key, problem, args.picks, N)  # constant-fold the sort
        return batch.prompts, batch.responses

    draw = jax.jit(picks)
    jax.block_until_ready(draw(jax.random.key(1), problem, args.N))  # compile outside the timing
    t0 = time.perf_counter()
    fast_prompts, fast = jax.block_until_ready(draw(jax.random.key(2), problem, args.N))
    t_fast = time.perf_counter() - t0
    fast_prompts, fast = np.asarray(fast_prompts), np.asarray(fast)

    # Same law? Compare the rank (by probability, 0 = arg-max) of the picks, lumped into bins.
    order = np.argsort(-probs, axis=1)
    rank = np.argsort(order, axis=1)
    r_ref = rank[prompts, ref]
    r_fast = rank[fast_prompts, fast]
    bins = [0, 1, 2, 4, 8, 16, args.responses]
    h_ref = np.histogram(r_ref, bins)[0]
    h_fast = np.histogram(r_fast, bins)[0]
    keep = (h_ref + h_fast) > 0
    _, p_value, _, _ = stats.chi2_contingency(np.stack([h_ref[keep], h_fast[keep]]))
    exact_hit = ss.bon_success_probability(problem, args.N)

    result = {
        "benchmark": "bon_draw",
        "config": vars(args),
        "numpy_picks_per_s": args.picks / t_ref,
        "sharpsim_picks_per_s": args.picks / t_fast,
        "ratio": t_ref / t_fast,
        "same_law_p_value": float(p_value),
        "same_law": bool(p_value > 1e-3),  # false-failure rate 1e-3 when the laws agree
        "hit_rate_numpy": float(np.mean(r_ref == 0)),
        "hit_rate_sharpsim": float(np.mean(r_fast == 0)),
        "hit_rate_exact": exact_hit,
        "device": str(jax.devices()[0]),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"BoN picks/s: numpy literal {result['numpy_picks_per_s']:.0f}, sharpsim exact "
            f"{result['sharpsim_picks_per_s']:.0f}  -> ratio {result['ratio']:.0f}x  "
            f"(same law: p={p_value:.3f}; hit rates {result['hit_rate_numpy']:.4f} / "
            f"{result['hit_rate_sharpsim']:.4f}, exact {exact_hit:.4f})"
        )
    return result


if __name__ == "__main__":
    main()
