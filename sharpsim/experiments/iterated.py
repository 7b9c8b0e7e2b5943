"""Figure ``iterated``: iterated self-improvement with a flawed verifier, computed exactly.

A :func:`sharpsim.problems.flawed_verifier` problem has a base whose arg-max is the correct
answer on most prompts and wrong on ``wrong_prompts`` of them (there the correct answer is a
runner-up with ``correct_ratio`` of the arg-max's mass). :func:`sharpsim.algorithms.iterate`
runs ``rounds`` rounds of self-improvement, each round's output the next round's base, with three
rounds: the exact best-of-N law, the exact KL-regularised optimum π*_β (Eq 3), and
SFT-Sharpening with the tabular class (Sec 2.1; one run per seed, its own draws). For every round
it records, separately for the prompts where the base's arg-max is right and where it is wrong:
the accuracy ``π(C(x)|x)``, the mass on the base's arg-max, the entropy, and pass@k.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import algorithms, metrics, problems
from sharpsim.experiments._plot import select
from sharpsim.experiments.protocol import Instance

NAME = "iterated"
DESCRIPTION = "Iterated self-improvement (BoN, π*_β, SFT) with a flawed verifier: accuracy, arg-max mass, entropy, pass@k"
THEORY_NOTE = "theory/iterated_self_improvement.md"

#: The groups of prompts the rows are split into.
GROUPS = ("right", "wrong")


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      num_prompts, num_responses: problem size.
      coverage: ``C_cov`` of the base (homogeneous: ``π_base(y*|x) = 1/coverage``).
      wrong_prompts: prompts whose base arg-max is wrong.
      correct_ratio: ``π_base(correct)/π_base(y*)`` on a wrong prompt.
      margin: the base's margin.
      rounds: rounds of self-improvement.
      bon_N: N of the best-of-N round.
      beta: β of the π*_β round.
      sft_n, sft_N: prompts and draws per prompt of the SFT round.
      sft_seeds: SFT runs (each its own row set; the exact rounds have one).
      ks: the k of the recorded pass@k.
      seed: base seed.
      version: part of the config hash.
    """

    num_prompts: int = 40
    num_responses: int = 32
    coverage: float = 4.0
    wrong_prompts: int = 10
    correct_ratio: float = 0.5
    margin: float = 0.05
    rounds: int = 10
    bon_N: int = 2
    beta: float = 2.0
    sft_n: int = 2000
    sft_N: int = 2
    sft_seeds: int = 3
    ks: tuple[int, ...] = (1, 16, 256)
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(num_prompts=8, num_responses=8, coverage=2.0, wrong_prompts=2, rounds=3, sft_n=64,
                      sft_seeds=1),
    "quick": Config(),
    "full": Config(num_prompts=200, num_responses=128, coverage=8.0, wrong_prompts=50, rounds=12, sft_n=20000,
                   sft_seeds=10),
}

STEPS = ("bon", "kl", "sft")


def cells(config: Config) -> list[dict]:
    """One cell per (step, seed): the exact steps have seed 0 only."""
    return [{"step": s, "seed": i} for s in STEPS for i in range(config.sft_seeds if s == "sft" else 1)]


@functools.lru_cache(maxsize=8)
def _problem(config: Config):
    return problems.flawed_verifier(
        jax.random.key(config.seed), config.num_prompts, config.num_responses, config.coverage,
        wrong_prompts=config.wrong_prompts, correct_ratio=config.correct_ratio, margin=config.margin,
    )


def instance(config: Config, cell: dict) -> Instance:
    """The flawed-verifier problem (the same for every cell); the SFT round's class is tabular.

    Args:
      config: the sweep.
      cell: a cell (unused: every cell shares the problem).

    Returns:
      ``Instance(problem, None)``.
    """
    return Instance(_problem(config))


def _step(config: Config, name: str):
    if name == "bon":
        return algorithms.bon_step(config.bon_N)
    if name == "kl":
        return algorithms.kl_step(config.beta)
    return algorithms.sft_step(n=config.sft_n, N=config.sft_N)


def _entropy(policy) -> np.ndarray:
    p = np.asarray(policy.probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1)


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs the rounds of one step (and seed) and summarises every round by group.

    Returns:
      One row per (round, group): ``accuracy`` (μ-weighted mean of ``π(C(x)|x)`` over the group),
      ``argmax_mass`` (mass on the base's arg-max), ``entropy`` (nats), ``pass_at_<k>`` for each k
      of ``config.ks``, ``num_prompts_group`` and the cumulative ``num_queries``.
    """
    problem = _problem(config)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed + 1), STEPS.index(cell["step"])),
                             cell["seed"])
    res = algorithms.iterate(key, problem, _step(config, cell["step"]), rounds=config.rounds)
    right = np.asarray(metrics.argmax_correct(problem))
    star = problem.base.argmax_set()
    mu = np.asarray(problem.prompt_probs)
    rows, spent = [], 0
    for t, policy in enumerate(res.policies):
        spent += 0 if t == 0 or res.num_queries[t - 1] is None else res.num_queries[t - 1]
        acc = np.asarray(metrics.correct_mass(problem, policy))
        top = np.asarray(policy.mass(star))
        ent = _entropy(policy)
        log_miss = np.asarray(metrics.log_miss_mass(problem, policy))
        for group in GROUPS:
            sel = right if group == "right" else ~right
            if not sel.any():
                continue
            w = mu[sel] / mu[sel].sum()
            row = {
                "round": t,
                "group": group,
                "num_prompts_group": int(sel.sum()),
                "accuracy": float(np.sum(w * acc[sel])),
                "argmax_mass": float(np.sum(w * top[sel])),
                "entropy": float(np.sum(w * ent[sel])),
                "num_queries": int(spent),
            }
            for k in config.ks:
                row[f"pass_at_{k}"] = float(np.sum(w * -np.expm1(k * log_miss[sel])))
            rows.append(row)
    return rows


def _mean_curve(rows, step, group, column):
    sel = select(rows, step=step, group=group)
    rounds = sorted({r["round"] for r in sel})
    return np.array(rounds), np.array([np.mean([r[column] for r in sel if r["round"] == t]) for t in rounds])


def draw(rows: list[dict], config: Config):
    """Four panels against the round: accuracy, mass on the base arg-max, entropy, pass@k (largest k).

    Solid lines: prompts where the base arg-max is right; dashed: where it is wrong. SFT is the
    mean over its seeds.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    k = max(config.ks)
    columns = [("accuracy", "accuracy $\\pi(C(x)|x)$"), ("argmax_mass", "mass on base arg-max $y^*(x)$"),
               ("entropy", "entropy (nats)"), (f"pass_at_{k}", f"pass@{k}")]
    labels = {"bon": f"BoN law, N={config.bon_N}", "kl": f"$\\pi^*_\\beta$, β={config.beta:g}",
              "sft": f"SFT (tabular), n={config.sft_n}, N={config.sft_N}"}
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.0))
    for ax, (col, label) in zip(axes, columns):
        for color, step in zip(("C0", "C1", "C2"), STEPS):
            for group, ls in zip(GROUPS, ("-", "--")):
                x, y = _mean_curve(rows, step, group, col)
                if len(x):
                    ax.plot(x, y, color=color, ls=ls, marker="o", ms=3,
                            label=f"{labels[step]} ({group} arg-max)")
        ax.set_xlabel("round")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6.5)
    fig.suptitle(
        f"Iterated self-improvement, flawed verifier: |X|={config.num_prompts}, |Y|={config.num_responses}, "
        f"C_cov={config.coverage:g}, arg-max wrong on {config.wrong_prompts} prompts "
        f"(correct answer at {config.correct_ratio:g}× the arg-max's mass); exact laws",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
