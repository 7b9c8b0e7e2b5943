"""Why do RLHF-Sharpening (Eq 8) and XPO drift on the tiny arithmetic LM? Measurements (CPU).

Reproduces every number of ``theory/bridge_rlhf_xpo_measured.md``. Stages (each cached, so a killed
run resumes; finished sweep rows are never recomputed):

1. ``model``   the tiny arithmetic GPT-2 of ``theory/bridge_sharpening.md`` §7 (``tiny.train_tiny`` on
               3000 pairs, examples seed 1, 800 steps, seed 0) unless ``--model`` is given.
2. ``draws``   ``--N`` temperature-1 base draws per prompt on the training prompts (``arithmetic``,
               ``--n-prompts``, data seed 7, as in §7) and on held-out prompts (data seed 8, minus any
               training prompt), plus greedy decoding: the held-out *pairs* of question 1 and the
               importance-sampling estimate of the target law π*_β ∝ π_base^{1+1/β} (question 2).
3. ``target``  ``target_law.csv``: per β, the accuracy of π*_β (self-normalised importance sampling
               with weights π_base(y)^{1/β}, and the enumeration estimate over the distinct drawn
               responses with rigorous per-prompt bounds), its KL to π_base and mean log π_base.
4. ``rlhf``    ``rlhf.csv``: ``rlhf.rlhf_sharpen`` over a grid (β, lr, epochs, pairs per prompt), each
               evaluated by the trainer (``--eval-samples`` tuned draws per prompt) and by the
               diagnostics below.
5. ``xpo``     ``xpo.csv`` (+ ``xpo_rounds.csv``): ``xpo.xpo`` over a grid (lr, steps per round, α),
               evaluated the same way.
6. ``plot``    ``rlhf_xpo.png``: accuracy against KL for every row, with the base and π*_β accuracies.

Diagnostics of a tuned model π̂ (all log-probabilities by ``scoring``; ``d(y) = log π̂(y|x) − log π_base(y|x)``,
``e(y) = β d(y) − log π_base(y|x)``; the Eq 8 residual of a pair is ``e(y) − e(y')``):

* ``heldout_pop_loss``: the U-statistic ``2 Var_{y~π_base}[e(y)]`` over the ``N`` held-out base draws per
  prompt — unbiased for the population Eq 8 loss ``E_{y,y'~π_base}[(e(y) − e(y'))²]``, which is 0 at π*_β.
  ``heldout_pop_loss_init`` is the same at π̂ = π_base (``2 Var[log π_base]``).
* ``heldout_slope``: the within-prompt regression slope of ``β d(y)`` on ``log π_base(y)`` (π*_β: exactly 1).
* ``mass_hat_on_draws`` / ``mass_base_on_draws`` / ``mass_star_on_draws_lo``: the probability the tuned
  model / the base / π*_β (lower bound) put on the distinct responses the base drew (mean over prompts).
* ``mode_ratio``: ``d`` of each prompt's most likely drawn response; ``mode_ratio_star``: π*_β's value
  ``(1/β) log π_base − log Z`` (Z estimated by enumeration).
* train pairs (distinct y ≠ y'): residual mean square; ``d`` of the likelier (``hi``) and less likely
  (``lo``) member; token-level split of ``d(lo)`` into the first differing token and the suffix after it,
  with π*_β's lower bound for the suffix, ``(1/β) log π_base(suffix | prefix)``.
* ``onpolicy_resid_ms``: mean of ``(e(y) − e(y'_j))²`` over tuned samples ``y ~ π̂`` and the prompt's
  base draws ``y'_j`` — the Eq 8 residual on pairs that include where π̂ actually puts its mass.

Usage (CPU, one thread; the note's numbers came from these three calls, ~20 minutes in all on a
2-core machine shared with another job; the model was the §7 one, passed with ``--model``)::

    python paper_repro/lm/rlhf_xpo_sweep.py --model MODEL --work /tmp/rlhf_xpo_work
    python paper_repro/lm/rlhf_xpo_sweep.py --model MODEL --work /tmp/rlhf_xpo_work --seeds 1,2 \
        --stages rlhf,xpo,allpairs,plot --only "rlhf|beta=2|epochs=10|lr=3e-05|ppp=4|,\
    rlhf|beta=0.5|epochs=10|lr=3e-05|ppp=4|,allpairs|beta=2|epochs=10|lr=0.0003|,xpo|alpha=0|beta=0.5|lr=0.0003|steps=1|"

(without ``--model`` the first call trains the model first, ~6 minutes). ``tables.md`` holds every
table of the note, generated from the CSVs.

XPO and the base model are evaluated with ``sharpsim.bridge.evaluation.evaluate_tuned``, the trainers'
own evaluation, so exactly as ``rlhf_sharpen`` evaluates. Result tables are append-only
``sharpsim.records.CsvTable`` files keyed by the ``key`` column: a finished row is never recomputed.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

import numpy as np

from sharpsim import records

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "paper_repro" / "lm" / "results_cpu" / "rlhf_xpo"
STAGES = ("model", "draws", "target", "rlhf", "xpo", "allpairs", "plot")
TARGET_BETAS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


# ============================================================================ small utilities
def _mean(xs) -> float:
    xs = [float(x) for x in xs]
    return float(np.mean(xs)) if xs else float("nan")


def _cluster(per_prompt: list[list[float]]) -> tuple[float, float]:
    """Mean over all items and its standard error clustered by prompt (sd of per-prompt means / √K)."""
    means = np.array([np.mean(p) for p in per_prompt if len(p)])
    flat = [x for p in per_prompt for x in p]
    return float(np.mean(flat)), float(means.std(ddof=1) / math.sqrt(len(means)))


def _read_csv(path: Path) -> list[dict]:
    """The rows of a result table (strings, as on disk)."""
    return records.CsvTable(path).rows()


def _append_csv(path: Path, row: dict) -> None:
    """Append one result row (floats to 6 significant digits); refuses a file with other columns."""
    records.CsvTable(path, float_format=".6g").append([row])


class _TripleCache:
    """A duck-typed ``RunDir`` for ``rlhf_sharpen``: its pairs persist in one jsonl shared by every config,
    so each config trains on the same draws (pair ``i`` depends only on the seed and ``i``)."""

    def __init__(self, path: Path):
        self.path = path

    def read(self, table: str) -> list[dict]:
        return records.read_jsonl(self.path)[0] if table == "triples" else []

    def append(self, table: str, rows) -> None:
        records.append_jsonl(self.path, rows)

    def write_csv(self, name, rows) -> None:  # tables of the trainer are not kept
        return None


# ============================================================================ base draws
class Draws:
    """One prompt's base draws: ``lp [N]``, ``correct [N]``, and the distinct responses ``u_*``."""

    def __init__(self, row: dict):
        self.row = row
        self.example_id, self.prompt = row["example_id"], row["prompt"]
        self.tokens = [tuple(t) for t in row["tokens"]]
        self.lp = np.array(row["log_prob"], dtype=np.float64)
        self.correct = np.array(row["correct"], dtype=bool)
        self.greedy_correct = bool(row["greedy_correct"])
        index: dict[tuple, int] = {}
        self.u_of = np.array([index.setdefault(t, len(index)) for t in self.tokens])
        self.u_tokens = list(index)
        self.u_lp = np.array([self.lp[np.flatnonzero(self.u_of == k)[0]] for k in range(len(index))])
        self.u_correct = np.array([self.correct[np.flatnonzero(self.u_of == k)[0]] for k in range(len(index))])

    def subset(self, sl: slice) -> Draws:
        """The draws ``sl`` (e.g. the first half for training, the second held out)."""
        return Draws({**self.row, **{k: self.row[k][sl] for k in ("tokens", "log_prob", "correct")}})


def sample_draws(policy, task, examples, *, N: int, max_new_tokens: int, seed: int, path: Path) -> list[Draws]:
    """``N`` temperature-1 base draws per prompt and the greedy response (cached as json)."""
    if not path.exists():
        prompts = [e.prompt for e in examples]
        s = policy.sample(prompts, n=N, temperature=1.0, max_new_tokens=max_new_tokens, seed=seed)
        g = policy.greedy(prompts, max_new_tokens=max_new_tokens)
        rows = []
        for k, ex in enumerate(examples):
            r = np.flatnonzero(s.prompt_index == k)
            rows.append({"example_id": ex.id, "prompt": ex.prompt,
                         "tokens": [[int(t) for t in s.tokens[j]] for j in r],
                         "log_prob": [float(s.log_prob[j]) for j in r],
                         "correct": [bool(task.is_correct(ex, s.text[j])) for j in r],
                         "greedy_correct": bool(task.is_correct(ex, g.text[k]))})
        records.atomic_write_text(path, json.dumps(rows))
    return [Draws(r) for r in json.loads(path.read_text())]


# ============================================================================ target law π*_β
def target_law(draws: list[Draws], beta: float) -> dict:
    """Accuracy, KL and mean log π_base of π*_β ∝ π_base^{1+1/β}, estimated from base draws.

    SNIS: ``Σ_i w_i c_i / Σ_i w_i`` with ``w_i = π_base(y_i)^{1/β}`` over the N draws (with repeats).
    Enumeration: over the distinct drawn responses U, ``A = Σ_U c π^p``, ``Z_s = Σ_U π^p``; the unseen
    responses carry base mass ``M = 1 − Σ_U π`` and at most ``M^p`` of ``Σ π^p`` (``Σ a^p ≤ (Σ a)^p``,
    ``p ≥ 1``), so the accuracy lies in ``[A / (Z_s + M^p), (A + M^p) / (Z_s + M^p)]`` per prompt.
    ``kl_star_enum``, ``loglik_star_enum`` and ``conc_star_enum`` (the concentrability
    ``E_{π*}[π*/π_base]`` of Eq 9) are enumeration estimates over U with π*_β renormalised on U.
    """
    p = 1.0 + 1.0 / beta
    snis, point, lo, hi, kl, ll, cover, mass_lo, conc = [], [], [], [], [], [], [], [], []
    for d in draws:
        w = np.exp((d.lp - d.lp.max()) / beta)
        snis.append(float(np.sum(w * d.correct) / np.sum(w)))
        q = np.exp(p * d.u_lp)
        z_s, a = q.sum(), float(np.sum(q * d.u_correct))
        m = max(0.0, 1.0 - float(np.exp(d.u_lp).sum()))
        point.append(a / z_s)
        lo.append(a / (z_s + m**p))
        hi.append((a + m**p) / (z_s + m**p))
        qn = q / z_s
        kl.append(float(np.sum(qn * (np.log(qn) - d.u_lp))))
        conc.append(float(np.sum(qn * qn / np.exp(d.u_lp))))
        ll.append(float(np.sum(qn * d.u_lp)))
        cover.append(1.0 - m)
        mass_lo.append(z_s / (z_s + m**p))
    return {"beta": beta, "exponent": p, "acc_snis": _mean(snis), "acc_enum": _mean(point),
            "acc_enum_lo": _mean(lo), "acc_enum_hi": _mean(hi), "kl_star_enum": _mean(kl),
            "conc_star_enum": _mean(conc),
            "loglik_star_enum": _mean(ll), "base_mass_covered": _mean(cover), "star_mass_covered_lo": _mean(mass_lo)}


def log_z(d: Draws, beta: float) -> float:
    """Enumeration estimate of ``log Σ_y π_base(y)^{1+1/β}`` over the distinct drawn responses."""
    return float(np.log(np.exp((1.0 + 1.0 / beta) * d.u_lp).sum()))


# ============================================================================ diagnostics
def _score(model, policy, prompt_ids, responses, *, chunk: int = 64):
    """Per-token log-probs adapter on and off: lists of ``[len]`` numpy arrays (response tokens only)."""
    import torch

    from sharpsim.bridge import scoring

    on, off = [], []
    with torch.no_grad():
        for s in range(0, len(responses), chunk):
            batch = scoring.pack(prompt_ids[s: s + chunk], [list(r) for r in responses[s: s + chunk]],
                                 pad_token_id=policy.pad_token_id)
            lt = scoring.token_log_probs(model, batch)
            with model.disable_adapter():
                rt = scoring.token_log_probs(model, batch)
            mask = batch.response_mask
            for i in range(lt.shape[0]):
                m = mask[i]
                on.append(lt[i][m].double().numpy())
                off.append(rt[i][m].double().numpy())
    return on, off


def heldout_diag(model, policy, draws: list[Draws], beta: float, prefix: str) -> tuple[dict, list[np.ndarray]]:
    """Residual diagnostics of the tuned model on held-out base draws (see the module doc)."""
    pids, resp, owner = [], [], []
    for k, d in enumerate(draws):
        pid = policy.encode_prompts([d.prompt])[0]
        for u in d.u_tokens:
            pids.append(pid)
            resp.append(u)
            owner.append(k)
    on, off = _score(model, policy, pids, resp)
    lt_all = np.array([x.sum() for x in on])
    lb_all = np.array([x.sum() for x in off])
    owner = np.array(owner)
    pop, pop0, num, den, m_hat, m_base, m_star, mode_r, mode_star, ref_err = [], [], 0.0, 0.0, [], [], [], [], [], []
    d_per_prompt = []
    for k, d in enumerate(draws):
        sel = np.flatnonzero(owner == k)
        lt, lb = lt_all[sel], lb_all[sel]
        ref_err.append(float(np.max(np.abs(lb - d.u_lp))))
        dr = lt - d.u_lp
        d_per_prompt.append(dr)
        e = beta * dr[d.u_of] - d.lp
        pop.append(2.0 * float(np.var(e, ddof=1)))
        pop0.append(2.0 * float(np.var(d.lp, ddof=1)))
        x = d.lp - d.lp.mean()
        ydev = beta * dr[d.u_of]
        num += float(np.sum(x * (ydev - ydev.mean())))
        den += float(np.sum(x * x))
        m_hat.append(float(np.exp(lt).sum()))
        m_base.append(float(np.exp(d.u_lp).sum()))
        q = np.exp((1 + 1 / beta) * d.u_lp)
        mm = max(0.0, 1.0 - m_base[-1])
        m_star.append(float(q.sum() / (q.sum() + mm ** (1 + 1 / beta))))
        top = int(np.argmax(d.u_lp))
        mode_r.append(float(dr[top]))
        mode_star.append(float(d.u_lp[top] / beta - log_z(d, beta)))
    out = {f"{prefix}_pop_loss": _mean(pop), f"{prefix}_pop_loss_init": _mean(pop0),
           f"{prefix}_slope": num / den if den > 0 else float("nan"),
           f"{prefix}_mass_hat_on_draws": _mean(m_hat), f"{prefix}_mass_base_on_draws": _mean(m_base),
           f"{prefix}_mass_star_on_draws_lo": _mean(m_star),
           f"{prefix}_mode_ratio": _mean(mode_r), f"{prefix}_mode_ratio_star": _mean(mode_star),
           f"{prefix}_ref_max_abs_err": float(np.max(ref_err))}
    return out, d_per_prompt


def train_pair_diag(model, policy, pairs: list[dict], beta: float) -> dict:
    """Diagnostics on the training pairs ``{prompt, y, yp, r_y, r_yp}`` (see the module doc)."""
    distinct = [t for t in pairs if list(t["y"]) != list(t["yp"])]
    out = {"train_pairs": len(pairs), "train_pairs_distinct": len(distinct)}
    if not distinct:
        return out
    pids = [policy.encode_prompts([t["prompt"]])[0] for t in distinct]
    on, off = _score(model, policy, pids * 2, [t["y"] for t in distinct] + [t["yp"] for t in distinct])
    n = len(distinct)
    resid, d_hi, d_lo, lo_first, lo_suffix, lo_suffix_bound, lo_prefix, hi_suffix = [], [], [], [], [], [], [], []
    for i, t in enumerate(distinct):
        a_on, a_off, b_on, b_off = on[i], off[i], on[n + i], off[n + i]
        da, db = float(a_on.sum() - a_off.sum()), float(b_on.sum() - b_off.sum())
        resid.append(beta * (da - db) - (t["r_y"] - t["r_yp"]))
        ya, yb = list(t["y"]), list(t["yp"])
        # first differing position (one may be a prefix of the other, e.g. cut at max_new_tokens)
        k = next((j for j in range(min(len(ya), len(yb))) if ya[j] != yb[j]), min(len(ya), len(yb)))
        if a_off.sum() >= b_off.sum():
            hi_on, hi_off, lo_on, lo_off, dhi, dlo = a_on, a_off, b_on, b_off, da, db
        else:
            hi_on, hi_off, lo_on, lo_off, dhi, dlo = b_on, b_off, a_on, a_off, db, da
        d_hi.append(dhi)
        d_lo.append(dlo)
        r_lo = lo_on - lo_off
        lo_prefix.append(float(r_lo[:k].sum()))
        lo_first.append(float(r_lo[k: k + 1].sum()))
        lo_suffix.append(float(r_lo[k + 1:].sum()))
        lo_suffix_bound.append(float(lo_off[k + 1:].sum() / beta))
        hi_suffix.append(float((hi_on - hi_off)[k + 1:].sum()))
    resid = np.array(resid)
    out.update({"train_resid_ms_distinct": float(np.mean(resid**2)),
                "train_loss_all_pairs": float(np.sum(resid**2) / len(pairs)),
                "train_d_hi": _mean(d_hi), "train_d_lo": _mean(d_lo),
                "train_lo_prefix_ratio": _mean(lo_prefix), "train_lo_first_token_ratio": _mean(lo_first),
                "train_lo_suffix_ratio": _mean(lo_suffix), "train_lo_suffix_ratio_star_lo": _mean(lo_suffix_bound),
                "train_hi_suffix_ratio": _mean(hi_suffix)})
    return out


def eval_diag(evaluation: list[dict], draws: list[Draws], d_per_prompt, task_examples, task, beta: float,
              prefix: str) -> dict:
    """Accuracy (clustered SE), KL, format, and the on-policy residual of the tuned model's samples."""
    by_id = {d.example_id: k for k, d in enumerate(draws)}
    acc: dict[str, list[float]] = {}
    onp = []
    fmt = []
    for r in evaluation:
        acc.setdefault(r["example_id"], []).append(float(r["correct"]))
        fmt.append(task.extract(r["text"]) is not None)
        k = by_id.get(r["example_id"])
        if k is not None:
            d = draws[k]
            e_base = beta * d_per_prompt[k][d.u_of] - d.lp
            e_y = beta * r["k1"] - r["base_log_prob"]
            onp.append(float(np.mean((e_y - e_base) ** 2)))
    a, se = _cluster(list(acc.values()))
    return {f"{prefix}_acc": a, f"{prefix}_acc_se": se, f"{prefix}_kl_k1": _mean(r["k1"] for r in evaluation),
            f"{prefix}_kl_k3": _mean(r["k3"] for r in evaluation),
            f"{prefix}_loglik_base": _mean(r["base_log_prob"] for r in evaluation),
            f"{prefix}_loglik_base_median": float(np.median([r["base_log_prob"] for r in evaluation])),
            f"{prefix}_format_ok": _mean(fmt), f"{prefix}_hit_eos": _mean(r["hit_eos"] for r in evaluation),
            f"{prefix}_onpolicy_resid_ms": _mean(onp)}


def paired_delta(evaluation, base_eval) -> tuple[float, float]:
    """Tuned − base accuracy on the same evaluation seeds, with its prompt-clustered SE."""
    def per(rows):
        out: dict[str, list[float]] = {}
        for r in rows:
            out.setdefault(r["example_id"], []).append(float(r["correct"]))
        return {k: np.mean(v) for k, v in out.items()}

    t, b = per(evaluation), per(base_eval)
    diff = np.array([t[k] - b[k] for k in t])
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(len(diff)))


# ============================================================================ all-pairs Eq 8
def allpairs_fit(policy, draws: list[Draws], *, beta: float, lr: float, epochs: int, seed: int,
                 batch_prompts: int = 8, grad_clip: float = 1.0):
    """Eq 8 over *all* pairs of each prompt's draws (the U-statistic ``2 Var_w[e]`` per prompt, ``w`` =
    draw counts), LoRA rank 8, AdamW with linear decay; returns the peft model (adapter on).

    The same objective as ``rlhf_sharpen`` with ``N`` draws per prompt instead of 2, i.e. every pair
    of the ``N`` draws is a triple (identical pairs contribute 0, as in the trainer)."""
    import torch

    from sharpsim.bridge import lora, scoring, training

    torch.manual_seed(int(seed))
    model = lora.add_lora(policy.model, rank=8)
    per_epoch = math.ceil(len(draws) / batch_prompts)
    items = []
    for d in draws:
        counts = np.bincount(d.u_of, minlength=len(d.u_tokens)).astype(np.float64)
        items.append((policy.encode_prompts([d.prompt])[0], [list(u) for u in d.u_tokens],
                      torch.tensor(counts / counts.sum(), dtype=torch.float32),
                      torch.tensor(d.u_lp, dtype=torch.float32)))

    def batch_loss(idx):
        part = [items[i] for i in idx]
        pids = [pid for pid, us, _, _ in part for _ in us]
        resp = [u for _, us, _, _ in part for u in us]
        lt = scoring.response_log_probs(model, scoring.pack(pids, resp, pad_token_id=policy.pad_token_id))
        loss, at = 0.0, 0
        for _, us, w, lb in part:
            e = beta * (lt[at: at + len(us)] - lb) - lb
            at += len(us)
            loss = loss + 2.0 * (w * (e - (w * e).sum()) ** 2).sum()
        return loss / len(part)

    steps = training.fit(model, len(items), batch_loss, epochs=epochs, batch_size=batch_prompts, lr=lr,
                         weight_decay=0.0, grad_clip=grad_clip, seed=seed)
    curve = [s["loss"] for s in steps]
    for epoch in range(epochs):
        print(f"  all-pairs epoch {epoch + 1}: mean loss "
              f"{np.mean(curve[epoch * per_epoch: (epoch + 1) * per_epoch]):.3f}", flush=True)
    return model, curve


# ============================================================================ sweep
def rlhf_grid(quick: bool) -> list[dict]:
    ref = [{"beta": 0.5, "lr": 1e-3, "epochs": 10, "ppp": 1}]  # the run of bridge_sharpening.md §7
    grid = [{"beta": b, "lr": lr, "epochs": ep, "ppp": ppp}
            for b in (0.5, 2.0) for lr in (3e-4, 3e-5) for ep in (1, 3, 10) for ppp in (1, 4)]
    return ref + ([g for g in grid if g["ppp"] == 1 and g["epochs"] != 3] if quick else grid)


def xpo_grid(quick: bool) -> list[dict]:
    ref = [{"beta": 0.5, "lr": 1e-3, "steps": 10, "alpha": a} for a in (0.0, 0.05)]  # §7's runs
    grid = [{"beta": 0.5, "lr": lr, "steps": st, "alpha": a}
            for lr in (3e-4, 3e-5) for st in (1, 3) for a in (0.0, 0.005, 0.05)]
    grid += [{"beta": 2.0, "lr": 3e-4, "steps": 3, "alpha": a} for a in (0.0, 0.02, 0.2)]
    return ref + (grid[:6] if quick else grid)


def allpairs_grid(quick: bool) -> list[dict]:
    grid = [{"beta": 0.5, "lr": 3e-4, "epochs": 3}, {"beta": 0.5, "lr": 3e-4, "epochs": 10},
            {"beta": 2.0, "lr": 3e-4, "epochs": 10}]
    grid += [{"beta": b, "lr": lr, "epochs": ep} for b in (0.5, 2.0) for lr, ep in ((3e-4, 30), (1e-3, 10), (1e-3, 30))]
    return grid[:1] if quick else grid


def _selected(key: str, only: str | None) -> bool:
    return only is None or any(frag in key for frag in only.split(","))


def _key(kind: str, cfg: dict, seed: int) -> str:
    return kind + "|" + "|".join(f"{k}={cfg[k]:g}" for k in sorted(cfg)) + f"|seed={seed}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="tiny model directory (default: train one into WORK/model)")
    ap.add_argument("--work", default="/tmp/rlhf_xpo_work", help="cache for the model, draws and pairs")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="where the CSV/PNG results go")
    ap.add_argument("--stages", default=",".join(STAGES), help=f"comma list of {', '.join(STAGES)}")
    ap.add_argument("--n-prompts", type=int, default=128)
    ap.add_argument("--N", type=int, default=64, help="base draws per prompt for held-out pairs and π*_β")
    ap.add_argument("--eval-samples", type=int, default=8, help="tuned draws per training prompt")
    ap.add_argument("--held-eval-samples", type=int, default=4, help="tuned draws per held-out prompt")
    ap.add_argument("--max-new-tokens", type=int, default=40)
    ap.add_argument("--seeds", default="0", help="comma list of trainer seeds")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="a smaller grid (smoke test)")
    ap.add_argument("--only", default=None,
                    help="comma list of key fragments, e.g. 'rlhf|beta=2|epochs=10|lr=3e-05|ppp=4|': run only "
                         "the grid configs whose key contains one of them (used for the extra seeds)")
    args = ap.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    for s in stages:
        if s not in STAGES:
            raise ValueError(f"--stages: unknown stage {s!r}; choose from {', '.join(STAGES)}")

    import torch

    from sharpsim.bridge import rlhf, runs, tasks, tiny, xpo
    from sharpsim.bridge.evaluation import evaluate_tuned
    from sharpsim.bridge.policy import LMPolicy

    torch.set_num_threads(args.threads)
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    task = tasks.get("arithmetic")
    t_start = time.time()

    model_dir = Path(args.model) if args.model else work / "model"
    if not (model_dir / "train_manifest.json").exists():
        if args.model:
            raise FileNotFoundError(f"--model {model_dir}: no train_manifest.json there")
        ex = task.examples(3000, seed=1)
        print("training the tiny model (bridge_sharpening.md §7 recipe) ...", flush=True)
        tiny.train_tiny([(e.prompt, task.solution(e)) for e in ex], model_dir, size="tiny", steps=800,
                        seed=0, device="cpu", batch_size=64)

    def fresh():
        return LMPolicy.from_pretrained(model_dir, device="cpu")

    train_ex = task.examples(args.n_prompts, seed=7)
    seen = {e.prompt for e in train_ex}
    held_ex = [e for e in task.examples(args.n_prompts, seed=8) if e.prompt not in seen]
    base = fresh()
    mnt = args.max_new_tokens
    draws_tr = sample_draws(base, task, train_ex, N=args.N, max_new_tokens=mnt, seed=101,
                            path=work / f"draws_train_N{args.N}.json")
    draws_ho = sample_draws(base, task, held_ex, N=args.N, max_new_tokens=mnt, seed=102,
                            path=work / f"draws_held_N{args.N}.json")

    # base evaluation on the trainers' evaluation seeds (paired comparison), per seed
    seeds = [int(s) for s in args.seeds.split(",")]
    base_eval_path = work / f"base_eval_es{args.eval_samples}_{args.held_eval_samples}.json"
    base_evals = json.loads(base_eval_path.read_text()) if base_eval_path.exists() else {}
    for seed in seeds:
        if str(seed) not in base_evals:
            ev_tr = evaluate_tuned(base, train_ex, task, samples=args.eval_samples, max_new_tokens=mnt,
                                   seed=seed, progress=False, pad_token_id=base.pad_token_id)
            ev_ho = evaluate_tuned(base, held_ex, task, samples=args.held_eval_samples, max_new_tokens=mnt,
                                   seed=seed, progress=False, pad_token_id=base.pad_token_id)
            base_evals[str(seed)] = {"train": [{k: v for k, v in r.items() if k != "tokens"} for r in ev_tr],
                                     "held": [{k: v for k, v in r.items() if k != "tokens"} for r in ev_ho]}
            records.atomic_write_text(base_eval_path, json.dumps(base_evals))

    base_summary = {
        "model": str(model_dir), "model_fingerprint": runs.model_fingerprint(model_dir), "n_prompts": len(train_ex), "n_held_prompts": len(held_ex), "N": args.N,
        "max_new_tokens": mnt, "base_greedy_acc": _mean(d.greedy_correct for d in draws_tr),
        "base_sampled_acc_draws": _cluster([list(d.correct.astype(float)) for d in draws_tr]),
        "base_bon_loglik_acc": _mean(d.correct[int(np.argmax(d.lp))] for d in draws_tr),
        "base_sampled_loglik": _mean(x for d in draws_tr for x in d.lp),
        "identical_pair_fraction_in_draws": _mean(
            float(d.tokens[2 * i] == d.tokens[2 * i + 1]) for d in draws_tr for i in range(args.N // 2)),
        "held_base_greedy_acc": _mean(d.greedy_correct for d in draws_ho),
        "held_base_sampled_acc_draws": _cluster([list(d.correct.astype(float)) for d in draws_ho]),
        "base_eval_acc": {s: _cluster([[float(r["correct"])] for r in v["train"]])[0] for s, v in base_evals.items()},
        "held_base_eval_acc": {s: _cluster([[float(r["correct"])] for r in v["held"]])[0]
                               for s, v in base_evals.items()},
    }
    records.atomic_write_text(out / "base_summary.json", json.dumps(base_summary, indent=2) + "\n")
    print(json.dumps(base_summary, indent=1), flush=True)

    if "target" in stages:
        rows = [target_law(draws_tr, b) for b in TARGET_BETAS]
        rows_ho = [target_law(draws_ho, b) for b in TARGET_BETAS]
        with (out / "target_law.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["prompts", *rows[0]])
            w.writeheader()
            for name, rs in (("train", rows), ("held", rows_ho)):
                for r in rs:
                    w.writerow({"prompts": name, **{k: f"{v:.6g}" for k, v in r.items()}})
        for r in rows:
            print({k: round(v, 4) for k, v in r.items()}, flush=True)

    def diagnose(model, tuned_policy, evaluation, pairs, beta, seed, ho_draws=None):
        row = {}
        ho_draws = draws_tr if ho_draws is None else ho_draws
        d_tr, dpp_tr = heldout_diag(model, tuned_policy, ho_draws, beta, "ho")
        d_ho, dpp_ho = heldout_diag(model, tuned_policy, draws_ho, beta, "hp")
        row.update(d_tr)
        row.update(d_ho)
        row.update(train_pair_diag(model, tuned_policy, pairs, beta))
        row.update(eval_diag(evaluation, ho_draws, dpp_tr, train_ex, task, beta, "tuned"))
        row["tuned_minus_base_acc"], row["tuned_minus_base_acc_se"] = paired_delta(
            evaluation, base_evals[str(seed)]["train"])
        ev_ho = evaluate_tuned(tuned_policy, held_ex, task, samples=args.held_eval_samples,
                               max_new_tokens=mnt, seed=seed, progress=False,
                               pad_token_id=tuned_policy.pad_token_id)
        row.update(eval_diag(ev_ho, draws_ho, dpp_ho, held_ex, task, beta, "held"))
        row["held_minus_base_acc"], row["held_minus_base_acc_se"] = paired_delta(
            ev_ho, base_evals[str(seed)]["held"])
        return row

    if "rlhf" in stages:
        path = out / "rlhf.csv"
        done = {r["key"] for r in _read_csv(path)}
        for seed in seeds:
            cache = _TripleCache(work / f"rlhf_triples_seed{seed}.jsonl")
            for cfg in rlhf_grid(args.quick):
                key = _key("rlhf", cfg, seed)
                if key in done or not _selected(key, args.only):
                    continue
                t0 = time.time()
                pol = fresh()
                config = rlhf.RLHFConfig(n=cfg["ppp"] * len(train_ex), beta=cfg["beta"], lora_rank=8,
                                         epochs=cfg["epochs"], lr=cfg["lr"], batch_size=4, grad_clip=1.0,
                                         max_new_tokens=mnt, seed=seed, eval_samples=args.eval_samples)
                res = rlhf.rlhf_sharpen(pol, train_ex, config, task=task, run=cache)
                pairs = [{"prompt": t["prompt"], "y": t["y"], "yp": t["yp"], "r_y": t["ref_y"],
                          "r_yp": t["ref_yp"]} for t in res.triples]
                row = {"key": key, **cfg, "seed": seed,
                       "eq8_loss_initial": res.summary["eq8_loss_initial"],
                       "eq8_loss_final": res.summary["eq8_loss_final"]}
                row.update(diagnose(res.model, res.policy, res.evaluation, pairs, cfg["beta"], seed))
                row["seconds"] = time.time() - t0
                _append_csv(path, row)
                print(f"[{time.time() - t_start:6.0f}s] {key}: acc {row['tuned_acc']:.3f} "
                      f"(Δ {row['tuned_minus_base_acc']:+.3f}±{row['tuned_minus_base_acc_se']:.3f}) "
                      f"k3 {row['tuned_kl_k3']:.2f} loss {row['eq8_loss_initial']:.2f}->{row['eq8_loss_final']:.2f} "
                      f"held-out pop {row['ho_pop_loss']:.2f}/{row['ho_pop_loss_init']:.2f} "
                      f"slope {row['ho_slope']:.2f}", flush=True)

    if "xpo" in stages:
        path = out / "xpo.csv"
        done = {r["key"] for r in _read_csv(path)}
        for seed in seeds:
            for cfg in xpo_grid(args.quick):
                key = _key("xpo", cfg, seed)
                if key in done or not _selected(key, args.only):
                    continue
                t0 = time.time()
                pol = fresh()
                config = xpo.XPOConfig(T=16, beta=cfg["beta"], alpha=cfg["alpha"], batch=8,
                                       steps_per_round=cfg["steps"], lr=cfg["lr"], lora_rank=8, grad_clip=1.0,
                                       max_new_tokens=mnt, seed=seed)
                res = xpo.xpo(pol, train_ex, config, task=task)
                evaluation = evaluate_tuned(res.policy, train_ex, task, samples=args.eval_samples,
                                            max_new_tokens=mnt, seed=seed, progress=False,
                                            pad_token_id=pol.pad_token_id)
                pairs = [{"prompt": t["prompt"], "y": t["y"], "yp": t["yp"], "r_y": t["r_y"],
                          "r_yp": t["r_yp"]} for t in res.data]
                rr = res.rounds
                row = {"key": key, **cfg, "seed": seed, "T": 16, "batch": 8,
                       "final_loss": res.summary["final_loss"],
                       "round_kl_k3_first_half": _mean(r["kl_k3"] for r in rr[:8]),
                       "round_kl_k3_last4": _mean(r["kl_k3"] for r in rr[-4:]),
                       "round_acc_last4": _mean(r["acc"] for r in rr[-4:] if r["acc"] is not None),
                       "round_j_beta_last4": _mean(r["j_beta_hat"] for r in rr[-4:])}
                row.update(diagnose(res.model, res.policy, evaluation, pairs, cfg["beta"], seed))
                row["seconds"] = time.time() - t0
                _append_csv(path, row)
                for r in rr:
                    _append_csv(out / "xpo_rounds.csv", {"key": key, **{k: r[k] for k in (
                        "round", "data_size", "loss_before", "loss_after", "kl_k1", "kl_k3", "base_loglik",
                        "j_beta_hat", "length")}, "acc": r["acc"] if r["acc"] is not None else ""})
                print(f"[{time.time() - t_start:6.0f}s] {key}: acc {row['tuned_acc']:.3f} "
                      f"(Δ {row['tuned_minus_base_acc']:+.3f}±{row['tuned_minus_base_acc_se']:.3f}) "
                      f"k3 {row['tuned_kl_k3']:.2f} held-out pop {row['ho_pop_loss']:.2f}/"
                      f"{row['ho_pop_loss_init']:.2f} slope {row['ho_slope']:.2f}", flush=True)

    if "allpairs" in stages:
        path = out / "allpairs.csv"
        done = {r["key"] for r in _read_csv(path)}
        half = args.N // 2
        fit_draws = [d.subset(slice(0, half)) for d in draws_tr]
        held_draws = [d.subset(slice(half, None)) for d in draws_tr]
        for seed in seeds:
            for cfg in allpairs_grid(args.quick):
                key = _key("allpairs", cfg, seed)
                if key in done or not _selected(key, args.only):
                    continue
                t0 = time.time()
                pol = fresh()
                model, curve = allpairs_fit(pol, fit_draws, beta=cfg["beta"], lr=cfg["lr"], epochs=cfg["epochs"],
                                            seed=seed)
                tuned = LMPolicy.from_model(model, pol.tokenizer, device="cpu")
                evaluation = evaluate_tuned(tuned, train_ex, task, samples=args.eval_samples,
                                            max_new_tokens=mnt, seed=seed, progress=False,
                                            pad_token_id=pol.pad_token_id)
                row = {"key": key, **cfg, "seed": seed, "fit_draws_per_prompt": half,
                       "loss_first_epoch": _mean(curve[: math.ceil(len(fit_draws) / 8)]),
                       "loss_last_epoch": _mean(curve[-math.ceil(len(fit_draws) / 8):])}
                row.update({k.replace("ho_", "fit_"): v for k, v in
                            heldout_diag(model, tuned, fit_draws, cfg["beta"], "ho")[0].items()})
                row.update(diagnose(model, tuned, evaluation, [], cfg["beta"], seed, ho_draws=held_draws))
                row["seconds"] = time.time() - t0
                _append_csv(path, row)
                print(f"[{time.time() - t_start:6.0f}s] {key}: acc {row['tuned_acc']:.3f} "
                      f"(Δ {row['tuned_minus_base_acc']:+.3f}±{row['tuned_minus_base_acc_se']:.3f}) "
                      f"k3 {row['tuned_kl_k3']:.2f} fit pop {row['fit_pop_loss']:.2f}/{row['fit_pop_loss_init']:.2f} "
                      f"held-out pop {row['ho_pop_loss']:.2f}/{row['ho_pop_loss_init']:.2f} "
                      f"slope {row['ho_slope']:.2f}", flush=True)

    if "plot" in stages:
        plot(out, base_summary)
        write_tables(out)
    print(f"done in {time.time() - t_start:.0f} s", flush=True)
    return 0


def plot(out: Path, base_summary: dict) -> None:
    """``rlhf_xpo.png``: tuned − base sampled accuracy (paired, same evaluation seeds; prompt-clustered SE)
    against KL k3 (symlog), every RLHF / XPO / all-pairs row; stars: the target laws π*_β at their
    (enumeration) KL, accuracy − base sampled accuracy of the same ``N`` draws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    colour = {0.5: "tab:blue", 2.0: "tab:orange"}
    for name, marker in (("rlhf", "o"), ("xpo", "^"), ("allpairs", "s")):
        for r in _read_csv(out / f"{name}.csv"):
            ax.errorbar(float(r["tuned_kl_k3"]), float(r["tuned_minus_base_acc"]),
                        yerr=float(r["tuned_minus_base_acc_se"]), fmt=marker,
                        color=colour.get(float(r["beta"]), "gray"), ms=5, alpha=0.75, lw=0.8)
    base_acc = base_summary["base_sampled_acc_draws"][0]
    for r in _read_csv(out / "target_law.csv"):
        if r["prompts"] == "train" and float(r["beta"]) in colour:
            ax.plot(float(r["kl_star_enum"]), float(r["acc_snis"]) - base_acc, "*", ms=14, mec="k",
                    color=colour[float(r["beta"])],
                    label=f"target π*_β, β={float(r['beta']):g}: acc {float(r['acc_snis']):.3f} (SNIS)")
    ax.axhline(0.0, color="k", ls="--", lw=1, label=f"π_base sampled (acc {base_acc:.3f})")
    ax.scatter([], [], marker="o", color="gray", label="rlhf_sharpen (Eq 8, 1 or 4 pairs/prompt)")
    ax.scatter([], [], marker="^", color="gray", label="xpo (T = 16, batch 8)")
    ax.scatter([], [], marker="s", color="gray", label="Eq 8 on all pairs of 32 draws/prompt")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlabel("KL(π̂ ‖ π_base), k3 on the tuned model's samples (nats)")
    ax.set_ylabel("sampled accuracy − base (paired), 128 prompts")
    ax.set_title("Tiny arithmetic LM, colour = β (blue 0.5, orange 2)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "rlhf_xpo.png", dpi=110)
    plt.close(fig)


def _f(x: str, nd: int = 2) -> str:
    v = float(x)
    return f"{v:.{nd}f}" if abs(v) >= 10 ** (-nd) or v == 0 else f"{v:.1e}"


def _pm(r: dict, a: str, b: str) -> str:
    return f"{float(r[a]):+.3f} ± {float(r[b]):.3f}"


def write_tables(out: Path) -> None:
    """``tables.md``: the markdown tables of the note, from the CSVs."""
    lines = ["# Tables (generated by rlhf_xpo_sweep.py from the CSVs in this folder)", ""]
    t = [r for r in _read_csv(out / "target_law.csv")]
    lines += ["## Target law π*_β ∝ π_base^{1+1/β} (from the N base draws per prompt)", "",
              "| prompts | β | acc SNIS | acc enum [rigorous lo, hi] | KL(π*‖π_base) | C_π* (Eq 9) | "
              "base mass on drawn | π* mass on drawn ≥ |", "|---|---|---|---|---|---|---|---|"]
    for r in t:
        lines.append(f"| {r['prompts']} | {float(r['beta']):g} | {float(r['acc_snis']):.3f} | "
                     f"{float(r['acc_enum']):.3f} [{float(r['acc_enum_lo']):.3f}, {float(r['acc_enum_hi']):.3f}] | "
                     f"{float(r['kl_star_enum']):.3f} | {float(r['conc_star_enum']):.2f} | "
                     f"{float(r['base_mass_covered']):.3f} | {float(r['star_mass_covered_lo']):.3f} |")
    common = ("| held-out pop. loss | slope (π*: 1) | π̂ mass on drawn | mode d (π*) | Δacc train prompts | "
              "Δacc held-out prompts | KL k3 | median log π_base of π̂ samples | on-policy resid² |")
    sep = "|---|---|---|---|---|---|---|---|---|"

    def tail(r):
        return (f"| {_f(r['ho_pop_loss'])} / {_f(r['ho_pop_loss_init'])} | {_f(r['ho_slope'])} | "
                f"{_f(r['ho_mass_hat_on_draws'], 3)} / {_f(r['ho_mass_base_on_draws'], 3)} | "
                f"{_f(r['ho_mode_ratio'])} ({_f(r['ho_mode_ratio_star'])}) | "
                f"{_pm(r, 'tuned_minus_base_acc', 'tuned_minus_base_acc_se')} | "
                f"{_pm(r, 'held_minus_base_acc', 'held_minus_base_acc_se')} | {_f(r['tuned_kl_k3'])} | "
                f"{_f(r['tuned_loglik_base_median'])} | {_f(r['tuned_onpolicy_resid_ms'], 1)} |")

    rows = _read_csv(out / "rlhf.csv")
    lines += ["", "## rlhf_sharpen (Eq 8), LoRA rank 8, batch 4, clip 1", "",
              "| β | lr | epochs | pairs/prompt | seed | train loss init → final " + common,
              "|---|---|---|---|---|---" + sep]
    for r in rows:
        lines.append(f"| {float(r['beta']):g} | {float(r['lr']):g} | {r['epochs']} | {r['ppp']} | {r['seed']} | "
                     f"{_f(r['eq8_loss_initial'])} → {_f(r['eq8_loss_final'])} " + tail(r))
    rows = _read_csv(out / "xpo.csv")
    lines += ["", "## xpo, T = 16, batch 8, LoRA rank 8, clip 1", "",
              "| β | lr | steps/round | α | seed | loss on D_T after " + common, "|---|---|---|---|---|---" + sep]
    for r in rows:
        lines.append(f"| {float(r['beta']):g} | {float(r['lr']):g} | {r['steps']} | {float(r['alpha']):g} | "
                     f"{r['seed']} | {_f(r['final_loss'])} " + tail(r))
    rows = _read_csv(out / "allpairs.csv")
    lines += ["", "## Eq 8 on all pairs of the first 32 draws per prompt (held-out: the other 32)", "",
              "| β | lr | epochs | seed | fit loss (all pairs) " + common, "|---|---|---|---|---" + sep]
    for r in rows:
        lines.append(f"| {float(r['beta']):g} | {float(r['lr']):g} | {r['epochs']} | {r['seed']} | "
                     f"{_f(r['fit_pop_loss'])} / {_f(r['fit_pop_loss_init'])} " + tail(r))
    lines += ["", "## How the training pairs are fitted (distinct pairs; d = log π̂ − log π_base, nats)", "",
              "| run | β | lr | epochs / steps | pairs/prompt | train resid² | d(hi) | d(lo) | d(lo) first diff. token | "
              "d(lo) suffix | π*: d(lo) suffix ≥ | d(hi) suffix |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in ("rlhf", "xpo"):
        for r in _read_csv(out / f"{name}.csv"):
            if r["seed"] != "0":
                continue
            lines.append(f"| {name} | {float(r['beta']):g} | {float(r['lr']):g} | {r.get('epochs') or r.get('steps')} | "
                         f"{r.get('ppp', '–')}{'' if name == 'rlhf' else ' (α=' + r['alpha'] + ')'} | "
                         f"{_f(r['train_resid_ms_distinct'])} | {_f(r['train_d_hi'])} | {_f(r['train_d_lo'])} | "
                         f"{_f(r['train_lo_first_token_ratio'])} | {_f(r['train_lo_suffix_ratio'])} | "
                         f"{_f(r['train_lo_suffix_ratio_star_lo'])} | {_f(r['train_hi_suffix_ratio'])} |")
    (out / "tables.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
