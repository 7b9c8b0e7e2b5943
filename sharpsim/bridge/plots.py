"""Plots of a ``sharpsim lm bon|passk`` run, from the tidy rows of :mod:`sharpsim.bridge.analysis`.

``plot_*(rows, ax=None, ...) -> Axes`` as in :mod:`sharpsim.plotting` (matplotlib, Agg backend);
:func:`save` writes a figure as PNG and PDF. The paper's analogues:

* :func:`plot_lift_vs_n` — accuracy lift of BoN over greedy against N, per self-reward (Fig 3);
* :func:`plot_pick_loglik_vs_n` — mean log-likelihood of the BoN pick against N (Fig 4);
* :func:`plot_loglik_hist` — sequence log-likelihood of the draws, correct vs incorrect (Fig 6);
* :func:`plot_passk` — the coverage skyline pass@k against k;
* :func:`plot_passk_compare` — measured and exact pass@k of several models (a base and a sharpened
  one) and their crossover k*, the bridge analogue of the core's figure ``passk_crossover``.

Bands are the percentile-bootstrap intervals over prompts stored in the rows (their level is in
the legend).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

_REWARD_LABELS = {"loglik": "log-likelihood", "norm_loglik": "length-normalised log-likelihood",
                  "majority": "majority vote"}


def _label(reward: str) -> str:
    return _REWARD_LABELS.get(reward, reward)


def _level(rows) -> str:
    conf = rows[0].get("confidence") if rows else None
    return "" if conf is None else f" ({100 * conf:g}% bootstrap band)"


def _by_reward(rows):
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(r["reward"], []).append(r)
    return {k: sorted(v, key=lambda r: r["N"]) for k, v in out.items()}


def _integer_log2_axis(ax, values) -> None:
    """Log-2 x axis with the plotted integers as tick labels (1, 2, 4, ..., 50 rather than 2^k)."""
    ax.set_xscale("log", base=2)
    ticks = sorted({int(v) for v in values})
    if ticks:
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def _band(ax, x, lo, hi, color):
    lo = np.array([np.nan if v is None else v for v in lo], dtype=float)
    hi = np.array([np.nan if v is None else v for v in hi], dtype=float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    if ok.any():
        ax.fill_between(np.asarray(x, float)[ok], lo[ok], hi[ok], color=color, alpha=0.18, lw=0)


def plot_lift_vs_n(rows, ax=None, *, kind: str = "abs", title: str | None = None):
    """Accuracy lift of BoN over greedy against N, one line per self-reward (Fig 3 analogue).

    Args:
      rows: :func:`sharpsim.bridge.analysis.bon_lift_table` rows.
      kind: ``"abs"`` (accuracy points, BoN − greedy) or ``"pct"`` (% of greedy accuracy).
    """
    if kind not in ("abs", "pct"):
        raise ValueError(f"kind must be 'abs' or 'pct', got {kind!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4))
    key = "lift_abs" if kind == "abs" else "lift_pct"
    for i, (reward, rs) in enumerate(_by_reward(rows).items()):
        color = f"C{i}"
        ns = [r["N"] for r in rs]
        ys = [np.nan if r[key] is None else r[key] for r in rs]
        ax.plot(ns, ys, "o-", color=color, ms=4, label=_label(reward))
        _band(ax, ns, [r[f"{key}_low"] for r in rs], [r[f"{key}_high"] for r in rs], color)
    ax.axhline(0, color="grey", ls=":", lw=1, label="greedy decoding")
    _integer_log2_axis(ax, [r["N"] for r in rows])
    ax.set_xlabel("N (draws per prompt; N < N_max by subsampling)")
    ax.set_ylabel("accuracy lift over greedy (points)" if kind == "abs" else "accuracy lift over greedy (%)")
    if rows:
        g = rows[0]["greedy_accuracy"]
        ax.set_title(title or f"BoN lift vs N  (greedy accuracy {g:.3f}, {rows[0]['n_prompts']} prompts)",
                     fontsize=9)
    ax.legend(fontsize=7, title="self-reward" + _level(rows), title_fontsize=7)
    return ax


def plot_pick_loglik_vs_n(rows, ax=None, *, greedy_log_prob: float | None = None, title: str | None = None):
    """Mean over prompts of ``log π(BoN pick | x)`` against N, per self-reward (Fig 4 analogue)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4))
    for i, (reward, rs) in enumerate(_by_reward(rows).items()):
        color = f"C{i}"
        ns = [r["N"] for r in rs]
        ax.plot(ns, [r["pick_log_prob"] for r in rs], "o-", color=color, ms=4, label=_label(reward))
        _band(ax, ns, [r["pick_log_prob_low"] for r in rs], [r["pick_log_prob_high"] for r in rs], color)
    if greedy_log_prob is not None and np.isfinite(greedy_log_prob):
        ax.axhline(greedy_log_prob, color="grey", ls=":", lw=1, label="greedy decoding")
    _integer_log2_axis(ax, [r["N"] for r in rows])
    ax.set_xlabel("N (draws per prompt; N < N_max by subsampling)")
    ax.set_ylabel("mean log $\\pi_{base}$(pick | x)  (nats)")
    ax.set_title(title or "log-likelihood of the BoN pick vs N", fontsize=9)
    ax.legend(fontsize=7, title="self-reward" + _level(rows), title_fontsize=7)
    return ax


def plot_loglik_hist(rows, ax=None, *, title: str | None = None):
    """Densities of sequence log-likelihood of all draws, correct vs incorrect (Fig 6 analogue).

    Args:
      rows: :func:`sharpsim.bridge.analysis.loglik_histogram` rows.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4))
    if rows:
        edges = np.array([rows[0]["left"], *[r["right"] for r in rows]])
        n_c = sum(r["count_correct"] for r in rows)
        n_i = sum(r["count_incorrect"] for r in rows)
        for key, color, label, n in (("density_correct", "C2", "correct", n_c),
                                     ("density_incorrect", "C3", "incorrect", n_i)):
            if n:
                ax.stairs([r[key] for r in rows], edges, color=color, fill=True, alpha=0.35,
                          label=f"{label} ({n} draws)")
                ax.stairs([r[key] for r in rows], edges, color=color, lw=1.2)
    ax.set_xlabel("sequence log-likelihood log $\\pi_{base}$(y | x)  (nats)")
    ax.set_ylabel("density")
    ax.set_title(title or "log-likelihood of sampled responses by correctness", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def plot_passk(rows, ax=None, *, greedy_accuracy: float | None = None, title: str | None = None):
    """The coverage skyline: mean unbiased pass@k against k with its bootstrap band.

    Args:
      rows: :func:`sharpsim.bridge.analysis.pass_at_k_table` rows.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4))
    rs = sorted(rows, key=lambda r: r["k"])
    ks = [r["k"] for r in rs]
    ax.plot(ks, [r["pass_at_k"] for r in rs], "o-", color="C0", ms=4, label="pass@k" + _level(rs))
    _band(ax, ks, [r["pass_at_k_low"] for r in rs], [r["pass_at_k_high"] for r in rs], "C0")
    if greedy_accuracy is not None and np.isfinite(greedy_accuracy):
        ax.axhline(greedy_accuracy, color="grey", ls=":", lw=1, label="greedy accuracy")
    _integer_log2_axis(ax, ks)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("k (draws)")
    ax.set_ylabel("pass@k = P(some of k draws is correct)")
    if rs:
        ax.set_title(title or f"coverage skyline ({rs[0]['n_prompts']} prompts)", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def _fmt_k(k) -> str:
    return "none" if k is None else str(int(k))


def plot_passk_compare(rows, ax=None, *, crossover=None, title: str | None = None):
    """Measured pass@k (bootstrap band) and the exact prediction (dashed) of several models, and k*.

    Args:
      rows: one per (model, k) with ``model`` (a label; curves in order of first appearance),
        ``k``, ``pass_measured``, ``pass_low``, ``pass_high`` and ``pass_exact`` (``None`` or ``""``
        where there is none).
      crossover: None, or ``{"measured": m, "exact": e}`` (either may be left out): ``m`` as
        returned by :func:`sharpsim.bridge.analysis.passk_crossover` (``k_star``, ``k_star_low``,
        ``k_star_high``, ``k_max``), ``e`` with ``k_star`` (None: no crossing) and ``k_max`` (the
        largest k searched). A crossing is drawn as a vertical line (measured: solid, with its
        interval shaded; exact: dotted); no crossing is written in the legend.
      title: the axes title (default: a generic one).

    Returns:
      The ``Axes``.

    Raises:
      ValueError: a row misses one of the keys above.
    """
    keys = ("model", "k", "pass_measured", "pass_low", "pass_high", "pass_exact")
    for i, r in enumerate(rows):
        for key in keys:
            if key not in r:
                raise ValueError(f"rows[{i}] is missing the key {key!r} (needs {', '.join(keys)})")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4))
    models: dict[str, list] = {}
    for r in rows:
        models.setdefault(str(r["model"]), []).append(r)

    def num(v):
        return np.nan if v is None or v == "" else float(v)

    all_ks = []
    for i, (model, rs) in enumerate(models.items()):
        rs = sorted(rs, key=lambda r: int(r["k"]))
        ks = [int(r["k"]) for r in rs]
        all_ks += ks
        color = f"C{i}"
        ax.plot(ks, [num(r["pass_measured"]) for r in rs], "-", color=color, lw=1.6,
                marker="o" if len(ks) <= 12 else None, ms=4, label=f"{model}: measured")
        _band(ax, ks, [num(r["pass_low"]) for r in rs], [num(r["pass_high"]) for r in rs], color)
        exact = [num(r["pass_exact"]) for r in rs]
        if np.isfinite(exact).any():
            ax.plot(ks, exact, "--", color=color, lw=1.2, label=f"{model}: exact (core)")
    crossover = crossover or {}
    m, e = crossover.get("measured"), crossover.get("exact")
    if m is not None:
        if m.get("k_star") is not None:
            lo = m.get("k_star_low") or m["k_star"]
            hi = m.get("k_star_high") or m.get("k_max") or m["k_star"]
            ax.axvspan(lo, hi, color="grey", alpha=0.12, lw=0)
            ax.axvline(m["k_star"], color="k", lw=1, label=f"measured k* = {m['k_star']} "
                       f"[{_fmt_k(m.get('k_star_low'))}, {_fmt_k(m.get('k_star_high'))}]")
        else:
            ax.plot([], [], " ", label=f"measured: no crossover within k ≤ {m.get('k_max')}")
    if e is not None:
        if e.get("k_star") is not None:
            ax.axvline(e["k_star"], color="k", ls=":", lw=1.2, label=f"exact k* = {e['k_star']}")
        else:
            ax.plot([], [], " ", label=f"exact: no crossover for k ≤ {e.get('k_max')}")
    ticks = sorted({k for k in all_ks if k & (k - 1) == 0} | ({max(all_ks)} if all_ks else set()))
    _integer_log2_axis(ax, ticks)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("k (draws)")
    ax.set_ylabel("pass@k = P(some of k draws is correct)")
    ax.set_title(title or "pass@k: measured (band) and exact (dashed); crossover k*", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def save(fig, out_dir, name: str) -> list[Path]:
    """Write ``fig`` to ``out_dir/<name>.png`` (150 dpi) and ``.pdf``; close it; return the two paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"{name}.png", out / f"{name}.pdf"]
    fig.tight_layout()
    fig.savefig(files[0], dpi=150)
    fig.savefig(files[1])
    plt.close(fig)
    return files
