"""``sharpsim lm sft|rlhf|xpo``: SFT-Sharpening, RLHF-Sharpening (Eq 8) and XPO with LoRA.

Usage::

    sharpsim lm sft  --model DIR --task NAME --n-prompts K --out DIR [--N 50] [--epochs 30] [--lora-rank 8]
                     [--lr 3e-4] [--reward loglik] [--from-bon BON_RUN_DIR]
    sharpsim lm rlhf --model DIR --task NAME --n-prompts K --out DIR [--beta 1] [--n PAIRS] [--epochs 10]
    sharpsim lm xpo  --model DIR --task NAME --n-prompts K --out DIR [--T 10] [--beta 1] [--alpha 0.1]
                     [--batch 1] [--steps-per-round 10]

(common: ``--task-option KEY=VALUE``, ``--max-new-tokens``, ``--seed``, ``--data-seed``, ``--device``,
``--tensor-parallel K``, ``--device-map auto``, ``--no-progress``, ``--overwrite``, ``--weight-decay``,
``--grad-clip``, ``--batch-size``, ``--eval-samples``).

Several GPUs (``docs/scale/multi_gpu.md``): ``--tensor-parallel K`` / ``--device-map auto`` place one
copy of a large model over several GPUs; ``torchrun --nproc_per_node W -m sharpsim.cli lm sft ...``
trains the adapter data-parallel (``sft``, ``rlhf``; ``--batch-size`` is the global minibatch) with
rank 0 alone writing ``--out`` (:mod:`sharpsim.bridge.distributed`). ``xpo`` runs in one process.

Outputs in ``--out`` (a :class:`~sharpsim.bridge.runs.RunDir`: ``manifest.json`` with the config,
model path and fingerprint, seeds and versions):

* ``sft``: ``samples.jsonl`` (per prompt: the N draws, their scores and the pick), ``samples.csv``
  (tidy, one row per draw), ``greedy.csv``, ``train_curve.csv``, ``eval.csv`` (the tuned model's
  samples with log π_base, k1, k3, correctness), ``summary.json`` (the Table 1 analogue: base greedy
  accuracy, BoN accuracy, SFT-tuned sampled accuracy, lifts, amortization gap, log-likelihood lift),
  ``train_curve.png/.pdf`` and ``table1.png/.pdf``;
* ``rlhf``: ``triples.jsonl`` (x, y, y' and their log π_base), ``train_curve.csv``, ``eval.csv``,
  ``summary.json``, ``train_curve.png/.pdf``;
* ``xpo``: ``rounds.csv`` (per round: |D_t|, loss, KL k1/k3, mean log π_base, Ĵ_β), ``data.csv`` (D_T),
  ``train_curve.csv``, ``summary.json``, ``xpo_rounds.png/.pdf``;
* all: the LoRA adapter under ``adapter/`` (peft ``save_pretrained``; load it with
  ``peft.PeftModel.from_pretrained(base_model, "OUT/adapter")``).

Resuming (same ``--out`` and config): ``sft`` reuses the prompts already in ``samples.jsonl`` (no
resampling; draws are seeded per prompt, so a resumed run's draws equal a fresh run's) and
``rlhf`` the pairs already in ``triples.jsonl``; training and evaluation are cheap next to sampling
and are redone. ``xpo`` interleaves sampling and training, so it always starts over (its tables are
rewritten). The number of processes and the placement flags are not part of the config (a run
may be resumed with others). ``--from-bon DIR`` makes ``sft`` take its draws from a finished ``sharpsim lm bon`` run
of the same model and task at temperature 1 and top-p 1 (the first N of its draws per prompt): the
``bon → sft`` pipeline.

This module imports torch only inside :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from sharpsim.bridge.cli.common import (
    PLACEMENT_FLAGS,
    add_run_arguments,
    check_placement,
    parse_task_options,
    placement_kwargs,
)

COMMANDS = ("sft", "rlhf", "xpo")

#: arguments that do not change results (left out of the run config so that they may differ on resume)
_NOT_CONFIG = ("out", "device", "no_progress", "overwrite", "lm_command", "command", "_unavailable",
               *PLACEMENT_FLAGS)


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the arguments of ``sharpsim lm <name>`` (``name`` in ``sft, rlhf, xpo``) to ``parser``.

    Raises:
      ValueError: an unknown ``name``.
    """
    if name not in COMMANDS:
        raise ValueError(f"name must be one of {', '.join(COMMANDS)}, got {name!r}")
    add_run_arguments(parser, seed_help="sampling and training seed (default 0)")
    parser.add_argument("--lora-rank", type=int, default=8, help="LoRA rank (default 8)")
    parser.add_argument("--lr", type=float, default=3e-4, help="AdamW learning rate (default 3e-4)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay (default 0)")
    parser.add_argument("--grad-clip", type=float, default=0.1 if name == "sft" else 1.0,
                        help="gradient-norm clip (default 0.1 for sft as in the paper, 1 otherwise)")
    if name in ("sft", "rlhf"):
        parser.add_argument("--epochs", type=int, default=30 if name == "sft" else 10,
                            help=f"passes over the data (default {30 if name == 'sft' else 10})")
        parser.add_argument("--batch-size", type=int, default=4, help="minibatch size (default 4)")
        parser.add_argument("--eval-samples", type=int, default=4,
                            help="tuned-model samples per prompt for evaluation (default 4)")
    if name == "sft":
        parser.add_argument("--N", type=int, default=50, help="base draws per prompt for BoN (default 50)")
        parser.add_argument("--reward", default="loglik",
                            help="self-reward that picks the BoN response: loglik, norm_loglik, majority "
                                 "(default loglik)")
        parser.add_argument("--from-bon", default=None, metavar="DIR",
                            help="reuse the draws of a finished 'sharpsim lm bon' run (temperature 1)")
    if name in ("rlhf", "xpo"):
        parser.add_argument("--beta", type=float, default=1.0, help="KL weight beta > 0 (default 1)")
    if name == "rlhf":
        parser.add_argument("--n", type=int, default=None,
                            help="number of (x, y, y') triples, m = 2n (default: --n-prompts)")
    if name == "xpo":
        parser.add_argument("--alpha", type=float, default=0.1, help="optimism weight alpha >= 0 (default 0.1)")
        parser.add_argument("--T", type=int, default=10, help="rounds (default 10)")
        parser.add_argument("--batch", type=int, default=1, help="triples added per round (default 1)")
        parser.add_argument("--steps-per-round", type=int, default=10,
                            help="full-batch AdamW steps on D_t per round (default 10)")


def validate(args) -> dict:
    """Check the arguments before anything heavy is imported; return ``{"task", "task_options", "model"}``.

    Raises:
      ValueError: one message naming the bad flag and its constraint (placement flags:
        :func:`~sharpsim.bridge.cli.common.check_placement`).
      FileNotFoundError: ``--model`` (or ``--from-bon``) is not an existing directory.
    """
    from sharpsim.bridge import tasks

    command = args.lm_command
    check_placement(args)
    ints = [("--n-prompts", args.n_prompts, 1), ("--lora-rank", args.lora_rank, 1),
            ("--max-new-tokens", args.max_new_tokens, 1), ("--seed", args.seed, 0), ("--data-seed", args.data_seed, 0)]
    if command in ("sft", "rlhf"):
        ints += [("--epochs", args.epochs, 1), ("--batch-size", args.batch_size, 1),
                 ("--eval-samples", args.eval_samples, 1)]
    if command == "sft":
        ints.append(("--N", args.N, 1))
    if command == "rlhf" and args.n is not None:
        ints.append(("--n", args.n, 1))
    if command == "xpo":
        ints += [("--T", args.T, 1), ("--batch", args.batch, 1), ("--steps-per-round", args.steps_per_round, 1)]
    for flag, value, low in ints:
        if value < low:
            raise ValueError(f"{flag} must be an integer >= {low}, got {value}")
    floats = [("--lr", args.lr, "> 0"), ("--weight-decay", args.weight_decay, ">= 0"),
              ("--grad-clip", args.grad_clip, "> 0")]
    if command in ("rlhf", "xpo"):
        floats.append(("--beta", args.beta, "> 0"))
    if command == "xpo":
        floats.append(("--alpha", args.alpha, ">= 0"))
    for flag, value, rule in floats:
        ok = math.isfinite(value) and (value > 0 if rule == "> 0" else value >= 0)
        if not ok:
            raise ValueError(f"{flag} must be a finite number {rule}, got {value}")
    if command == "sft":
        from sharpsim.bridge import rewards

        if args.reward not in rewards.reward_names():
            raise ValueError(f"--reward: unknown reward {args.reward!r}; known: {', '.join(rewards.reward_names())}")
        if args.from_bon is not None and not Path(args.from_bon).expanduser().is_dir():
            raise FileNotFoundError(f"--from-bon {args.from_bon!r} does not exist or is not a directory")
    options = parse_task_options(args.task_option)
    try:
        task = tasks.get(args.task, **options)
    except ValueError as err:
        raise ValueError(f"--task {args.task!r}: {err}") from None
    model = Path(args.model).expanduser()
    if not model.is_dir():
        raise FileNotFoundError(f"--model {str(model)!r} does not exist or is not a directory")
    return {"task": task, "task_options": options, "model": model}


def run_config(args, settings: dict) -> dict:
    """The settings that determine the results (recorded in the manifest; must match to resume).

    Args:
      args: the parsed arguments.
      settings: what :func:`validate` returned.

    Returns:
      Every argument except those that do not change results (output folder, device, progress,
      overwrite), with the model and ``--from-bon`` paths resolved and the task options parsed.
    """
    cfg = {k: v for k, v in vars(args).items() if k not in _NOT_CONFIG and not k.startswith("_")}
    cfg["model"] = str(Path(args.model).expanduser().resolve())
    cfg["task_option"] = settings["task_options"]
    if cfg.get("from_bon") is not None:
        cfg["from_bon"] = str(Path(cfg["from_bon"]).expanduser().resolve())
    return cfg


def bon_draws(bon_dir, *, model_fingerprint: str, task: str, task_options: dict, data_seed: int,
              max_new_tokens: int, N: int) -> dict:
    """The draws of a finished ``sharpsim lm bon`` run as ``example id -> {"tokens", "text", "log_prob",
    "length", "hit_eos"}`` (sample order), for the prompts it marked done.

    Args:
      bon_dir: the ``bon`` run directory (opened read-only).
      model_fingerprint, task, task_options, data_seed, max_new_tokens: this run's settings, which
        the ``bon`` run must share.
      N: draws needed per prompt.

    Returns:
      The draws by example id.

    Raises:
      ValueError: the folder is not a ``bon`` run, or it was made with another model, task, data
        seed or max-new-tokens, at a temperature or top-p other than 1, or with fewer than N draws.
    """
    from sharpsim.bridge.runs import RunDir

    path = Path(bon_dir).expanduser()
    manifest_file = path / "manifest.json"
    if not manifest_file.is_file():
        raise ValueError(f"--from-bon {str(path)!r} is not a run directory (no manifest.json)")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    cfg = manifest.get("config", {})
    if manifest.get("command") != "bon":
        raise ValueError(f"--from-bon {str(path)!r} holds a {manifest.get('command')!r} run, not 'bon'")
    checks = [("model", manifest.get("model_fingerprint"), model_fingerprint),
              ("task", cfg.get("task"), task), ("task_option", cfg.get("task_option", {}), task_options),
              ("data_seed", cfg.get("data_seed"), data_seed), ("max_new_tokens", cfg.get("max_new_tokens"),
                                                               max_new_tokens),
              ("temperature", cfg.get("temperature"), 1.0), ("top_p", cfg.get("top_p"), 1.0)]
    bad = [f"{k} ({a!r} there, {b!r} here)" for k, a, b in checks if a != b]
    if bad:
        raise ValueError(f"--from-bon {str(path)!r} does not match this run: {'; '.join(bad)}")
    if int(cfg.get("N", 0)) < N:
        raise ValueError(f"--from-bon {str(path)!r} drew N = {cfg.get('N')} per prompt, fewer than --N {N}")
    run = RunDir.open(path)  # read-only view: never rewrites another run's manifest
    done = run.done("prompts")
    out: dict[str, dict] = {}
    for row in sorted(run.read("samples"), key=lambda r: (str(r["example_id"]), int(r["sample_index"]))):
        ex = str(row["example_id"])
        if ex not in done:
            continue
        d = out.setdefault(ex, {"tokens": [], "text": [], "log_prob": [], "length": [], "hit_eos": [], "_j": []})
        j = int(row["sample_index"])
        if j in d["_j"]:  # a prompt redone after a crash: keep the last row
            k = d["_j"].index(j)
            for key in ("tokens", "text", "log_prob", "length", "hit_eos"):
                d[key][k] = row[key]
            continue
        d["_j"].append(j)
        for key in ("tokens", "text", "log_prob", "length", "hit_eos"):
            d[key].append(row[key])
    for d in out.values():
        d.pop("_j")
    return out


def _plot_curve(curve, out_dir, name: str, *, title: str, x: str = "step") -> list:
    import matplotlib.pyplot as plt

    from sharpsim.bridge import plots

    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    ax.plot([c[x] for c in curve], [c["loss"] for c in curve], lw=1.2)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss (minibatch mean)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    return plots.save(fig, out_dir, name)


def _plot_table1(summary, out_dir) -> list:
    import matplotlib.pyplot as plt

    from sharpsim.bridge import plots

    labels = ["base greedy", "base sampled", f"BoN (N={summary['N']})", "SFT-tuned sampled"]
    keys = ["base_greedy_acc", "base_sampled_acc", "bon_acc", "tuned_sampled_acc"]
    vals = [summary[k] if summary[k] is not None else float("nan") for k in keys]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
    ax.bar(range(4), vals, color=["grey", "silver", "tab:blue", "tab:orange"])
    ax.set_xticks(range(4), labels, rotation=15, fontsize=8)
    ax.set_ylabel("accuracy")
    ax.set_title(f"amortization gap (BoN − tuned) = {_fmt(summary['amortization_gap'])}", fontsize=9)
    ll = [summary["base_sampled_loglik"], summary["bon_loglik"], summary["tuned_loglik_under_base"]]
    ax2.bar(range(3), [x if x is not None else float("nan") for x in ll], color=["silver", "tab:blue", "tab:orange"])
    ax2.set_xticks(range(3), ["base sampled", "BoN picks", "SFT-tuned sampled"], rotation=15, fontsize=8)
    ax2.set_ylabel("mean log π_base(y|x) (nats)")
    ax2.set_title(f"log-likelihood lift = {_fmt(summary['loglik_lift'])} nats", fontsize=9)
    return plots.save(fig, out_dir, "table1")


def _plot_xpo(rounds, out_dir) -> list:
    import matplotlib.pyplot as plt

    from sharpsim.bridge import plots

    t = [r["round"] for r in rounds]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    axes[0].plot(t, [r["loss_before"] for r in rounds], "o-", ms=3, label="before the round's steps")
    axes[0].plot(t, [r["loss_after"] for r in rounds], "s-", ms=3, label="after")
    axes[0].set_ylabel("XPO loss on $D_t$ (mean)")
    axes[0].legend(fontsize=7)
    axes[1].plot(t, [r["kl_k1"] for r in rounds], "o-", ms=3, label="k1")
    axes[1].plot(t, [r["kl_k3"] for r in rounds], "s-", ms=3, label="k3")
    axes[1].set_ylabel("KL($\\pi^{(t)}$ ‖ $\\pi_{base}$), on-policy")
    axes[1].legend(fontsize=7)
    axes[2].plot(t, [r["base_loglik"] for r in rounds], "o-", ms=3)
    axes[2].set_ylabel("mean log $\\pi_{base}(y|x)$, $y\\sim\\pi^{(t)}$")
    for ax in axes:
        ax.set_xlabel("round t")
        ax.grid(alpha=0.3)
    return plots.save(fig, out_dir, "xpo_rounds")


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def main(args) -> int:
    """Run ``sharpsim lm sft|rlhf|xpo`` (see the module doc); prints the summary's headline numbers.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) ``sft`` and ``rlhf`` run data-parallel
    (:mod:`sharpsim.bridge.distributed`): the draws are dealt out over the ranks, each rank trains
    on its shard of every minibatch with the gradients summed over the ranks, and only rank 0
    writes the run directory, the plots and the adapter, and prints.

    Args:
      args: the parsed arguments (``args.lm_command`` is ``sft``, ``rlhf`` or ``xpo``).

    Returns:
      0.

    Raises:
      ValueError, FileNotFoundError: bad arguments (see :func:`validate`), placement flags the
        machine cannot honour (:func:`~sharpsim.bridge.cli.common.placement_kwargs`), or ``xpo``
        under ``torchrun``.
    """
    settings = validate(args)
    from sharpsim.bridge import distributed

    size = distributed.env_world_size()
    if size > 1 and args.lm_command == "xpo":
        raise ValueError(f"sharpsim lm xpo runs in one process, not {size} (its rounds alternate on-policy "
                         "sampling and full-batch steps); run it without torchrun, with --device-map auto for a "
                         "model larger than one GPU")
    placement = placement_kwargs(args, world_size=size)
    ctx = distributed.setup(args.device)
    try:
        code = _run(args, settings, ctx, placement)
    except BaseException:
        distributed.teardown(ctx, wait=False)
        raise
    distributed.teardown(ctx)
    return code


def _run(args, settings: dict, ctx, placement: dict) -> int:
    from sharpsim.bridge import distributed, rlhf, sft, xpo
    from sharpsim.bridge.policy import LMPolicy
    from sharpsim.bridge.runs import RunDir

    command = args.lm_command
    task = settings["task"]
    examples = task.examples(args.n_prompts, seed=args.data_seed)
    run = distributed.make_run(lambda writer: RunDir(
        args.out, command=command, config=run_config(args, settings), model_path=settings["model"],
        overwrite=args.overwrite, writer=writer))
    device = args.device if ctx.world_size == 1 else ctx.device
    policy = LMPolicy.from_pretrained(settings["model"], device=device, **placement)
    progress = not args.no_progress and ctx.is_main
    common = dict(lora_rank=args.lora_rank, lr=args.lr, weight_decay=args.weight_decay, grad_clip=args.grad_clip,
                  max_new_tokens=args.max_new_tokens, seed=args.seed)
    if command == "sft":
        draws = None
        if args.from_bon is not None:
            draws = bon_draws(args.from_bon, model_fingerprint=run.manifest["model_fingerprint"], task=args.task,
                              task_options=settings["task_options"], data_seed=args.data_seed,
                              max_new_tokens=args.max_new_tokens, N=args.N)
        config = sft.SFTConfig(N=args.N, epochs=args.epochs, batch_size=args.batch_size, reward=args.reward,
                               eval_samples=args.eval_samples, **common)
        result = sft.sft_sharpen(policy, examples, task, config, draws=draws, run=run, progress=progress)
        summary = result.summary
        summary["reused_bon_prompts"] = 0 if draws is None else sum(ex.id in draws for ex in examples)
    elif command == "rlhf":
        config = rlhf.RLHFConfig(n=args.n, beta=args.beta, epochs=args.epochs, batch_size=args.batch_size,
                                 eval_samples=args.eval_samples, **common)
        result = rlhf.rlhf_sharpen(policy, examples, config, task=task, run=run, progress=progress)
        summary = result.summary
    else:
        config = xpo.XPOConfig(T=args.T, beta=args.beta, alpha=args.alpha, batch=args.batch,
                               steps_per_round=args.steps_per_round, **common)
        result = xpo.xpo(policy, examples, config, task=task, run=run, progress=progress)
        summary = result.summary
    if not ctx.is_main:  # rank 0 alone writes the plots, the adapter and the summary, and prints
        return 0
    files: list = []
    if command == "sft":
        files += _plot_curve(result.loss_curve, run.path, "train_curve",
                             title=f"SFT-Sharpening (LoRA r={args.lora_rank}), completion-only NLL of BoN picks")
        files += _plot_table1(summary, run.path)
        headline = (f"greedy {_fmt(summary['base_greedy_acc'])}, BoN {_fmt(summary['bon_acc'])}, "
                    f"SFT-tuned {_fmt(summary['tuned_sampled_acc'])}, gap {_fmt(summary['amortization_gap'])}, "
                    f"loglik lift {_fmt(summary['loglik_lift'])} nats")
    elif command == "rlhf":
        files += _plot_curve(result.loss_curve, run.path, "train_curve",
                             title=f"RLHF-Sharpening (Eq 8, beta={args.beta:g}, LoRA r={args.lora_rank})")
        headline = (f"Eq 8 loss {_fmt(summary['eq8_loss_initial'])} -> {_fmt(summary['eq8_loss_final'])}, "
                    f"KL k1 {_fmt(summary['kl_k1'])} k3 {_fmt(summary['kl_k3'])}, "
                    f"tuned acc {_fmt(summary['tuned_sampled_acc'])}")
    else:
        files += _plot_xpo(result.rounds, run.path)
        headline = (f"T={args.T}: loss {_fmt(summary['final_loss'])}, KL k1 {_fmt(summary['kl_k1_last_round'])} "
                    f"k3 {_fmt(summary['kl_k3_last_round'])} (last round)")
    result.model.save_pretrained(str(run.path / "adapter"))
    summary.update({"command": command, "task": args.task, "task_options": settings["task_options"],
                    "model": str(settings["model"]), "device": str(policy.device),
                    "placement": {"world_size": ctx.world_size, "tensor_parallel": args.tensor_parallel,
                                  "device_map": args.device_map},
                    "files": sorted({Path(f).name for f in files} | {"adapter", "summary.json", "manifest.json"})})
    run.finish(summary)
    print(f"sharpsim lm {command}: {headline}; results in {run.path}")
    return 0
