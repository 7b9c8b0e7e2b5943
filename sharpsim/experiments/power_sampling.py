"""Figure ``power_sampling``: approaching the power law ``π_base^α`` with a budget of oracle queries, exactly.

The target is the sequence-level power law ``π^α ∝ π_base^α`` (:func:`sharpsim.power_law`), which
is π*_β of Eq 3 at ``α = 1 + 1/β`` (Huang et al., ICLR 2025, Sec 2.2). For each budget of m
queries per prompt the figure computes, exactly, the law of the response returned by

* independence Metropolis–Hastings with ``π_base`` as proposal (state after ``m − 1`` steps,
  :func:`sharpsim.power.mh_law`),
* the same with the low-temperature policy as proposal,
* best-of-m (:func:`sharpsim.bon_law`, Sec 2.1),
* one draw from token-level low temperature (:func:`sharpsim.power.token_temperature`, m = 1;
  drawn flat across the budget),

and records its total variation to ``π^α`` and its mass on the sequence arg-max ``y*``, on two
autoregressive instances: Prop 3.1's tightness instance (``problems.prop31_tightness``: the
first token misleads, so token temperature moves mass away from ``y*``) and a planted-path
instance (``problems.planted_autoregressive``: the arg-max is the token-wise arg-max).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import matplotlib.pyplot as plt
import numpy as np

from sharpsim import bon_law, power, problems
from sharpsim.experiments._plot import select
from sharpsim.experiments.protocol import Instance

NAME = "power_sampling"
DESCRIPTION = "TV to π^α and mass on y* vs queries: Metropolis–Hastings, best-of-N, token temperature (exact laws)"
THEORY_NOTE = "theory/power_sampling.md"

METHODS = ("mh_base", "mh_temperature", "bon", "token_temperature")
INSTANCES = ("prop31", "planted")


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      instances: which of :data:`INSTANCES` to run.
      alpha: the power α of the target.
      budgets: queries per prompt m.
      vocab_size, horizon: the sequence space ``V^H`` of both instances.
      p_star: ``π_base(y*)`` of Prop 3.1's instance.
      planted_prompts, planted_coverage: prompts and ``C_cov`` of the planted instance.
      seed: seed of the planted instance.
      version: part of the config hash.
    """

    instances: tuple[str, ...] = INSTANCES
    alpha: float = 4.0
    budgets: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    vocab_size: int = 2
    horizon: int = 4
    p_star: float = 0.3
    planted_prompts: int = 4
    planted_coverage: float = 6.0
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(instances=("prop31",), budgets=(1, 4, 16), horizon=3),
    "quick": Config(),
    "full": Config(budgets=tuple(2**k for k in range(13)), vocab_size=3, horizon=5, p_star=0.2,
                   planted_prompts=16, planted_coverage=30.0),
}


def cells(config: Config) -> list[dict]:
    """One cell per (instance, method)."""
    return [{"instance": i, "method": m} for i in config.instances for m in METHODS]


@functools.lru_cache(maxsize=8)
def _problem(config: Config, name: str):
    if name == "prop31":
        return problems.prop31_tightness(vocab_size=config.vocab_size, horizon=config.horizon, p_star=config.p_star)
    return problems.planted_autoregressive(jax.random.key(config.seed), config.planted_prompts, config.vocab_size,
                                           config.horizon, config.planted_coverage)


def instance(config: Config, cell: dict) -> Instance:
    """The cell's autoregressive problem (no model class).

    Args:
      config: the sweep.
      cell: a dict with the key ``instance`` (``"prop31"`` or ``"planted"``).

    Returns:
      ``Instance(problem, None)``.
    """
    return Instance(_problem(config, cell["instance"]))


def run_cell(config: Config, cell: dict) -> list[dict]:
    """The exact law of one method at every budget.

    Returns:
      One row per budget ``m``: ``tv`` (μ-mean total variation to ``π^α``), ``mass_star``
      (μ-mean mass on the base's sequence arg-max), ``target_mass_star`` (the same for ``π^α``),
      ``base_mass_star`` (for ``π_base``).
    """
    problem = _problem(config, cell["instance"])
    table = problem.tabular()
    mu = np.asarray(problem.prompt_probs)
    target = power.power_law(problem, config.alpha)
    star = table.base.argmax_set()
    method = cell["method"]
    if method.startswith("mh_"):
        laws = power.mh_law(problem, config.alpha, max(config.budgets) - 1, proposal=method[3:])
        law_of = {m: laws[m - 1] for m in config.budgets}
    elif method == "bon":
        law_of = {m: bon_law(table, m).probs for m in config.budgets}
    else:
        tok = power.token_temperature(problem.base, config.alpha).to_tabular().probs
        law_of = dict.fromkeys(config.budgets, tok)

    def on_star(p):
        return float(np.sum(mu * np.sum(np.where(np.asarray(star), np.asarray(p), 0.0), axis=1)))

    rows = []
    for m in config.budgets:
        p = law_of[m]
        rows.append({
            "m": m,
            "tv": float(np.sum(mu * np.asarray(power.total_variation(p, target.probs)))),
            "mass_star": on_star(p),
            "target_mass_star": on_star(target.probs),
            "base_mass_star": on_star(table.probs),
        })
    return rows


def draw(rows: list[dict], config: Config):
    """Two panels per instance: TV to ``π^α`` and mass on ``y*``, against the queries per prompt.

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    labels = {"mh_base": "MH, proposal $\\pi_{base}$", "mh_temperature": "MH, proposal token temperature",
              "bon": "best-of-m", "token_temperature": "token temperature (one draw)"}
    styles = {"mh_base": ("C0", "-"), "mh_temperature": ("C1", "-"), "bon": ("C2", "-"),
              "token_temperature": ("C3", "--")}
    fig, axes = plt.subplots(1, 2 * len(config.instances), figsize=(9 * len(config.instances), 4.0))
    for i, inst in enumerate(config.instances):
        ax_tv, ax_star = axes[2 * i], axes[2 * i + 1]
        for method in METHODS:
            sel = sorted(select(rows, instance=inst, method=method), key=lambda r: r["m"])
            if not sel:
                continue
            ms = [r["m"] for r in sel]
            color, ls = styles[method]
            ax_tv.plot(ms, [max(r["tv"], 1e-17) for r in sel], color=color, ls=ls, marker="o", ms=3,
                       label=labels[method])
            ax_star.plot(ms, [r["mass_star"] for r in sel], color=color, ls=ls, marker="o", ms=3,
                         label=labels[method])
        sel = select(rows, instance=inst)
        if sel:
            ax_star.axhline(sel[0]["target_mass_star"], color="k", lw=1, ls=":", label="$\\pi^\\alpha(y^*)$")
            ax_star.axhline(sel[0]["base_mass_star"], color="grey", lw=1, ls="-.", label="$\\pi_{base}(y^*)$")
        name = "Prop 3.1 instance" if inst == "prop31" else "planted path"
        for ax in (ax_tv, ax_star):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("queries per prompt m")
            ax.grid(alpha=0.3)
        ax_tv.set_yscale("log")
        ax_tv.set_ylabel("TV to $\\pi^\\alpha$ (μ-mean)")
        ax_tv.set_title(f"{name}: distance to the power law", fontsize=9)
        ax_star.set_ylabel("mass on $y^*$")
        ax_star.set_ylim(-0.02, 1.02)
        ax_star.set_title(f"{name}: mass on the sequence arg-max", fontsize=9)
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    fig.suptitle(f"Power sampling, α = {config.alpha:g} (= π*_β at β = {1 / (config.alpha - 1):.3g}), "
                 f"V={config.vocab_size}, H={config.horizon}; exact laws", fontsize=9)
    fig.tight_layout()
    return fig
