"""The empirical sample-complexity engine.

For an algorithm (a *trial*: one seed at one budget), a target ``(ε, δ, ρ)`` and a grid of
budgets, it measures the success probability ``P[err_δ(π̂) <= ε]`` over seeds at each budget and
reports the smallest budget ``m*`` whose estimated success probability reaches ``1 - ρ``.

* **Common random numbers**: seed ``s`` uses the same PRNG key at every budget, so the success
  curve is a monotone-ish function of the budget per seed, not independent noise.
* **Seeds are vmapped**: one ``jit(vmap(trial))`` per budget shape, the seeds sharded over the
  local devices (:func:`sharpsim.parallel.map_seeds`; the rows do not depend on the device count).
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
import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np
from scipy import stats
from tqdm.auto import tqdm

from sharpsim import _validation as v
from sharpsim.parallel import map_seeds

__all__ = ["Rate", "SampleComplexity", "crossing_bracket", "fit_slope", "format_interval", "geometric_grid",
           "grid_slope_interval", "m_star", "rate_from_tables", "sample_complexity", "scan_budgets", "scan_splits", "success_table",
           "tables_from_rows"]


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
      num_seeds: seeds per budget (vmapped and sharded over the local devices by
        :func:`sharpsim.parallel.map_seeds`; the same keys at every budget).
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

    def measure(b):
        if not static_budget:
            err, q = map_seeds(trial, keys, args=(b,))  # one compilation for every budget
        else:
            try:  # the same function object for the same (trial, budget): compiled once across calls
                at = _at_budget(trial, b)
            except TypeError:  # an unhashable budget
                at = functools.partial(_call_at, trial, b)
            err, q = map_seeds(at, keys)
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


@functools.lru_cache(maxsize=256)
def _at_budget(trial: Callable, budget) -> Callable:
    """``key -> trial(key, budget)`` with the budget a Python constant (one function object per pair)."""
    return functools.partial(_call_at, trial, budget)


def _call_at(trial: Callable, budget, key):
    return trial(key, budget)


def fit_slope(xs, tables, *, rho: float, num_bootstrap: int = 1000, seed: int = 0, confidence: float = 0.95) -> dict:
    """Log-log slope of ``m*`` against ``x`` with a bootstrap interval over seeds.

    Args:
      xs: ``[C]`` the x-values (e.g. coverages), one per cell.
      tables: per cell, ``(budgets [B], successes [B, S], queries [B, S])``; or, for a joint
        search over splits of the budget (e.g. SFT's ``(n, N)``), a list of such tables, one per
        split, with the same seeds: the cell's ``m*`` is then the smallest ``m*`` over its splits
        (:func:`crossing_bracket`), and the bootstrap resamples the seeds jointly.
      rho: the target's failure probability.
      num_bootstrap: bootstrap resamples.
      seed: the bootstrap's seed.
      confidence: the level of the percentile interval.

    Returns:
      ``slope``, ``intercept`` (of ``log m* = intercept + slope log x``), ``slope_low``,
      ``slope_high`` (bootstrap percentile interval), ``num_used`` (cells with a finite m*),
      ``m_star`` (``[C]``).
    """
    xs = np.asarray(xs, float)
    rng = np.random.default_rng(seed)

    def fit(ms):
        ok = np.isfinite(ms) & (ms > 0)
        if ok.sum() < 2:
            return np.nan, np.nan
        b, a = np.polyfit(np.log(xs[ok]), np.log(ms[ok]), 1)
        return b, a

    tables = [_splits(t) for t in tables]

    def point(tabs):  # the point estimate only: no Clopper-Pearson limits in the bootstrap loop
        return np.array([_first_pass(splits, rho)[0] for splits in tabs])

    ms = point(tables)
    slope, intercept = fit(ms)
    boots = []
    for _ in range(num_bootstrap):
        resampled = []
        for splits in tables:  # one resample of the seeds, shared by the cell's splits (CRN)
            idx = rng.integers(0, splits[0][1].shape[1], splits[0][1].shape[1])
            resampled.append([(b, s[:, idx], q[:, idx]) for b, s, q in splits])
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


def _splits(table) -> list:
    """A cell's table as a list of splits ``[(budgets, successes, queries), ...]``."""
    if isinstance(table, tuple) and len(table) == 3 and not isinstance(table[0], tuple):
        return [table]
    return list(table)


def _first_pass(splits, rho: float) -> tuple[float, int | None, int | None]:
    """``(m*, split, index)``: the smallest mean charged ``m`` at a split's first passing budget."""
    best = (np.nan, None, None)
    for k, (_, s, q) in enumerate(splits):
        hit = np.flatnonzero(np.asarray(s).mean(axis=1) >= 1.0 - rho)
        if hit.size:
            m = float(np.asarray(q)[hit[0]].mean())
            if not m >= best[0]:  # also true while best is nan
                best = (m, k, int(hit[0]))
    return best


def geometric_grid(low: float, high: float, *, per_octave: int = 4) -> list[int]:
    """A fixed geometric grid of integer budgets: ``round(2^(k/per_octave))`` within ``[low, high]``.

    The grid depends only on its range and ratio, never on a predicted rate, so a fitted
    exponent read off it is measured rather than designed in.

    Args:
      low, high: the range (``1 <= low <= high``).
      per_octave: points per doubling (ratio ``2^(1/per_octave)``; 4 gives ``≈ 1.19``).

    Returns:
      The sorted distinct integers ``round(2^(k/per_octave))`` with ``low <= 2^(k/per_octave) <= high``.

    Raises:
      ValueError: unless ``1 <= low <= high`` and ``per_octave >= 1``.
    """
    per_octave = v.check_positive_int("per_octave", per_octave)
    if not 1 <= low <= high:
        raise ValueError(f"`low` and `high` must satisfy 1 <= low <= high; got low={low}, high={high}")
    k0 = math.ceil(per_octave * math.log2(low) - 1e-9)
    k1 = math.floor(per_octave * math.log2(high) + 1e-9)
    return sorted({round(2 ** (k / per_octave)) for k in range(k0, k1 + 1)})


def scan_budgets(evaluate: Callable[[int], np.ndarray], grid: Sequence[int], *, rho: float, coarse: int = 4,
                 extra: int = 2, stop_above: Callable[[int], bool] | None = None) -> dict:
    """Finds the first passing budget of a grid coarse-to-fine, evaluating few budgets.

    Walks every ``coarse``-th budget of ``grid`` upward until one passes (success rate
    ``>= 1 - ρ``), then evaluates the fine budgets between the last failing coarse budget and
    it, then ``extra`` fine budgets above the first passing one (so a bootstrap resample that
    fails there can still cross). With the fine budget below the first pass evaluated, the
    crossing is bracketed to one grid step unless it is the grid's first budget (an edge).
    Assumes success is roughly monotone in the budget (common random numbers make it so).

    Args:
      evaluate: ``evaluate(budget) -> [S]`` per-seed successes (bool), or ``(successes, queries)``.
      grid: the increasing budget grid.
      rho: the target's failure probability.
      coarse: the coarse stride (in grid steps).
      extra: fine budgets evaluated above the first pass.
      stop_above: optional ``stop_above(budget) -> bool``: the coarse walk stops (without a pass)
        at the first budget for which it is true (e.g. once a split can no longer beat another).

    Returns:
      ``{budget: evaluate(budget)}`` for every budget evaluated, in increasing order.

    Raises:
      ValueError: on an empty grid or ``coarse < 1``.
    """
    grid = list(grid)
    if not grid:
        raise ValueError("`grid` must hold at least one budget")
    coarse = v.check_positive_int("coarse", coarse)
    out: dict = {}

    def passes(i):
        b = grid[i]
        if b not in out:
            out[b] = evaluate(b)
        res = out[b]
        s = res[0] if isinstance(res, tuple) else res
        return float(np.mean(s)) >= 1.0 - rho

    last_fail, first = -1, None
    for i in list(range(0, len(grid), coarse)) + ([len(grid) - 1] if (len(grid) - 1) % coarse else []):
        if stop_above is not None and stop_above(grid[i]):
            break
        if passes(i):
            first = i
            break
        last_fail = i
    if first is not None:
        for i in range(last_fail + 1, first):
            if passes(i):
                first = i
                break
        for i in range(first + 1, min(first + 1 + extra, len(grid))):
            passes(i)
    return dict(sorted(out.items()))


def crossing_bracket(table, *, rho: float, split_ratio: float = 1.0) -> dict:
    """The grid resolution of one cell's ``m*``: ``[last failing, first passing]`` charged ``m``.

    Args:
      table: ``(budgets [B], successes [B, S], queries [B, S])`` or a list of such splits (the
        cell's ``m*`` is the smallest over splits).
      rho: the target's failure probability.
      split_ratio: the ratio of the split grid (e.g. of N); a split between two grid values might
        pass at up to this factor below ``m_star``, so ``m_fail`` is at most ``m_star / split_ratio``.

    Returns:
      ``m_star`` (mean charged ``m`` at the first passing budget of the best split; ``nan`` if
      none passes), ``m_fail`` (the largest mean charged ``m`` below ``m_star`` at an evaluated
      budget of any split that fails, and at most ``m_star / split_ratio``; ``nan`` when there is
      none: the crossing is at the grid's lower edge), ``edge`` (``"low"`` for that case, ``"high"`` when nothing passes, else ``""``)
      and ``split`` (the index of the best split).
    """
    splits = _splits(table)
    m, k, _ = _first_pass(splits, rho)
    if not np.isfinite(m):
        return {"m_star": np.nan, "m_fail": np.nan, "edge": "high", "split": None}
    fails = [float(np.asarray(q)[i].mean()) for _, s, q in splits
             for i in np.flatnonzero(np.asarray(s).mean(axis=1) < 1.0 - rho)]
    below = [f for f in fails if f < m]
    m_fail = min(max(below), m / split_ratio) if below else np.nan
    return {"m_star": m, "m_fail": m_fail, "edge": "" if below else "low", "split": k}


def grid_slope_interval(xs, brackets: Sequence[dict]) -> tuple[float, float]:
    """The range of least-squares slopes of ``log m*`` on ``log x`` with each ``m*`` anywhere in its bracket.

    The least-squares slope is linear in the ``log m`` values, ``b = Σ w_i log m_i`` with
    ``w_i = (u_i - ū)/Σ(u_j - ū)²``, ``u = log x``, so its extremes over the box
    ``Π [m_fail_i, m_star_i]`` are attained at the corners, exactly.

    Args:
      xs: ``[C]`` the x-values.
      brackets: per cell, the dict of :func:`crossing_bracket`.

    Returns:
      ``(low, high)``; ``-inf`` / ``inf`` on the side a lower-edge crossing leaves open, ``nan``
      when fewer than two cells crossed.
    """
    xs = np.asarray(xs, float)
    hi_m = np.array([b["m_star"] for b in brackets], float)
    lo_m = np.array([b["m_fail"] for b in brackets], float)
    ok = np.isfinite(hi_m) & (hi_m > 0)
    if ok.sum() < 2:
        return (np.nan, np.nan)
    u = np.log(xs[ok])
    w = (u - u.mean()) / np.sum((u - u.mean()) ** 2)
    lo_log = np.where(np.isfinite(lo_m[ok]) & (lo_m[ok] > 0), np.log(np.where(lo_m[ok] > 0, lo_m[ok], 1.0)), -np.inf)
    hi_log = np.log(hi_m[ok])
    with np.errstate(invalid="ignore"):
        low = np.sum(np.where(w > 0, w * lo_log, w * hi_log))
        high = np.sum(np.where(w > 0, w * hi_log, w * lo_log))
    return (float(low), float(high))


def format_interval(low: float, high: float, digits: int = 2) -> str:
    """``[low, high]``, or ``degenerate (a)`` when both ends agree, ``n/a`` when undefined.

    Args:
      low, high: the interval's ends (``±inf`` prints as an open end).
      digits: decimals.

    Returns:
      The text.
    """
    if not (np.isfinite(low) or np.isinf(low)) or not (np.isfinite(high) or np.isinf(high)):
        return "n/a"
    if np.isfinite(low) and np.isfinite(high) and round(low, digits) == round(high, digits):
        return f"degenerate ({low:.{digits}f})"

    def end(x):
        return ("-inf" if x < 0 else "inf") if np.isinf(x) else f"{x:.{digits}f}"

    return f"[{end(low)}, {end(high)}]"


@dataclasses.dataclass(frozen=True)
class Rate:
    """A fitted exponent of a figure against the theory's.

    Attributes:
      figure: the figure's name.
      quantity: what is fitted, e.g. ``"m* vs C_cov (SFT)"``.
      theory: the theory's exponent (``nan`` when the theory gives none).
      slope: the measured least-squares exponent.
      boot_low, boot_high: the seed-bootstrap percentile interval.
      grid_low, grid_high: the grid-resolution interval (:func:`grid_slope_interval`).
      edges: the x-values whose crossing sits at a grid edge (empty when all are interior).
      source: where the theory's exponent comes from (a theorem), for the table.
    """

    figure: str
    quantity: str
    theory: float
    slope: float
    boot_low: float
    boot_high: float
    grid_low: float
    grid_high: float
    edges: tuple = ()
    source: str = ""

    @property
    def verdict(self) -> str:
        """``"agrees"`` when the theory's exponent lies in the hull of the two intervals;
        ``"disagrees (shallower)"`` / ``"disagrees (steeper)"`` when the whole hull is closer to /
        farther from 0 than the theory's exponent (for an upper bound's exponent, shallower is a rate
        at least as good as the bound's, not a contradiction); with a theory exponent of 0,
        ``"disagrees (above)"`` / ``"disagrees (below)"``; ``"undetermined"`` when either interval
        is undefined."""
        ends = [self.boot_low, self.boot_high, self.grid_low, self.grid_high]
        if not np.isfinite(self.theory) or any(np.isnan(e) for e in ends):
            return "undetermined"
        if min(ends) <= self.theory <= max(ends):
            return "agrees"
        below = max(ends) < self.theory
        if self.theory == 0:
            return "disagrees (below)" if below else "disagrees (above)"
        shallower = below if self.theory > 0 else not below
        return "disagrees (shallower)" if shallower else "disagrees (steeper)"

    def cells(self) -> list[str]:
        """The table row: figure, quantity, theory, measured, bootstrap, grid, verdict, edges."""
        return [self.figure, self.quantity, f"{self.theory:g}" + (f" ({self.source})" if self.source else ""),
                f"{self.slope:.2f}", format_interval(self.boot_low, self.boot_high),
                format_interval(self.grid_low, self.grid_high), self.verdict,
                ", ".join(f"{e:g}" for e in self.edges) or "none"]


def rate_from_tables(figure: str, quantity: str, theory: float, xs, tables, *, rho: float, source: str = "",
                     num_bootstrap: int = 300, split_ratio: float = 1.0) -> Rate:
    """Fits the exponent of ``m*`` against ``xs`` with both intervals (:func:`fit_slope`, :func:`grid_slope_interval`).

    Args:
      figure, quantity, theory, source: as in :class:`Rate`.
      xs: ``[C]`` the x-values.
      tables: per cell, a table or a list of splits (as in :func:`fit_slope`).
      rho: the target's failure probability.
      num_bootstrap: bootstrap resamples.
      split_ratio: as in :func:`crossing_bracket`.

    Returns:
      The :class:`Rate`.
    """
    fit = fit_slope(xs, tables, rho=rho, num_bootstrap=num_bootstrap)
    brackets = [crossing_bracket(t, rho=rho, split_ratio=split_ratio) for t in tables]
    g_lo, g_hi = grid_slope_interval(xs, brackets)
    edges = tuple(float(x) for x, b in zip(xs, brackets) if b["edge"])
    return Rate(figure, quantity, float(theory), fit["slope"], fit["slope_low"], fit["slope_high"], g_lo, g_hi,
                edges, source)


def scan_splits(evaluate: Callable[[int, int], tuple], Ns: Sequence[int], ns: Sequence[int], *, rho: float,
                feasible: Callable[[int], bool] | None = None, slack: float = 2.0, coarse: int = 4,
                extra: int = 2) -> dict:
    """A joint search over the splits ``m = n·N``: for each ``N``, :func:`scan_budgets` over ``n``.

    Splits are scanned in the order of ``Ns``. Once some split has passed at ``m_best``, a later
    split's coarse walk stops as soon as ``n·N > slack · m_best`` (it cannot be the smallest);
    splits with ``feasible(N)`` false are skipped (e.g. where an exact computation shows that no
    number of prompts can reach the target).

    Args:
      evaluate: ``evaluate(n, N) -> (successes [S], queries [S], ...)`` (further items are kept).
      Ns: the split grid (draws per prompt).
      ns: the increasing grid of prompts.
      rho: the target's failure probability.
      feasible: optional filter of ``Ns``.
      slack: how far above the best ``m`` so far a split keeps being scanned.
      coarse, extra: as in :func:`scan_budgets`.

    Returns:
      ``{N: {n: evaluate(n, N)}}`` for the splits scanned.
    """
    out: dict = {}
    best = [np.inf]
    for N in Ns:
        if feasible is not None and not feasible(N):
            continue

        def stop(n, N=N):
            return n * N > slack * best[0]

        res = scan_budgets(lambda n, N=N: evaluate(n, N), ns, rho=rho, coarse=coarse, extra=extra, stop_above=stop)
        out[N] = res
        for r in res.values():
            if float(np.mean(r[0])) >= 1.0 - rho:
                best[0] = min(best[0], float(np.mean(r[1])))
    return out
