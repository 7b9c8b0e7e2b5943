"""Figures and tables of a ``paper_repro/lm/run.py`` output folder (App A analogues).

Reads ``OUT/<task>/<model>/{bon,passk,sft}/summary.json``, ``.../bon/lift_vs_n.csv``,
``.../model/train_manifest.json`` (tiny models), ``OUT/run_config.json`` and ``OUT/steps.json``, and
writes into ``OUT`` (or ``--fig-dir``):

* ``fig1_heatmap.{png,pdf,csv}`` — Fig 1 analogue: % accuracy lift of BoN (self-reward
  ``--reward``, default ``loglik``, at N = N_max) over greedy decoding, models × tasks, each cell
  annotated with the lift and greedy → BoN accuracy; the CSV holds the cell values (``lift_pct``
  is ``100·(BoN − greedy)/greedy``, empty where greedy accuracy is 0: drawn grey, "n/a");
* ``fig3_lift_vs_n.{png,pdf,csv}`` — Fig 3 analogue: BoN − greedy accuracy (points) against N,
  one panel per task, one line per model, bootstrap band (from each run's ``lift_vs_n.csv``);
* ``table1.{csv,md}`` — Table 1 analogue per (task, model): base greedy accuracy, BoN accuracy,
  SFT-tuned sampled accuracy (temperature 1), amortization gap (BoN − tuned, accuracy units),
  log-likelihood lift (mean log π_base of tuned samples − of base samples, nats), KL, pass@k;
* ``results.md`` — the numbers above, the other self-rewards at N_max, device, torch version and
  each step's wall time.

Usage::

    python paper_repro/lm/report.py paper_repro/lm/results_cpu
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

TASK_ORDER = ("arithmetic", "prontoqa", "game24")
SIZE_ORDER = ("tiny", "small", "base")

TABLE1_COLUMNS = ("task", "model", "n_prompts", "N", "base_greedy_acc", "bon_acc", "bon_lift_pct",
                  "tuned_sampled_acc", "tuned_lift_pct", "amortization_gap", "base_sampled_loglik", "bon_loglik",
                  "tuned_loglik_under_base", "loglik_lift", "kl_k1", "kl_k3", "pass_at_N", "passk_k",
                  "pass_at_passk_k", "base_sampled_acc")


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _num(x):
    """CSV text or JSON value -> float or None (empty / None / NaN -> None)."""
    if x is None or x == "":
        return None
    v = float(x)
    return None if math.isnan(v) else v


def _order(names, preferred) -> list[str]:
    return [n for n in preferred if n in names] + sorted(n for n in names if n not in preferred)


def discover(root) -> dict:
    """``{"tasks", "models", "cells": {(task, model): {"bon", "passk", "sft", "train", "lift_vs_n"}}, ...}``.

    A cell is any ``root/<task>/<model>/`` with at least one finished step (a ``summary.json``).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"results folder {str(root)!r} does not exist")
    cells: dict = {}
    for task_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for model_dir in sorted(p for p in task_dir.iterdir() if p.is_dir()):
            cell = {step: _read_json(model_dir / step / "summary.json") for step in ("bon", "passk", "sft")}
            if not any(cell.values()):
                continue
            cell["train"] = _read_json(model_dir / "model" / "train_manifest.json")
            cell["lift_vs_n"] = _read_csv(model_dir / "bon" / "lift_vs_n.csv")
            cells[(task_dir.name, model_dir.name)] = cell
    if not cells:
        raise ValueError(f"no finished run under {str(root)!r} (expected <task>/<model>/bon/summary.json)")
    config = _read_json(root / "run_config.json") or {}
    preferred_models = list(SIZE_ORDER)
    return {"root": root, "cells": cells, "config": config, "steps": _read_json(root / "steps.json") or {},
            "tasks": _order({t for t, _ in cells}, TASK_ORDER),
            "models": _order({m for _, m in cells}, preferred_models)}


def heatmap_rows(data: dict, reward: str = "loglik") -> list[dict]:
    """One row per (task, model) with a bon summary: the Fig 1 cell values at N = N_max."""
    rows = []
    for task in data["tasks"]:
        for model in data["models"]:
            bon = data["cells"].get((task, model), {}).get("bon")
            if not bon or reward not in bon.get("bon", {}):
                continue
            r = bon["bon"][reward]
            rows.append({"task": task, "model": model, "reward": reward, "N": bon["N"], "n_prompts": bon["n_prompts"],
                         "greedy_accuracy": bon["greedy_accuracy"], "bon_accuracy": r["bon_accuracy"],
                         "lift_abs": r["lift_abs"], "lift_pct": r["lift_pct"], "lift_pct_low": r["lift_pct_low"],
                         "lift_pct_high": r["lift_pct_high"]})
    return rows


def lift_vs_n_rows(data: dict, reward: str = "loglik") -> list[dict]:
    rows = []
    for task in data["tasks"]:
        for model in data["models"]:
            for r in data["cells"].get((task, model), {}).get("lift_vs_n", []):
                if r["reward"] != reward:
                    continue
                rows.append({"task": task, "model": model, "reward": reward, "N": int(r["N"]),
                             **{k: _num(r[k]) for k in ("bon_accuracy", "greedy_accuracy", "lift_abs", "lift_abs_low",
                                                        "lift_abs_high", "lift_pct", "pick_log_prob")}})
    return rows


def table1_rows(data: dict, reward: str = "loglik") -> list[dict]:
    rows = []
    for task in data["tasks"]:
        for model in data["models"]:
            cell = data["cells"].get((task, model))
            if not cell:
                continue
            bon, sft, passk = cell.get("bon") or {}, cell.get("sft") or {}, cell.get("passk") or {}
            row = {k: None for k in TABLE1_COLUMNS}
            row.update(task=task, model=model, n_prompts=bon.get("n_prompts") or sft.get("n_prompts"),
                       N=bon.get("N") or sft.get("N"))
            if bon:
                row["base_greedy_acc"] = bon["greedy_accuracy"]
                row["base_sampled_acc"] = bon.get("sample_accuracy")
                if reward in bon.get("bon", {}):
                    row["bon_acc"] = bon["bon"][reward]["bon_accuracy"]
                    row["bon_lift_pct"] = bon["bon"][reward]["lift_pct"]
                row["pass_at_N"] = bon.get("pass_at_k", {}).get(str(bon["N"]))
            if sft:
                for k in ("base_greedy_acc", "bon_acc", "bon_lift_pct", "tuned_sampled_acc", "tuned_lift_pct",
                          "amortization_gap", "base_sampled_loglik", "bon_loglik", "tuned_loglik_under_base",
                          "loglik_lift", "kl_k1", "kl_k3", "base_sampled_acc"):
                    if sft.get(k) is not None:
                        row[k] = sft[k]
            if passk:
                k = max(passk["pass_at_k"], key=int)
                row["passk_k"] = int(k)
                row["pass_at_passk_k"] = passk["pass_at_k"][k]["pass_at_k"]
            rows.append(row)
    return rows


def _write_csv(path: Path, rows: list[dict], columns=None) -> Path:
    columns = list(columns or (rows[0].keys() if rows else []))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    return path


def _fmt(x, spec=".3f") -> str:
    return "n/a" if x is None else format(x, spec)


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:+.1f}%"


def plot_heatmap(rows: list[dict], tasks, models, out_dir: Path, *, reward: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from sharpsim.bridge import plots

    grid = np.full((len(models), len(tasks)), np.nan)
    text = [["" for _ in tasks] for _ in models]
    for r in rows:
        i, j = models.index(r["model"]), tasks.index(r["task"])
        grid[i, j] = np.nan if r["lift_pct"] is None else r["lift_pct"]
        head = _pct(r["lift_pct"]) if r["lift_pct"] is not None else "n/a (greedy 0)"
        text[i][j] = f"{head}\n{r['greedy_accuracy']:.2f} → {r['bon_accuracy']:.2f}"
    finite = grid[np.isfinite(grid)]
    span = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    fig, ax = plt.subplots(figsize=(1.9 * len(tasks) + 2.2, 0.9 * len(models) + 1.6))
    cmap = matplotlib.colormaps["RdBu"].with_extremes(bad="lightgrey")
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-span, vmax=span, aspect="auto")
    for i in range(len(models)):
        for j in range(len(tasks)):
            if text[i][j]:  # white on the saturated ends of the colour map, black elsewhere
                dark = np.isfinite(grid[i, j]) and abs(grid[i, j]) > 0.6 * span
                ax.text(j, i, text[i][j], ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_yticks(range(len(models)), models)
    ax.set_xlabel("task")
    ax.set_ylabel("model")
    n = sorted({r["N"] for r in rows})
    ax.set_title(f"% accuracy lift of BoN ({reward}, N={','.join(map(str, n))}) over greedy\n"
                 "cell: lift; greedy → BoN accuracy", fontsize=9)
    fig.colorbar(im, ax=ax, label="% lift over greedy")
    return plots.save(fig, out_dir, "fig1_heatmap")


def plot_lift_vs_n(rows: list[dict], tasks, models, out_dir: Path, *, reward: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from sharpsim.bridge import plots

    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, task in zip(axes[0], tasks):
        Ns = set()
        for k, model in enumerate(models):
            mine = sorted((r for r in rows if r["task"] == task and r["model"] == model), key=lambda r: r["N"])
            if not mine:
                continue
            x = [r["N"] for r in mine]
            Ns.update(x)
            c = colors[k % len(colors)]
            ax.plot(x, [100 * r["lift_abs"] for r in mine], "o-", ms=3, color=c,
                    label=f"{model} (greedy {mine[0]['greedy_accuracy']:.2f})")
            lo = [r["lift_abs_low"] for r in mine]
            hi = [r["lift_abs_high"] for r in mine]
            if all(v is not None for v in lo + hi):
                ax.fill_between(x, [100 * v for v in lo], [100 * v for v in hi], color=c, alpha=0.15, lw=0)
        ax.axhline(0, color="k", lw=0.8)
        if Ns:
            ax.set_xscale("log", base=2)
            ticks = sorted(Ns)
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("N (subsampled from N_max draws)")
        ax.set_ylabel("BoN − greedy accuracy (points)")
        ax.set_title(task, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"BoN ({reward}) lift over greedy vs N (95% bootstrap band over prompts)", fontsize=9)
    return plots.save(fig, out_dir, "fig3_lift_vs_n")


def _md_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    head = "| " + " | ".join(c[1] for c in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = []
    for r in rows:
        cells = []
        for key, _, spec in columns:
            v = r.get(key)
            cells.append(str(v) if spec == "s" else (_pct(v) if spec == "pct" else _fmt(v, spec)))
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *body])


TABLE1_MD = [("task", "task", "s"), ("model", "model", "s"), ("n_prompts", "prompts", "s"), ("N", "N", "s"),
             ("base_greedy_acc", "base greedy acc", ".3f"), ("base_sampled_acc", "base sampled acc", ".3f"),
             ("bon_acc", "BoN acc", ".3f"), ("tuned_sampled_acc", "SFT-tuned sampled acc", ".3f"),
             ("amortization_gap", "amortization gap (BoN − tuned)", "+.3f"),
             ("loglik_lift", "log-lik lift (nats)", "+.3f"), ("bon_loglik", "BoN pick log-lik", ".3f"),
             ("base_sampled_loglik", "base sample log-lik", ".3f"), ("kl_k3", "KL k3", ".3f"),
             ("pass_at_N", "pass@N", ".3f")]


def results_markdown(data: dict, heat: list[dict], table1: list[dict], reward: str) -> str:
    cfg = data["config"]
    env = cfg.get("environment", {})
    settings = cfg.get("settings", {})
    lines = ["# LM runs: Fig 1 / Fig 3 / Table 1 analogues (generated by paper_repro/lm/report.py)", ""]
    lines += ["## Run environment", ""]
    dev = env.get("device", "unknown")
    if env.get("gpu"):
        dev += f" ({env['gpu']})"
    lines += [f"- device: {dev}; CPU: {env.get('cpu', 'unknown')} ({env.get('cpu_count', '?')} logical cores), "
              f"torch threads {settings.get('threads') or env.get('torch_threads', '?')}",
              f"- torch {env.get('torch', '?')}, transformers {env.get('transformers', '?')}, "
              f"peft {env.get('peft', '?')}, python {env.get('python', '?')}",
              f"- command: `python paper_repro/lm/run.py {' '.join(cfg.get('argv', []))}`",
              f"- started {cfg.get('started_at', '?')}, finished {cfg.get('finished_at', 'not finished')}"]
    if settings:
        lines.append(f"- settings: N_max {settings.get('N')}, {settings.get('n_prompts')} prompts (data seed "
                     f"{settings.get('data_seed')}), pass@k step {settings.get('passk_n')} draws (seed "
                     f"{settings.get('seed', 0) + 1}), train-tiny {settings.get('train_steps')} steps on "
                     f"{settings.get('examples')} examples, SFT {settings.get('sft_epochs')} epochs, LoRA rank "
                     f"{settings.get('lora_rank')}, {settings.get('eval_samples')} tuned samples per prompt")
    for task, ts in cfg.get("tasks", {}).items():
        lines.append(f"- {task}: max new tokens {ts['max_new_tokens']}; evaluation prompts also in the "
                     f"training set: {100 * ts['eval_prompts_in_training']:.1f}%")
    lines += ["", f"## Fig 1 analogue: BoN ({reward}) over greedy at N = N_max", "",
              _md_table(heat, [("task", "task", "s"), ("model", "model", "s"), ("N", "N", "s"),
                               ("n_prompts", "prompts", "s"), ("greedy_accuracy", "greedy acc", ".3f"),
                               ("bon_accuracy", "BoN acc", ".3f"), ("lift_abs", "lift (acc points)", "+.3f"),
                               ("lift_pct", "% lift", "pct"), ("lift_pct_low", "95% low", "pct"),
                               ("lift_pct_high", "95% high", "pct")]), ""]
    lines += ["## Other self-rewards at N = N_max (BoN accuracy, % lift over greedy)", ""]
    other = []
    for task in data["tasks"]:
        for model in data["models"]:
            bon = data["cells"].get((task, model), {}).get("bon")
            if not bon:
                continue
            for name, r in bon.get("bon", {}).items():
                other.append({"task": task, "model": model, "reward": name, "bon_accuracy": r["bon_accuracy"],
                              "lift_pct": r["lift_pct"], "pick_log_prob": r["pick_log_prob"]})
    lines += [_md_table(other, [("task", "task", "s"), ("model", "model", "s"), ("reward", "self-reward", "s"),
                                ("bon_accuracy", "BoN acc", ".3f"), ("lift_pct", "% lift", "pct"),
                                ("pick_log_prob", "pick log-lik", ".3f")]), ""]
    lines += ["## Table 1 analogue: SFT-Sharpening amortization", "", _md_table(table1, TABLE1_MD), "",
              "amortization gap = BoN accuracy − SFT-tuned sampled accuracy (accuracy units); log-lik lift = mean "
              "log π_base of the tuned model's temperature-1 samples − that of the base's samples (nats).", ""]
    pk = [r for r in table1 if r.get("passk_k")]
    if pk:
        lines += ["## Coverage skyline (pass@k step, fresh draws)", "",
                  _md_table(pk, [("task", "task", "s"), ("model", "model", "s"), ("passk_k", "k", "s"),
                                 ("pass_at_passk_k", "pass@k", ".3f"), ("pass_at_N", "pass@N (bon draws)", ".3f")]),
                  ""]
    trained = []
    for task, model in ((t, m) for t in data["tasks"] for m in data["models"]):
        t = data["cells"].get((task, model), {}).get("train")
        if t and t.get("eval"):
            trained.append({"task": task, "model": model, "n_params": t.get("n_params"), "steps": t.get("steps"),
                            "final_loss": t.get("final_loss"), "held_greedy": t["eval"].get("greedy_accuracy"),
                            "held_n": t["eval"].get("n")})
    if trained:
        lines += ["## Tiny models (train-tiny held-out evaluation)", "",
                  _md_table(trained, [("task", "task", "s"), ("model", "size", "s"), ("n_params", "parameters", "s"),
                                      ("steps", "steps", "s"), ("final_loss", "final loss (nats/token)", ".3f"),
                                      ("held_greedy", "held-out greedy acc", ".3f"),
                                      ("held_n", "held-out prompts", "s")]), ""]
    steps = data["steps"]
    if steps:
        rows = [{"step": k, "seconds": v.get("seconds"), "finished_at": v.get("finished_at")} for k, v in steps.items()]
        total = sum(r["seconds"] or 0 for r in rows)
        lines += ["## Wall time per step", "",
                  _md_table(rows, [("step", "task/model/step", "s"), ("seconds", "seconds", ".1f"),
                                   ("finished_at", "finished (UTC)", "s")]),
                  "", f"Total: {total:.0f} s ({total / 60:.1f} min).", ""]
    lines += ["## Files", "", "- `fig1_heatmap.{png,pdf,csv}`, `fig3_lift_vs_n.{png,pdf,csv}`, `table1.{csv,md}`; "
              "per run: `<task>/<model>/{bon,passk,sft}/summary.json` and CSVs, and each run's own figures.", ""]
    return "\n".join(lines)


def report(root, *, fig_dir=None, reward: str = "loglik") -> dict:
    """Write the figures, tables and ``results.md``; return ``{"heatmap", "lift_vs_n", "table1", "files"}``."""
    data = discover(root)
    out = Path(fig_dir) if fig_dir is not None else data["root"]
    out.mkdir(parents=True, exist_ok=True)
    heat = heatmap_rows(data, reward)
    if not heat:
        raise ValueError(f"no bon summary with reward {reward!r} under {str(data['root'])!r}")
    lvn = lift_vs_n_rows(data, reward)
    table1 = table1_rows(data, reward)
    files = [_write_csv(out / "fig1_heatmap.csv", heat)]
    files += plot_heatmap(heat, data["tasks"], data["models"], out, reward=reward)
    if lvn:
        files.append(_write_csv(out / "fig3_lift_vs_n.csv", lvn))
        files += plot_lift_vs_n(lvn, data["tasks"], data["models"], out, reward=reward)
    files.append(_write_csv(out / "table1.csv", table1, TABLE1_COLUMNS))
    (out / "table1.md").write_text(_md_table(table1, TABLE1_MD) + "\n", encoding="utf-8")
    files.append(out / "table1.md")
    (out / "results.md").write_text(results_markdown(data, heat, table1, reward), encoding="utf-8")
    files.append(out / "results.md")
    return {"heatmap": heat, "lift_vs_n": lvn, "table1": table1, "files": files}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Figures and tables of a paper_repro/lm/run.py output folder.")
    p.add_argument("root", help="the run.py --out folder")
    p.add_argument("--fig-dir", default=None, help="where to write (default: the root folder)")
    p.add_argument("--reward", default="loglik", help="self-reward of the heatmap and lift-vs-N (default loglik)")
    args = p.parse_args(argv)
    result = report(args.root, fig_dir=args.fig_dir, reward=args.reward)
    for f in result["files"]:
        print(f)
    return 0


if __name__ == "__main__":
    import sys

    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError) as err:
        print(f"report.py: error: {err}", file=sys.stderr)
        sys.exit(2)
