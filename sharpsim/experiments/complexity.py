"""The sample complexity of one algorithm on one ``with_coverage`` problem (``sharpsim complexity``).

:func:`measure` builds the problem, runs the algorithm over seeds at a grid of budgets through
:func:`sharpsim.experiments.engine.sample_complexity` and returns the outcomes; :func:`report`
formats them as the command prints them.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from sharpsim import bounds, classes, problems
from sharpsim.algorithms import adaptive_sft_sharpening, sft_sharpening
from sharpsim.experiments.engine import SampleComplexity, sample_complexity, success_table

__all__ = ["ALGORITHMS", "Complexity", "measure", "report"]

#: The algorithms :func:`measure` runs: SFT-Sharpening and adaptive SFT-Sharpening.
ALGORITHMS = ("sft", "adaptive")


@dataclasses.dataclass(frozen=True)
class Complexity:
    """What :func:`measure` measured.

    Attributes:
      result: the per-seed outcomes and budgets.
      algorithm: ``"sft"`` or ``"adaptive"``.
      budget_label: what a budget is (``N`` at fixed n for SFT, ``n`` for the adaptive rule).
      num_prompts, num_responses, coverage: the problem.
      eps, delta, rho, num_seeds: the target and the number of seeds.
    """

    result: SampleComplexity
    algorithm: str
    budget_label: str
    num_prompts: int
    num_responses: int
    coverage: float
    eps: float
    delta: float
    rho: float
    num_seeds: int


def measure(algorithm: str, *, num_prompts: int, num_responses: int, coverage: float, margin: float = 0.0,
            heterogeneity: float = 0.0, eps: float = 0.1, delta: float = 0.1, rho: float = 0.1,
            num_seeds: int = 100, n: int | None = None, seed: int = 0, csv_path=None,
            config=None) -> Complexity:
    """Measures ``m*`` of an algorithm on ``problems.with_coverage`` with the tabular class.

    SFT-Sharpening runs at fixed ``n`` (default ``20 |X|``) with the budget N on the grid
    ``round(C_cov · 2^{k/2})``, ``k = -4..8``; adaptive SFT-Sharpening uses Thm D.1's stop level
    ``μ = ln(2/δ)`` with the budget n on the grid ``round(|X| · 2^{k/2})``, ``k = 0..12``.

    Args:
      algorithm: ``"sft"`` or ``"adaptive"``.
      num_prompts, num_responses, coverage, margin, heterogeneity: the problem
        (``problems.with_coverage``, built from ``jax.random.key(seed)``).
      eps, delta, rho: the target ``P[err_δ <= ε] >= 1 - ρ``.
      num_seeds: seeds per budget.
      n: SFT's number of prompts (``None``: ``20 |X|``); unused by the adaptive rule.
      seed: the seed of the problem and of the trials.
      csv_path: a CSV to write per-seed rows to (resumable), or ``None``.
      config: required with ``csv_path``: what identifies the run in the CSV.

    Returns:
      A :class:`Complexity`.

    Raises:
      ValueError: on an unknown algorithm or arguments out of range (from the problem builder,
        the algorithms or the engine).
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"`algorithm` must be one of {ALGORITHMS}; got {algorithm!r}")
    problem = problems.with_coverage(jax.random.key(seed), num_prompts, num_responses, coverage, margin=margin,
                                     heterogeneity=heterogeneity)
    model_class = classes.TabularClass()
    if algorithm == "sft":
        n = n or 20 * num_prompts
        budgets = sorted({max(1, round(coverage * 2 ** (k / 2))) for k in range(-4, 9)})

        def trial(key, N):
            r = sft_sharpening(key, problem, model_class, n=n, N=N, delta=delta, return_policy=False)
            return r.error, r.num_queries

        label = f"N (draws per prompt; n = {n})"
    else:
        budgets = sorted({max(1, round(num_prompts * 2 ** (k / 2))) for k in range(0, 13)})
        stop_level = bounds.adaptive_stop_level(delta)
        max_n = max(budgets)

        def trial(key, n):
            r = adaptive_sft_sharpening(key, problem, model_class, n=n, stop_level=stop_level, delta=delta,
                                        max_n=max_n, return_policy=False)
            return r.error, r.num_queries

        label = f"n (prompts; mu = ln(2/delta) = {stop_level:.3g})"
    result = sample_complexity(trial, budgets, eps=eps, rho=rho, num_seeds=num_seeds, seed=seed,
                               static_budget=False, csv_path=csv_path, config=config)
    return Complexity(result, algorithm, label, num_prompts, num_responses, coverage, eps, delta, rho, num_seeds)


def report(c: Complexity) -> str:
    """The table ``sharpsim complexity`` prints: per budget the mean queries, the success rate and
    its 95% Clopper–Pearson interval, then ``m*`` with its interval (or that the grid did not reach it).

    Args:
      c: what :func:`measure` returned.

    Returns:
      The text, one line per row, without a final newline.
    """
    rate, lo, hi = success_table(c.result.successes)
    lines = [
        f"{c.algorithm}: |X|={c.num_prompts}, |Y|={c.num_responses}, C_cov={c.coverage:g}, "
        f"target P[err_delta <= {c.eps:g}] >= {1 - c.rho:g} with delta={c.delta:g}, {c.num_seeds} seeds",
        f"{c.budget_label:>40s}  mean queries  success  95% CI",
    ]
    for b, q, r, a, z in zip(c.result.budgets, c.result.queries.mean(axis=1), rate, lo, hi):
        lines.append(f"{b:>40g}  {q:12.0f}  {r:7.3f}  [{a:.3f}, {z:.3f}]")
    s = c.result.summary()
    if np.isfinite(s["m_star"]):
        lines.append(f"m* = {s['m_star']:.0f} queries (interval [{s['m_star_low']:.0f}, {s['m_star_high']:g}])")
    else:
        lines.append("m* not reached on this grid: raise the budgets (e.g. --n) or lower the target")
    return "\n".join(lines)
