"""Figure ``rlhf_beta``: RLHF-Sharpening's error against β at fixed data (the trade-off behind β ≲ γ δ ε).

Problem: ``with_coverage`` with a chosen margin. For each β and number of pairs n, RLHF-Sharpening
(offline Eq 8, exact regression over all softmax tables, anchored to the revealed rewards) runs over seeds and the exact
sharpening error ``err_δ`` of each output is recorded; the exact error of the population optimum
``π*_β`` is recorded alongside.

Left panel (exact self-reward): a large β keeps ``π*_β`` close to ``π_base`` (not sharpened: bias);
a small β sharpens, and with exact rewards the anchored tabular fit is ``π*_β`` on every response
seen, so what remains is missing coverage (y* never seen on a prompt). Right panel (revealed
rewards ``log π_base + σ ξ``, σ > 0, fixed n): the bias–variance shape under noise — at small β
the fitted rewards' noise, divided by β, decides the arg-max of the output (variance), at large β
the output is not sharpened (bias). The margin lemma's ``β = γ/(2 log(2|Y|/δ))`` and Thm 4.2's
``β = γ δ ε`` are marked.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import bounds, classes, problems
from sharpsim.algorithms import rlhf_sharpening
from sharpsim.coefficients import margin as margin_of
from sharpsim.experiments.protocol import Instance
from sharpsim.laws import kl_regularized_optimum, sharpening_error
from sharpsim.parallel import map_seeds

NAME = "rlhf_beta"
DESCRIPTION = "RLHF-Sharpening: exact error vs beta at fixed data, with pi*_beta's error and the beta prescriptions"
THEORY_NOTE = "theory/kl_optimum.md"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      betas: the β grid.
      ns: numbers of pairs n (one curve each).
      num_prompts, num_responses: problem size.
      coverage: the problem's ``C_cov``.
      margin: the problem's minimum margin.
      delta: the level δ of ``err_δ``.
      eps: ε of Thm 4.2's ``β = γ δ ε`` (marked on the figure).
      reward_noise: σ > 0 of the right panel's revealed rewards ``log π_base + σ ξ``.
      noise_ns: the numbers of pairs of the right panel's curves.
      seeds: seeds per cell (the same keys at every β).
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    betas: tuple[float, ...] = tuple(float(10 ** (k / 4)) for k in range(-12, 5))
    ns: tuple[int, ...] = (25, 100, 400)
    num_prompts: int = 10
    num_responses: int = 20
    coverage: float = 4.0
    margin: float = 0.5
    delta: float = 0.1
    eps: float = 0.1
    reward_noise: float = 0.5
    noise_ns: tuple[int, ...] = (100, 400)
    seeds: int = 32
    seed: int = 0
    version: int = 2


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(betas=(0.01, 1.0), ns=(25,), noise_ns=(25,), seeds=4),
    "quick": Config(),
    "full": Config(betas=tuple(float(10 ** (k / 8)) for k in range(-24, 9)), ns=(25, 50, 100, 200, 400, 800),
                   noise_ns=(100, 400, 1600), seeds=256),
}


def instance(config: Config, cell: dict) -> Instance:
    """The sweep's one ``with_coverage`` problem (every cell shares it) and the tabular class.

    Args:
      config: the sweep.
      cell: any cell (no key is read).

    Returns:
      ``Instance(problem, classes.TabularClass(|X|, |Y|))``.
    """
    return _instance(config)


@functools.lru_cache(maxsize=4)
def _instance(config: Config) -> Instance:
    problem = problems.with_coverage(jax.random.key(config.seed), config.num_prompts, config.num_responses,
                                     config.coverage, margin=config.margin)
    return Instance(problem, classes.TabularClass(problem.num_prompts, problem.num_responses))


def cells(config: Config) -> list[dict]:
    """One cell per (σ, n, β): σ = 0 for every n of ``config.ns``, ``config.reward_noise`` for every n
    of ``config.noise_ns``."""
    return ([{"reward_noise": 0.0, "n": n, "beta": b} for n in config.ns for b in config.betas]
            + [{"reward_noise": config.reward_noise, "n": n, "beta": b} for n in config.noise_ns for b in config.betas])


def _errors(keys, problem, n, beta, delta, reward_noise):  # β and σ traced: one compilation per n
    """``err_δ [S]`` of RLHF-Sharpening, one per key (:func:`sharpsim.parallel.map_seeds`)."""
    return map_seeds(_trial(n, delta), keys, args=(problem, beta, reward_noise))


@functools.cache
def _trial(n: int, delta: float):
    """One seed's RLHF-Sharpening with ``n`` pairs (one function object per static setting: compiled once)."""

    def one(k, problem, beta, reward_noise):
        cls = classes.TabularClass(problem.num_prompts, problem.num_responses)
        return rlhf_sharpening(k, problem, cls, n=n, beta=beta, delta=delta, reward_noise=reward_noise).error

    return one


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs RLHF-Sharpening with the cell's n pairs, β and reward noise σ over ``config.seeds`` seeds.

    Returns:
      One row per seed: ``seed``, the exact ``error`` and ``optimum_error``, the exact error of
      ``π*_β`` itself.
    """
    problem = instance(config, cell).problem
    n, beta, sigma = int(cell["n"]), float(cell["beta"]), float(cell["reward_noise"])
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across β and σ
    errors = np.asarray(_errors(keys, problem, n, beta, config.delta, sigma))
    optimum = sharpening_error(problem, kl_regularized_optimum(problem, beta), delta=config.delta)
    return [{"seed": s, "error": float(errors[s]), "optimum_error": optimum} for s in range(config.seeds)]


def draw(rows: list[dict], config: Config):
    """Mean error against β per n (95% band), π*_β's exact error, and the margin lemma's and
    Thm 4.2's choices of β; left: exact self-reward, right: revealed rewards with noise σ.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.8), sharey=True)
    problem = instance(config, {}).problem
    b_lemma = bounds.margin_lemma_beta(margin_of(problem), config.num_responses, delta=config.delta)
    b_thm = bounds.rlhf_beta(config.margin, eps=config.eps, delta=config.delta)
    for ax, sigma, ns in ((axes[0], 0.0, config.ns), (axes[1], config.reward_noise, config.noise_ns)):
        for i, n in enumerate(ns):
            sub = [r for r in rows if r["n"] == n and r["reward_noise"] == sigma]
            if not sub:
                continue
            betas = sorted({r["beta"] for r in sub})
            mean = np.array([np.mean([r["error"] for r in sub if r["beta"] == b]) for b in betas])
            sd = np.array([np.std([r["error"] for r in sub if r["beta"] == b], ddof=1) for b in betas])
            half = 1.96 * sd / np.sqrt(config.seeds)
            ax.plot(betas, mean, "o-", color=f"C{i}", ms=4, label=f"RLHF-Sharpening, n = {n} pairs (m = {2 * n})")
            ax.fill_between(betas, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1), color=f"C{i}", alpha=0.2)
        first = sorted({r["beta"] for r in rows})
        opt = [next(r["optimum_error"] for r in rows if r["beta"] == b) for b in first]
        ax.plot(first, opt, "k-", lw=1.5, drawstyle="steps-mid", label="$\\pi^*_\\beta$ itself (exact)")
        ax.axvline(b_lemma, color="grey", ls="--", lw=1,
                   label=f"margin lemma $\\beta = \\gamma/(2\\log(2|Y|/\\delta))$ = {b_lemma:.3g}")
        ax.axvline(b_thm, color="grey", ls=":", lw=1, label=f"Thm 4.2 $\\beta = \\gamma\\delta\\epsilon$ (const. 1) = {b_thm:.3g}")
        ax.set_xscale("log")
        ax.set_xlabel("$\\beta$")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=6.5, loc="center right")
        what = "exact self-reward ($\\sigma$ = 0)" if sigma == 0 else f"noisy self-reward, $\\sigma$ = {sigma:g}"
        ax.set_title(what, fontsize=8)
    axes[0].set_ylabel(f"mean exact err$_\\delta$ ($\\delta$ = {config.delta:g}), 95% band")
    fig.suptitle(f"RLHF-Sharpening: error vs $\\beta$ (|X|={config.num_prompts}, |Y|={config.num_responses}, "
                 f"$C_{{cov}}$={config.coverage:g}, margin $\\geq$ {config.margin:g}, {config.seeds} seeds)", fontsize=8)
    fig.tight_layout()
    return fig
