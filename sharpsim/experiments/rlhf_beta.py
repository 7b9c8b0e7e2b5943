"""Figure ``rlhf_beta``: RLHF-Sharpening's error against β at fixed data (the trade-off behind β ≲ γ δ ε).

Problem: ``with_coverage`` with a chosen margin. For each β and number of pairs n, RLHF-Sharpening
(offline Eq 8, exact minimum-norm regression over all softmax tables) runs over seeds and the exact
sharpening error ``err_δ`` of each output is recorded; the exact error of the population optimum
``π*_β`` is recorded alongside.

Two forces: a large β keeps ``π*_β`` close to ``π_base`` (not sharpened: bias); a small β scales the
fitted log-ratios by ``1 + 1/β``, so whatever the data did not pin down — responses never compared,
which the minimum-norm solution leaves at logit 0 — becomes comparatively heavy (variance from
missing coverage). The margin lemma's ``β = γ/(2 log(2|Y|/δ))`` and Thm 4.2's ``β = γ δ ε`` are
marked.
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
    seeds: int = 32
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(betas=(0.01, 1.0), ns=(25,), seeds=4),
    "quick": Config(),
    "full": Config(betas=tuple(float(10 ** (k / 8)) for k in range(-24, 9)), ns=(25, 50, 100, 200, 400, 800),
                   seeds=256),
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
    """One cell per (n, β)."""
    return [{"n": n, "beta": b} for n in config.ns for b in config.betas]


@functools.partial(jax.jit, static_argnames=("n", "delta"))
def _errors(keys, problem, n, beta, delta):  # β traced: one compilation per n
    cls = classes.TabularClass(problem.num_prompts, problem.num_responses)
    return jax.vmap(lambda k: rlhf_sharpening(k, problem, cls, n=n, beta=beta, delta=delta).error)(keys)


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs RLHF-Sharpening with the cell's n pairs and β over ``config.seeds`` seeds.

    Returns:
      One row per seed: ``seed``, the exact ``error`` and ``optimum_error``, the exact error of
      ``π*_β`` itself.
    """
    problem = instance(config, cell).problem
    n, beta = int(cell["n"]), float(cell["beta"])
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across β
    errors = np.asarray(_errors(keys, problem, n, beta, config.delta))
    optimum = sharpening_error(problem, kl_regularized_optimum(problem, beta), delta=config.delta)
    return [{"seed": s, "error": float(errors[s]), "optimum_error": optimum} for s in range(config.seeds)]


def draw(rows: list[dict], config: Config):
    """Mean error against β per n (95% band), π*_β's exact error, and the margin lemma's and
    Thm 4.2's choices of β.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    problem = instance(config, {}).problem
    for i, n in enumerate(config.ns):
        sub = [r for r in rows if r["n"] == n]
        betas = sorted({r["beta"] for r in sub})
        mean = np.array([np.mean([r["error"] for r in sub if r["beta"] == b]) for b in betas])
        sd = np.array([np.std([r["error"] for r in sub if r["beta"] == b], ddof=1) for b in betas])
        half = 1.96 * sd / np.sqrt(config.seeds)
        ax.plot(betas, mean, "o-", color=f"C{i}", ms=4, label=f"RLHF-Sharpening, n = {n} pairs (m = {2 * n})")
        ax.fill_between(betas, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1), color=f"C{i}", alpha=0.2)
    first = sorted({r["beta"] for r in rows})
    opt = [next(r["optimum_error"] for r in rows if r["beta"] == b) for b in first]
    ax.plot(first, opt, "k-", lw=1.5, drawstyle="steps-mid", label="$\\pi^*_\\beta$ itself (exact)")
    b_lemma = bounds.margin_lemma_beta(margin_of(problem), config.num_responses, delta=config.delta)
    b_thm = bounds.rlhf_beta(config.margin, eps=config.eps, delta=config.delta)
    ax.axvline(b_lemma, color="grey", ls="--", lw=1, label=f"margin lemma $\\beta = \\gamma/(2\\log(2|Y|/\\delta))$ = {b_lemma:.3g}")
    ax.axvline(b_thm, color="grey", ls=":", lw=1, label=f"Thm 4.2 $\\beta = \\gamma\\delta\\epsilon$ (const. 1) = {b_thm:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("$\\beta$")
    ax.set_ylabel(f"mean exact err$_\\delta$ ($\\delta$ = {config.delta:g}), 95% band")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=6.5, loc="center right")
    ax.set_title(f"RLHF-Sharpening: error vs $\\beta$ (|X|={config.num_prompts}, |Y|={config.num_responses}, "
                 f"$C_{{cov}}$={config.coverage:g}, margin $\\geq$ {config.margin:g}, {config.seeds} seeds)", fontsize=8)
    fig.tight_layout()
    return fig
