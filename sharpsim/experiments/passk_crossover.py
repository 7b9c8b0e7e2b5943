"""Figure ``passk_crossover``: pass@k of the base against sharpened policies, and the crossover k*, exactly.

On a :func:`sharpsim.problems.flawed_verifier` problem (the base's arg-max is wrong on
``wrong_prompts`` prompts), sharpening raises accuracy (pass@1) on the prompts where the arg-max
is right and lowers the mass on the correct answer where it is wrong. pass@k
(:func:`sharpsim.pass_at_k`, exact) of the sharpened policy therefore wins at small k and loses
at large k, where the base's spread-out mass eventually finds the correct answer. The crossover
``k*`` is the smallest integer ``k`` at which the base's pass@k exceeds the sharpened policy's,
found exactly from ``1 − pass@k = Σ_x μ(x) (1 − π(C(x)|x))^k`` compared in log space up to
``k_max`` (``crossed = False``: no crossing up to ``k_max``).

Panel (a): pass@k against k for ``π_base``, ``π^BoN_N``, ``π*_β`` (Eq 3) and SFT-Sharpening with
the tabular class (Sec 2.1; the mean pass@k of ``sft_seeds`` runs). Panels (b), (c): ``k*``
against β and against N, one line per coverage.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import bon_law, classes, kl_regularized_optimum, metrics, problems
from sharpsim.algorithms import sft_sharpening
from sharpsim.experiments._plot import select
from sharpsim.experiments.protocol import Instance

NAME = "passk_crossover"
DESCRIPTION = "pass@k vs k for π_base, BoN_N, π*_β, SFT on a flawed verifier; the crossover k* vs β, N, coverage"
THEORY_NOTE = "theory/passk_crossover.md"

METHODS = ("base", "bon", "kl", "sft")


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      num_prompts, num_responses: problem size.
      coverage: ``C_cov`` of panel (a)'s problem.
      wrong_fraction: the fraction of prompts whose arg-max is wrong (rounded to a count).
      correct_ratio: ``π_base(correct)/π_base(y*)`` on a wrong prompt.
      margin: the base's margin.
      N, beta: BoN's N and π*_β's β in panel (a).
      sft_n, sft_N, sft_seeds: SFT-Sharpening's prompts, draws per prompt and runs.
      ks: the k grid of panel (a).
      betas, Ns, coverages: the sweeps of panels (b) and (c).
      k_max: the largest k searched for the crossover.
      seed: base seed.
      version: part of the config hash.
    """

    num_prompts: int = 40
    num_responses: int = 32
    coverage: float = 4.0
    wrong_fraction: float = 0.25
    correct_ratio: float = 0.5
    margin: float = 0.05
    N: int = 8
    beta: float = 0.5
    sft_n: int = 2000
    sft_N: int = 8
    sft_seeds: int = 3
    ks: tuple[int, ...] = tuple(2**j for j in range(13))
    betas: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    Ns: tuple[int, ...] = (2, 4, 8, 16, 32, 64, 128)
    coverages: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0)
    k_max: int = 2**16
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(num_prompts=8, num_responses=8, coverage=2.0, sft_n=64, sft_seeds=1, ks=(1, 4, 64),
                      betas=(0.5, 2.0), Ns=(2, 8), coverages=(2.0,), k_max=2**10),
    "quick": Config(),
    "full": Config(num_prompts=200, num_responses=128, sft_n=20000, sft_seeds=10, ks=tuple(2**j for j in range(17)),
                   betas=tuple(np.geomspace(0.05, 20, 15).round(4)), Ns=tuple(2**j for j in range(1, 11)),
                   coverages=(2.0, 4.0, 8.0, 16.0, 32.0), k_max=2**20),
}


def cells(config: Config) -> list[dict]:
    """Panel (a): one cell per method; panels (b), (c): one per (coverage, β) and (coverage, N)."""
    out = [{"panel": "curves", "method": m, "coverage": config.coverage, "value": 0.0} for m in METHODS]
    out += [{"panel": "kstar", "method": "kl", "coverage": c, "value": float(b)}
            for c in config.coverages for b in config.betas]
    out += [{"panel": "kstar", "method": "bon", "coverage": c, "value": float(N)}
            for c in config.coverages for N in config.Ns]
    return out


@functools.lru_cache(maxsize=16)
def _problem(config: Config, coverage: float):
    wrong = round(config.wrong_fraction * config.num_prompts)
    return problems.flawed_verifier(
        jax.random.key(config.seed), config.num_prompts, config.num_responses, coverage,
        wrong_prompts=wrong, correct_ratio=config.correct_ratio, margin=config.margin,
    )


def instance(config: Config, cell: dict) -> Instance:
    """The flawed-verifier problem of the cell's coverage; the SFT cells fit the tabular class.

    Args:
      config: the sweep.
      cell: a dict with the keys ``coverage`` and ``method``.

    Returns:
      ``Instance(problem, TabularClass)`` for SFT, else ``Instance(problem, None)``.
    """
    problem = _problem(config, cell["coverage"])
    if cell["method"] == "sft":
        return Instance(problem, classes.TabularClass(problem.num_prompts, problem.num_responses))
    return Instance(problem)


def _components(config: Config, problem, method: str, value: float) -> tuple[np.ndarray, np.ndarray]:
    """``(log weights, log miss)`` with ``1 − pass@k = Σ_i w_i exp(k · log_miss_i)``."""
    mu = np.asarray(problem.prompt_probs, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_mu = np.log(mu)
    if method == "base":
        policies = [problem.base]
    elif method == "bon":
        policies = [bon_law(problem, int(value) if value else config.N)]
    elif method == "kl":
        policies = [kl_regularized_optimum(problem, value if value else config.beta)]
    else:
        cls = classes.TabularClass(problem.num_prompts, problem.num_responses)
        key = jax.random.key(config.seed + 1)
        policies = [sft_sharpening(jax.random.fold_in(key, s), problem, cls, n=config.sft_n, N=config.sft_N).policy
                    for s in range(config.sft_seeds)]
    log_w = np.concatenate([log_mu - np.log(len(policies))] * len(policies))
    log_miss = np.concatenate([np.asarray(metrics.log_miss_mass(problem, p), dtype=np.float64) for p in policies])
    return log_w, log_miss


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Panel (a): pass@k of the method at every k of ``config.ks``; panels (b), (c): the crossover.

    Returns:
      Rows with ``k``, ``pass_base``, ``pass_method`` (pass@k of ``π_base`` and of the method),
      ``k_star`` (0 when ``crossed`` is False) and ``crossed``. A crossover row has ``k = k*``
      (``k_max`` when not crossed).
    """
    problem = _problem(config, cell["coverage"])
    base = _components(config, problem, "base", 0.0)
    comp = _components(config, problem, cell["method"], cell["value"])
    k_star = 0 if cell["method"] == "base" else metrics.crossover_k(base, comp, config.k_max)
    if cell["panel"] == "curves":
        ks = np.asarray(config.ks)
    else:
        ks = np.asarray([k_star if k_star else config.k_max])
    pb = -np.expm1(metrics.log_miss_at(*base, ks))
    pm = -np.expm1(metrics.log_miss_at(*comp, ks))
    return [{"k": int(k), "pass_base": float(a), "pass_method": float(b), "k_star": k_star, "crossed": k_star > 0}
            for k, a, b in zip(ks, pb, pm)]


def draw(rows: list[dict], config: Config):
    """Panel (a) pass@k vs k with k* marked; (b) k* vs β; (c) k* vs N (one line per coverage).

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    labels = {"base": "$\\pi_{base}$", "bon": f"BoN law, N={config.N}", "kl": f"$\\pi^*_\\beta$, β={config.beta:g}",
              "sft": f"SFT (tabular), n={config.sft_n}, N={config.sft_N}, mean of {config.sft_seeds}"}
    ax = axes[0]
    for color, method in zip(("k", "C2", "C1", "C0"), METHODS):
        sel = sorted(select(rows, panel="curves", method=method), key=lambda r: r["k"])
        if not sel:
            continue
        ax.plot([r["k"] for r in sel], [r["pass_method"] for r in sel], color=color, marker="o", ms=3,
                label=labels[method])
        if sel[0]["crossed"]:
            ax.axvline(sel[0]["k_star"], color=color, ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k")
    ax.set_ylabel("pass@k (exact)")
    ax.set_title(f"pass@k, C_cov={config.coverage:g}; dotted: crossover k*", fontsize=9)
    ax.legend(fontsize=7)
    for ax, method, xlabel in ((axes[1], "kl", "β (π*_β)"), (axes[2], "bon", "N (BoN)")):
        colors = plt.cm.viridis(np.linspace(0.1, 0.85, max(len(config.coverages), 1)))
        for color, c in zip(colors, config.coverages):
            sel = sorted(select(rows, panel="kstar", method=method, coverage=c), key=lambda r: r["value"])
            got = [r for r in sel if r["crossed"]]
            if got:
                ax.plot([r["value"] for r in got], [r["k_star"] for r in got], color=color, marker="o", ms=3,
                        label=f"$C_{{cov}}={c:g}$")
        ax.set_xscale("log")
        ax.set_yscale("log", base=2)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("crossover k*")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    axes[1].set_title("k* against β (smaller β: sharper)", fontsize=9)
    axes[2].set_title("k* against N", fontsize=9)
    fig.suptitle(
        f"pass@k crossover with a flawed verifier: |X|={config.num_prompts}, |Y|={config.num_responses}, arg-max wrong "
        f"on {config.wrong_fraction:.0%} of prompts (correct answer at {config.correct_ratio:g}× its mass)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
