"""A tiny LM with KNOWN premises: train on the ``planted`` task, measure BoN, set it next to the core.

Steps (one Python process, ``sharpsim.cli.main``):

1. ``sharpsim lm train-tiny --task planted:...`` — labels drawn from the planted law (the correct
   answer w.p. ``p_mode``, the runner-up w.p. ``p_mode - margin``, the rest spread; with
   ``ambiguous=1`` the wrong answers share their first letter) → ``OUT/model``;
2. ``sharpsim lm bon`` (self-reward ``loglik``, N_max draws per prompt at temperature 1, greedy
   decoding; BoN accuracy vs N by subsampling, pass@k from the same draws) → ``OUT/bon``;
3. :func:`sharpsim.bridge.planted.core_predictions` — the model's answer law read off its own
   log-probs, and the core's exact BoN accuracy, pass@k, coverage, margin and greedy-vs-mode;
4. SFT-Sharpening (:func:`sharpsim.bridge.sft.sft_sharpen`: BoN picks with ``N = --sft-N`` under
   ``log π``, LoRA fine-tune on them), then the TUNED model's answer law read off its own log-probs:
   its exact accuracy (mean mass on the correct answer, renormalised over the candidates) and greedy
   accuracy, next to the exact accuracy of π^BoN_N of the base model's law (what SFT's MLE on
   infinitely many picks would reach) and of the base itself.

Writes ``OUT/planted.csv`` (per N: measured BoN accuracy and interval, exact prediction from the
model's law, exact prediction from the planted law, measured pass@k and exact pass@k),
``OUT/planted.json`` (everything, with the per-prompt modes and greedy answers; the SFT step under
``"sft"``; its four accuracies are also constant columns ``sft_*`` of the CSV) and
``OUT/planted.png``. Example (under a minute on one CPU thread)::

    python paper_repro/lm/planted.py --out paper_repro/lm/results_planted
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

SPEC = {"prompts": 8, "p_mode": 0.4, "margin": 0.1, "wrong": 5, "ambiguous": 1}


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="output folder (replaced; a .gitignore in it is kept)")
    p.add_argument("--steps", type=int, default=400, help="train-tiny steps (default 400)")
    p.add_argument("--examples", type=int, default=4000, help="training labels (default 4000)")
    p.add_argument("--n-prompts", type=int, default=32, help="bon prompts (cycling over the planted ones)")
    p.add_argument("--N", type=int, default=32, help="bon draws per prompt (default 32)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--sft-N", type=int, default=8, help="SFT-Sharpening: BoN draws per prompt (default 8)")
    p.add_argument("--sft-prompts", type=int, default=64,
                   help="SFT-Sharpening: training prompts (cycling over the planted ones; default 64)")
    p.add_argument("--sft-epochs", type=int, default=40, help="SFT-Sharpening: LoRA epochs (default 40)")
    p.add_argument("--sft-lr", type=float, default=1e-3, help="SFT-Sharpening: learning rate (default 1e-3)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Run the three steps and write the comparison (see the module doc)."""
    args = parse_args(argv)
    import torch

    from sharpsim.bridge import planted, tasks
    from sharpsim.bridge.policy import LMPolicy
    from sharpsim.cli import main as cli

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    ignore = (out / ".gitignore").read_text() if (out / ".gitignore").is_file() else None
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if ignore is not None:
        (out / ".gitignore").write_text(ignore)
    spec = "planted:" + ",".join(f"{k}={v}" for k, v in SPEC.items())
    opts = [a for k, v in SPEC.items() for a in ("--task-option", f"{k}={v}")]
    cli(["lm", "train-tiny", "--task", spec, "--out", str(out / "model"), "--steps", str(args.steps),
         "--examples", str(args.examples), "--threads", str(args.threads), "--device", "cpu", "--no-progress"])
    cli(["lm", "bon", "--model", str(out / "model"), "--task", "planted", *opts, "--n-prompts",
         str(args.n_prompts), "--out", str(out / "bon"), "--N", str(args.N), "--max-new-tokens", "4",
         "--device", "cpu", "--no-progress", "--rewards", "loglik"])
    task = tasks.from_spec(spec)
    Ns = [1, 2, 4, 8, 16, 32]
    with open(out / "bon" / "lift_vs_n.csv") as f:
        lift = {int(r["N"]): r for r in csv.DictReader(f) if r["reward"] == "loglik"}
    with open(out / "bon" / "passk.csv") as f:
        passk = {int(r["k"]): r for r in csv.DictReader(f)}
    Ns = [n for n in Ns if n in lift]
    base = LMPolicy.from_pretrained(out / "model", device="cpu")
    pred = planted.core_predictions(base, task, Ns=Ns, ks=Ns)
    law = planted.planted_predictions(task, Ns=Ns, ks=Ns)
    sft = run_sft(base, task, pred, args)
    greedy_measured = float(next(iter(lift.values()))["greedy_accuracy"])
    rows = []
    for n in Ns:
        rows.append({"N": n, "bon_measured": float(lift[n]["bon_accuracy"]),
                     "bon_low": float(lift[n]["bon_accuracy_low"]), "bon_high": float(lift[n]["bon_accuracy_high"]),
                     "bon_exact_model_law": pred["bon_accuracy"][n], "bon_exact_planted_law": law["bon_accuracy"][n],
                     "pass_measured": float(passk[n]["pass_at_k"]) if n in passk else "",
                     "pass_exact_model_law": pred["pass_at_k"][n], "greedy_measured": greedy_measured,
                     **{f"sft_{k}": sft[k] for k in ("base_exact", "bon_exact_base_law", "tuned_exact",
                                                     "tuned_greedy")}})
    with open(out / "planted.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    summary = {"spec": spec, "model_law": {k: v for k, v in pred.items() if k != "law"},
               "planted_law": {k: v for k, v in law.items() if k != "law"}, "rows": rows, "sft": sft,
               "train": json.loads((out / "model" / "train_manifest.json").read_text())["final_loss"]}
    (out / "planted.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    x = [r["N"] for r in rows]
    ax.errorbar(x, [r["bon_measured"] for r in rows],
                yerr=[[r["bon_measured"] - r["bon_low"] for r in rows], [r["bon_high"] - r["bon_measured"] for r in rows]],
                fmt="o", label="BoN measured (95% bootstrap)")
    ax.plot(x, [r["bon_exact_model_law"] for r in rows], "-", label="exact, model's law")
    ax.plot(x, [r["bon_exact_planted_law"] for r in rows], "--", label="exact, planted law")
    ax.axhline(greedy_measured, color="gray", ls=":", label="greedy measured")
    ax.plot([sft["N"]], [sft["tuned_exact"]], "*", ms=11, color="C3", label=f"SFT-tuned (BoN N={sft['N']}), exact")
    ax.plot([sft["N"]], [sft["tuned_greedy"]], "x", ms=8, color="C3", label="SFT-tuned, greedy")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N")
    ax.set_ylabel("accuracy")
    ax.set_title(f"planted task: p_mode={SPEC['p_mode']}, margin={SPEC['margin']}, ambiguous first letter", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "planted.png", dpi=120)
    for r in rows:
        print(f"N={r['N']:>3}  BoN measured {r['bon_measured']:.3f} [{r['bon_low']:.3f}, {r['bon_high']:.3f}]  "
              f"exact (model law) {r['bon_exact_model_law']:.3f}  exact (planted law) {r['bon_exact_planted_law']:.3f}")
    print(f"greedy measured {greedy_measured:.3f}; greedy = model's mode on {pred['greedy_is_mode']:.3f} of prompts; "
          f"model's mode correct on {pred['mode_correct']:.3f}; outside mass {pred['outside_mass']:.4f}")
    print(f"SFT-Sharpening (N={sft['N']}, {sft['epochs']} epochs, {sft['seconds']:.1f} s): tuned exact "
          f"{sft['tuned_exact']:.3f}, tuned greedy {sft['tuned_greedy']:.3f}; pi^BoN_N of the base law "
          f"{sft['bon_exact_base_law']:.3f}; base exact {sft['base_exact']:.3f}; "
          f"tuned outside mass {sft['tuned_outside_mass']:.4f}")
    return 0


def run_sft(base, task, pred: dict, args) -> dict:
    """SFT-Sharpening on ``base`` (wrapped with LoRA in place) and the tuned model's exact accuracies.

    ``base_exact`` / ``bon_exact_base_law``: the exact accuracy of the base model's law and of its
    π^BoN_N (``N = args.sft_N``); ``tuned_exact``: the tuned model's mean mass on the correct answer
    (its own log-probs, renormalised over the candidates); ``tuned_greedy``: its greedy accuracy.
    """
    import time

    import numpy as np

    from sharpsim.bridge import planted
    from sharpsim.bridge.sft import SFTConfig, sft_sharpen

    t0 = time.time()
    examples = task.examples(args.sft_prompts)
    config = SFTConfig(N=args.sft_N, epochs=args.sft_epochs, lr=args.sft_lr, batch_size=8, max_new_tokens=4)
    result = sft_sharpen(base, examples, task, config)
    tuned = planted.core_predictions(result.policy, task, Ns=(1,), ks=(1,))
    base_bon = planted.predictions_from_law(np.asarray(pred["law"]), Ns=(args.sft_N,), ks=(1,))
    return {"N": args.sft_N, "prompts": args.sft_prompts, "epochs": args.sft_epochs, "lr": args.sft_lr,
            "base_exact": pred["sample_accuracy"], "bon_exact_base_law": base_bon["bon_accuracy"][args.sft_N],
            "tuned_exact": tuned["sample_accuracy"], "tuned_greedy": tuned["greedy_accuracy"],
            "tuned_mode_correct": tuned["mode_correct"], "tuned_outside_mass": tuned["outside_mass"],
            "picks_correct": float(np.mean([r["correct"][r["pick"]] for r in result.samples])),
            "train_loss_initial": result.summary["train_loss_initial"],
            "train_loss_final": result.summary["train_loss_final"],
            "tuned_sampled_acc": result.summary["tuned_sampled_acc"],
            "tuned_law": tuned["law"], "seconds": time.time() - t0}


if __name__ == "__main__":
    raise SystemExit(main())
