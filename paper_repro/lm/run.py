"""Paper-style LM runs (App A analogues): train tiny LMs, then BoN, pass@k and SFT-Sharpening per cell.

For each task in ``--tasks`` and each model — a tiny GPT-2 of each size in ``--sizes``
(``sharpsim.bridge.tiny.SIZES``) trained on that task here, plus any local checkpoint given with
``--models`` — this script runs, in order:

1. ``train``  ``sharpsim lm train-tiny`` (tiny models only) into ``OUT/<task>/<model>/model``;
2. ``bon``    ``sharpsim lm bon`` (N_max draws per prompt, greedy, lift vs N) into ``.../bon``;
3. ``passk``  ``sharpsim lm passk`` (fresh draws, seed + 1, ``--passk-n`` per prompt) into ``.../passk``;
4. ``sft``    ``sharpsim lm sft --from-bon .../bon`` (LoRA on the BoN picks, Table 1 analogue) into ``.../sft``.

Every step is a call of :func:`sharpsim.cli.main` in this process (no subprocess). Steps are
resumable: a finished step (``summary.json`` written and the manifest marked finished; for
``train``, ``train_manifest.json`` completed by ``train-tiny``) whose recorded command line equals
this invocation's is skipped; an unfinished one is re-run, and the ``sharpsim lm`` commands then resume
their own run folders (finished prompts are not resampled). Each step's wall time and command line
are recorded in ``OUT/steps.json``; the run environment (device, versions, CPU, settings) in
``OUT/run_config.json``. ``paper_repro/lm/report.py OUT`` draws the figures and tables.

Usage::

    python paper_repro/lm/run.py --quick --out paper_repro/lm/results_cpu --threads 1   # CPU, minutes
    python paper_repro/lm/run.py --out runs/lm_gpu --device cuda                       # GPU defaults
    python paper_repro/lm/run.py --out runs/mine --sizes none --models /path/to/ckpt --tasks arithmetic
    python paper_repro/lm/run.py --quick --out runs/hard --task-option prontoqa:hops=3 --task-option prontoqa:distractors=2

Evaluation prompts are ``task.examples(n_prompts, seed=data_seed)`` with ``--data-seed`` 1 by
default, while the tiny models train on ``task.examples(examples, seed=train_seed)`` (seed 0): the
prompt lists differ, but a small prompt space (arithmetic has 6561 prompts) makes some evaluation
prompts training prompts too; the fraction is measured and recorded per task in ``run_config.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from sharpsim import records

ALL_TASKS = ("arithmetic", "prontoqa", "game24")
ALL_SIZES = ("tiny", "small", "base")
STEPS = ("train", "bon", "passk", "sft")

#: settings for a GPU (default) and for a CPU in minutes (``--quick``); any flag given overrides them
PRESETS = {
    "gpu": {"tasks": ",".join(ALL_TASKS), "sizes": ",".join(ALL_SIZES), "N": 50, "n_prompts": 200,
            "passk_n": 200, "train_steps": 4000, "examples": 5000, "eval_examples": 200, "sft_epochs": 30,
            "eval_samples": 8, "n_boot": 1000},
    "quick": {"tasks": "arithmetic,prontoqa", "sizes": "tiny,small", "N": 16, "n_prompts": 64, "passk_n": 32,
              "train_steps": 600, "examples": 5000, "eval_examples": 100, "sft_epochs": 10,
              "eval_samples": 4, "n_boot": 500},
}

#: flags that do not change a step's results (ignored when deciding whether a finished step is current)
_NEUTRAL_FLAGS = {"--no-progress": 0, "--device": 1, "--threads": 1}


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments; unset ones are filled from the preset (``--quick`` or the GPU one)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (resumed if it exists)")
    p.add_argument("--quick", action="store_true", help="CPU-minutes settings (see PRESETS['quick'])")
    p.add_argument("--tasks", default=None, help=f"comma-separated tasks (default: {PRESETS['gpu']['tasks']}; "
                   f"--quick: {PRESETS['quick']['tasks']})")
    p.add_argument("--sizes", default=None,
                   help="comma-separated tiny-model sizes to train, or 'none' (default: tiny,small,base; "
                        "--quick: tiny,small)")
    p.add_argument("--task-option", action="append", default=None, metavar="TASK:KEY=VALUE",
                   help="a task option, e.g. prontoqa:hops=3 (repeatable; default: the task's defaults)")
    p.add_argument("--models", nargs="+", default=[], metavar="DIR",
                   help="local Hugging Face checkpoints to run as well (no training); label = folder name")
    p.add_argument("--steps", default=",".join(STEPS), help=f"steps to run (default {','.join(STEPS)})")
    p.add_argument("--N", type=int, default=None, help="BoN draws per prompt, N_max (default 50; --quick 16)")
    p.add_argument("--n-prompts", type=int, default=None, help="evaluation prompts (default 200; --quick 64)")
    p.add_argument("--passk-n", type=int, default=None,
                   help="draws per prompt of the pass@k step (default 200; --quick 32)")
    p.add_argument("--train-steps", type=int, default=None, help="train-tiny steps (default 4000; --quick 600)")
    p.add_argument("--examples", type=int, default=None, help="train-tiny training examples (default 5000)")
    p.add_argument("--eval-examples", type=int, default=None,
                   help="train-tiny held-out examples (default 200; --quick 100)")
    p.add_argument("--sft-epochs", type=int, default=None, help="SFT epochs (default 30 as in the paper; --quick 10)")
    p.add_argument("--eval-samples", type=int, default=None,
                   help="SFT-tuned samples per prompt for evaluation (default 8; --quick 4)")
    p.add_argument("--lora-rank", type=int, default=8, help="SFT LoRA rank (default 8)")
    p.add_argument("--n-boot", type=int, default=None, help="bootstrap resamples (default 1000; --quick 500)")
    p.add_argument("--max-new-tokens", type=int, default=None,
                   help="response cap for every step (default per task: 2 x the longest training response + 8, "
                        "within the tiny models' 256 positions)")
    p.add_argument("--seed", type=int, default=0, help="sampling/training seed (default 0)")
    p.add_argument("--train-seed", type=int, default=0, help="train-tiny seed (data and init; default 0)")
    p.add_argument("--data-seed", type=int, default=1, help="seed of the evaluation prompts (default 1)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is faster on a busy machine)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = p.parse_args(argv)
    preset = PRESETS["quick" if args.quick else "gpu"]
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.task_option = args.task_option or []
    _validate(args)
    return args


def _csv(text: str, flag: str) -> list[str]:
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ValueError(f"{flag} must list at least one name, got {text!r}")
    if len(set(items)) != len(items):
        raise ValueError(f"{flag} repeats a name: {text!r}")
    return items


def _validate(args) -> None:
    from sharpsim.bridge import tasks, tiny
    from sharpsim.bridge.cli.common import parse_task_options

    for flag, value, low in (("--N", args.N, 1), ("--n-prompts", args.n_prompts, 1), ("--passk-n", args.passk_n, 1),
                             ("--train-steps", args.train_steps, 1), ("--examples", args.examples, 1),
                             ("--eval-examples", args.eval_examples, 0), ("--sft-epochs", args.sft_epochs, 1),
                             ("--eval-samples", args.eval_samples, 1), ("--lora-rank", args.lora_rank, 1),
                             ("--n-boot", args.n_boot, 1), ("--seed", args.seed, 0),
                             ("--train-seed", args.train_seed, 0), ("--data-seed", args.data_seed, 0)):
        if value < low:
            raise ValueError(f"{flag} must be an integer >= {low}, got {value}")
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        raise ValueError(f"--max-new-tokens must be an integer >= 1, got {args.max_new_tokens}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be an integer >= 1, got {args.threads}")
    args.task_list = _csv(args.tasks, "--tasks")
    for name in args.task_list:
        try:
            tasks.get(name)
        except ValueError as err:
            raise ValueError(f"--tasks: {err}") from None
    args.task_options = {name: {} for name in args.task_list}
    for item in args.task_option:
        name, colon, rest = str(item).partition(":")
        if not colon or not name.strip():
            raise ValueError(f"--task-option must be TASK:KEY=VALUE, got {item!r}")
        name = name.strip()
        if name not in args.task_options:
            raise ValueError(f"--task-option {item!r}: task {name!r} is not in --tasks")
        opts = parse_task_options([rest])
        if set(opts) & set(args.task_options[name]):
            raise ValueError(f"--task-option {item!r}: {name}:{next(iter(opts))} is given twice")
        args.task_options[name].update(opts)
    for name, opts in args.task_options.items():
        try:
            tasks.get(name, **opts)
        except ValueError as err:
            raise ValueError(f"--task-option for {name!r}: {err}") from None
    args.size_list = [] if str(args.sizes).strip().lower() == "none" else _csv(args.sizes, "--sizes")
    for s in args.size_list:
        if s not in tiny.SIZES:
            raise ValueError(f"--sizes: unknown size {s!r}; known: {', '.join(tiny.SIZES)} (or 'none')")
    args.step_list = _csv(args.steps, "--steps")
    for s in args.step_list:
        if s not in STEPS:
            raise ValueError(f"--steps: unknown step {s!r}; known: {', '.join(STEPS)}")
    for m in args.models:
        if not Path(m).expanduser().is_dir():
            raise FileNotFoundError(f"--models {m!r} does not exist or is not a directory")
    if not args.size_list and not args.models:
        raise ValueError("nothing to run: --sizes none and no --models")


def model_labels(sizes, models) -> list[tuple[str, str | None, Path | None]]:
    """``(label, size or None, checkpoint or None)`` per model: tiny sizes first, then ``--models``
    labelled by folder name (``name-2``, ``name-3`` for repeats)."""
    out: list[tuple[str, str | None, Path | None]] = [(s, s, None) for s in sizes]
    used = set(sizes)
    for m in models:
        path = Path(m).expanduser().resolve()
        label, k = path.name or "model", 1
        while label in used:
            k += 1
            label = f"{path.name}-{k}"
        used.add(label)
        out.append((label, None, path))
    return out


def task_settings(name: str, args) -> dict:
    """Per-task response cap and the measured overlap of evaluation and training prompts."""
    from sharpsim.bridge import tasks, tiny

    task = tasks.get(name, **args.task_options[name])
    train = task.examples(args.examples, seed=args.train_seed)
    evals = task.examples(args.n_prompts, seed=args.data_seed)
    if len(evals) < args.n_prompts:
        raise ValueError(f"--n-prompts {args.n_prompts} exceeds task {name!r}'s {len(evals)} examples")
    longest = max(len(task.solution(e)) for e in train)
    longest_prompt = max(len(e.prompt) for e in [*train, *evals])
    cap = args.max_new_tokens or min(2 * longest + 8, tiny.N_POSITIONS - 2 - longest_prompt)
    seen = {e.prompt for e in train}
    return {"options": dict(args.task_options[name]), "max_new_tokens": int(cap),
            "longest_training_response": longest,
            "eval_prompts_in_training": sum(e.prompt in seen for e in evals) / len(evals)}


def _current(argv: list[str]) -> list[str]:
    """The command line without the flags that do not change results."""
    out, skip = [], 0
    for a in argv:
        if skip:
            skip -= 1
            continue
        if a in _NEUTRAL_FLAGS:
            skip = _NEUTRAL_FLAGS[a]
            continue
        out.append(a)
    return out


def _finished(step: str, folder: Path) -> bool:
    if step == "train":
        f = folder / "train_manifest.json"
        return "task" in (records.read_json(f) or {})
    m = folder / "manifest.json"
    return (folder / "summary.json").is_file() and bool((records.read_json(m) or {}).get("finished"))


def environment(device) -> dict:
    """Device, versions and CPU of this invocation (for results.md)."""
    import torch

    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {"device": str(dev), "torch": torch.__version__, "python": platform.python_version(),
           "platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
           "torch_threads": torch.get_num_threads()}
    if str(dev).startswith("cuda") and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(torch.device(dev))
    try:
        from importlib.metadata import version

        env["transformers"] = version("transformers")
        env["peft"] = version("peft")
        env["sharpsim"] = version("sharpsim")
    except Exception:  # versions are informative only
        pass
    return env


def plan(args) -> list[dict]:
    """One entry per (task, model, step) in run order: ``{"key", "step", "folder", "argv", "model_dir"}``."""
    out_root = Path(args.out)
    common = ["--seed", str(args.seed), "--data-seed", str(args.data_seed)]
    tail = (["--device", args.device] if args.device else []) + (["--no-progress"] if args.no_progress else [])
    items = []
    for task in args.task_list:
        ts = args.task_settings[task]
        opts = args.task_options[task]
        cap = ["--max-new-tokens", str(ts["max_new_tokens"])]
        cap += [a for k, v in opts.items() for a in ("--task-option", f"{k}={v}")]
        spec = task if not opts else task + ":" + ",".join(f"{k}={v}" for k, v in opts.items())
        for label, size, ckpt in model_labels(args.size_list, args.models):
            cell = out_root / task / label
            model_dir = cell / "model" if ckpt is None else ckpt
            base = ["lm"]
            steps = {
                "train": [*base, "train-tiny", "--task", spec, "--out", str(model_dir), "--size", str(size),
                          "--steps", str(args.train_steps), "--examples", str(args.examples),
                          "--eval-examples", str(args.eval_examples), "--seed", str(args.train_seed), *tail,
                          *(["--threads", str(args.threads)] if args.threads else [])],
                "bon": [*base, "bon", "--model", str(model_dir), "--task", task, "--n-prompts", str(args.n_prompts),
                        "--N", str(args.N), "--out", str(cell / "bon"), *cap, *common, "--n-boot", str(args.n_boot),
                        *tail],
                "passk": [*base, "passk", "--model", str(model_dir), "--task", task, "--n-prompts",
                          str(args.n_prompts), "--N", str(args.passk_n), "--out", str(cell / "passk"), *cap,
                          "--seed", str(args.seed + 1), "--data-seed", str(args.data_seed),
                          "--n-boot", str(args.n_boot), *tail],
                "sft": [*base, "sft", "--model", str(model_dir), "--task", task, "--n-prompts", str(args.n_prompts),
                        "--out", str(cell / "sft"), "--N", str(args.N), "--from-bon", str(cell / "bon"), *cap,
                        *common, "--epochs", str(args.sft_epochs), "--eval-samples", str(args.eval_samples),
                        "--lora-rank", str(args.lora_rank), *tail],
            }
            for step in STEPS:
                if step not in args.step_list or (step == "train" and ckpt is not None):
                    continue
                folder = model_dir if step == "train" else cell / step
                items.append({"key": f"{task}/{label}/{step}", "task": task, "model": label, "step": step,
                              "folder": folder, "argv": steps[step], "model_dir": model_dir})
    return items


def main(argv=None) -> int:
    """Run the plan (see the module doc); returns 0, or the first failing step's exit code."""
    args = parse_args(argv)
    from sharpsim.bridge._deps import require

    torch = require("torch")
    if args.threads:
        torch.set_num_threads(args.threads)
    from sharpsim import cli

    out_root = Path(args.out)
    out_root.mkdir(parents=True, exist_ok=True)
    args.task_settings = {t: task_settings(t, args) for t in args.task_list}
    steps_file = out_root / "steps.json"
    record = records.read_json(steps_file) or {}
    settings = {k: v for k, v in vars(args).items() if k not in ("task_settings",)}
    now = records.utc_now()
    previous = records.read_json(out_root / "run_config.json") or {}
    config = {"argv": list(sys.argv[1:] if argv is None else argv), "settings": settings,
              "tasks": args.task_settings, "environment": environment(args.device),
              "started_at": previous.get("started_at", now), "invocations": [*previous.get("invocations", []), now]}
    records.write_json(out_root / "run_config.json", config)
    items = plan(args)
    for i, item in enumerate(items, 1):
        key, folder = item["key"], Path(item["folder"])
        prev = record.get(key)
        finished = _finished(item["step"], folder)
        same = prev is not None and _current(prev["argv"]) == _current(item["argv"])
        if finished and (same or (prev is None and item["step"] == "train")):
            took = "unrecorded" if prev is None else f"{prev['seconds']:.1f} s"
            print(f"[{i}/{len(items)}] {key}: done earlier ({took}), skipped", flush=True)
            continue
        if item["step"] == "train" and finished:
            raise ValueError(f"{key}: the model in {str(folder)!r} was trained with other settings; "
                             "delete that folder or choose another --out")
        if item["step"] != "train" and not Path(item["model_dir"]).is_dir():
            raise FileNotFoundError(f"{key}: no model in {str(item['model_dir'])!r}; run the 'train' step first")
        print(f"[{i}/{len(items)}] {key}: sharpsim {' '.join(item['argv'])}", flush=True)
        t0 = time.time()
        rc = cli.main(item["argv"])
        seconds = time.time() - t0
        if rc != 0:
            print(f"{key}: failed with exit code {rc} after {seconds:.1f} s", file=sys.stderr)
            return rc
        record[key] = {"argv": item["argv"], "seconds": round(seconds, 3),
                       "finished_at": records.utc_now()}
        records.write_json(steps_file, record)
        print(f"[{i}/{len(items)}] {key}: {seconds:.1f} s", flush=True)
    config["finished_at"] = records.utc_now()
    records.write_json(out_root / "run_config.json", config)
    print(f"done: {len(items)} steps in {out_root}; draw the figures with "
          f"python paper_repro/lm/report.py {out_root}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError) as err:
        print(f"run.py: error: {err}", file=sys.stderr)
        sys.exit(2)
