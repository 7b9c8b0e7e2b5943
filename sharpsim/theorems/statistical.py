"""The paper's statistical statements as :class:`~sharpsim.theorems.Theorem` objects.

Their conclusions hold with probability at least ``1 − ρ`` over the algorithm's draws, so
:meth:`~sharpsim.theorems.Theorem.verify` runs the algorithm at the promised budget over many seeds
and compares the measured success rate with ``1 − ρ`` through a 95 % Clopper–Pearson interval: the
conclusion is *refuted* only when the whole interval lies below ``1 − ρ``.
"""

from __future__ import annotations

import math

import jax
import numpy as np
from scipy import stats

from sharpsim import _validation as v
from sharpsim import bounds, classes
from sharpsim.algorithms import sft_sharpening
from sharpsim.coefficients import coverage
from sharpsim.theorems._core import Assumption, AssumptionResult, Conclusion, Instance, Theorem

__all__ = ["THM_41", "clopper_pearson"]


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval of a binomial proportion.

    Args:
      successes: the number of successes, in ``[0, trials]``.
      trials: the number of trials, ``>= 1``.
      confidence: the interval's confidence, in (0, 1).

    Returns:
      ``(low, high)``.
    """
    ci = stats.binomtest(int(successes), int(trials)).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)


def _needs_sampling(theorem_id: str) -> Conclusion:
    raise ValueError(f"{theorem_id} is statistical: its conclusion is measured by verify(problem, key=..., "
                     "num_seeds=...)")


# ------------------------------------------------------------------------------ Thm 4.1
def _validate_41(problem, params):
    if not classes.supports(params["model_class"], classes.ModelClass):
        raise TypeError(f"`model_class` must be a sharpsim model class; got {type(params['model_class']).__name__}")
    for name in ("eps", "delta", "rho"):
        params[name] = v.check_open_unit_interval(name, params[name])
    params["gamma"] = v.check_unit_interval("gamma", params["gamma"])
    params["constant"] = v.check_positive("constant", params["constant"])


def _prescription(inst: Instance) -> tuple[int, int]:
    p = inst.params
    log_size = float(p["model_class"].log_size)
    if not math.isfinite(log_size):
        return 0, 0
    cov = coverage(inst.problem, gamma=p["gamma"])
    return bounds.sft_prescription(cov, log_size, p["eps"], delta=p["delta"], rho=p["rho"], constant=p["constant"])


def _fitted_class(inst: Instance, N: int):
    cls = inst.params["model_class"]
    return classes.bon_closure(cls, N) if inst.params["bon_closed"] else cls


def _finite(inst: Instance) -> AssumptionResult:
    log_size = float(inst.params["model_class"].log_size)
    return AssumptionResult("finite_class", math.isfinite(log_size), log_size, None,
                            "log|Π| of the class (Thm 4.1 is for a finite class; the tabular class is infinite)")


def _realizable(inst: Instance) -> AssumptionResult:
    _, N = _prescription(inst)
    if N == 0:
        return AssumptionResult("realizable", False, None, None, "no prescribed N: the class is infinite")
    ok = bool(classes.is_realizable(_fitted_class(inst, N), inst.problem, N))
    closed = "the class closed under BoN_N" if inst.params["bon_closed"] else "the class as given"
    return AssumptionResult("realizable", ok, ok, None, f"π^BoN_N ∈ Π at the prescribed N = {N} ({closed})")


def _promise_41(inst: Instance) -> dict:
    n, N = _prescription(inst)
    p = inst.params
    return {"n": n, "N": N, "m = n N": n * N, "P[err_delta <= eps] >=": 1 - p["rho"]}


def _sample_41(inst: Instance, key, num_seeds: int) -> Conclusion:
    p = inst.params
    n, N = _prescription(inst)
    if N == 0:
        return Conclusion(False, float("nan"), 1 - p["rho"], "no prescription: the class is infinite")
    cls = _fitted_class(inst, N)

    @jax.jit
    def errors(keys):
        return jax.vmap(lambda k: sft_sharpening(k, inst.problem, cls, n=n, N=N, delta=p["delta"], gamma=p["gamma"],
                                                 return_policy=False).error)(keys)

    err = np.asarray(errors(jax.random.split(key, num_seeds)))
    wins = int((err <= p["eps"]).sum())
    low, high = clopper_pearson(wins, num_seeds)
    target = 1 - p["rho"]
    return Conclusion(high >= target, wins / num_seeds, target,
                      f"success rate of {num_seeds} runs at (n, N) = ({n}, {N}), 95 % Clopper–Pearson "
                      f"[{low:.3f}, {high:.3f}]; refuted only if the interval lies below {target:g}")


THM_41 = Theorem(
    id="Thm 4.1",
    title="SFT-Sharpening reaches error ε with m ≍ C_cov log(|Π|/ρ) log(2/δ)/(δ ε²)",
    statement=("If π^BoN_N ∈ Π (Assumption 4.1) for a finite class Π, SFT-Sharpening with n = c log(|Π|/ρ)/(δε) "
               "prompts and N = c C_cov,γ log(2/δ)/ε draws per prompt outputs π̂ with err_δ(π̂) ≤ ε with "
               "probability ≥ 1 − ρ (Thm 4.1 / 4.1′, Eq 7; c is the absolute constant hidden by ≲, `constant` here)."),
    kind="statistical",
    assumptions=(Assumption("finite_class", "Π is finite (log|Π| < ∞)", _finite),
                 Assumption("realizable", "π^BoN_N ∈ Π at the prescribed N (Assumption 4.1)", _realizable)),
    defaults={"model_class": None, "eps": 0.1, "delta": 0.1, "rho": 0.1, "gamma": 0.0, "constant": 1.0,
              "bon_closed": True},
    promise_fn=_promise_41,
    conclusion_fn=lambda inst: _needs_sampling("Thm 4.1"),
    validate_fn=_validate_41,
    sample_fn=_sample_41,
)
