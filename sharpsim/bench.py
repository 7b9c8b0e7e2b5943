"""Benchmarks behind ``sharpsim bench NAME [--quick] [--json]`` (and ``benchmarks/*.py``).

Every benchmark runs sharpsim and a plain NumPy reference — written the way a researcher
would — in the same process on the same configuration, checks that both produce the same
distribution of outcomes (a two-sample test with a stated false-failure rate), and reports
the throughput *ratio*, never an absolute time as a target.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import sharpsim as ss
from sharpsim import classes, oracle, problems

# SciPy's statistics and the algorithms are imported where used, so that `sharpsim`'s argument
# parser (which calls add_arguments) stays quick to build.

#: Two-sample tests fail a true "same law" with this probability.
SAME_LAW_ALPHA = 1e-3


def _timed(fn, *args, repeats: int = 3):
    """Best-of-``repeats`` wall time of ``fn(*args)`` (after one warm-up call), and its output."""
    out = jax.block_until_ready(fn(*args))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best, out


# --------------------------------------------------------------------------------- SFT
def sft_numpy_trial(rng: np.random.Generator, probs: np.ndarray, mu: np.ndarray, star: np.ndarray,
                    n: int, N: int, delta: float) -> float:
    """One SFT-Sharpening trial, literally: for each prompt draw N responses with ``rng.choice``,
    keep the most likely, count, fit empirical frequencies, return the exact ``err_δ``."""
    X, Y = probs.shape
    prompts = rng.choice(X, size=n, p=mu)
    counts = np.zeros((X, Y))
    for x in prompts:
        draws = rng.choice(Y, size=N, p=probs[x])
        counts[x, draws[np.argmax(probs[x, draws])]] += 1
    visits = counts.sum(axis=1)
    fitted = np.where(visits[:, None] > 0, counts / np.maximum(visits, 1)[:, None], 1.0 / Y)
    mass = fitted[np.arange(X), star]
    return float(mu[mass < 1 - delta].sum())


def bench_sft(*, quick: bool = False, seed: int = 0, per_core: bool = True, repeats: int | None = None) -> dict:
    """SFT-Sharpening trials per second: sharpsim (exact BoN draws, vmapped seeds) against
    :func:`sft_numpy_trial`, on ``|X| = |Y| = n = 1000``, ``N = 256`` (smaller with ``quick``).

    sharpsim sorts ``π_base`` once per problem (``bon_sampler``; independent of N) and reuses it
    for every batch of seeds; ``ratio`` is the steady-state throughput ratio and
    ``ratio_including_precompute`` charges that one-off sort to this batch of seeds. Also
    reports sharpsim's cost per trial as N grows (target: flat) and as n grows (linear).

    With ``per_core`` it also measures the ratio with each side on one core
    (:func:`per_core_ratio`: one process per side, pinned to the same CPU, one thread each,
    interleaved repeats), which does not depend on how many cores sharpsim could otherwise use.

    Args:
      quick: |X| = |Y| = n = 300, 64 seeds, 16 reference trials (seconds).
      seed: seed of the problem, the keys and the reference's generator.
      per_core: also measure the per-core ratio (``result["per_core"]``).
      repeats: interleaved repeats of the per-core measurement (default 5; 3 with ``quick``).

    Returns:
      A JSON-ready dict: ``ratio`` (the whole machine), ``per_core`` (see :func:`per_core_ratio`),
      ``devices`` (:func:`device_info`), the throughputs, the same-law test and the scaling in N and n.

    Raises:
      ValueError: if ``repeats < 1``.
      RuntimeError: if a per-core worker fails.
    """
    from sharpsim.algorithms import sft_sharpening

    X = Y = n = 300 if quick else 1000
    N, seeds, ref_trials, coverage, delta = 256, (64 if quick else 256), (16 if quick else 64), 50.0, 0.1
    problem = problems.with_coverage(jax.random.key(seed), X, Y, coverage)
    probs = np.asarray(problem.probs)
    mu = np.asarray(problem.prompt_probs)
    star = probs.argmax(axis=1)
    model_class = classes.TabularClass(X, Y)

    def errors(keys, problem, sampler, n, N):
        return jax.vmap(lambda k: sft_sharpening(k, problem, model_class, n=n, N=N, delta=delta,
                                                 return_policy=False, sampler=sampler).error)(keys)

    jitted = jax.jit(errors, static_argnames=("n",))
    # The exact BoN law's level table is computed once per problem, outside the seed loop (for
    # every N: it does not depend on N); its cost is reported separately.
    t_prep, sampler = _timed(jax.jit(ss.bon_sampler), problem)

    def run(keys, problem, n, N):
        return jitted(keys, problem, sampler, n, N)

    keys = jax.random.split(jax.random.key(seed + 1), seeds)
    t_fast, err_fast = _timed(run, keys, problem, n, jnp.asarray(N))
    err_fast = np.asarray(err_fast)

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    err_ref = np.array([sft_numpy_trial(rng, probs, mu, star, n, N, delta) for _ in range(ref_trials)])
    t_ref = time.perf_counter() - t0

    fast_tps, ref_tps = seeds / t_fast, ref_trials / t_ref
    from scipy import stats

    p_value = float(stats.ks_2samp(err_fast, err_ref).pvalue)

    per_N = {}
    for NN in (16, 64, 256, 1024, 4096):
        t, _ = _timed(run, keys, problem, n, jnp.asarray(NN), repeats=2)
        per_N[NN] = t / seeds
    per_n = {}
    for nn in ((n // 4, n // 2, n, 2 * n) if quick else (n // 4, n // 2, n, 2 * n, 4 * n)):
        t, _ = _timed(run, keys, problem, nn, jnp.asarray(N), repeats=2)
        per_n[nn] = t / seeds
    ns = np.array(list(per_n), float)
    slope_n = float(np.polyfit(np.log(ns), np.log(list(per_n.values())), 1)[0])
    Ns = np.array(list(per_N), float)
    slope_N = float(np.polyfit(np.log(Ns), np.log(list(per_N.values())), 1)[0])
    result = {
        "benchmark": "sft",
        "config": {"num_prompts": X, "num_responses": Y, "n": n, "N": N, "seeds": seeds,
                   "reference_trials": ref_trials, "coverage": coverage, "delta": delta, "quick": quick},
        "sharpsim_trials_per_s": fast_tps,
        "precompute_seconds": t_prep,
        "ratio_including_precompute": (seeds / (t_fast + t_prep)) / ref_tps,
        "reference_trials_per_s": ref_tps,
        "ratio": fast_tps / ref_tps,
        "same_law_p_value": p_value,
        "same_law": p_value > SAME_LAW_ALPHA,
        "mean_error_sharpsim": float(err_fast.mean()),
        "mean_error_reference": float(err_ref.mean()),
        "seconds_per_trial_vs_N": {str(k): v for k, v in per_N.items()},
        "log_log_slope_vs_N": slope_N,
        "seconds_per_trial_vs_n": {str(k): v for k, v in per_n.items()},
        "log_log_slope_vs_n": slope_n,
        "device": str(jax.devices()[0]),
        "devices": device_info(),
    }
    if per_core:
        result["per_core"] = per_core_ratio(
            f"{__name__}:side_sft_sharpsim",
            {"num_prompts": X, "n": n, "N": N, "seeds": seeds, "coverage": coverage, "delta": delta, "seed": seed},
            f"{__name__}:side_sft_reference",
            {"num_prompts": X, "n": n, "N": N, "trials": 2, "coverage": coverage, "delta": delta, "seed": seed},
            repeats=_repeats(repeats, quick), min_seconds=_min_seconds(quick), unit="trials")
    return result


# --------------------------------------------------------------------------------- BoN
def bon_numpy_picks(rng: np.random.Generator, probs: np.ndarray, prompts: np.ndarray, N: int) -> np.ndarray:
    """Literal BoN picks: ``rng.choice`` N responses per prompt, keep the most likely."""
    picks = np.empty(len(prompts), dtype=np.int64)
    for i, x in enumerate(prompts):
        draws = rng.choice(probs.shape[1], size=N, p=probs[x])
        picks[i] = draws[np.argmax(probs[x, draws])]
    return picks


def bench_bon(*, quick: bool = False, seed: int = 0, num_prompts: int = 100, num_responses: int = 1000,
              coverage: float = 50.0, N: int = 256, picks: int = 20000, per_core: bool = True,
              repeats: int | None = None) -> dict:
    """BoN picks per second: exact O(log |Y|) draws against :func:`bon_numpy_picks`.

    Args:
      quick: at most 4000 picks.
      seed: seed of the problem, the keys and the reference's generator.
      num_prompts, num_responses, coverage: the ``problems.with_coverage`` problem.
      N: draws per pick.
      picks: picks per timed call.
      per_core: also measure the ratio with each side on one core (:func:`per_core_ratio`).
      repeats: interleaved repeats of the per-core measurement (default 5; 3 with ``quick``).

    Returns:
      A JSON-ready dict: ``ratio`` (the whole machine), ``per_core``, ``devices``, the throughputs,
      the same-law test and the hit rates.

    Raises:
      ValueError: if ``repeats < 1``.
      RuntimeError: if a per-core worker fails.
    """
    if quick:
        picks = min(picks, 4000)
    problem = problems.with_coverage(jax.random.key(seed), num_prompts, num_responses, coverage)
    probs = np.asarray(problem.probs)
    rng = np.random.default_rng(seed)
    prompts = rng.integers(0, num_prompts, size=picks)
    t0 = time.perf_counter()
    ref = bon_numpy_picks(rng, probs, prompts, N)
    t_ref = time.perf_counter() - t0

    def draw(key, problem, N):  # the problem is an argument: closing over it makes XLA
        batch = oracle.sample_best_of_n(key, problem, picks, N)  # constant-fold the sort
        return batch.prompts, batch.responses

    t_fast, (fast_prompts, fast) = _timed(jax.jit(draw), jax.random.key(seed + 1), problem, N)
    fast_prompts, fast = np.asarray(fast_prompts), np.asarray(fast)
    rank = np.argsort(np.argsort(-probs, axis=1), axis=1)  # 0 = arg-max
    bins = [0, 1, 2, 4, 8, 16, num_responses]
    h_ref = np.histogram(rank[prompts, ref], bins)[0]
    h_fast = np.histogram(rank[fast_prompts, fast], bins)[0]
    keep = (h_ref + h_fast) > 0
    from scipy import stats

    p_value = float(stats.chi2_contingency(np.stack([h_ref[keep], h_fast[keep]]))[1]) if keep.sum() > 1 else 1.0
    result = {
        "benchmark": "bon",
        "config": {"num_prompts": num_prompts, "num_responses": num_responses, "coverage": coverage, "N": N,
                   "picks": picks, "quick": quick},
        "sharpsim_picks_per_s": picks / t_fast,
        "reference_picks_per_s": picks / t_ref,
        "ratio": t_ref / t_fast,
        "same_law_p_value": p_value,
        "same_law": p_value > SAME_LAW_ALPHA,
        "hit_rate_reference": float(np.mean(rank[prompts, ref] == 0)),
        "hit_rate_sharpsim": float(np.mean(rank[fast_prompts, fast] == 0)),
        "hit_rate_exact": ss.bon_success_probability(problem, N),
        "device": str(jax.devices()[0]),
        "devices": device_info(),
    }
    if per_core:
        cfg = {"num_prompts": num_prompts, "num_responses": num_responses, "coverage": coverage, "N": N, "seed": seed}
        result["per_core"] = per_core_ratio(f"{__name__}:side_bon_sharpsim", {**cfg, "picks": picks},
                                            f"{__name__}:side_bon_reference", {**cfg, "picks": min(picks, 1000)},
                                            repeats=_repeats(repeats, quick), min_seconds=_min_seconds(quick),
                                            unit="picks")
    return result


BENCHMARKS = {"sft": bench_sft, "bon": bench_bon}


#: Benchmarks with a sharpsim/reference ratio, hence a per-core ratio (``per_core``, ``repeats``).
PER_CORE_BENCHMARKS = ("sft", "bon", "xpo")


def _repeats(repeats: int | None, quick: bool) -> int:
    return (3 if quick else 5) if repeats is None else repeats


def _min_seconds(quick: bool) -> float:
    """The least duration of one per-core repeat of each side."""
    return 0.1 if quick else 0.5


def _devices_line(devices: dict | None) -> str:
    if not devices:
        return "  devices: not recorded"
    return (f"  devices: {devices['platform']} ({devices['device_kind']}), {devices['num_devices']} device(s), "
            f"{devices.get('process_count', 1)} process(es)")


def report(result: dict) -> str:
    """A human-readable summary of a benchmark result.

    Args:
      result: what a function of :data:`BENCHMARKS` returned.

    Returns:
      A few lines: the whole-machine ratio, the per-core ratio with its spread (where measured),
      the devices and the benchmark's other figures.
    """
    if result["benchmark"] == "memory":
        return _memory_report(result) + "\n" + _devices_line(result.get("devices"))
    if result["benchmark"] == "scale":
        return _scale_report(result)
    p = result["same_law_p_value"]
    lines = [f"benchmark {result['benchmark']}: ratio {result['ratio']:.0f}x (sharpsim / NumPy reference, "
             f"whole machine: {os.cpu_count()} CPUs), same law: {result['same_law']}"
             + ("" if p is None else f" (p = {p:.3g})")]
    if "per_core" in result:
        lines.append(_per_core_line(result["benchmark"], result["per_core"]))
    if "regression" in result:
        reg = result["regression"]
        lines.append(f"  Eq 8 ball regression: ratio {reg['ratio']:.0f}x against SciPy SLSQP "
                     f"(max relative objective gap {reg['max_relative_objective_gap']:.1e})")
        if "per_core" in reg:
            lines.append(_per_core_line("regression", reg["per_core"]))
    for key in ("seconds_per_trial_vs_N", "seconds_per_trial_vs_n"):
        if key in result:
            pretty = ", ".join(f"{k}: {v * 1e3:.3f} ms" for k, v in result[key].items())
            lines.append(f"  {key}: {pretty} (log-log slope {result['log_log_slope_vs_' + key[-1]]:.2f})")
    lines.append(_devices_line(result.get("devices")))
    return "\n".join(lines)


def _int_list(text: str) -> list[int]:
    """``"1,2,4"`` -> ``[1, 2, 4]``; ``""`` -> ``[]`` (argparse type of the scale lists)."""
    try:
        values = [int(float(t)) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``sharpsim bench`` beyond ``NAME``, ``--quick`` and ``--json``.

    ``--repeats R`` and ``--no-per-core`` (the per-core ratio of sft, bon, xpo), and the options of
    ``sharpsim bench scale``: ``--devices``, ``--workers``, ``--seeds``, ``--responses``,
    ``--seeds-sweep``, ``--out``, ``--xla-default-threads``.

    Args:
      parser: the ``bench`` (sub)parser.
    """
    parser.add_argument("--repeats", type=int, default=None, metavar="R",
                        help="interleaved repeats of the per-core ratio (default 5; 3 with --quick); for scale, "
                        "timed repeats of every point (default 3)")
    parser.add_argument("--no-per-core", action="store_true",
                        help="skip the per-core ratio (each side in its own process pinned to one CPU, one thread)")
    scale = parser.add_argument_group("scale", "options of `sharpsim bench scale`")
    scale.add_argument("--devices", type=_int_list, default=None, metavar="LIST",
                       help="forced host device counts (default 1,2,4; '' skips)")
    scale.add_argument("--workers", type=_int_list, default=None, metavar="LIST",
                       help="Dask LocalCluster worker counts (default 1,2; '' skips; needs sharpsim[cluster])")
    scale.add_argument("--seeds", type=int, default=None, metavar="S",
                       help="seeds per timed repeat (default 2048; 256 with --quick)")
    scale.add_argument("--responses", type=_int_list, default=None, metavar="LIST",
                       help="|Y| of the per-trial cost sweep (default 100,...,1000000)")
    scale.add_argument("--seeds-sweep", type=_int_list, default=None, metavar="LIST",
                       help="seed counts of the per-trial cost sweep (default 10,...,10000)")
    scale.add_argument("--out", default="benchmarks/scale", metavar="DIR",
                       help="folder of scale.csv, scale.json and scale.png (default benchmarks/scale)")
    scale.add_argument("--xla-default-threads", action="store_true",
                       help="leave XLA's threading as is in the device and Dask processes (default: one thread)")


def run(args: argparse.Namespace) -> dict:
    """Runs the benchmark ``args.name`` with the options of :func:`add_arguments`.

    Args:
      args: parsed ``sharpsim bench`` arguments (``name``, ``quick`` and the options of
        :func:`add_arguments`; missing ones take their defaults).

    Returns:
      The benchmark's JSON-ready result.

    Raises:
      ValueError: on an unknown benchmark or a bad option.
      ImportError: ``scale`` with Dask workers and ``distributed`` missing.
    """
    if args.name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {args.name!r}; available: {sorted(BENCHMARKS)}")
    repeats = getattr(args, "repeats", None)
    if repeats is not None and repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {repeats}")
    if args.name == "scale":
        kwargs = {k: getattr(args, a) for k, a in (("devices", "devices"), ("workers", "workers"), ("seeds", "seeds"),
                                                   ("responses", "responses"), ("seeds_sweep", "seeds_sweep"))
                  if getattr(args, a, None) is not None}
        return bench_scale(quick=args.quick, repeats=3 if repeats is None else repeats,
                           out=getattr(args, "out", "benchmarks/scale"),
                           single_thread=not getattr(args, "xla_default_threads", False), **kwargs)
    if args.name in PER_CORE_BENCHMARKS:
        return BENCHMARKS[args.name](quick=args.quick, per_core=not getattr(args, "no_per_core", False),
                                     repeats=repeats)
    return BENCHMARKS[args.name](quick=args.quick)


def run_cli(args: argparse.Namespace) -> int:
    """The ``sharpsim bench`` handler: runs :func:`run` and prints the JSON or :func:`report`.

    Args:
      args: parsed ``sharpsim bench`` arguments (``json`` included).

    Returns:
      0, or 2 when ``scale`` needs ``distributed`` and it is missing (the error printed to stderr).

    Raises:
      ValueError: on an unknown benchmark or a bad option (the CLI prints it and exits with 2).
    """
    try:
        result = run(args)
    except ImportError as err:
        print(f"sharpsim bench: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


def main(argv=None) -> int:
    """Runs ``sharpsim bench NAME [--quick] [--json] [options]`` (the scripts of ``benchmarks/``).

    Args:
      argv: the arguments (default ``sys.argv[1:]``).

    Returns:
      The exit code: 0, or 2 on a bad option.
    """
    parser = argparse.ArgumentParser(prog="sharpsim bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_cli(args)
    except ValueError as err:
        print(f"sharpsim bench: error: {err}", file=sys.stderr)
        return 2


# ------------------------------------------------------------------------------ memory
def _rss_mb() -> float:
    """Resident set size of this process in MiB (``/proc/self/statm``; ``ru_maxrss`` elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the peak, in KiB on Linux/BSD, bytes on macOS
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _memory_loop(calls, run, checkpoints: int = 5) -> dict:
    """Runs ``run(i)`` for ``i < calls``; RSS and compile count before, at checkpoints, after."""
    from sharpsim.algorithms._buckets import compile_count

    rss0, comp0, t0 = _rss_mb(), compile_count(), time.perf_counter()
    marks = {}
    every = max(1, calls // checkpoints)
    half = None
    for i in range(calls):
        jax.block_until_ready(run(i))
        if i == calls // 2:
            half = _rss_mb()
        if (i + 1) % every == 0 or i + 1 == calls:
            marks[str(i + 1)] = round(_rss_mb() - rss0, 1)
    rss1 = _rss_mb()
    return {"calls": calls, "seconds": time.perf_counter() - t0, "compiles": compile_count() - comp0,
            "rss_growth_mb": rss1 - rss0, "rss_growth_second_half_mb": rss1 - half,
            "rss_growth_mb_at_call": marks}


def bench_memory(*, quick: bool = False, seed: int = 0, baseline: bool | None = None) -> dict:
    """Memory and compilations of a plain loop over distinct budgets on one fixed problem.

    The loop a researcher writes first: eager calls
    ``sft_sharpening(key, problem, TabularClass(), n=n, N=N)`` with every ``(n, N)`` distinct
    (1000 calls; 60 with ``quick``), on a member of the App H family (|X| = 9, |Y| = 42), then
    ``adaptive_sft_sharpening`` with every ``(n, stop_level)`` distinct, ``best_of_n``, and
    ``rlhf_sharpening(..., TabularClass(), n=n, beta=β)`` with every ``(n, β)`` distinct, and
    ``xpo`` with every ``(T, α)`` distinct (T <= 256; 32 with ``quick``) on
    ``hidden_direction(3, 8)``. Reports
    the resident-memory growth and the XLA compilations of each loop against the number of
    power-of-two buckets of ``n`` (XPO: ``T``) it touched (the compile bound of the default, bucketed path;
    :mod:`sharpsim.algorithms._buckets`). With ``baseline`` (default: not ``quick``) it also runs
    a few calls with ``bucketed=False`` and reports their growth per distinct shape. Memory is
    noisy and depends on the platform, so it is reported, never asserted here.

    Args:
      quick: 60 calls per loop and n, T <= 32 (2 buckets) instead of 1000 calls, n <= 1000
        (7 buckets) and T <= 256 (5 buckets).
      seed: seed of the problem and of the calls' keys.
      baseline: whether to measure the unbucketed path too (slow: about a second per shape).

    Returns:
      A JSON-ready dict: per loop ``calls``, ``compiles``, ``buckets_touched``,
      ``compile_bound_holds`` (compiles <= buckets touched), ``rss_growth_mb`` and timings.
    """
    from sharpsim.algorithms import adaptive_sft_sharpening, best_of_n, rlhf_sharpening, sft_sharpening, xpo
    from sharpsim.algorithms._buckets import bucket

    baseline = (not quick) if baseline is None else baseline
    calls = 60 if quick else 1000
    max_n = 32 if quick else 1000
    inst = problems.lower_bound_family(jax.random.key(seed), d=8, C=2.0, eps=0.05)
    problem, tab = inst.problem, classes.TabularClass()
    keys = list(jax.random.split(jax.random.key(seed + 1), calls))  # unstacked before measuring
    rng = np.random.default_rng(seed)
    # every (n, N) distinct: n cycles through 1..max_n in a random order, N = 1 + i (distinct)
    ns = [int(x) for x in (rng.permutation(max_n)[np.arange(calls) % max_n] + 1)]
    # XPO: distinct (T, α), T cycling through 1..max_T rounds, on a hidden-direction instance
    max_T = 32 if quick else 256
    Ts = [int(x) for x in (rng.permutation(max_T)[np.arange(calls) % max_T] + 1)]
    lin_problem, feats = problems.hidden_direction(3, 8, bias=1.0)
    lin_class = classes.LinearSoftmaxClass(feats, 3.0)
    loops = {
        "sft": lambda i: sft_sharpening(keys[i], problem, tab, n=ns[i], N=1 + i, delta=0.1, gamma=0.5).error,
        "adaptive_sft": lambda i: adaptive_sft_sharpening(keys[i], problem, tab, n=ns[i],
                                                          stop_level=1.0 + i / calls, delta=0.1, gamma=0.5).error,
        "best_of_n": lambda i: best_of_n(keys[i], problem, n=ns[i], N=1 + i, gamma=0.5).hit,
        "rlhf": lambda i: rlhf_sharpening(keys[i], problem, tab, n=ns[i], beta=0.5 + i / calls, delta=0.1,
                                          gamma=0.5).error,
        "xpo": lambda i: xpo(keys[i], lin_problem, lin_class, T=Ts[i], beta=0.5, alpha=i / calls, inner_steps=5,
                             theta_init="uniform").error,
    }
    budgets = {name: ns for name in loops}
    budgets["xpo"] = Ts
    rss_start = _rss_mb()
    out = {"benchmark": "memory",
           "config": {"calls": calls, "n_range": [1, max_n], "N_range": [1, calls], "quick": quick,
                      "problem": "lower_bound_family(d=8, C=2, eps=0.05)",
                      "num_prompts": problem.num_prompts, "num_responses": problem.num_responses},
           "device": str(jax.devices()[0]), "devices": device_info()}
    for name, run in loops.items():
        res = _memory_loop(calls, run)
        res["buckets_touched"] = len({bucket(n) for n in budgets[name]})
        res["compile_bound_holds"] = res["compiles"] <= res["buckets_touched"]
        out[name] = res
    out["rss_growth_mb_total"] = _rss_mb() - rss_start
    if baseline:
        k = 8  # distinct n (N fixed), then distinct N (n fixed), unbucketed
        per_n = _memory_loop(k, lambda i: sft_sharpening(keys[i], problem, tab, n=101 + i, N=7, gamma=0.5,
                                                         bucketed=False).error, checkpoints=1)
        per_N = _memory_loop(k, lambda i: sft_sharpening(keys[i], problem, tab, n=100, N=1001 + i, gamma=0.5,
                                                         bucketed=False).error, checkpoints=1)
        out["unbucketed"] = {"calls_each": k,
                             "rss_mb_per_distinct_n": per_n["rss_growth_mb"] / k,
                             "compiles_per_distinct_n": per_n["compiles"] / k,
                             "rss_mb_per_distinct_N": per_N["rss_growth_mb"] / k,
                             "compiles_per_distinct_N": per_N["compiles"] / k}
    return out


def _memory_report(result: dict) -> str:
    cfg = result["config"]
    lines = [f"benchmark memory: {cfg['calls']} eager calls per loop, distinct (n, N), n in {cfg['n_range']}, "
             f"on {cfg['problem']} ({result['device']})"]
    for name in ("sft", "adaptive_sft", "best_of_n", "rlhf", "xpo"):
        if name not in result:
            continue
        r = result[name]
        lines.append(f"  {name}: {r['compiles']} compilations for {r['buckets_touched']} buckets "
                     f"(bound holds: {r['compile_bound_holds']}), RSS +{r['rss_growth_mb']:.0f} MB "
                     f"(+{r['rss_growth_second_half_mb']:.0f} MB over the second half), {r['seconds']:.1f} s")
    lines.append(f"  total RSS growth: {result['rss_growth_mb_total']:.0f} MB")
    if "unbucketed" in result:
        u = result["unbucketed"]
        lines.append(f"  bucketed=False: +{u['rss_mb_per_distinct_n']:.1f} MB and {u['compiles_per_distinct_n']:.0f} "
                     f"compilations per distinct n; +{u['rss_mb_per_distinct_N']:.1f} MB and "
                     f"{u['compiles_per_distinct_N']:.0f} per distinct N")
    return "\n".join(lines)


BENCHMARKS["memory"] = bench_memory


# --------------------------------------------------------------------------------- XPO
def _scipy_ball_lstsq(A: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """Reference: ``min ‖Aθ − b‖² s.t. ‖θ‖² <= radius²`` with SciPy's SLSQP, as one would write it."""
    from scipy.optimize import minimize

    cons = {"type": "ineq", "fun": lambda t: radius**2 - t @ t, "jac": lambda t: -2 * t}
    res = minimize(lambda t: np.sum((A @ t - b) ** 2), np.zeros(A.shape[1]), jac=lambda t: 2 * A.T @ (A @ t - b),
                   constraints=[cons], method="SLSQP", options={"ftol": 1e-12, "maxiter": 500})
    return res.x


def _numpy_xpo(rng, feats, base_lp, T, beta, alpha, radius):
    """Reference XPO on one prompt: the same loop, each inner problem solved by SciPy (SLSQP)."""
    from scipy.optimize import minimize

    Y, d = feats.shape
    theta = np.zeros(d)
    data = []
    base_p = np.exp(base_lp)
    best_j = -np.inf

    def log_probs(th):
        z = feats @ th
        return z - (z.max() + np.log(np.exp(z - z.max()).sum()))

    def j_beta(th):
        lp = log_probs(th)
        p = np.exp(lp)
        return float(np.sum(p * (base_lp - beta * (lp - base_lp))))

    for _ in range(T):
        p = np.exp(log_probs(theta))
        y = rng.choice(Y, p=p / p.sum())
        z = rng.choice(Y, p=base_p / base_p.sum())
        data.append((y, z))
        ys = np.array([a for a, _ in data])
        zs = np.array([c for _, c in data])

        def objective(th, ys=ys, zs=zs):
            lp = log_probs(th)
            resid = beta * (lp[ys] - base_lp[ys]) - beta * (lp[zs] - base_lp[zs]) - (base_lp[ys] - base_lp[zs])
            return alpha * lp[zs].sum() + np.sum(resid**2)

        cons = {"type": "ineq", "fun": lambda t: radius**2 - t @ t}
        theta = minimize(objective, theta, constraints=[cons], method="SLSQP", options={"maxiter": 100}).x
        j = j_beta(theta)
        best_j = max(best_j, j)
    return best_j


def bench_xpo(*, quick: bool = False, seed: int = 0, per_core: bool = True, repeats: int | None = None) -> dict:
    """The exact Eq 8 ball regression (sharpsim, jitted and vmapped) against SciPy SLSQP, and XPO
    iterations per second (sharpsim, vmapped seeds) against a NumPy/SciPy loop, on Example J.1.

    Args:
      quick: 16 regression problems, T = 8, 16 seeds against 2 reference runs.
      seed: seed of the data, the instance and the keys.
      per_core: also measure both ratios with each side on one core (:func:`per_core_ratio`):
        ``result["per_core"]`` (XPO iterations) and ``result["regression"]["per_core"]``.
      repeats: interleaved repeats of the per-core measurements (default 5; 3 with ``quick``).

    Returns:
      A JSON-ready dict: ``ratio`` (XPO iterations, the whole machine), ``regression`` (the Eq 8
      solves), ``per_core``, ``devices`` and the J_β gaps.

    Raises:
      ValueError: if ``repeats < 1``.
      RuntimeError: if a per-core worker fails.
    """
    from sharpsim.algorithms import xpo
    from sharpsim.classes import ball_least_squares

    d, n_rows, problems_count = 8, 64, (16 if quick else 64)
    rng = np.random.default_rng(seed)
    As = rng.normal(size=(problems_count, n_rows, d))
    bs = rng.normal(size=(problems_count, n_rows)) * 3
    radius = 1.0
    solve = jax.jit(jax.vmap(lambda A, b: ball_least_squares(A, b, radius)))
    t_fast, thetas = _timed(solve, jnp.asarray(As), jnp.asarray(bs))
    thetas = np.asarray(thetas)
    t0 = time.perf_counter()
    ref = [_scipy_ball_lstsq(A, b, radius) for A, b in zip(As, bs)]
    t_ref = time.perf_counter() - t0
    obj_fast = np.array([np.sum((A @ t - b) ** 2) for A, t, b in zip(As, thetas, bs)])
    obj_ref = np.array([np.sum((A @ t - b) ** 2) for A, t, b in zip(As, ref, bs)])
    regression = {
        "sharpsim_solves_per_s": problems_count / t_fast,
        "reference_solves_per_s": problems_count / t_ref,
        "ratio": t_ref / t_fast,
        "max_relative_objective_gap": float(np.max((obj_fast - obj_ref) / np.maximum(obj_ref, 1e-12))),
    }

    beta, alpha, T = 0.1, 0.1, (8 if quick else 16)
    seeds = 16 if quick else 64
    ref_seeds = 2 if quick else 4
    problem, feats = problems.sphere_separation(jax.random.key(seed), d, radius=1.0, max_responses=256)
    cls = classes.LinearSoftmaxClass(feats, 1.01 * (1 + 1 / beta))
    run = jax.jit(jax.vmap(lambda k: xpo(k, problem, cls, T=T, beta=beta, alpha=alpha, inner_steps=60, theta_init="uniform").objectives.max()))
    keys = jax.random.split(jax.random.key(seed + 1), seeds)
    t_x, j_fast = _timed(run, keys, repeats=1)
    t0 = time.perf_counter()
    base_lp = np.asarray(problem.base.log_probs)[0]
    j_ref = [_numpy_xpo(rng, np.asarray(feats)[0], base_lp, T, beta, alpha, 1.01 * (1 + 1 / beta))
             for _ in range(ref_seeds)]
    t_xr = time.perf_counter() - t0
    j_opt = ss.kl_objective(problem, ss.kl_regularized_optimum(problem, beta), beta)
    iters_fast, iters_ref = seeds * T / t_x, ref_seeds * T / t_xr
    result = {
        "benchmark": "xpo",
        "config": {"d": d, "regression_rows": n_rows, "regression_problems": problems_count, "T": T, "seeds": seeds,
                   "reference_seeds": ref_seeds, "beta": beta, "alpha": alpha, "quick": quick},
        "regression": regression,
        "sharpsim_xpo_iterations_per_s": iters_fast,
        "reference_xpo_iterations_per_s": iters_ref,
        "ratio": iters_fast / iters_ref,
        "mean_j_gap_sharpsim": float(j_opt - np.mean(np.asarray(j_fast))),
        "mean_j_gap_reference": float(j_opt - np.mean(j_ref)),
        # The regression objectives must agree (exact solver vs SciPy to 1e-6 relative); the XPO
        # runs use different inner optimisers, so only their J_β gaps are reported side by side.
        "same_law": bool(regression["max_relative_objective_gap"] <= 1e-6),
        "same_law_p_value": None,
        "device": str(jax.devices()[0]),
        "devices": device_info(),
    }
    if per_core:
        r, ms = _repeats(repeats, quick), _min_seconds(quick)
        reg = {"d": d, "n_rows": n_rows, "count": problems_count, "seed": seed}
        result["regression"]["per_core"] = per_core_ratio(
            f"{__name__}:side_regression_sharpsim", reg, f"{__name__}:side_regression_reference",
            {**reg, "count": min(problems_count, 8)}, repeats=r, min_seconds=ms, unit="solves")
        cfg = {"d": d, "T": T, "beta": beta, "alpha": alpha, "seed": seed}
        result["per_core"] = per_core_ratio(f"{__name__}:side_xpo_sharpsim", {**cfg, "seeds": seeds},
                                            f"{__name__}:side_xpo_reference", {**cfg, "seeds": 1},
                                            repeats=r, min_seconds=ms, unit="XPO iterations")
    return result


BENCHMARKS["xpo"] = bench_xpo


# ------------------------------------------------------------------------ per core
#: Environment of a one-core worker: XLA, OpenMP, OpenBLAS and MKL each limited to one thread,
#: JAX on the CPU (a per-core ratio is a CPU figure, whatever accelerator the machine has).
SINGLE_THREAD_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "JAX_PLATFORMS": "cpu",
}

#: The program of a worker process: it pins itself to one CPU before JAX starts, then runs :func:`_worker_main`.
_WORKER_BOOT = """\
import os, sys
cpu = {cpu!r}
if cpu is not None and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {{cpu}})
from sharpsim.bench import _worker_main
sys.exit(_worker_main())
"""


def device_info() -> dict:
    """The devices this process computes on: ``sharpsim.parallel.device_summary()``.

    Returns:
      ``{"platform", "device_kind", "num_devices", "process_count"}``.
    """
    from sharpsim.parallel import device_summary

    return dict(device_summary())


def _resolve(target: str):
    """The function named ``"module:name"``."""
    import importlib

    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"target must be 'module:function', got {target!r}")
    return getattr(importlib.import_module(module), name)


def _worker_main() -> int:
    """Body of a benchmark worker process (see :class:`_Worker`); returns its exit code.

    Reads one JSON spec line ``{"target", "config", "min_seconds"}`` from stdin, calls
    ``target(**config)`` to get ``run`` (a callable that does a unit of work, waits for it and
    returns how many items it did), warms up and calibrates ``loops`` so that one repeat lasts at
    least ``min_seconds``, answers ``{"ready": ...}``, then answers every ``run`` line with one
    timed repeat ``{"seconds", "cpu_seconds", "units"}`` (wall and process CPU time) until ``quit`` or end of input. Its own stdout goes to
    stderr, so that library output cannot corrupt the protocol."""
    import traceback

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    try:
        spec = json.loads(sys.stdin.readline())
        run = _resolve(spec["target"])(**spec["config"])
        units = run()  # warm-up (compilation) and calibration
        t0 = time.perf_counter()
        units = run()
        one = max(time.perf_counter() - t0, 1e-9)
        loops = max(1, int(np.ceil(float(spec.get("min_seconds", 0.0)) / one)))
        info = {"ready": True, "loops": loops, "units_per_call": units, "pid": os.getpid(),
                "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
        if "jax" in sys.modules:
            info["devices"] = device_info()
        proto.write(json.dumps(info) + "\n")
        for line in sys.stdin:
            if line.strip() != "run":
                break
            t0, c0 = time.perf_counter(), time.process_time()
            done = sum(run() for _ in range(loops))
            t1, c1 = time.perf_counter(), time.process_time()
            proto.write(json.dumps({"seconds": t1 - t0, "cpu_seconds": c1 - c0, "units": done}) + "\n")
    except Exception:  # reported to the parent, which raises it
        proto.write(json.dumps({"error": traceback.format_exc()}) + "\n")
        return 1
    return 0


class _Worker:
    """A benchmark side in its own process: ``target(**config)`` set up once, then timed repeats.

    Args:
      target: ``"module:function"``; the function takes ``config`` as keyword arguments and returns
        a callable that does one unit of work (waiting for it) and returns the items it did.
      config: JSON-ready keyword arguments of ``target``.
      env: environment variables set in the worker on top of this process's.
      cpu: the one CPU the worker is pinned to (``os.sched_setaffinity``), or ``None``.
      min_seconds: a repeat loops the callable until it lasts at least this long (calibrated once).
    """

    def __init__(self, target: str, config: dict, *, env: dict | None = None, cpu: int | None = None,
                 min_seconds: float = 0.2):
        import subprocess
        import tempfile

        self.target = target
        self._stderr = tempfile.TemporaryFile(mode="w+")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER_BOOT.format(cpu=cpu)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, env=full_env, text=True)
        self._send(json.dumps({"target": target, "config": config, "min_seconds": min_seconds}))
        self.info = None

    def _send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def _receive(self) -> dict:
        line = self.proc.stdout.readline()
        msg = json.loads(line) if line.strip() else {"error": "the worker exited without an answer"}
        if "error" in msg:
            self._stderr.seek(0)
            tail = self._stderr.read()[-4000:]
            self.close()
            raise RuntimeError(f"benchmark worker {self.target} failed:\n{msg['error']}\n{tail}")
        return msg

    def ready(self) -> dict:
        """Waits for the worker's set-up and warm-up; returns its ``ready`` message."""
        if self.info is None:
            self.info = self._receive()
        return self.info

    def repeat(self) -> tuple[float, float]:
        """One timed repeat: ``(wall seconds, items done)``; its CPU seconds are kept in ``last_cpu_seconds``."""
        self.ready()
        self._send("run")
        msg = self._receive()
        self.last_cpu_seconds = float(msg["cpu_seconds"])
        return float(msg["seconds"]), float(msg["units"])

    def close(self) -> None:
        """Ends the worker (it exits when its input closes)."""
        if self.proc.poll() is None:
            try:
                self._send("quit")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def default_cpu() -> int | None:
    """The CPU per-core workers are pinned to.

    Returns:
      The highest CPU this process may run on; ``None`` where ``os.sched_getaffinity`` does not
      exist (e.g. macOS), and then only the thread limits apply.
    """
    return max(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def per_core_ratio(sharpsim_target: str, sharpsim_config: dict, reference_target: str, reference_config: dict,
                   *, repeats: int = 5, cpu: int | None = -1, min_seconds: float = 0.3, unit: str = "items") -> dict:
    """The throughput ratio sharpsim ÷ reference with both sides on one core, repeated.

    Each side runs in its own process (:class:`_Worker`) with :data:`SINGLE_THREAD_ENV` and pinned to
    the same CPU; both are set up and warmed up first, then timed in interleaved repeats
    (sharpsim, reference, sharpsim, reference, ...), so that a change in the machine's load hits
    both sides alike. Each repeat's ratio is its sharpsim rate over its reference rate.

    Args:
      sharpsim_target, reference_target: ``"module:function"`` building each side (see :class:`_Worker`).
      sharpsim_config, reference_config: their JSON-ready keyword arguments.
      repeats: interleaved repeats (at least 1).
      cpu: the CPU to pin both to; ``-1``: :func:`default_cpu`; ``None``: not pinned.
      min_seconds: the least duration of one repeat of each side.
      unit: what an item is (``"trials"``, ``"picks"``...), recorded in the result.

    Returns:
      A JSON-ready dict: ``ratio`` (the median of the per-repeat ratios), ``ratio_min``,
      ``ratio_max``, ``ratio_quartiles`` ([25 %, 75 %]), ``ratios``, ``sharpsim_per_s`` and
      ``reference_per_s`` (medians) with their per-repeat lists, ``repeats``, ``cpu``, ``pinned``,
      ``env``, ``loops`` (calls per repeat of each side), and ``cpu_time``: the same ratio
      statistics with each side's items per second of *process CPU time* (``time.process_time``)
      instead of wall time. On a machine busy with other work the CPU-time ratio leaves out the
      time a side waited for its core; both are reported.

    Raises:
      ValueError: if ``repeats < 1`` or ``min_seconds < 0``.
      RuntimeError: if a worker fails (its traceback included).
    """
    if int(repeats) != repeats or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    if not min_seconds >= 0:
        raise ValueError(f"min_seconds must be >= 0, got {min_seconds!r}")
    cpu = default_cpu() if cpu == -1 else cpu
    fast = _Worker(sharpsim_target, sharpsim_config, env=SINGLE_THREAD_ENV, cpu=cpu, min_seconds=min_seconds)
    try:
        with _Worker(reference_target, reference_config, env=SINGLE_THREAD_ENV, cpu=cpu,
                     min_seconds=min_seconds) as ref:
            info_fast, info_ref = fast.ready(), ref.ready()
            fast_rates, ref_rates, fast_cpu, ref_cpu = [], [], [], []
            for _ in range(int(repeats)):
                s, u = fast.repeat()
                fast_rates.append(u / s)
                fast_cpu.append(u / max(fast.last_cpu_seconds, 1e-9))
                s, u = ref.repeat()
                ref_rates.append(u / s)
                ref_cpu.append(u / max(ref.last_cpu_seconds, 1e-9))
    finally:
        fast.close()
    ratios = [a / b for a, b in zip(fast_rates, ref_rates)]
    q1, q3 = np.percentile(ratios, [25, 75])
    cpu_ratios = [a / b for a, b in zip(fast_cpu, ref_cpu)]
    return {
        "ratio": float(np.median(ratios)),
        "ratio_min": float(min(ratios)),
        "ratio_max": float(max(ratios)),
        "ratio_quartiles": [float(q1), float(q3)],
        "ratios": ratios,
        "sharpsim_per_s": float(np.median(fast_rates)),
        "reference_per_s": float(np.median(ref_rates)),
        "sharpsim_per_s_each": fast_rates,
        "reference_per_s_each": ref_rates,
        "unit": unit,
        "repeats": int(repeats),
        "cpu": cpu,
        "pinned": cpu is not None and hasattr(os, "sched_setaffinity"),
        "affinity": {"sharpsim": info_fast.get("affinity"), "reference": info_ref.get("affinity")},
        "env": dict(SINGLE_THREAD_ENV),
        "loops": {"sharpsim": info_fast["loops"], "reference": info_ref["loops"]},
        "order": "interleaved: sharpsim, reference, sharpsim, reference, ...",
        "cpu_time": {"ratio": float(np.median(cpu_ratios)), "ratio_min": float(min(cpu_ratios)),
                     "ratio_max": float(max(cpu_ratios)),
                     "ratio_quartiles": [float(q) for q in np.percentile(cpu_ratios, [25, 75])],
                     "ratios": cpu_ratios, "sharpsim_per_cpu_s_each": fast_cpu, "reference_per_cpu_s_each": ref_cpu},
    }


def _per_core_line(name: str, pc: dict) -> str:
    q1, q3 = pc["ratio_quartiles"]
    where = f"CPU {pc['cpu']}" if pc["pinned"] else "not pinned"
    line = (f"  {name} per core ({where}, one thread each, {pc['repeats']} interleaved repeats): ratio "
            f"{pc['ratio']:.3g}x median (min {pc['ratio_min']:.3g}x, max {pc['ratio_max']:.3g}x, "
            f"quartiles {q1:.3g}x-{q3:.3g}x); sharpsim {pc['sharpsim_per_s']:.4g} {pc['unit']}/s, "
            f"reference {pc['reference_per_s']:.4g} {pc['unit']}/s")
    if "cpu_time" in pc:
        c = pc["cpu_time"]
        line += (f"\n  {name} per core, by CPU time: ratio {c['ratio']:.3g}x median "
                 f"(min {c['ratio_min']:.3g}x, max {c['ratio_max']:.3g}x)")
    return line


# Sides of the per-core comparisons: each builds its state once and returns ``run() -> items``.
def side_sft_sharpsim(num_prompts: int, n: int, N: int, seeds: int, coverage: float, delta: float,
                      seed: int = 0):
    """sharpsim's side of :func:`bench_sft`: ``run()`` computes ``seeds`` SFT-Sharpening trials (vmapped).

    Args:
      num_prompts, n, N, coverage, delta, seed: as in :func:`bench_sft` (|X| = |Y| = ``num_prompts``).
      seeds: trials per call.

    Returns:
      ``run()``: does the work, waits for it and returns the number of trials done.
    """
    from sharpsim.algorithms import sft_sharpening

    problem = problems.with_coverage(jax.random.key(seed), num_prompts, num_prompts, coverage)
    model_class = classes.TabularClass(num_prompts, num_prompts)
    sampler = jax.block_until_ready(jax.jit(ss.bon_sampler)(problem))

    @jax.jit
    def errors(keys, problem, sampler, N):
        return jax.vmap(lambda k: sft_sharpening(k, problem, model_class, n=n, N=N, delta=delta,
                                                 return_policy=False, sampler=sampler).error)(keys)

    keys = jax.random.split(jax.random.key(seed + 1), seeds)
    N = jnp.asarray(N)
    return lambda: (jax.block_until_ready(errors(keys, problem, sampler, N)), seeds)[1]


def side_sft_reference(num_prompts: int, n: int, N: int, trials: int, coverage: float, delta: float,
                       seed: int = 0):
    """The reference side of :func:`bench_sft`: ``run()`` computes ``trials`` :func:`sft_numpy_trial`.

    Args:
      num_prompts, n, N, coverage, delta, seed: as in :func:`bench_sft` (|X| = |Y| = ``num_prompts``).
      trials: trials per call.

    Returns:
      ``run()``: does the work, waits for it and returns the number of trials done.
    """
    problem = problems.with_coverage(jax.random.key(seed), num_prompts, num_prompts, coverage)
    probs, mu = np.asarray(problem.probs), np.asarray(problem.prompt_probs)
    star = probs.argmax(axis=1)
    rng = np.random.default_rng(seed)

    def run():
        for _ in range(trials):
            sft_numpy_trial(rng, probs, mu, star, n, N, delta)
        return trials

    return run


def side_bon_sharpsim(num_prompts: int, num_responses: int, coverage: float, N: int, picks: int, seed: int = 0):
    """sharpsim's side of :func:`bench_bon`: ``run()`` draws ``picks`` exact BoN picks.

    Args:
      num_prompts, num_responses, coverage, N, seed: as in :func:`bench_bon`.
      picks: picks per call.

    Returns:
      ``run()``: does the work, waits for it and returns the number of picks done.
    """
    problem = problems.with_coverage(jax.random.key(seed), num_prompts, num_responses, coverage)

    @jax.jit
    def draw(key, problem, N):
        batch = oracle.sample_best_of_n(key, problem, picks, N)
        return batch.prompts, batch.responses

    key = jax.random.key(seed + 1)
    return lambda: (jax.block_until_ready(draw(key, problem, N)), picks)[1]


def side_bon_reference(num_prompts: int, num_responses: int, coverage: float, N: int, picks: int, seed: int = 0):
    """The reference side of :func:`bench_bon`: ``run()`` draws ``picks`` with :func:`bon_numpy_picks`.

    Args:
      num_prompts, num_responses, coverage, N, seed: as in :func:`bench_bon`.
      picks: picks per call.

    Returns:
      ``run()``: does the work, waits for it and returns the number of picks done.
    """
    problem = problems.with_coverage(jax.random.key(seed), num_prompts, num_responses, coverage)
    probs = np.asarray(problem.probs)
    rng = np.random.default_rng(seed)
    prompts = rng.integers(0, num_prompts, size=picks)
    return lambda: len(bon_numpy_picks(rng, probs, prompts, N))


def _regression_data(d: int, n_rows: int, count: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, n_rows, d)), rng.normal(size=(count, n_rows)) * 3


def side_regression_sharpsim(d: int, n_rows: int, count: int, seed: int = 0):
    """sharpsim's side of the Eq 8 regression in :func:`bench_xpo`: ``run()`` solves ``count`` problems.

    Args:
      d, n_rows: each problem's columns and rows.
      count: problems per call.
      seed: seed of the data.

    Returns:
      ``run()``: does the work, waits for it and returns the number of solves done.
    """
    from sharpsim.classes import ball_least_squares

    As, bs = (jnp.asarray(a) for a in _regression_data(d, n_rows, count, seed))
    solve = jax.jit(jax.vmap(lambda A, b: ball_least_squares(A, b, 1.0)))
    return lambda: (jax.block_until_ready(solve(As, bs)), count)[1]


def side_regression_reference(d: int, n_rows: int, count: int, seed: int = 0):
    """The reference side of the Eq 8 regression: ``run()`` solves ``count`` problems with SciPy SLSQP.

    Args:
      d, n_rows: each problem's columns and rows.
      count: problems per call.
      seed: seed of the data.

    Returns:
      ``run()``: does the work, waits for it and returns the number of solves done.
    """
    As, bs = _regression_data(d, n_rows, count, seed)
    return lambda: len([_scipy_ball_lstsq(A, b, 1.0) for A, b in zip(As, bs)])


def _xpo_instance(d: int, beta: float, seed: int):
    problem, feats = problems.sphere_separation(jax.random.key(seed), d, radius=1.0, max_responses=256)
    return problem, feats, 1.01 * (1 + 1 / beta)


def side_xpo_sharpsim(d: int, T: int, beta: float, alpha: float, seeds: int, seed: int = 0):
    """sharpsim's side of :func:`bench_xpo`: ``run()`` does ``seeds × T`` XPO iterations (vmapped seeds).

    Args:
      d, T, beta, alpha, seed: as in :func:`bench_xpo` (Example J.1, ``sphere_separation``).
      seeds: runs per call.

    Returns:
      ``run()``: does the work, waits for it and returns the number of XPO iterations done.
    """
    from sharpsim.algorithms import xpo

    problem, feats, radius = _xpo_instance(d, beta, seed)
    cls = classes.LinearSoftmaxClass(feats, radius)
    run = jax.jit(jax.vmap(lambda k: xpo(k, problem, cls, T=T, beta=beta, alpha=alpha, inner_steps=60,
                                         theta_init="uniform").objectives.max()))
    keys = jax.random.split(jax.random.key(seed + 1), seeds)
    return lambda: (jax.block_until_ready(run(keys)), seeds * T)[1]


def side_xpo_reference(d: int, T: int, beta: float, alpha: float, seeds: int, seed: int = 0):
    """The reference side of :func:`bench_xpo`: ``run()`` does ``seeds × T`` iterations of :func:`_numpy_xpo`.

    Args:
      d, T, beta, alpha, seed: as in :func:`bench_xpo` (Example J.1, ``sphere_separation``).
      seeds: runs per call.

    Returns:
      ``run()``: does the work, waits for it and returns the number of XPO iterations done.
    """
    problem, feats, radius = _xpo_instance(d, beta, seed)
    base_lp = np.asarray(problem.base.log_probs)[0]
    f0 = np.asarray(feats)[0]
    rng = np.random.default_rng(seed)

    def run():
        for _ in range(seeds):
            _numpy_xpo(rng, f0, base_lp, T, beta, alpha, radius)
        return seeds * T

    return run


# --------------------------------------------------------------------------- scale
#: The trial of ``sharpsim bench scale``: one SFT-Sharpening run (exact BoN draws, tabular class).
SCALE_TRIAL = {"num_prompts": 100, "num_responses": 1000, "n": 1000, "N": 256, "coverage": 50.0, "delta": 0.1}
#: |X| of the |Y| sweep (kept small so that |X| |Y| fits in memory up to |Y| = 10^6).
SCALE_SWEEP_PROMPTS = 10
SCALE_CSV_COLUMNS = ("section", "x", "trials_per_s", "seconds_per_trial", "ideal_trials_per_s", "cores_used",
                     "seeds", "repeats", "note")


def _check_trial(trial: dict) -> dict:
    unknown = set(trial) - set(SCALE_TRIAL)
    if unknown:
        raise ValueError(f"trial has unknown keys {sorted(unknown)}; allowed: {sorted(SCALE_TRIAL)}")
    return {**SCALE_TRIAL, **trial}


def scale_trial(num_prompts: int, num_responses: int, n: int, N: int, coverage: float, delta: float, seed: int = 0):
    """The trial ``sharpsim bench scale`` times, ready for :func:`sharpsim.parallel.map_seeds`.

    Args:
      num_prompts, num_responses: |X| and |Y| of a ``problems.with_coverage`` problem.
      n, N, delta: SFT-Sharpening's prompts, draws per prompt and error level.
      coverage: the problem's C_cov.
      seed: the problem's seed.

    Returns:
      ``(fn, args)``: ``fn(key, problem, sampler, N)`` is the error of one trial (the same
      function object for the same ``(n, delta)``, so ``map_seeds`` compiles it once), ``args``
      its broadcast arguments.
    """
    problem = problems.with_coverage(jax.random.key(seed), num_prompts, num_responses, coverage)
    sampler = jax.block_until_ready(jax.jit(ss.bon_sampler)(problem))
    return _scale_fn(int(num_prompts), int(num_responses), int(n), float(delta)), (problem, sampler, jnp.asarray(N))


_SCALE_FNS: dict = {}


def _scale_fn(X: int, Y: int, n: int, delta: float):
    from sharpsim.algorithms import sft_sharpening

    if (X, Y, n, delta) not in _SCALE_FNS:
        model_class = classes.TabularClass(X, Y)

        def fn(key, problem, sampler, N):
            return sft_sharpening(key, problem, model_class, n=n, N=N, delta=delta, return_policy=False,
                                  sampler=sampler).error

        _SCALE_FNS[X, Y, n, delta] = fn
    return _SCALE_FNS[X, Y, n, delta]


def side_scale_map_seeds(seeds: int, seed: int = 0, **trial):
    """A device-count worker of ``sharpsim bench scale``: ``run()`` computes ``seeds`` trials with
    :func:`sharpsim.parallel.map_seeds` on every local device (``D`` shards of ``⌈seeds/D⌉`` seeds, one
    per device, so every device count runs one step).

    Args:
      seeds: trials per call.
      seed: seed of the problem and the keys.
      trial: overrides of :data:`SCALE_TRIAL`'s entries.

    Returns:
      ``run()``: does the work, waits for it and returns the number of trials done.
    """
    from sharpsim.parallel import map_seeds

    fn, args = scale_trial(**_check_trial(trial), seed=seed)
    keys = jax.random.split(jax.random.key(seed + 1), seeds)
    shards = jax.local_device_count()
    return lambda: (map_seeds(fn, keys, args=args, shards=shards), seeds)[1]


def _dask_chunk(trial: dict, start: int, count: int, seed: int) -> tuple[int, float]:
    """One Dask task of ``sharpsim bench scale``: ``count`` trials (seeds ``start ...``) in this worker;
    returns ``(count, CPU seconds this worker process spent on them)``."""
    from sharpsim.parallel import map_seeds

    cache = _dask_chunk.__dict__.setdefault("cache", {})
    key = json.dumps(trial, sort_keys=True) + str(seed)
    if key not in cache:
        cache.clear()
        cache[key] = scale_trial(**trial, seed=seed)
    fn, args = cache[key]
    c0 = time.process_time()
    keys = jax.random.split(jax.random.fold_in(jax.random.key(seed + 1), start), count)
    map_seeds(fn, keys, args=args, shards=1)  # one vmap per task: the worker's one device
    return count, time.process_time() - c0


def _require_distributed():
    try:
        import distributed
    except ImportError as err:
        raise ImportError("`sharpsim bench scale` with Dask workers needs the `distributed` package: "
                          "pip install 'sharpsim[cluster]' (or pass workers=[] / --workers '')") from err
    return distributed


def _dask_rate(w: int, trial: dict, seeds: int, chunk: int, repeats: int, seed: int, single_thread: bool) -> dict:
    """Trials per second of ``w`` Dask workers (a ``LocalCluster``, one thread each) on ``seeds`` trials."""
    distributed = _require_distributed()
    env = dict(SINGLE_THREAD_ENV) if single_thread else {"JAX_PLATFORMS": "cpu"}
    chunks = -(-seeds // chunk)
    with distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  env=env) as cluster, distributed.Client(cluster) as client:
        workers = list(client.scheduler_info()["workers"])
        # warm-up: every worker builds the problem and compiles the chunk once
        client.gather([client.submit(_dask_chunk, trial, chunks * chunk + i, chunk, seed, workers=[a], pure=False,
                                     allow_other_workers=False) for i, a in enumerate(workers)])
        rates, used = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            parts = client.gather([client.submit(_dask_chunk, trial, i * chunk, chunk, seed, pure=False)
                                   for i in range(chunks)])
            wall = time.perf_counter() - t0
            rates.append(sum(c for c, _ in parts) / wall)
            used.append(sum(t for _, t in parts) / wall)
    return {"trials_per_s": float(np.median(rates)), "trials_per_s_each": rates, "seeds": chunks * chunk,
            "cores_used": float(np.median(used))}


def _in_process_rate(trial: dict, seeds: int, repeats: int, seed: int) -> tuple[float, float]:
    """``(trials per second, cores used)`` of ``map_seeds`` in this process (medians over ``repeats``)."""
    from sharpsim.parallel import map_seeds

    fn, args = scale_trial(**trial, seed=seed)
    keys = jax.random.split(jax.random.key(seed + 1), seeds)
    map_seeds(fn, keys, args=args, shards=1)  # compile
    times, used = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        map_seeds(fn, keys, args=args, shards=1)
        times.append(time.perf_counter() - t0)
        used.append((time.process_time() - c0) / times[-1])
    return seeds / float(np.median(times)), float(np.median(used))


def _positive_ints(name: str, values) -> list[int]:
    values = list(values)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values):
        raise ValueError(f"{name} must be a list of positive integers, got {values!r}")
    return [int(v) for v in values]


def bench_scale(*, quick: bool = False, seed: int = 0, devices=(1, 2, 4), workers=(1, 2), seeds: int | None = None,
                responses=None, seeds_sweep=None, repeats: int = 3, dask_chunk: int | None = None,
                single_thread: bool = True, out="benchmarks/scale", trial: dict | None = None) -> dict:
    """Trials per second of the SFT-Sharpening trial against devices, Dask workers, |Y| and seeds.

    Three measurements of the trial :data:`SCALE_TRIAL` (one SFT-Sharpening run, Huang et al.,
    ICLR 2025, Sec 4.1, with exact BoN draws and the tabular class), each with its ideal line:

    * **devices**: for each ``d`` in ``devices``, a process with
      ``XLA_FLAGS=--xla_force_host_platform_device_count=d`` (JAX on the CPU; with
      ``single_thread`` also one XLA thread, :data:`SINGLE_THREAD_ENV`) times
      ``map_seeds`` over ``seeds`` seeds; ideal: ``d`` × the rate at the first ``d``
      (divided by it). Forced host devices share the machine's cores.
    * **dask**: for each ``w`` in ``workers``, a ``distributed.LocalCluster(n_workers=w,
      threads_per_worker=1)`` whose workers each run chunks of ``dask_chunk`` seeds; ideal: ``w`` ×
      the rate at the first ``w`` (divided by it).
    * **responses** and **seeds**: in this process, seconds per trial as |Y| grows (with
      |X| = :data:`SCALE_SWEEP_PROMPTS`) and as the number of seeds grows (the trial as is). A
      point that runs out of memory is recorded with its error, and the larger ones are skipped.

    Every point also records ``cores_used``: the CPU time its processes spent (for Dask, the sum over
    the workers' tasks) divided by the wall time. It tells whether ``d`` devices or ``w`` workers
    actually got ``d`` or ``w`` cores: on a machine busy with other work they do not, and the curve
    then measures the machine's load, not sharpsim.

    Every point is appended to ``out/scale.csv`` and ``out/scale.json`` as soon as it is measured;
    ``out/scale.png`` draws them at the end.

    Args:
      quick: smaller defaults (256 seeds, |Y| up to 10^4, seeds up to 1000).
      seed: seed of the problems and keys.
      devices: forced host device counts (empty: skip).
      workers: Dask worker counts (empty: skip; otherwise ``distributed`` is required).
      seeds: seeds per timed repeat of the devices and Dask measurements (default 2048; 256 quick).
      responses: the |Y| of the |Y| sweep (default 10^2 ... 10^6; up to 10^4 quick; empty: skip).
      seeds_sweep: the seed counts of the seeds sweep (default 10 ... 10^4; up to 10^3 quick; empty: skip).
      repeats: timed repeats of every point (their median is reported).
      dask_chunk: seeds per Dask task (default ``seeds // (2 max(workers))``: two tasks per worker).
      single_thread: one XLA thread per process in the devices and Dask measurements.
      out: the output folder (created); ``None``: write nothing.
      trial: overrides of :data:`SCALE_TRIAL`'s entries.

    Returns:
      A JSON-ready dict with ``devices_sweep``, ``dask_sweep``, ``responses_sweep``, ``seeds_sweep``
      (lists of points), ``config``, ``devices`` (this process's :func:`device_info`) and ``files``.

    Raises:
      ValueError: on a non-positive count or an unknown trial key.
      ImportError: if ``workers`` is not empty and ``distributed`` is missing (``pip install
        'sharpsim[cluster]'``).
    """
    trial = _check_trial(trial or {})
    devices = _positive_ints("devices", devices)
    workers = _positive_ints("workers", workers)
    seeds = _positive_ints("seeds", [seeds if seeds is not None else (256 if quick else 2048)])[0]
    if responses is None:
        responses = [10**k for k in range(2, 5 if quick else 7)]
    if seeds_sweep is None:
        seeds_sweep = [10**k for k in range(1, 4 if quick else 5)]
    responses = _positive_ints("responses", responses)
    seeds_sweep = _positive_ints("seeds_sweep", seeds_sweep)
    repeats = _positive_ints("repeats", [repeats])[0]
    dask_chunk = _positive_ints("dask_chunk", [dask_chunk if dask_chunk is not None
                                               else max(1, seeds // (2 * max(workers, default=1)))])[0]
    if workers:
        _require_distributed()
    result = {
        "benchmark": "scale",
        "config": {"trial": trial, "seeds": seeds, "repeats": repeats, "dask_chunk": dask_chunk,
                   "single_thread": single_thread, "sweep_num_prompts": SCALE_SWEEP_PROMPTS, "quick": quick,
                   "cpus": os.cpu_count(), "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "devices": device_info(),
        "devices_sweep": [], "dask_sweep": [], "responses_sweep": [], "seeds_sweep": [],
    }
    paths = _scale_paths(out)
    result["files"] = {k: str(p) for k, p in paths.items()} if paths else {}

    thread_env = dict(SINGLE_THREAD_ENV) if single_thread else {"JAX_PLATFORMS": "cpu"}
    for d in devices:
        flags = f"--xla_force_host_platform_device_count={d}"
        if single_thread:
            flags = f"{flags} {SINGLE_THREAD_ENV['XLA_FLAGS']}"
        # every device runs at once (the trial has no batched LAPACK call, which could deadlock
        # XLA's CPU pool with more running devices than CPUs: sharpsim.parallel.cpu_concurrent_devices)
        with _Worker(f"{__name__}:side_scale_map_seeds", {"seeds": seeds, "seed": seed, **trial},
                     env={**thread_env, "XLA_FLAGS": flags, "SHARPSIM_CPU_DEVICES": str(d)}, min_seconds=0.0) as w:
            info = w.ready()
            rates, used = [], []
            for _ in range(repeats):
                wall, units = w.repeat()
                rates.append(units / wall)
                used.append(w.last_cpu_seconds / wall)
        point = {"x": d, "trials_per_s": float(np.median(rates)), "trials_per_s_each": rates, "seeds": seeds,
                 "cores_used": float(np.median(used)), "num_devices_seen": info.get("devices", {}).get("num_devices")}
        base = result["devices_sweep"][0] if result["devices_sweep"] else point
        point["ideal_trials_per_s"] = base["trials_per_s"] * d / base["x"]
        result["devices_sweep"].append(point)
        _scale_write(result, paths)

    for w in workers:
        point = {"x": w, **_dask_rate(w, trial, seeds, dask_chunk, repeats, seed, single_thread)}
        base = result["dask_sweep"][0] if result["dask_sweep"] else point
        point["ideal_trials_per_s"] = base["trials_per_s"] * w / base["x"]
        result["dask_sweep"].append(point)
        _scale_write(result, paths)

    sweep_seeds = min(seeds, 256)
    for Y in responses:
        point = {"x": Y, "seeds": sweep_seeds}
        try:
            rate, used = _in_process_rate({**trial, "num_prompts": SCALE_SWEEP_PROMPTS, "num_responses": Y},
                                          sweep_seeds, repeats, seed)
            point.update(trials_per_s=rate, seconds_per_trial=1 / rate, cores_used=used)
        except (MemoryError, RuntimeError) as err:  # XLA's RESOURCE_EXHAUSTED is a RuntimeError
            point["note"] = f"not measured: {type(err).__name__}: {str(err).splitlines()[0][:200]}"
        result["responses_sweep"].append(point)
        _scale_write(result, paths)
        if "note" in point:
            break
    for S in seeds_sweep:
        rate, used = _in_process_rate(trial, S, repeats, seed)
        result["seeds_sweep"].append({"x": S, "seeds": S, "trials_per_s": rate, "seconds_per_trial": 1 / rate,
                                      "cores_used": used})
        _scale_write(result, paths)
    if paths:
        plot_scale(result, paths["png"])
    return result


def _scale_paths(out) -> dict | None:
    if out is None:
        return None
    from pathlib import Path

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    return {"csv": folder / "scale.csv", "json": folder / "scale.json", "png": folder / "scale.png"}


def _scale_write(result: dict, paths: dict | None) -> None:
    """Rewrites ``scale.csv`` and ``scale.json`` with every point measured so far."""
    if not paths:
        return
    import csv

    with open(paths["csv"], "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SCALE_CSV_COLUMNS)
        writer.writeheader()
        for section in ("devices", "dask", "responses", "seeds"):
            for p in result[f"{section}_sweep"]:
                rate = p.get("trials_per_s")
                writer.writerow({"section": section, "x": p["x"], "trials_per_s": rate,
                                 "seconds_per_trial": None if rate is None else 1 / rate,
                                 "ideal_trials_per_s": p.get("ideal_trials_per_s"), "cores_used": p.get("cores_used"),
                                 "seeds": p.get("seeds"),
                                 "repeats": result["config"]["repeats"], "note": p.get("note", "")})
    with open(paths["json"], "w") as fh:
        json.dump(result, fh, indent=2)


def plot_scale(result: dict, path) -> None:
    """Draws :func:`bench_scale`'s result: rate against devices and Dask workers (with the ideal
    lines and each point's cores used), seconds per trial against |Y| and against seeds (log-log).

    Args:
      result: what :func:`bench_scale` returned (or read back from ``scale.json``).
      path: the PNG file to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    cfg = result["devices"]
    for ax, section, xlabel in ((axes[0], "devices", "forced host devices d"),
                                (axes[1], "dask", "Dask workers w (one thread each)")):
        pts = result[f"{section}_sweep"]
        if pts:
            xs = [p["x"] for p in pts]
            ax.plot(xs, [p["trials_per_s"] for p in pts], "o-", label="measured (cores used)")
            for p in pts:
                ax.annotate(f"{p['cores_used']:.2f}", (p["x"], p["trials_per_s"]), textcoords="offset points",
                            xytext=(4, 4), fontsize=8)
            ax.plot(xs, [p["ideal_trials_per_s"] for p in pts], "k--", label="ideal (linear)")
            ax.set_xticks(xs)
            ax.legend()
        else:
            ax.text(0.5, 0.5, "not measured", ha="center", transform=ax.transAxes)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("trials / s")
    for ax, section, xlabel in ((axes[2], "responses", "|Y|"), (axes[3], "seeds", "seeds")):
        pts = [p for p in result[f"{section}_sweep"] if "seconds_per_trial" in p]
        if pts:
            ax.loglog([p["x"] for p in pts], [p["seconds_per_trial"] for p in pts], "o-")
        else:
            ax.text(0.5, 0.5, "not measured", ha="center", transform=ax.transAxes)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds per trial")
    t = result["config"]["trial"]
    fig.suptitle(f"SFT-Sharpening trial (|X|={t['num_prompts']}, |Y|={t['num_responses']}, n={t['n']}, "
                 f"N={t['N']}) on {cfg['platform']} ({cfg['device_kind']}), {result['config']['cpus']} CPUs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _scale_report(result: dict) -> str:
    d = result["devices"]
    lines = [f"benchmark scale: SFT-Sharpening trial {result['config']['trial']}",
             f"  this process: {d['platform']} ({d['device_kind']}), {d['num_devices']} device(s); "
             f"{result['config']['cpus']} CPUs"]
    for section, name in (("devices", "forced host devices"), ("dask", "Dask workers")):
        for p in result[f"{section}_sweep"]:
            lines.append(f"  {name} {p['x']}: {p['trials_per_s']:.4g} trials/s (ideal {p['ideal_trials_per_s']:.4g}), "
                         f"{p['cores_used']:.2f} cores used")
    for section, name in (("responses", "|Y|"), ("seeds", "seeds")):
        for p in result[f"{section}_sweep"]:
            lines.append(f"  {name} = {p['x']}: " + (f"{p['seconds_per_trial'] * 1e6:.1f} us per trial, "
                                                      f"{p['cores_used']:.2f} cores used"
                                                      if "seconds_per_trial" in p else p["note"]))
    if result.get("files"):
        lines.append(f"  written: {', '.join(result['files'].values())}")
    return "\n".join(lines)


BENCHMARKS["scale"] = bench_scale
