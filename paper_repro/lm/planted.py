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
   infinitely many picks would reach) and of the base itself; the adapter goes to ``OUT/sft/adapter``;
5. pass@k of the base and of the SFT-sharpened model (``sharpsim lm passk``, the second with
   ``--adapter OUT/sft/adapter``): the same ``--passk-prompts`` prompts, ``--passk-N`` draws each,
   seed 0, pass@k at every k = 1..n with 95% bootstrap intervals → ``OUT/passk_base``,
   ``OUT/passk_sft``; next to each the core's exact pass@k of that model's own answer law (the SFT
   model's read off the reloaded adapter) with the mass outside the candidates counted wrong, as
   the samples count it (:func:`sharpsim.bridge.planted.with_outside_mass`; also renormalised over
   the candidates, as ``core_predictions`` conditions), and the crossover k* = min{k : pass@k(base) >
   pass@k(SFT)}: measured (:func:`sharpsim.bridge.analysis.passk_crossover`, paired bootstrap
   interval; "none" when the base never gets strictly above within k ≤ n) and exact
   (:func:`sharpsim.bridge.planted.exact_crossover`, every k up to 2^16). The same draws are read a
   second time with a **flawed verifier** (the core figure's ``flawed_verifier`` premise): on the
   first ``--flawed-prompts`` planted prompts the runner-up is declared correct, so there the
   model's mode — and the answer SFT sharpened onto — is wrong; measured and exact pass@k and k*
   as above.

Writes ``OUT/planted.csv`` (per N: measured BoN accuracy and interval, exact prediction from the
model's law, exact prediction from the planted law, measured pass@k and exact pass@k),
``OUT/planted.json`` (everything, with the per-prompt modes and greedy answers; the SFT step under
``"sft"``; its four accuracies are also constant columns ``sft_*`` of the CSV) and
``OUT/planted.png``; step 5 writes ``OUT/planted_passk.csv`` (per k and model: measured pass@k, its
interval, the two exact predictions), ``OUT/planted_passk.png`` and ``"passk"`` in ``planted.json``.
Example (under a minute on one CPU thread)::

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
    p.add_argument("--passk-N", type=int, default=64, help="pass@k: draws per prompt and model (default 64)")
    p.add_argument("--passk-prompts", type=int, default=32,
                   help="pass@k: prompts (cycling over the planted ones; default 32)")
    p.add_argument("--flawed-prompts", type=int, default=2,
                   help="pass@k, flawed-verifier reading: planted prompts 0..M-1 whose correct answer is "
                        "declared to be the runner-up (default 2; 0: no such reading)")
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
    sft = run_sft(base, task, pred, args, adapter_dir=out / "sft" / "adapter")
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
    summary["passk"] = run_passk(out, task, pred, sft, opts, args)
    (out / "planted.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return 0


def run_passk(out: Path, task, pred: dict, sft: dict, opts: list, args) -> dict:
    """Step 5: pass@k of the base and the SFT-sharpened model, measured and exact, and the crossover.

    Writes ``OUT/passk_base`` and ``OUT/passk_sft`` (``sharpsim lm passk`` runs),
    ``OUT/planted_passk.csv`` and ``OUT/planted_passk.png``; returns the ``"passk"`` entry of
    ``planted.json``.
    """
    import time

    import numpy as np

    from sharpsim.bridge import analysis, planted, plots
    from sharpsim.bridge.cli.infer import load_policy
    from sharpsim.cli import main as cli

    t0 = time.time()
    n, ks = args.passk_N, list(range(1, args.passk_N + 1))
    runs = {"base": (out / "passk_base", []), "sft": (out / "passk_sft", ["--adapter", str(out / "sft" / "adapter")])}
    for run_dir, extra in runs.values():
        cli(["lm", "passk", "--model", str(out / "model"), *extra, "--task", "planted", *opts, "--n-prompts",
             str(args.passk_prompts), "--out", str(run_dir), "--N", str(n), "--k", ",".join(map(str, ks)),
             "--max-new-tokens", "4", "--device", "cpu", "--no-progress"])
    counts, tables = {}, {}
    for name, (run_dir, _) in runs.items():
        with open(run_dir / "prompts.jsonl") as f:
            markers = sorted((json.loads(line) for line in f if line.strip()), key=lambda r: r["prompt_index"])
        counts[name] = markers
        with open(run_dir / "passk.csv") as f:
            tables[name] = {int(r["k"]): r for r in csv.DictReader(f)}
    if [r["example_id"] for r in counts["base"]] != [r["example_id"] for r in counts["sft"]]:
        raise RuntimeError("the two pass@k runs drew on different prompts")
    measured = analysis.passk_crossover([r["n"] for r in counts["base"]], [r["n_correct"] for r in counts["base"]],
                                        [r["n"] for r in counts["sft"]], [r["n_correct"] for r in counts["sft"]],
                                        ks=ks, confidence=0.95, n_boot=1000, seed=0)
    # each model's answer law off its own log-probs: the base's from step 3 (renormalised law times the
    # mass on the candidates), the SFT model's from the reloaded adapter (the policy the pass@k run sampled)
    base_law = np.asarray(pred["law"])
    raw = {"base": base_law * (1.0 - np.array([r["outside_mass"] for r in pred["prompts"]]))[:, None]}
    tuned = load_policy(out / "model", adapter=out / "sft" / "adapter", device="cpu")
    raw["sft"] = planted.answer_law(tuned, task)["probs"]
    sft_law = raw["sft"] / raw["sft"].sum(axis=1, keepdims=True)
    reload_diff = float(np.max(np.abs(sft_law - np.asarray(sft["tuned_law"]))))
    # exact pass@k with a draw outside the candidates counted wrong (as measured), and renormalised over
    # the candidates (core_predictions' conditioning)
    full = {name: planted.predictions_from_law(planted.with_outside_mass(raw[name]), Ns=(1,), ks=ks)["pass_at_k"]
            for name in runs}
    cand = {name: planted.predictions_from_law(raw[name], Ns=(1,), ks=ks)["pass_at_k"] for name in runs}
    exact = planted.exact_crossover(planted.with_outside_mass(raw["base"]), planted.with_outside_mass(raw["sft"]),
                                    k_max=1 << 16)
    exact_cand = planted.exact_crossover(raw["base"], raw["sft"], k_max=1 << 16)
    rows = [{"verifier": "planted", "k": k, "model": name, "pass_measured": float(tables[name][k]["pass_at_k"]),
             "pass_low": float(tables[name][k]["pass_at_k_low"]), "pass_high": float(tables[name][k]["pass_at_k_high"]),
             "pass_exact": full[name][k], "pass_exact_candidates": cand[name][k]} for name in runs for k in ks]
    flawed = None
    if args.flawed_prompts > 0:
        flawed, flawed_rows = _flawed_reading(runs, counts, raw, task, ks, args.flawed_prompts)
        rows += flawed_rows
    with open(out / "planted_passk.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    import matplotlib.pyplot as plt

    labels = {"base": "base model", "sft": f"SFT-sharpened (LoRA on BoN_{sft['N']} picks)"}
    fig, axes = plt.subplots(1, 1 if flawed is None else 2, figsize=(5.6 if flawed is None else 11, 4), squeeze=False)
    plots.plot_passk_compare([{**r, "model": labels[r["model"]]} for r in rows if r["verifier"] == "planted"],
                             axes[0, 0], crossover={"measured": measured, "exact": exact},
                             title=f"(a) correct = planted mode: {args.passk_prompts} prompts x {n} draws per model")
    if flawed is not None:
        plots.plot_passk_compare([{**r, "model": labels[r["model"]]} for r in rows if r["verifier"] == "flawed"],
                                 axes[0, 1], crossover=flawed["crossover"],
                                 title=f"(b) flawed verifier: runner-up correct on {args.flawed_prompts} of "
                                       f"{task.n_prompts} prompts (same draws)")
    fig.tight_layout()
    fig.savefig(out / "planted_passk.png", dpi=120)
    plt.close(fig)
    powers = [k for k in ks if k & (k - 1) == 0 or k == n]
    result = {"N": n, "prompts": args.passk_prompts, "seed": 0, "confidence": 0.95,
              "crossover": {"measured": {k: v for k, v in measured.items()
                                         if k not in ("ks", "pass_base", "pass_other")},
                            "exact": exact, "exact_candidates": exact_cand},
              "table": [r for r in rows if r["k"] in powers and r["verifier"] == "planted"],
              "flawed": flawed,
              "outside_mass": {name: float(np.mean(1.0 - raw[name].sum(axis=1))) for name in runs},
              "sample_accuracy": {name: float(np.mean([r["n_correct"] / r["n"] for r in counts[name]]))
                                  for name in runs},
              "sft_law": sft_law.tolist(), "sft_reload_max_abs_diff": reload_diff, "seconds": time.time() - t0}
    for r in result["table"]:
        print(f"pass@{r['k']:<3} {r['model']:>4}: measured {r['pass_measured']:.4f} [{r['pass_low']:.4f}, "
              f"{r['pass_high']:.4f}]  exact {r['pass_exact']:.4f} (renormalised over the candidates "
              f"{r['pass_exact_candidates']:.4f})")
    m = measured
    print(f"crossover k*: measured {m['k_star'] if m['k_star'] is not None else 'none'} within k <= {n} "
          f"(95% interval [{m['k_star_low']}, {m['k_star_high']}], crossed in {m['crossed_fraction']:.3f} of "
          f"resamples); exact {exact['k_star'] if exact['k_star'] is not None else 'none'} up to k = {exact['k_max']} "
          f"(SFT mass on the correct answer >= the base's on every prompt: {exact['dominated']}); "
          f"adapter reload max |law diff| {reload_diff:.2e}; {result['seconds']:.1f} s")
    if flawed is not None:
        fm, fe = flawed["crossover"]["measured"], flawed["crossover"]["exact"]
        for r in flawed["table"]:
            print(f"flawed pass@{r['k']:<3} {r['model']:>4}: measured {r['pass_measured']:.4f} [{r['pass_low']:.4f}, "
                  f"{r['pass_high']:.4f}]  exact {r['pass_exact']:.4f}")
        print(f"flawed verifier ({flawed['prompts']}): crossover k* measured {fm['k_star']} (95% interval "
              f"[{fm['k_star_low']}, {fm['k_star_high']}], crossed in {fm['crossed_fraction']:.3f} of resamples), "
              f"exact {fe['k_star']}")
    return result


def _flawed_reading(runs: dict, counts: dict, raw: dict, task, ks: list, m: int) -> tuple[dict, list]:
    """The pass@k runs' draws read with the runner-up declared correct on planted prompts ``0..m-1``.

    Returns the ``"flawed"`` entry of ``planted.json`` and the CSV rows (``verifier = "flawed"``).
    """
    import numpy as np

    from sharpsim.bridge import analysis, planted

    if m > task.n_prompts:
        raise ValueError(f"--flawed-prompts must be <= the planted prompts ({task.n_prompts}), got {m}")
    index = {task.prompt(j): j for j in range(task.n_prompts)}
    target = {j: task.candidates(j)[1 if j < m else 0] for j in range(task.n_prompts)}
    n_c: dict = {}
    for name, (run_dir, _) in runs.items():
        order = {r["example_id"]: i for i, r in enumerate(counts[name])}
        hits = np.zeros(len(order), dtype=int)
        with open(run_dir / "samples.jsonl") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    i = order[r["example_id"]]
                    hits[i] += r["answer"] == target[index[counts[name][i]["prompt"]]]
        n_c[name] = (np.array([r["n"] for r in counts[name]]), hits)
    swapped = {}
    for name in runs:
        law = np.array(raw[name], dtype=np.float64)
        law[:m, [0, 1]] = law[:m, [1, 0]]
        swapped[name] = planted.with_outside_mass(law)
    exact_pass = {name: planted.predictions_from_law(swapped[name], Ns=(1,), ks=ks)["pass_at_k"] for name in runs}
    measured = analysis.passk_crossover(*n_c["base"], *n_c["sft"], ks=ks, confidence=0.95, n_boot=1000, seed=0)
    exact = planted.exact_crossover(swapped["base"], swapped["sft"], k_max=1 << 16)
    rows = []
    for name in runs:
        table = {r["k"]: r for r in analysis.pass_at_k_table(*n_c[name], ks, confidence=0.95, n_boot=1000, seed=0)}
        rows += [{"verifier": "flawed", "k": k, "model": name, "pass_measured": table[k]["pass_at_k"],
                  "pass_low": table[k]["pass_at_k_low"], "pass_high": table[k]["pass_at_k_high"],
                  "pass_exact": exact_pass[name][k], "pass_exact_candidates": ""} for k in ks]
    powers = [k for k in ks if k & (k - 1) == 0 or k == ks[-1]]
    entry = {"prompts": [task.prompt(j) for j in range(m)],
             "crossover": {"measured": {k: v for k, v in measured.items() if k not in ("ks", "pass_base", "pass_other")},
                           "exact": exact},
             "table": [r for r in rows if r["k"] in powers]}
    return entry, rows


def run_sft(base, task, pred: dict, args, adapter_dir: Path | None = None) -> dict:
    """SFT-Sharpening on ``base`` (wrapped with LoRA in place) and the tuned model's exact accuracies.

    The LoRA adapter is saved to ``adapter_dir`` when given (peft ``save_pretrained``).

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
    summary = {"N": args.sft_N, "prompts": args.sft_prompts, "epochs": args.sft_epochs, "lr": args.sft_lr,
               "base_exact": pred["sample_accuracy"], "bon_exact_base_law": base_bon["bon_accuracy"][args.sft_N],
               "tuned_exact": tuned["sample_accuracy"], "tuned_greedy": tuned["greedy_accuracy"],
               "tuned_mode_correct": tuned["mode_correct"], "tuned_outside_mass": tuned["outside_mass"],
               "picks_correct": float(np.mean([r["correct"][r["pick"]] for r in result.samples])),
               "train_loss_initial": result.summary["train_loss_initial"],
               "train_loss_final": result.summary["train_loss_final"],
               "tuned_sampled_acc": result.summary["tuned_sampled_acc"],
               "tuned_law": tuned["law"], "seconds": time.time() - t0}
    if adapter_dir is not None:
        result.model.save_pretrained(str(adapter_dir))
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
