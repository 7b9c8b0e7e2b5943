"""Sampling throughput of :meth:`LMPolicy.sample` against a naive ``generate`` loop, in one run.

``bench_sampling`` draws ``N = 50`` responses per prompt twice on the same model in the same
process:

* **batched** — ``LMPolicy.sample``: each prompt encoded once, its ``N`` draws from one
  ``generate(num_return_sequences=N)`` call, then one teacher-forced fp32 scoring pass (the
  scoring time is *included*); also timed without scoring (``batched_generate_only``);
* **naive** — one ``model.generate`` call per sample, one prompt at a time, no scoring (what a
  researcher writes first).

Throughput is generated response tokens (through EOS, or ``max_new_tokens``) per second; the
report gives the ratio. Both arms' sequence log-likelihoods (scored after timing) are compared
by a two-sample Kolmogorov-Smirnov test, which rejects a true "same law" with probability
``SAME_LAW_ALPHA``: the batched sampler must draw from the same distribution as the naive loop.

On CUDA the decode roofline is also estimated: one decode step must read every weight once, so at
batch ``B`` at most ``B * bandwidth / model_bytes`` tokens/s (KV-cache reads ignored, so this is an
upper bound), with the bandwidth measured by a large device-to-device copy. On CPU the roofline
is not computed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

#: the KS test rejects a true "same law" with this probability
SAME_LAW_ALPHA = 1e-3
PROMPTS = ["3+4*2=", "9-7*8=", "Make 24 from 2 2 3 13:", "Every tib is a vox. Bob is a tib.", "5*5+1=",
           "1+1=", "8*9-2=", "Lea is a rax."]


def _sync(torch, device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_bandwidth(device, *, n_bytes: int = 1 << 30, repeats: int = 5) -> float:
    """Device memory bandwidth in bytes/s from the best of ``repeats`` copies of ``n_bytes`` (read + write)."""
    from sharpsim.bridge._deps import require

    torch = require("torch")
    src = torch.empty(n_bytes // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    _sync(torch, device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        dst.copy_(src)
        _sync(torch, device)
        best = min(best, time.perf_counter() - t0)
    del src, dst
    return 2 * n_bytes / best


def _build_model(out_dir, *, device, quick: bool):
    """A random char-level GPT-2: 2 x 32 (quick), 4 x 128 on CPU, 12 x 768 (GPT-2-small shape) on CUDA."""
    from sharpsim.bridge import tiny

    if quick:
        shape = {"n_layer": 2, "n_embd": 32, "n_head": 2}
    elif device.type == "cuda":
        shape = {"n_layer": 12, "n_embd": 768, "n_head": 12}
    else:
        shape = dict(tiny.SIZES["small"])
    return tiny.save_random_tiny(out_dir, seed=0, **shape), shape


def bench_sampling(quick: bool = False, *, model_dir=None, device=None, n: int = 50, n_prompts: int | None = None,
                   max_new_tokens: int | None = None, seed: int = 0, batch_sweep=None, per_core: bool | None = None,
                   repeats: int | None = None) -> dict:
    """Tokens/s of the batched sampler vs the naive loop (see the module doc); returns a JSON-able dict.

    Args:
        quick: a 2-layer 32-wide model, 1 prompt, 8 new tokens (seconds; for tests).
        model_dir: a local causal LM to use instead of a random char-level GPT-2.
        device: None -> cuda if available, else cpu.
        n: draws per prompt (default 50).
        n_prompts: prompts (default 1 quick, 4 CPU, 8 CUDA).
        max_new_tokens: response cap (default 8 quick, 32 otherwise).
        seed: sampling seed.
        batch_sweep: sequences per ``generate`` call at which to time generation (and, on CUDA,
            compare with the roofline); default ``[1, 8, n]`` on CUDA, none on CPU.
        per_core: also measure the ratio (batched with scoring ÷ naive) with each arm in its own
            process pinned to one CPU with one thread, in interleaved repeats
            (``sharpsim.bench.per_core_ratio``; ``result["per_core"]``); default: on CPU only.
        repeats: interleaved repeats of the per-core measurement (default 5; 3 with ``quick``).
    """
    from sharpsim.bridge._deps import require
    from sharpsim.bridge.policy import LMPolicy

    torch = require("torch")
    scipy_stats = require("scipy.stats")
    dev = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    if n_prompts is None:
        n_prompts = 1 if quick else (8 if dev.type == "cuda" else 4)
    if max_new_tokens is None:
        max_new_tokens = 8 if quick else 32
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(n_prompts)]
    with tempfile.TemporaryDirectory() as tmp:
        if model_dir is None:
            path, shape = _build_model(tmp, device=dev, quick=quick)
            dtype = torch.float16 if dev.type == "cuda" else None
            desc = f"random char-level GPT-2 {shape}"
        else:
            path, dtype, desc = model_dir, None, str(model_dir)
        policy = LMPolicy.from_pretrained(path, device=dev, dtype=dtype)
    model = policy.model
    n_params = sum(p.numel() for p in model.parameters())
    model_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    encoded = policy.encode_prompts(prompts)
    kwargs = policy._generation_kwargs(do_sample=True, temperature=1.0, top_p=1.0, max_new_tokens=max_new_tokens)

    def gen(ids, k):
        t = torch.tensor([ids], dtype=torch.long, device=dev)
        with torch.no_grad():
            return policy._generate(t, torch.ones_like(t), num_return_sequences=k, **kwargs)

    def n_tokens(rows) -> int:
        from sharpsim.bridge.scoring import truncate_at_eos

        return sum(len(truncate_at_eos(r, policy.eos_token_id)[0]) for r in rows)

    gen(encoded[0], 2)  # warm-up
    _sync(torch, dev)

    # batched sampler, scoring included
    t0 = time.perf_counter()
    draws = policy.sample(prompts, n=n, max_new_tokens=max_new_tokens, seed=seed)
    _sync(torch, dev)
    t_batched = time.perf_counter() - t0
    tok_batched = int(draws.length.sum())

    # batched generation only (no scoring)
    torch.manual_seed(seed + 1)
    t0 = time.perf_counter()
    rows = []
    for ids in encoded:
        rows += gen(ids, n)[:, len(ids):].tolist()
    _sync(torch, dev)
    t_gen = time.perf_counter() - t0
    tok_gen = n_tokens(rows)

    # naive loop: one generate call per sample, one prompt at a time
    torch.manual_seed(seed + 2)
    naive_rows, naive_prompt = [], []
    t0 = time.perf_counter()
    for i, ids in enumerate(encoded):
        for _ in range(n):
            naive_rows.append(gen(ids, 1)[0, len(ids):].tolist())
            naive_prompt.append(i)
    _sync(torch, dev)
    t_naive = time.perf_counter() - t0
    tok_naive = n_tokens(naive_rows)

    naive_lp = policy.log_prob_ids([encoded[i] for i in naive_prompt], naive_rows)
    ks = scipy_stats.ks_2samp(draws.log_prob, naive_lp)

    def arm(tokens, seconds):
        return {"tokens": tokens, "seconds": round(seconds, 4), "tokens_per_s": tokens / seconds}

    result = {
        "benchmark": "lm_sampling", "quick": quick, "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(), "model": desc, "dtype": str(next(model.parameters()).dtype),
        "n_params": int(n_params), "model_bytes": int(model_bytes), "n": n, "n_prompts": n_prompts,
        "max_new_tokens": max_new_tokens,
        "batched": arm(tok_batched, t_batched), "batched_generate_only": arm(tok_gen, t_gen),
        "naive": arm(tok_naive, t_naive),
    }
    result["ratio"] = result["batched"]["tokens_per_s"] / result["naive"]["tokens_per_s"]
    result["ratio_generate_only"] = result["batched_generate_only"]["tokens_per_s"] / result["naive"]["tokens_per_s"]
    result["same_law"] = {"test": "two-sample KS on sequence log-likelihood", "p_value": float(ks.pvalue),
                          "alpha": SAME_LAW_ALPHA, "passed": bool(ks.pvalue > SAME_LAW_ALPHA)}

    if batch_sweep is None:
        batch_sweep = [1, 8, n] if dev.type == "cuda" else []
    bandwidth = measure_bandwidth(dev) if dev.type == "cuda" else None
    sweep = []
    for b in batch_sweep:
        torch.manual_seed(seed + 3)
        t0 = time.perf_counter()
        out = gen(encoded[0], int(b))
        _sync(torch, dev)
        secs = time.perf_counter() - t0
        toks = n_tokens(out[:, len(encoded[0]):].tolist())
        row = {"batch": int(b), "tokens_per_s": toks / secs, "steps_per_s": max_new_tokens / secs}
        if bandwidth is not None:
            roof = b * bandwidth / model_bytes
            row.update(roofline_tokens_per_s=roof, fraction_of_roofline=row["tokens_per_s"] / roof)
        sweep.append(row)
    if bandwidth is None:
        result["roofline"] = "not computed on CPU (it needs a device memory bandwidth)"
    else:
        result["roofline"] = {"bandwidth_GB_per_s": bandwidth / 1e9,
                              "max_decode_steps_per_s": bandwidth / model_bytes,
                              "note": "tokens/s <= batch * bandwidth / model_bytes (KV-cache reads ignored)"}
    result["batch_sweep"] = sweep
    if per_core is None:
        per_core = dev.type == "cpu"
    if per_core:
        from sharpsim import bench as sharpsim_bench

        cfg = {"quick": quick, "model_dir": None if model_dir is None else str(model_dir), "n": n,
               "n_prompts": n_prompts, "max_new_tokens": max_new_tokens, "seed": seed}
        result["per_core"] = sharpsim_bench.per_core_ratio(
            f"{__name__}:side_batched", cfg, f"{__name__}:side_naive", cfg,
            repeats=(3 if quick else 5) if repeats is None else repeats, min_seconds=0.0, unit="tokens")
    return result


def _cpu_policy(quick: bool, model_dir):
    """The benchmark's model on the CPU (the random char-level GPT-2 is seeded: the same in every process)."""
    from sharpsim.bridge._deps import require
    from sharpsim.bridge.policy import LMPolicy

    torch = require("torch")
    dev = torch.device("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        path = model_dir if model_dir is not None else _build_model(tmp, device=dev, quick=quick)[0]
        return torch, LMPolicy.from_pretrained(path, device=dev)


def side_batched(quick: bool, model_dir, n: int, n_prompts: int, max_new_tokens: int, seed: int):
    """The batched arm as a per-core side (``sharpsim.bench.per_core_ratio``): ``run()`` draws ``n`` responses
    per prompt with ``LMPolicy.sample`` (scoring included) and returns the response tokens.

    Args:
      quick: the quick model's sizes; model_dir: a saved model folder, or ``None`` for the seeded random one.
      n: responses per prompt; n_prompts: prompts; max_new_tokens: the response length cap; seed: the seed.

    Returns:
      ``run() -> int``, the number of response tokens drawn.
    """
    _, policy = _cpu_policy(quick, model_dir)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(n_prompts)]
    return lambda: int(policy.sample(prompts, n=n, max_new_tokens=max_new_tokens, seed=seed).length.sum())


def side_naive(quick: bool, model_dir, n: int, n_prompts: int, max_new_tokens: int, seed: int):
    """The naive arm as a per-core side: ``run()`` makes one ``generate`` call per sample and returns the
    response tokens.

    Args:
      quick, model_dir, n, n_prompts, max_new_tokens, seed: as in :func:`side_batched`.

    Returns:
      ``run() -> int``, the number of response tokens drawn.
    """
    from sharpsim.bridge.scoring import truncate_at_eos

    torch, policy = _cpu_policy(quick, model_dir)
    encoded = policy.encode_prompts([PROMPTS[i % len(PROMPTS)] for i in range(n_prompts)])
    kwargs = policy._generation_kwargs(do_sample=True, temperature=1.0, top_p=1.0, max_new_tokens=max_new_tokens)
    torch.manual_seed(seed)

    def run():
        tokens = 0
        for ids in encoded:
            t = torch.tensor([ids], dtype=torch.long)
            for _ in range(n):
                with torch.no_grad():
                    row = policy._generate(t, torch.ones_like(t), num_return_sequences=1, **kwargs)[0, len(ids):]
                tokens += len(truncate_at_eos(row.tolist(), policy.eos_token_id)[0])
        return tokens

    return run


def report(result: dict) -> str:
    """A short human-readable summary of :func:`bench_sampling`'s result."""
    lines = [f"LM sampling on {result['device_name']} ({result['model']}, {result['dtype']}, "
             f"{result['n_params']} params), N={result['n']} x {result['n_prompts']} prompts, "
             f"max_new_tokens={result['max_new_tokens']}, {result['torch_threads']} torch threads"]
    for key in ("batched", "batched_generate_only", "naive"):
        r = result[key]
        lines.append(f"  {key:<22} {r['tokens']:>7} tokens in {r['seconds']:8.3f} s = {r['tokens_per_s']:10.1f} tok/s")
    lines.append(f"  ratio batched/naive: {result['ratio']:.2f}x (generate only: {result['ratio_generate_only']:.2f}x)")
    if "per_core" in result:
        pc = result["per_core"]
        lines.append(f"  per core (one CPU, one thread each, {pc['repeats']} interleaved repeats): ratio "
                     f"{pc['ratio']:.2f}x median (min {pc['ratio_min']:.2f}x, max {pc['ratio_max']:.2f}x)")
    s = result["same_law"]
    lines.append(f"  same law (KS on log-likelihood): p = {s['p_value']:.3g} ({'ok' if s['passed'] else 'FAILED'})")
    if isinstance(result["roofline"], str):
        lines.append(f"  roofline: {result['roofline']}")
    else:
        lines.append(f"  bandwidth {result['roofline']['bandwidth_GB_per_s']:.0f} GB/s")
    for row in result["batch_sweep"]:
        extra = (f", roofline {row['roofline_tokens_per_s']:.0f} tok/s ({row['fraction_of_roofline']:.1%})"
                 if "roofline_tokens_per_s" in row else "")
        lines.append(f"  batch {row['batch']:>4}: {row['tokens_per_s']:10.1f} tok/s{extra}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python benchmarks/lm_sampling.py [--quick] [--json] [--model DIR] [--device D] [--out FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--model", default=None, help="a local causal LM (default: a random char-level GPT-2)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--n", type=int, default=50, help="draws per prompt (default 50)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="also write the JSON result here")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats of the per-core ratio")
    parser.add_argument("--no-per-core", action="store_true", help="skip the per-core ratio (measured on CPU only)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    result = bench_sampling(quick=args.quick, model_dir=args.model, device=args.device, n=args.n,
                            per_core=False if args.no_per_core else None, repeats=args.repeats)
    print(json.dumps(result, indent=2) if args.json else report(result))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
