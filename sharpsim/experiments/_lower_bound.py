"""The sweep shared by the two figures on the App H lower-bound family (Thm 3.1 / 3.1′ / D.2).

Each seed draws a fresh hidden member ``π^I`` of the family (``I`` uniform on ``[M]^d``), so the
success probability is averaged over the family as in the proof.

* SFT-Sharpening: the split ``m = n·N`` is searched jointly. N runs over a fixed geometric grid
  (ratio ``2^(1/N_per_octave)``), n over a fixed geometric grid (ratio ``2^(1/n_per_octave)``),
  both the same for every ε and d, so nothing in the design scales with the predicted rate.
  Splits whose exact BoN_N law already fails (``err_δ(π^BoN_N) > ε``: no n can help) are skipped;
  for the others n is scanned coarse-to-fine to its first passing value
  (:func:`sharpsim.experiments.engine.scan_splits`), and ``m* = min over N of n*(N)·N``. The
  learner is MLE over the family's product class closed under BoN_N (Assumption 4.1 holds;
  ``log|Π| = d log M`` is the class size of Thm 4.1).
* adaptive SFT-Sharpening: the App D rule with ``μ = ln 4`` (Thm D.1's ``ln(2/δ)`` at δ = 1/2),
  n scanned on the same n grid, ``m*`` the mean charged queries at the first passing n; sharpsim
  has no closure of the adaptive law, so the learner is MLE over all conditionals
  (``TabularClass``: empirical frequencies; an unseen prompt gets the uniform law).

The target is the paper's: ``π̂(y*_γ(x)|x) > 1/2`` with ``γ = 1/2``, i.e. ``err_δ`` with
``δ = 1/2 - 1e-9`` (a mass of exactly 1/2 fails), at most ε with probability at least ``1 - ρ``.
The family's errors are discrete: every hard prompt has mass Δ/d = 16ε/d, so ``err <= ε`` allows
``⌊d/16⌋`` failing hard prompts (none below d = 16).

All families of one figure are padded to one shape (the largest ``d + 1`` prompts and ``M + 1``
responses; padded prompts have μ-mass 0, padded candidates are invalid, padded responses have
probability 0), so each algorithm compiles once per n bucket (powers of 4) for the whole figure.

The figure modules ``lower_bound_eps`` (m* against ε at fixed d, C) and ``lower_bound_size``
(m* against log|Π| = d log M at fixed ε, C; SFT only) take ``Config``, ``cells``, ``run_cell``,
``instance`` and ``budgets`` from here.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

import sharpsim as ss
from sharpsim import bounds, classes, problems
from sharpsim.algorithms import adaptive_sft_sharpening, sft_sharpening
from sharpsim.experiments import engine
from sharpsim.parallel import map_seeds
from sharpsim.policies import TabularPolicy

#: The cell key of the budget: n, the number of prompts.
BUDGET = "n"

#: The approximation level γ of the target set ``y*_γ``.
GAMMA = 0.5
#: The theorem asks for π̂(y*_γ|x) > 1/2; ``err_δ`` fails a prompt when π̂ < 1 - δ, so
#: δ = 1/2 - 1e-9 makes a mass of exactly 1/2 (frequent for empirical frequencies) a failure.
DELTA = 0.5 - 1e-9


@dataclasses.dataclass(frozen=True)
class Config:
    """Sweep definition (one of ``epsilons`` / ``ds`` has several values).

    Attributes:
      epsilons: target errors ε (one family each).
      ds: numbers of hard prompts d (one family each).
      algorithms: ``"sft"`` and/or ``"adaptive"``.
      C: the family's coverage level.
      n_range: ``(low, high)`` of the fixed geometric grid of prompts n.
      n_per_octave: points per doubling of the n grid (4: ratio 2^(1/4)).
      N_range: ``(low, high)`` of the fixed geometric grid of SFT's draws per prompt N.
      N_per_octave: points per doubling of the N grid.
      rho: the target's failure probability.
      seeds: seeds per budget (the same keys at every budget and split).
      seed: base seed.
      version: part of the config hash; changed whenever the experiment's meaning changes, so rows
        computed under another meaning are never reused.
    """

    epsilons: tuple[float, ...] = (0.04, 0.02, 0.01, 0.005)
    ds: tuple[int, ...] = (16,)
    algorithms: tuple[str, ...] = ("sft", "adaptive")
    C: float = 2.0
    n_range: tuple[int, int] = (8, 8192)
    n_per_octave: int = 4
    N_range: tuple[int, int] = (1, 2048)
    N_per_octave: int = 4
    rho: float = 0.1
    seeds: int = 100
    seed: int = 0
    version: int = 4


#: The sweep of each mode for ``lower_bound_eps``.
CONFIGS_EPS = {
    "testing": Config(epsilons=(0.04, 0.02), ds=(4,), seeds=16, n_range=(2, 256), N_range=(1, 256),
                      N_per_octave=2, n_per_octave=2),
    "quick": Config(),
    "full": Config(epsilons=(0.05, 0.04, 0.03, 0.02, 0.014, 0.01, 0.007, 0.005, 0.0035), seeds=400,
                   n_range=(8, 16384), N_range=(1, 4096)),
}
#: The sweep of each mode for ``lower_bound_size``.
CONFIGS_SIZE = {
    "testing": Config(epsilons=(0.04,), ds=(2, 8), algorithms=("sft",), seeds=16, n_range=(2, 256),
                      N_range=(1, 256), N_per_octave=2, n_per_octave=2),
    "quick": Config(epsilons=(0.02,), ds=(4, 8, 16, 32, 64), algorithms=("sft",)),
    "full": Config(epsilons=(0.02,), ds=(2, 4, 8, 16, 32, 64, 128, 256), algorithms=("sft",), seeds=400,
                   n_range=(8, 16384)),
}


def instance(config: Config, cell: dict):
    """The family of the cell's ``eps`` and ``d``: its product class and parameters.

    The hidden member is drawn per seed inside :func:`run_cell`; the instance's ``problem`` is the
    family's reference member.

    Args:
      config: the sweep.
      cell: a dict with the keys ``eps`` and ``d``.

    Returns:
      The ``problems.LowerBoundInstance`` (``problem``, ``model_class``, ``M``, ``mass``,
      ``log_size``, ...).
    """
    return _instance(config, cell["eps"], cell["d"])


@functools.lru_cache(maxsize=64)
def _instance(config: Config, eps: float, d: int):
    return problems.lower_bound_family(jax.random.key(config.seed), d=d, C=config.C, eps=eps)


def n_grid(config: Config) -> list[int]:
    """The fixed geometric grid of prompts n (the same for every ε, d and algorithm)."""
    return engine.geometric_grid(*config.n_range, per_octave=config.n_per_octave)


def N_grid(config: Config) -> list[int]:
    """The fixed geometric grid of SFT's draws per prompt N (the same for every ε and d)."""
    return engine.geometric_grid(*config.N_range, per_octave=config.N_per_octave)


def split_ratio(config: Config) -> float:
    """The ratio of the N grid (a split between grid values could cost up to this factor less)."""
    return 2 ** (1 / config.N_per_octave)


def budgets(config: Config, cell: dict) -> list[int]:
    """The budget grid scanned at every split: the fixed geometric grid of n (:func:`n_grid`).

    Args:
      config: the sweep.
      cell: a cell (not read: the grid is the same for every family).

    Returns:
      The increasing n grid.
    """
    return n_grid(config)


def cells(config: Config) -> list[dict]:
    """One cell per (eps, d, algorithm); :func:`run_cell` scans the budgets (and SFT's splits) itself."""
    return [{"eps": e, "d": d, "algorithm": a} for e in config.epsilons for d in config.ds for a in config.algorithms]


def member_coverage(inst) -> float:
    """``C_cov,1/2`` of every member of the family: ``(1 − mass) + mass · M/2``.

    Args:
      inst: a ``problems.LowerBoundInstance``.

    Returns:
      The coverage at γ = 1/2 (hard prompts carry ``mass`` and have ``π(y*_{1/2}) = 2/M``; the
      easy prompt has coverage 1).
    """
    return (1 - inst.mass) + inst.mass * inst.M / 2


def success_tables(rows: list[dict], *, x_key: str, eps: float, where: dict) -> dict:
    """Per x, the tables of the search: a list of split tables ``(n [B], successes [B, S], queries [B, S])``.

    Args:
      rows: the sweep's rows.
      x_key: the row key of the x-axis (``"eps"`` or ``"d"``).
      eps: the target ε (success is ``error <= eps``); ``None`` uses each row's own ``eps``.
      where: equality filter on the rows (e.g. the algorithm).

    Returns:
      ``{x: [table per N]}`` (one split for the adaptive rule).
    """
    rows = [r for r in rows if all(r[k] == val for k, val in where.items())]
    out = {}
    for x in sorted({r[x_key] for r in rows}):
        sub = [r for r in rows if r[x_key] == x]
        target = sub[0]["eps"] if eps is None else eps
        tabs = engine.tables_from_rows(sub, x_key="N", budget_key=BUDGET, eps=target)
        out[x] = [tabs[N] for N in sorted(tabs)]
    return out


@functools.lru_cache(maxsize=8)
def _padded_shape(config: Config) -> tuple[int, int]:
    """``(X, M)``: the largest ``d + 1`` and ``M`` over the figure's families."""
    Ms = [instance(config, {"eps": e, "d": d}).M for e in config.epsilons for d in config.ds]
    return max(config.ds) + 1, max(Ms)


@functools.lru_cache(maxsize=64)
def _padded(config: Config, eps: float, d: int):
    """The family of ``(eps, d)`` padded to the figure's shape.

    Returns:
      ``(rows [M_max + 1, M_max + 1], idx [X, M_max], valid [X, M_max], mu [X], M)``: the
      family's conditionals ``P_0..P_M`` (padded responses: probability 0; padded rows: ``P_0``),
      per prompt and candidate the row index into them, which candidates are valid, and μ.
    """
    inst = instance(config, {"eps": eps, "d": d})
    X, M_max = _padded_shape(config)
    M = inst.M
    P = problems.hard_conditionals(M)  # [M + 1, M + 1]
    rows = np.zeros((M_max + 1, M_max + 1))
    rows[: M + 1, : M + 1] = P
    rows[M + 1:, 0] = 1.0  # unused rows: P_0
    idx = np.zeros((X, M_max), np.int32)
    valid = np.zeros((X, M_max), bool)
    valid[:, 0] = True
    idx[1: d + 1, :M] = np.arange(1, M + 1)
    valid[1: d + 1, :M] = True
    mu = np.zeros(X)
    mu[0] = 1.0 - inst.mass
    mu[1: d + 1] = inst.mass / d
    with np.errstate(divide="ignore"):
        log_rows = np.log(rows)
    return log_rows, idx, valid, mu, M


def _closed_rows(log_rows, N: int):
    """The exact BoN_N law of each row (``classes.bon_closure`` of a one-prompt product class)."""
    closed = classes.bon_closure(classes.ProductClass(log_probs=jnp.asarray(log_rows)[None]), N)
    return closed.log_probs[0]


def _bucket(n: int) -> int:
    """The static capacity of n: the smallest power of 4 that is at least ``max(n, 64)``."""
    cap = 64
    while cap < n:
        cap *= 4
    return cap


def _errors(keys, log_rows, fit_rows, idx, valid, mu, d, M, n, max_n, N, stop_level, algorithm):
    """``(error [S], queries [S])``: each key draws a member of the family and runs the algorithm on it
    (:func:`sharpsim.parallel.map_seeds`: the seeds sharded over the local devices)."""
    return map_seeds(_trial(max_n, algorithm), keys, args=(log_rows, fit_rows, idx, valid, mu, d, M, n, N, stop_level))


@functools.cache
def _trial(max_n: int, algorithm: str):
    """One seed's trial at the static capacity ``max_n`` (one function object per setting: compiled once)."""

    def one(key, log_rows, fit_rows, idx, valid, mu, d, M, n, N, stop_level):
        return _one(key, log_rows, fit_rows, idx, valid, mu, d, M, n, max_n, N, stop_level, algorithm)

    return one


def _one(key, log_rows, fit_rows, idx, valid, mu, d, M, n, max_n, N, stop_level, algorithm):
    X = idx.shape[0]
    Y = log_rows.shape[1]
    if algorithm == "sft":  # the family's class closed under BoN_N (fit_rows): Assumption 4.1 holds
        model_class = classes.ProductClass(log_probs=fit_rows[idx], valid=valid)
    else:  # no closure of the adaptive law is implemented: all conditionals (improper)
        model_class = classes.TabularClass(X, Y)

    R = log_rows.shape[0]
    # the level structure of the family's conditionals, built once; each member gathers its rows
    # (bitwise the sampler of the member: it is computed row by row)
    row_sampler = ss.bon_sampler(problems.Problem(TabularPolicy(log_rows), jnp.full(R, 1.0 / R)))

    k_member, k_run = jax.random.split(key)
    hidden = jax.random.randint(k_member, (X - 1,), 0, M)  # candidate j_i - 1
    hidden = jnp.where(jnp.arange(1, X) <= d, hidden, 0)  # padded prompts: candidate 0
    member = jnp.concatenate([jnp.zeros((1,), hidden.dtype), hidden])
    rows = idx[jnp.arange(X), member]
    problem = problems.Problem(TabularPolicy(log_rows[rows]), mu)
    sampler = row_sampler.take(rows)
    if algorithm == "sft":
        r = sft_sharpening(k_run, problem, model_class, n=n, N=N, delta=DELTA, gamma=GAMMA, max_n=max_n,
                           return_policy=False, sampler=sampler)
    else:
        r = adaptive_sft_sharpening(k_run, problem, model_class, n=n, stop_level=stop_level,
                                    delta=DELTA, gamma=GAMMA, max_n=max_n, return_policy=False,
                                    sampler=sampler)
    return r.error, r.num_queries


def feasible(config: Config, eps: float, d: int, N: int) -> bool:
    """Whether some n can reach the target with N draws: ``err_δ(π^BoN_N) <= ε`` exactly (reference member).

    Every member has the same BoN_N law up to relabelling, and a prompt where it puts at most
    1/2 on ``y*_γ`` is failed by every candidate of the closed class, so SFT-Sharpening's error
    is at least ``err_δ(π^BoN_N)`` at every n.

    Args:
      config: the sweep.
      eps, d: the family.
      N: draws per prompt.

    Returns:
      ``err_δ(π^BoN_N) <= ε``.
    """
    problem = instance(config, {"eps": eps, "d": d}).problem
    return float(ss.sharpening_error(problem, ss.bon_law(problem, N), delta=DELTA, gamma=GAMMA)) <= eps


def run_cell(config: Config, cell: dict) -> list[dict]:
    """Scans the cell's algorithm over the n grid (SFT: every feasible split N) with ``config.seeds`` seeds.

    Every seed draws a fresh member; the keys are the same at every budget and split (CRN).

    Returns:
      One row per (split, n, seed): the family's ``M``, ``log_size`` and ``mass``, SFT's ``N``
      (``-1`` for the adaptive rule), ``n``, ``seed``, the exact ``error`` and the ``queries`` charged.
    """
    inst = instance(config, cell)
    eps, d, alg = cell["eps"], cell["d"], cell["algorithm"]
    log_rows, idx, valid, mu, M = _padded(config, eps, d)
    keys = jax.random.split(jax.random.key(config.seed + 1), config.seeds)  # CRN across budgets
    stop_level = bounds.adaptive_stop_level(0.5)  # Thm D.1's μ = ln(2/δ) at δ = 1/2
    args = (jnp.asarray(log_rows), idx, valid, jnp.asarray(mu), d, M)
    closed: dict = {}

    def evaluate(n, N):
        if alg == "sft" and N not in closed:
            closed[N] = _closed_rows(log_rows, N)
        fit = closed[N] if alg == "sft" else args[0]
        max_n = _bucket(n)
        err, q = _errors(keys, args[0], fit, *args[1:], jnp.asarray(int(n)), max_n, jnp.asarray(max(N, 1)),
                         stop_level, alg)
        err = np.asarray(err)
        return err <= eps, np.asarray(q), err

    if alg == "sft":
        found = engine.scan_splits(evaluate, N_grid(config), n_grid(config), rho=config.rho, slack=2 ** 0.5,
                                   feasible=lambda N: feasible(config, eps, d, N))
    else:
        found = {-1: engine.scan_budgets(lambda n: evaluate(n, -1), n_grid(config), rho=config.rho)}
    extra = {"M": inst.M, "log_size": inst.log_size, "mass": inst.mass}
    return [{**extra, "N": N, "n": n, "seed": s, "error": float(err[s]), "queries": int(q[s])}
            for N, res in found.items() for n, (_, q, err) in res.items() for s in range(config.seeds)]
