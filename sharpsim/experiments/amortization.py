"""Figure ``amortization``: the amortization gap of SFT-Sharpening with a neural class.

SFT-Sharpening (Sec 2.1) amortises inference-time best-of-N: it trains a model on BoN_N picks,
so the best it can do is the BoN_N law ``π^BoN_N`` itself (Thm 4.1 assumes ``π^BoN_N ∈ Π``,
Assumption 4.1). With a small MLP over the full prefix
(:class:`sharpsim.classes.NeuralAutoregressiveClass`) on ``problems.planted_autoregressive``
problems over ``V^H``, each row records, exactly (everything enumerated over ``V^H``):

* ``err_bon``, ``mass_bon`` — ``err_δ(π^BoN_N)`` and ``E_μ[π^BoN_N(y*|x)]`` (the target);
* ``err_sft``, ``mass_sft``, ``kl_sft`` — the same for the SFT-sharpened model (``n`` prompts,
  ``N`` draws each, minibatch Adam) and its ``E_μ KL(π^BoN_N ‖ π̂)``;
* ``err_pop``, ``mass_pop``, ``kl_pop`` — the same for the KL projection of ``π^BoN_N`` onto
  the class (the infinite-data fit, :meth:`~sharpsim.classes.NeuralAutoregressiveClass.fit_law`):
  what the class can represent of the target at this width.

against the model's width and the horizon ``H``, one row per seed (data and initialisation).
The seeds run through :func:`sharpsim.parallel.map_seeds`, one seed per chunk, so the rows are
bitwise the same on any number of devices.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import matplotlib.pyplot as plt
import numpy as np
from scipy import special

from sharpsim import classes, problems
from sharpsim.algorithms import sft_sharpening
from sharpsim.experiments._plot import select
from sharpsim.experiments.protocol import Instance
from sharpsim.laws import bon_law, sharpening_error
from sharpsim.parallel import map_seeds
from sharpsim.problems import as_tabular_base

NAME = "amortization"
DESCRIPTION = "SFT-sharpened neural model vs its BoN_N target: exact err_δ, mass on y*, KL against width and H"
THEORY_NOTE = "theory/neural_class.md"


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition.

    Attributes:
      horizons: ``H`` values (one problem each).
      widths: hidden widths of the MLP.
      vocab_size: ``V``.
      num_prompts: ``|X|``.
      coverage, heterogeneity: of ``problems.planted_autoregressive`` (``E_μ[C_cov(x)]`` and the
        spread of the per-prompt coverages).
      N: draws per prompt of the BoN_N picks.
      n: prompts of SFT-Sharpening.
      delta: the level of ``err_δ``.
      depth, steps, batch_size, learning_rate: the class's options.
      seeds: seeds per cell.
      seed: base seed.
      version: part of the config hash.
    """

    horizons: tuple[int, ...] = (3, 6)
    widths: tuple[int, ...] = (1, 4, 16)
    vocab_size: int = 2
    num_prompts: int = 8
    coverage: float = 4.0
    heterogeneity: float = 1.0
    N: int = 16
    n: int = 256
    delta: float = 0.1
    depth: int = 1
    steps: int = 300
    batch_size: int = 64
    learning_rate: float = 0.02
    seeds: int = 4
    seed: int = 0
    version: int = 1


#: The sweep of each mode.
CONFIGS = {
    "testing": Config(horizons=(3,), widths=(2,), num_prompts=4, n=32, steps=50, seeds=2),
    "quick": Config(),
    "full": Config(horizons=(3, 6, 9), widths=(1, 2, 4, 8, 16, 64), num_prompts=16, n=1024, steps=1000,
                   seeds=16),
}


def cells(config: Config) -> list[dict]:
    """One cell per (horizon, width)."""
    return [{"horizon": H, "width": w} for H in config.horizons for w in config.widths]


def instance(config: Config, cell: dict) -> Instance:
    """The planted problem of the cell's ``horizon`` and the neural class of its ``width``.

    Args:
      config: the sweep.
      cell: a dict with the keys ``horizon`` and ``width``.

    Returns:
      ``Instance(problem, model_class)``.
    """
    return _instance(config, int(cell["horizon"]), int(cell["width"]))


@functools.lru_cache(maxsize=32)
def _problem(config: Config, horizon: int):
    key = jax.random.fold_in(jax.random.key(config.seed), config.horizons.index(horizon))
    return problems.planted_autoregressive(key, config.num_prompts, config.vocab_size, horizon, config.coverage,
                                           heterogeneity=config.heterogeneity)


@functools.lru_cache(maxsize=32)
def _instance(config: Config, horizon: int, width: int) -> Instance:
    problem = _problem(config, horizon)
    cls = classes.NeuralAutoregressiveClass.for_problem(
        problem, key=jax.random.key(config.seed), width=width, depth=config.depth, steps=config.steps,
        batch_size=config.batch_size, learning_rate=config.learning_rate)
    return Instance(problem, cls)


def _summary(log_probs, target_lp, mask, mu, delta):
    """``(err_δ, E_μ mass on y*, E_μ KL(target ‖ model))`` of a ``[X, Y]`` law, on the host (NumPy),
    so that the rows do not depend on how the seeds were batched over devices."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mass = np.exp(special.logsumexp(np.where(mask, log_probs, -np.inf), axis=-1))
        err = float(np.sum(np.where(np.log(mass) < np.log1p(-delta), mu, 0.0)))
        p = np.exp(target_lp)
        kl = np.sum(np.where(p > 0, p * (target_lp - log_probs), 0.0), axis=-1)
    return err, float(np.sum(mu * mass)), float(np.sum(mu * kl))


@functools.cache
def _trial(n: int):
    """One seed's trial at ``n`` prompts (one function object per ``n``: compiled once per shape)."""

    def trial(key, problem, cls, target_lp, N, delta):
        k_data, k_cls = jax.random.split(key)
        model = cls.with_key(k_cls)
        sft = sft_sharpening(k_data, problem, model, n=n, N=N, delta=delta)
        pop = model.policy(model.fit_law(model.params, target_lp, problem.prompt_probs))
        return {"err_sft": sft.error, "lp_sft": sft.policy.joint_log_probs(), "lp_pop": pop.joint_log_probs()}

    return trial


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Runs the cell's seeds.

    Returns:
      One row per seed: ``seed``, ``num_params``, ``err_bon``, ``mass_bon``, ``err_sft`` (the
      algorithm's own exact error), ``mass_sft``, ``kl_sft``, ``err_pop``, ``mass_pop``, ``kl_pop``.

    Raises:
      AssertionError: if the algorithm's own exact error disagrees with its recomputation from
        the fitted law.
    """
    problem, cls = instance(config, cell)
    target = bon_law(problem, config.N)
    target_lp = np.asarray(target.log_probs)
    mask = np.asarray(as_tabular_base(problem).argmax_set(0.0))
    mu = np.asarray(problem.prompt_probs)
    err_bon = sharpening_error(problem, target, delta=config.delta)
    _, mass_bon, _ = _summary(target_lp, target_lp, mask, mu, config.delta)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed + 1), cell["horizon"]), cell["width"])
    keys = jax.random.split(key, config.seeds)
    # one seed per chunk: every row is jax.vmap over a single key, whatever the number of devices (the
    # full-batch sums of `fit_law` round differently in a vmap over 1 and over 4 keys)
    out = map_seeds(_trial(config.n), keys, args=(problem, cls, target.log_probs, config.N, config.delta),
                    max_chunk=1)
    rows = []
    for s in range(config.seeds):
        err_s, mass_s, kl_s = _summary(out["lp_sft"][s], target_lp, mask, mu, config.delta)
        if err_s != float(out["err_sft"][s]):
            raise AssertionError("the SFT result's exact error disagrees with its recomputation")
        err_p, mass_p, kl_p = _summary(out["lp_pop"][s], target_lp, mask, mu, config.delta)
        rows.append({"seed": s, "num_params": cls.num_params, "err_bon": float(err_bon), "mass_bon": mass_bon,
                     "err_sft": err_s, "mass_sft": mass_s, "kl_sft": kl_s,
                     "err_pop": err_p, "mass_pop": mass_p, "kl_pop": kl_p})
    return rows


def draw(rows: list[dict], config: Config):
    """Three panels against width (one line per horizon): ``err_δ``, the mass on ``y*`` and the KL
    to ``π^BoN_N``; SFT (solid, seed mean with min–max band), the KL projection (dashed) and the
    BoN_N law (dotted).

    Args:
      rows: the sweep's rows.
      config: the sweep.

    Returns:
      The matplotlib figure.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    colors = plt.cm.viridis(np.linspace(0.1, 0.8, max(len(config.horizons), 1)))
    for color, H in zip(colors, config.horizons):
        sel = select(rows, horizon=H)
        widths = sorted({int(r["width"]) for r in sel})
        if not widths:
            continue

        def stat(key, fn, sel=sel, widths=widths):
            return np.array([fn([float(r[key]) for r in sel if int(r["width"]) == w]) for w in widths])

        for ax, what in zip(axes, ("err", "mass", "kl")):
            mean = stat(f"{what}_sft", np.mean)
            ax.plot(widths, mean, "o-", color=color, label=f"SFT, H={H}")
            ax.fill_between(widths, stat(f"{what}_sft", np.min), stat(f"{what}_sft", np.max), color=color,
                            alpha=0.15)
            ax.plot(widths, stat(f"{what}_pop", np.mean), "s--", color=color, ms=4, label=f"KL projection, H={H}")
            if what != "kl":
                ax.axhline(float(sel[0][f"{what}_bon"]), color=color, ls=":", lw=1.2, label=f"BoN$_N$ law, H={H}")
    titles = (f"$err_\\delta$ (δ={config.delta:g})", "$E_\\mu[\\pi(y^*|x)]$", "$E_\\mu KL(\\pi^{BoN}_N \\| \\pi)$")
    for ax, title in zip(axes, titles):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("MLP width")
        ax.set_title(title, fontsize=10)
    axes[2].set_yscale("log")
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Amortization gap: SFT-Sharpening with an MLP over the prefix, V={config.vocab_size}, "
                 f"|X|={config.num_prompts}, N={config.N}, n={config.n}, {config.seeds} seeds", fontsize=10)
    fig.tight_layout()
    return fig
