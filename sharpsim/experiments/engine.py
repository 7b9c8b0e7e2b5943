"""The empirical sample-complexity engine.

For an algorithm (a *trial*: one seed at one budget), a target ``(ε, δ, ρ)`` and a grid of
budgets, it measures the success probability ``P[err_δ(π̂) <= ε]`` over seeds at each budget and
reports the smallest budget ``m*`` whose estimated success probability reaches ``1 - ρ``.

* **Common random numbers**: seed ``s`` uses the same PRNG key at every budget, so the success
  curve is a monotone-ish function of the budget per seed, not independent noise.
* **Seeds are vmapped**: one ``jit(vmap(trial))`` per budget shape.
* **Confidence**: each success rate gets a Clopper–Pearson interval (``scipy.stats``). The
  interval for ``m*`` is ``[first budget whose upper CP limit reaches 1-ρ, first budget whose
  lower CP limit reaches 1-ρ]``. The CP level is per budget, with no simultaneous correction
  over the grid, so the interval is indicative rather than a guaranteed 95% interval for the
  crossing; and it cannot resolve the crossing more finely than the budget grid.
* **Slopes**: :func:`fit_slope` fits ``log m* = a + b log x`` over the cells of a figure and
  bootstraps over seeds (resampling each cell's seeds, recomputing every ``m*``) for a
  percentile interval of the exponent ``b``.

Budgets are *charged* queries: for algorithms with a random ``m`` (adaptive sampling) the trial
returns the queries it actually used and the budget is a parameter (e.g. ``n``); the rows carry
both, and ``m*`` is reported as the mean charged ``m`` at the crossing budget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np
from scipy import stats
from tqdm.auto import tqdm

from sharpsim import _validation as v

__all__ = ["SampleComplexity", "fit_slope", "m_star", "sample_complexity", "success_table", "tables_from_rows"]


@dataclasses.dataclass(frozen=True)
class SampleComplexity:
    """Per-seed outcomes of a budget sweep and the ``m*`` read off them.

    Attributes:
      budgets: ``[B]`` the budget parameter of each row of the tables.
      errors: ``[B, S]`` exact sharpening errors.
      queries: ``[B, S]`` queries charged.
      eps, rho, confidence: the target and the CP level.
    """

    budgets: np.ndarray
    errors: np.ndarray
    queries: np.ndarray
    eps: float
    rho: float
    confidence: float = 0.95

    @property
    def successes(self) -> np.ndarray:
        """``[B, S]`` whether each seed's error is at most ε."""
        return self.errors <= self.eps

    def rows(self) -> list[dict]:
        """Tidy rows, one per (budget, seed)."""
        return [
            {"budget": float(b), "seed": s, "error": float(self.errors[i, s]), "queries": float(self.queries[i, s])}
            for i, b in enumerate(self.budgets)
            for s in range(self.errors.shape[1])
        ]

    def summary(self) -> dict:
        """``m*`` and its interval: :func:`m_star` of these outcomes."""
        return m_star(self.budgets, self.successes, self.queries, rho=self.rho, confidence=self.confidence)


def success_table(successes: np.ndarray, confidence: float = 0.95):
    """Success rates ``[B]`` and Clopper–Pearson limits ``[B]``, ``[B]`` from ``[B, S]`` outcomes."""
    successes = np.asarray(successes, bool)
    S = successes.shape[1]
    hits = successes.sum(axis=1)
    lo = np.empty(len(hits))
    hi = np.empty(len(hits))
    for i, h in enumerate(hits):
        ci = stats.binomtest(int(h), S).proportion_ci(confidence, method="exact")
        lo[i], hi[i] = ci.low, ci.high
    return hits / S, lo, hi


def m_star(budgets, successes, queries, *, rho: float, confidence: float = 0.95) -> dict:
    """Reads ``m*`` off per-seed outcomes.

    Args:
      budgets: ``[B]`` increasing budgets.
      successes: ``[B, S]`` whether ``err <= ε`` for each seed.
      queries: ``[B, S]`` queries charged.

    Returns:
      ``m_star`` (mean charged queries at the first budget whose success rate is ``>= 1 - ρ``;
      ``nan`` if none), ``m_star_low`` / ``m_star_high`` (the CP-based interval; ``nan`` /
      ``inf`` when the grid does not reach it) and ``budget_star``.
    """
    budgets = np.asarray(budgets, float)
    queries = np.asarray(queries, float)
    rate, lo, hi = success_table(successes, confidence)
    target = 1.0 - rho
    mean_q = queries.mean(axis=1)

    def first(mask):
        idx = np.flatnonzero(mask)
        return int(idx[0]) if idx.size else None

    i_star, i_lo, i_hi = first(rate >= target), first(hi >= target), first(lo >= target)
    return {
        "budget_star": budgets[i_star] if i_star is not None else np.nan,
        "m_star": mean_q[i_star] if i_star is not None else np.nan,
        "m_star_low": mean_q[i_lo] if i_lo is not None else np.nan,
        "m_star_high": mean_q[i_hi] if i_hi is not None else np.inf,
    }


def sample_complexity(
    trial: Callable[..., tuple[jax.Array, jax.Array]],
    budgets: Sequence,
    *,
    eps: float,
    rho: float,
    num_seeds: int,
    seed: int = 0,
    confidence: float = 0.95,
    static_budget: bool = True,
    progress: bool = True,
    csv_path=None,
    config=None,
) -> SampleComplexity:
    """Measures ``P[err_δ(π̂) <= ε]`` at each budget over ``num_seeds`` seeds.

    Args:
      trial: ``trial(key, budget) -> (error, num_queries)`` for one seed; ``budget`` is passed
        as a Python value (it may set static shapes such as ``n``). δ lives inside the trial.
      budgets: increasing budgets.
      eps, rho: the target: error ``<= ε`` with probability ``>= 1 - ρ``.
      num_seeds: seeds per budget (vmapped; the same keys at every budget).
      static_budget: ``True`` compiles the trial once per budget (the budget may set shapes);
        ``False`` passes it traced and compiles once for the whole sweep.
      csv_path: if given, each budget's per-seed rows (``budget, seed, error, queries``) are
        appended to this tidy CSV as soon as they are computed, and a rerun with the same
        ``config`` skips the budgets already there (a killed sweep resumes; rows of other
        configurations are kept, never overwritten).
      config: required with ``csv_path``: anything JSON-serialisable that identifies the trial
        (its digest, with ε, ρ, the seeds and budgets, keys the rows).

    Raises:
      ValueError: on ε, ρ outside (0, 1) or fewer than one seed/budget.
    """
    eps = v.check_open_unit_interval("eps", eps)
    rho = v.check_open_unit_interval("rho", rho)
    num_seeds = v.check_positive_int("num_seeds", num_seeds)
    budgets = list(budgets)
    if not budgets:
        raise ValueError("`budgets` must hold at least one budget")
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    traced = jax.jit(jax.vmap(trial, in_axes=(0, None))) if not static_budget else None

    def measure(b):
        if traced is not None:
            err, q = traced(keys, b)  # one compilation for every budget
        else:
            err, q = jax.jit(jax.vmap(lambda k: trial(k, b)))(keys)
        return np.asarray(err, float), np.asarray(q, float)

    errors = np.empty((len(budgets), num_seeds))
    queries = np.empty((len(budgets), num_seeds))
    if csv_path is None:
        for i, b in enumerate(tqdm(budgets, disable=not progress, leave=False, desc="budgets")):
            errors[i], queries[i] = measure(b)
    else:
        if config is None:
            raise ValueError("`config` is required with `csv_path`: it identifies the trial whose rows are stored")
        from sharpsim.experiments._runner import run_sweep

        def run_cell(cell):
            err, q = measure(cell["budget"])
            return [{"seed": s, "error": float(err[s]), "queries": float(q[s])} for s in range(num_seeds)]

        # the budgets are the cells, not part of the key: adding budgets later resumes
        digest_config = {"config": config, "eps": eps, "rho": rho, "num_seeds": num_seeds, "seed": seed,
                         "static_budget": static_budget}
        rows = run_sweep([{"budget": b} for b in budgets], run_cell, Path(csv_path), config=digest_config,
                         progress=progress, desc="budgets")
        index = {float(b): i for i, b in enumerate(budgets)}
        rows = [r for r in rows if float(r["budget"]) in index]
        for r in rows:
            errors[index[float(r["budget"])], int(r["seed"])] = r["error"]
            queries[index[float(r["budget"])], int(r["seed"])] = r["queries"]
    return SampleComplexity(np.asarray(budgets, float), errors, queries, eps, rho, confidence)


def fit_slope(xs, tables, *, rho: float, num_bootstrap: int = 1000, seed: int = 0, confidence: float = 0.95) -> dict:
    """Log-log slope of ``m*`` against ``x`` with a bootstrap interval over seeds.

    Args:
      xs: ``[C]`` the x-values (e.g. coverages), one per cell.
      tables: per cell, ``(budgets [B], successes [B, S], queries [B, S])``.

    Returns:
      ``slope``, ``intercept`` (of ``log m* = intercept + slope log x``), ``slope_low``,
      ``slope_high`` (bootstrap percentile interval), ``num_used`` (cells with a finite m*).
    """
    xs = np.asarray(xs, float)
    rng = np.random.default_rng(seed)

    def fit(ms):
        ok = np.isfinite(ms) & (ms > 0)
        if ok.sum() < 2:
            return np.nan, np.nan
        b, a = np.polyfit(np.log(xs[ok]), np.log(ms[ok]), 1)
        return b, a

    def point(tabs):  # the point estimate only: no Clopper-Pearson limits in the bootstrap loop
        out = []
        for _, s, q in tabs:
            hit = np.flatnonzero(s.mean(axis=1) >= 1.0 - rho)
            out.append(q[hit[0]].mean() if hit.size else np.nan)
        return np.array(out)

    ms = point(tables)
    slope, intercept = fit(ms)
    boots = []
    for _ in range(num_bootstrap):
        resampled = []
        for b, s, q in tables:
            idx = rng.integers(0, s.shape[1], s.shape[1])
            resampled.append((b, s[:, idx], q[:, idx]))
        boots.append(fit(point(resampled))[0])
    boots = np.asarray(boots)
    boots = boots[np.isfinite(boots)]
    alpha = (1 - confidence) / 2
    lo, hi = (np.quantile(boots, [alpha, 1 - alpha]) if boots.size else (np.nan, np.nan))
    return {
        "slope": float(slope),
        "intercept": float(intercept),
        "slope_low": float(lo),
        "slope_high": float(hi),
        "num_used": int(np.isfinite(ms).sum()),
        "m_star": ms,
    }


def tables_from_rows(rows, *, x_key: str, budget_key: str, eps: float, where: dict | None = None) -> dict:
    """Groups tidy per-seed rows into ``{x: (budgets [B], successes [B, S], queries [B, S])}``.

    Rows need ``x_key``, ``budget_key``, ``seed``, ``error`` and ``queries``; ``where`` filters
    rows by equality first. Success is ``error <= eps``.
    """
    where = where or {}
    rows = [r for r in rows if all(r[k] == val for k, val in where.items())]
    out = {}
    for x in sorted({r[x_key] for r in rows}):
        sub = [r for r in rows if r[x_key] == x]
        budgets = sorted({r[budget_key] for r in sub})
        seeds = sorted({r["seed"] for r in sub})
        err = np.full((len(budgets), len(seeds)), np.nan)
        q = np.full((len(budgets), len(seeds)), np.nan)
        bi = {b: i for i, b in enumerate(budgets)}
        si = {s: i for i, s in enumerate(seeds)}
        for r in sub:
            err[bi[r[budget_key]], si[r["seed"]]] = r["error"]
            q[bi[r[budget_key]], si[r["seed"]]] = r["queries"]
        out[x] = (np.asarray(budgets, float), err <= eps, q)
    return out
