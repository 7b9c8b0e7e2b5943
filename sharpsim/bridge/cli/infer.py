"""``sharpsim lm bon`` and ``sharpsim lm passk``: inference-time best-of-N and the pass@k skyline.

Both commands share the sampling stage (:func:`collect`): for each prompt not yet done in the run
directory, draw N responses at the given temperature/top-p (``bon`` also decodes greedily), score
them (``log π(y|x)``, fp32, teacher-forced at temperature 1), extract and check answers, and append
the rows to ``samples.jsonl`` (and ``greedy.jsonl``) and then a marker row to ``prompts.jsonl``
(fsynced, a chunk of prompts at a time). A prompt counts as done only once its marker row is on
disk, so after a crash the prompts of the unfinished chunk are redone and nothing finished is
resampled. Draws are seeded per prompt (seed, the prompt's position in the task's example list),
so a redone prompt gets the same draws.

Then ``bon`` writes (``theory/bridge_inference.md`` describes every file):

* ``summary.json`` / ``summary.csv`` — greedy accuracy, BoN accuracy per self-reward at N and its
  lift over greedy (absolute and %), with bootstrap intervals; pass@N;
* ``lift_vs_n.csv`` — the same for N = 1, 2, 4, ..., N (subsampling the N draws);
* ``passk.csv`` — pass@k with bootstrap intervals; ``loglik_hist.csv`` — histogram data;
* ``bon_picks.csv`` — each prompt's pick per self-reward at N;
* ``lift_vs_n``, ``pick_loglik_vs_n``, ``loglik_hist``, ``passk`` as ``.png`` and ``.pdf``.

``passk`` writes ``summary.json``, ``passk.csv``, ``loglik_hist.csv`` and the ``passk`` and
``loglik_hist`` plots. This module imports torch only inside :func:`main`.

``--adapter DIR`` samples a LoRA-tuned model: ``--model`` is the base folder and ``DIR`` the
``adapter/`` folder that ``sharpsim lm sft|rlhf|xpo`` write (:func:`load_policy`); e.g. pass@k of
the SFT-sharpened model next to the base's, on the same prompts and seed. The adapter's path and
fingerprint join the run's config (a resumed run with another adapter is refused).

``--tensor-parallel K`` and ``--device-map auto`` place one copy of a large model over several
GPUs (vLLM's ``tensor_parallel_size=K``; ``docs/scale/multi_gpu.md``); under ``torchrun`` the
prompts are dealt out over the processes and rank 0 alone writes ``--out``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from sharpsim.bridge.cli.common import (
    PLACEMENT_FLAGS,
    add_run_arguments,
    check_placement,
    parse_task_options,
    placement_kwargs,
)

DEFAULT_REWARDS = "loglik,norm_loglik,majority"

#: settings that do not change the results: left out of the run's config, so they may differ on resume
_NOT_CONFIG = ("out", "device", "no_progress", "overwrite", "chunk_prompts", "n_boot", "n_subsets",
               "confidence", "rewards", "k", "lm_command", "command", "_unavailable", *PLACEMENT_FLAGS)


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the arguments of ``sharpsim lm bon`` (``name="bon"``) or ``sharpsim lm passk`` to ``parser``."""
    if name not in ("bon", "passk"):
        raise ValueError(f"name must be 'bon' or 'passk', got {name!r}")
    add_run_arguments(parser, seed_help="sampling seed (default 0)")
    parser.add_argument("--adapter", default=None, metavar="DIR",
                        help="a peft LoRA adapter folder (the adapter/ that sharpsim lm sft|rlhf|xpo write) put "
                             "on top of --model: the run samples the tuned model (default: none, --model itself)")
    parser.add_argument("--N", type=int, required=True, help="draws per prompt (N_max)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus mass in (0, 1] (default 1: off)")
    parser.add_argument("--chunk-prompts", type=int, default=8,
                        help="prompts sampled between two writes to disk (default 8)")
    parser.add_argument("--confidence", type=float, default=0.95, help="bootstrap interval level (default 0.95)")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of prompts (default 1000)")
    if name == "bon":
        parser.add_argument("--rewards", default=DEFAULT_REWARDS,
                            help=f"comma-separated self-rewards (default {DEFAULT_REWARDS})")
        parser.add_argument("--n-subsets", type=int, default=1000,
                            help="random subsets per prompt for BoN at N < N_max under non-pointwise rewards "
                            "(majority); fewer subsets than that are enumerated (default 1000)")
    else:
        parser.add_argument("--k", default=None,
                            help="comma-separated k values (default 1, 2, 4, ..., N)")


def _int_list(text: str, flag: str) -> list[int]:
    try:
        out = [int(t) for t in str(text).split(",") if t.strip()]
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated integers, got {text!r}") from None
    if not out:
        raise ValueError(f"{flag} must list at least one integer, got {text!r}")
    return out


def validate(args) -> dict:
    """Check the arguments (before anything heavy is imported); return the parsed settings.

    Raises:
      ValueError: one message naming the bad argument and its constraint (also: ``--adapter`` is a
        folder without ``adapter_config.json``).
      FileNotFoundError: ``--model`` or ``--adapter`` is not an existing directory.
    """
    from sharpsim.bridge import rewards as rw
    from sharpsim.bridge import tasks

    command = args.lm_command
    check_placement(args)
    for flag, value, low in (("--N", args.N, 1), ("--n-prompts", args.n_prompts, 1),
                             ("--max-new-tokens", args.max_new_tokens, 1), ("--seed", args.seed, 0),
                             ("--data-seed", args.data_seed, 0), ("--chunk-prompts", args.chunk_prompts, 1),
                             ("--n-boot", args.n_boot, 1)):
        if value < low:
            raise ValueError(f"{flag} must be >= {low}, got {value}")
    if not (math.isfinite(args.temperature) and args.temperature > 0):
        raise ValueError(f"--temperature must be a finite number > 0, got {args.temperature}")
    if not 0 < args.top_p <= 1:
        raise ValueError(f"--top-p must be in (0, 1], got {args.top_p}")
    if not 0 < args.confidence < 1:
        raise ValueError(f"--confidence must be in (0, 1), got {args.confidence}")
    options = parse_task_options(args.task_option)
    try:
        task = tasks.get(args.task, **options)
    except ValueError as err:
        raise ValueError(f"--task {args.task!r}: {err}") from None
    settings: dict = {"task": task, "task_options": options}
    if command == "bon":
        names = [t.strip() for t in args.rewards.split(",") if t.strip()]
        if not names:
            raise ValueError(f"--rewards must name at least one self-reward, got {args.rewards!r}")
        for n in names:
            if n not in rw.reward_names():
                raise ValueError(f"--rewards: unknown reward {n!r}; known: {', '.join(rw.reward_names())}")
        if args.n_subsets < 1:
            raise ValueError(f"--n-subsets must be >= 1, got {args.n_subsets}")
        settings["rewards"] = names
    else:
        ks = None if args.k is None else _int_list(args.k, "--k")
        if ks is not None and any(k < 1 or k > args.N for k in ks):
            raise ValueError(f"--k values must be in 1..N={args.N}, got {args.k}")
        settings["ks"] = ks
    model = Path(args.model).expanduser()
    if not model.is_dir():
        raise FileNotFoundError(f"--model {str(model)!r} does not exist or is not a directory")
    settings["model"] = model
    settings["adapter"] = None
    if getattr(args, "adapter", None) is not None:
        adapter = Path(args.adapter).expanduser()
        if not adapter.is_dir():
            raise FileNotFoundError(f"--adapter {str(adapter)!r} does not exist or is not a directory")
        if not (adapter / "adapter_config.json").is_file():
            raise ValueError(f"--adapter {str(adapter)!r} is not a peft adapter folder: it has no "
                             "adapter_config.json (give the adapter/ folder that sharpsim lm sft writes)")
        settings["adapter"] = adapter
    return settings


def run_config(args, settings: dict) -> dict:
    """The settings that determine the samples (recorded in the manifest; must match to resume)."""
    cfg = {k: v for k, v in vars(args).items() if k not in _NOT_CONFIG and not k.startswith("_")}
    cfg["model"] = str(Path(args.model).expanduser().resolve())
    cfg["task_option"] = settings["task_options"]
    cfg.pop("adapter", None)  # recorded only when given, so runs made before --adapter existed resume
    if settings.get("adapter") is not None:
        from sharpsim.bridge.runs import model_fingerprint

        cfg["adapter"] = str(Path(settings["adapter"]).resolve())
        cfg["adapter_fingerprint"] = model_fingerprint(settings["adapter"])
    return cfg


def load_policy(model, *, adapter=None, device=None, **placement):
    """The policy a ``bon``/``passk`` run samples: ``model``, with the LoRA ``adapter`` on it if given.

    The adapter is applied with ``peft.PeftModel.from_pretrained`` (not merged, eval mode), so the
    policy is the same function as the in-memory model ``sharpsim lm sft`` trained; a peft-wrapped
    model never samples through vLLM (which would load the base weights alone).

    Args:
      model: a local model directory (:meth:`~sharpsim.bridge.policy.LMPolicy.from_pretrained`).
      adapter: None, or a peft adapter folder (``adapter_config.json`` and its weights).
      device: as for ``from_pretrained``; placement: its placement keywords
        (``tensor_parallel``, ``device_map``).

    Returns:
      An :class:`~sharpsim.bridge.policy.LMPolicy`.

    Raises:
      FileNotFoundError, ValueError: as ``from_pretrained``; ValueError also when the adapter does
        not load onto the model (the message names both folders).
    """
    from sharpsim.bridge.policy import LMPolicy

    policy = LMPolicy.from_pretrained(model, device=device, **placement)
    if adapter is None:
        return policy
    from sharpsim.bridge._deps import require

    peft = require("peft")
    try:
        wrapped = peft.PeftModel.from_pretrained(policy.model, str(adapter), is_trainable=False)
    except Exception as err:  # peft raises several types for a mismatched or broken adapter
        raise ValueError(f"--adapter {str(adapter)!r} does not load onto --model {str(model)!r}: "
                         f"{type(err).__name__}: {err}") from err
    wrapped.eval()
    policy.model = wrapped
    return policy


def _rows_for(samples, examples, positions, task, *, table: str) -> list[dict]:
    rows = []
    for r in range(len(samples)):
        i = int(samples.prompt_index[r])
        ex = examples[i]
        text = samples.text[r]
        row = {"example_id": ex.id, "prompt_index": positions[i]}
        if table == "samples":
            row["sample_index"] = int(samples.sample_index[r])
        row.update({"tokens": samples.tokens[r], "text": text, "log_prob": float(samples.log_prob[r]),
                    "length": int(samples.length[r]), "hit_eos": bool(samples.hit_eos[r]),
                    "answer": task.extract(text), "correct": bool(task.is_correct(ex, text))})
        if table == "greedy":
            row["gold"] = ex.answer
        rows.append(row)
    return rows


def collect(policy, task, examples, run, *, N: int, temperature: float, top_p: float, max_new_tokens: int,
            seed: int, greedy: bool, chunk: int = 8, progress: bool = True) -> dict:
    """Sample (and greedy-decode) every example not yet done in ``run``; write rows as it goes.

    Args:
      policy: an :class:`~sharpsim.bridge.policy.LMPolicy`.
      task: the :class:`~sharpsim.bridge.tasks.Task` (answer extraction and checking).
      examples: the run's ``P`` examples; example ``i`` is seeded as prompt id ``i``.
      run: the :class:`~sharpsim.bridge.runs.RunDir`.
      greedy: also decode greedily (``greedy.jsonl``).
      chunk: prompts per write (per rank under ``torchrun``: a write holds ``W`` chunks, one per rank).

    Returns: ``{"sampled": prompts sampled now, "skipped": prompts already done}``.
    """
    from sharpsim.bridge import distributed

    done = run.done("prompts")
    pending = [i for i, ex in enumerate(examples) if ex.id not in done]
    bar = None
    if progress and pending:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(examples), initial=len(examples) - len(pending), desc="prompts", unit="prompt")
    # several processes (torchrun): each rank takes every W-th chunk; rows are gathered in chunk order
    chunks = [pending[start: start + chunk] for start in range(0, len(pending), chunk)]
    for idx in distributed.my_chunks(chunks):
        sample_rows, greedy_rows, markers = [], [], []
        if idx:
            sample_rows, greedy_rows, markers = _draw_chunk(policy, task, examples, idx, N=N,
                                                            temperature=temperature, top_p=top_p,
                                                            max_new_tokens=max_new_tokens, seed=seed, greedy=greedy)
        sample_rows = distributed.gather_rows(sample_rows)
        greedy_rows = distributed.gather_rows(greedy_rows)
        markers = distributed.gather_rows(markers)
        run.append("samples", sample_rows)
        if greedy:
            run.append("greedy", greedy_rows)
        run.append("prompts", markers)
        if bar is not None:
            bar.update(len(markers))
    if bar is not None:
        bar.close()
    return {"sampled": len(pending), "skipped": len(examples) - len(pending)}


def _draw_chunk(policy, task, examples, idx, *, N, temperature, top_p, max_new_tokens, seed, greedy):
    """The sample rows, greedy rows and prompt markers of the examples at positions ``idx``."""
    chunk_examples = [examples[i] for i in idx]
    prompts = [ex.prompt for ex in chunk_examples]
    drawn = policy.sample(prompts, n=N, temperature=temperature, top_p=top_p,
                          max_new_tokens=max_new_tokens, seed=seed, prompt_ids=idx)
    sample_rows = _rows_for(drawn, chunk_examples, idx, task, table="samples")
    greedy_rows = []
    if greedy:
        g = policy.greedy(prompts, max_new_tokens=max_new_tokens)
        greedy_rows = _rows_for(g, chunk_examples, idx, task, table="greedy")
    markers = []
    for k, (i, ex) in enumerate(zip(idx, chunk_examples)):
        mine = sample_rows[k * N:(k + 1) * N]
        marker = {"example_id": ex.id, "prompt_index": i, "prompt": ex.prompt, "gold": ex.answer,
                  "n": N, "n_correct": sum(r["correct"] for r in mine)}
        if greedy:
            marker["greedy_correct"] = greedy_rows[k]["correct"]
        markers.append(marker)
    return sample_rows, greedy_rows, markers


def _load(run, examples, *, greedy: bool):
    """The finished prompts' draws (``PromptDraws`` in example order) and greedy rows by example id."""
    from sharpsim.bridge import analysis

    done = run.done("prompts")
    order = {ex.id: i for i, ex in enumerate(examples) if ex.id in done}
    samples = [r for r in run.read("samples") if r["example_id"] in order]
    prompts = sorted(analysis.group_samples(samples), key=lambda p: order[p.example_id])
    greedy_rows: dict = {}
    if greedy:
        for r in run.read("greedy"):
            if r["example_id"] in order:
                greedy_rows[r["example_id"]] = r  # the last row wins (a prompt redone after a crash)
    return prompts, greedy_rows


def _summarise_bon(run, prompts, greedy_rows, settings, args) -> dict:
    import numpy as np

    from sharpsim.bridge import analysis, plots, rewards

    n_max = args.N
    Ns = analysis.default_Ns(n_max)
    greedy_correct = {k: bool(v["correct"]) for k, v in greedy_rows.items()}
    lift = analysis.bon_lift_table(prompts, greedy_correct, settings["rewards"], Ns, n_subsets=args.n_subsets,
                                   seed=args.seed, confidence=args.confidence, n_boot=args.n_boot)
    run.write_csv("lift_vs_n", lift)
    at_n = [r for r in lift if r["N"] == n_max]
    summary_rows = [{k: r[k] for k in ("reward", "N", "n_prompts", "greedy_accuracy", "bon_accuracy",
                                       "bon_accuracy_low", "bon_accuracy_high", "lift_abs", "lift_abs_low",
                                       "lift_abs_high", "lift_pct", "lift_pct_low", "lift_pct_high",
                                       "pick_log_prob", "confidence")} for r in at_n]
    run.write_csv("summary", summary_rows)
    picks = []
    for p in prompts:
        for name in settings["rewards"]:
            j = rewards.pick(name, p.log_prob, p.length, list(p.answers))
            picks.append({"example_id": p.example_id, "reward": name, "N": n_max, "sample_index": j,
                          "log_prob": float(p.log_prob[j]), "length": int(p.length[j]), "answer": p.answers[j],
                          "correct": bool(p.correct[j]), "greedy_correct": greedy_correct[p.example_id]})
    run.write_csv("bon_picks", picks)
    passk, hist = _passk_and_hist(run, prompts, Ns, args)
    greedy_lp = float(np.mean([greedy_rows[p.example_id]["log_prob"] for p in prompts]))
    greedy_acc = float(np.mean([greedy_correct[p.example_id] for p in prompts]))
    fig_dir = run.path
    import matplotlib.pyplot as plt

    files = []
    fig, ax = plt.subplots(figsize=(5.6, 4))
    plots.plot_lift_vs_n(lift, ax)
    files += plots.save(fig, fig_dir, "lift_vs_n")
    fig, ax = plt.subplots(figsize=(5.6, 4))
    plots.plot_pick_loglik_vs_n(lift, ax, greedy_log_prob=greedy_lp)
    files += plots.save(fig, fig_dir, "pick_loglik_vs_n")
    files += _hist_and_passk_plots(run, hist, passk, greedy_acc)
    return {
        "command": "bon", "task": args.task, "task_options": settings["task_options"], "model": str(settings["model"]),
        "n_prompts": len(prompts), "N": n_max, "temperature": args.temperature, "top_p": args.top_p,
        "max_new_tokens": args.max_new_tokens, "seed": args.seed, "confidence": args.confidence,
        "greedy_accuracy": greedy_acc, "greedy_mean_log_prob": greedy_lp,
        "greedy_hit_eos_rate": float(np.mean([greedy_rows[p.example_id]["hit_eos"] for p in prompts])),
        **_sample_stats(prompts),
        "bon": {r["reward"]: {k: r[k] for k in summary_rows[0] if k not in ("reward", "N", "n_prompts",
                                                                            "greedy_accuracy", "confidence")}
                for r in summary_rows},
        "pass_at_k": {str(r["k"]): r["pass_at_k"] for r in passk},
        "files": sorted(p.name for p in files) + ["bon_picks.csv", "greedy.jsonl", "lift_vs_n.csv",
                                                   "loglik_hist.csv", "passk.csv", "prompts.jsonl",
                                                   "samples.jsonl", "summary.csv", "summary.json"],
    }


def _sample_stats(prompts) -> dict:
    import numpy as np

    lp = np.concatenate([p.log_prob for p in prompts])
    return {"sample_accuracy": float(np.mean(np.concatenate([p.correct for p in prompts]))),
            "sample_mean_log_prob": float(np.mean(lp)),
            "sample_mean_length": float(np.mean(np.concatenate([p.length for p in prompts])))}


def _passk_and_hist(run, prompts, ks, args):
    import numpy as np

    from sharpsim.bridge import analysis

    n = np.array([p.n for p in prompts])
    c = np.array([int(p.correct.sum()) for p in prompts])
    passk = analysis.pass_at_k_table(n, c, ks, confidence=args.confidence, n_boot=args.n_boot, seed=args.seed)
    run.write_csv("passk", passk)
    hist = analysis.loglik_histogram(np.concatenate([p.log_prob for p in prompts]),
                                     np.concatenate([p.correct for p in prompts]))
    run.write_csv("loglik_hist", hist)
    return passk, hist


def _hist_and_passk_plots(run, hist, passk, greedy_acc):
    import matplotlib.pyplot as plt

    from sharpsim.bridge import plots

    files = []
    fig, ax = plt.subplots(figsize=(5.6, 4))
    plots.plot_loglik_hist(hist, ax)
    files += plots.save(fig, run.path, "loglik_hist")
    fig, ax = plt.subplots(figsize=(5.6, 4))
    plots.plot_passk(passk, ax, greedy_accuracy=greedy_acc)
    files += plots.save(fig, run.path, "passk")
    return files


def _summarise_passk(run, prompts, settings, args) -> dict:
    from sharpsim.bridge import analysis

    ks = settings["ks"] or analysis.default_Ns(args.N)
    passk, hist = _passk_and_hist(run, prompts, ks, args)
    files = _hist_and_passk_plots(run, hist, passk, None)
    return {
        "command": "passk", "task": args.task, "task_options": settings["task_options"],
        "model": str(settings["model"]), "n_prompts": len(prompts), "N": args.N, "temperature": args.temperature,
        "top_p": args.top_p, "max_new_tokens": args.max_new_tokens, "seed": args.seed,
        "confidence": args.confidence, **_sample_stats(prompts),
        "pass_at_k": {str(r["k"]): {k: r[k] for k in ("pass_at_k", "pass_at_k_low", "pass_at_k_high")}
                      for r in passk},
        "files": sorted(p.name for p in files) + ["loglik_hist.csv", "passk.csv", "prompts.jsonl",
                                                   "samples.jsonl", "summary.json"],
    }


def main(args) -> int:
    """Run ``sharpsim lm bon`` or ``sharpsim lm passk`` (``args.lm_command``); return the exit code.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) the prompts are dealt out over the ranks a chunk each
    (:func:`collect`); rank 0 alone writes the run directory, draws the summary and prints.

    Raises:
      ValueError, FileNotFoundError: bad arguments (see :func:`validate`), or placement flags the
        machine cannot honour (:func:`~sharpsim.bridge.cli.common.placement_kwargs`).
    """
    from sharpsim.bridge import distributed

    command = args.lm_command
    if command not in ("bon", "passk"):
        raise ValueError(f"sharpsim.bridge.cli.infer runs 'bon' or 'passk', not {command!r}")
    settings = validate(args)
    task = settings["task"]
    examples = task.examples(args.n_prompts, seed=args.data_seed)
    if len(examples) < args.n_prompts:
        raise ValueError(f"--n-prompts {args.n_prompts} exceeds the task's {len(examples)} examples")
    placement = placement_kwargs(args, world_size=distributed.env_world_size())
    ctx = distributed.setup(args.device)
    try:
        code = _run(args, settings, examples, ctx, placement)
    except BaseException:
        distributed.teardown(ctx, wait=False)
        raise
    distributed.teardown(ctx)
    return code


def _run(args, settings, examples, ctx, placement) -> int:
    from sharpsim.bridge import distributed
    from sharpsim.bridge.runs import RunDir

    command = args.lm_command
    task = settings["task"]
    run = distributed.make_run(lambda writer: RunDir(
        args.out, command=command, config=run_config(args, settings), model_path=settings["model"],
        overwrite=args.overwrite, writer=writer))
    progress = not args.no_progress and ctx.is_main
    device = args.device if ctx.world_size == 1 else ctx.device
    policy = load_policy(settings["model"], adapter=settings["adapter"], device=device, **placement)
    stats = collect(policy, task, examples, run, N=args.N, temperature=args.temperature, top_p=args.top_p,
                    max_new_tokens=args.max_new_tokens, seed=args.seed, greedy=command == "bon",
                    chunk=args.chunk_prompts, progress=progress)
    if not ctx.is_main:  # rank 0 alone reads the tables back, writes the summary and plots, and prints
        return 0
    prompts, greedy_rows = _load(run, examples, greedy=command == "bon")
    if run.partial_tables:
        print(f"note: dropped a partial last line (a killed write) in {', '.join(sorted(run.partial_tables))}; "
              "the prompts it belonged to were redone", file=sys.stderr)
    if command == "bon":
        summary = _summarise_bon(run, prompts, greedy_rows, settings, args)
    else:
        summary = _summarise_passk(run, prompts, settings, args)
    summary["adapter"] = None if settings["adapter"] is None else str(settings["adapter"])
    summary["prompts_sampled_this_run"] = stats["sampled"]
    summary["prompts_resumed"] = stats["skipped"]
    summary["placement"] = {"world_size": ctx.world_size, "tensor_parallel": args.tensor_parallel,
                            "device_map": args.device_map}
    run.finish(summary)
    _print_summary(summary)  # always: --no-progress hides the bars, not the result
    return 0


def _print_summary(summary: dict) -> None:
    print(f"{summary['command']}: {summary['n_prompts']} prompts, N={summary['N']} "
          f"({summary['prompts_resumed']} resumed)")
    if summary["command"] == "bon":
        print(f"  greedy accuracy {summary['greedy_accuracy']:.3f}")
        for name, r in summary["bon"].items():
            pct = "n/a" if r["lift_pct"] is None else f"{r['lift_pct']:+.1f}%"
            print(f"  BoN[{name}] accuracy {r['bon_accuracy']:.3f}  lift {r['lift_abs']:+.3f} ({pct})")
    for k, v in summary["pass_at_k"].items():
        val = v if isinstance(v, float) else v["pass_at_k"]
        print(f"  pass@{k} {val:.3f}")
