"""The paper's statistical statements as :class:`~sharpsim.theorems.Theorem` objects.

Their conclusions hold with probability at least ``1 − ρ`` over the algorithm's draws, so
:meth:`~sharpsim.theorems.Theorem.verify` runs the algorithm at the promised budget over many seeds
and compares the measured success rate with ``1 − ρ`` through a 95 % Clopper–Pearson interval: the
conclusion is *refuted* only when the whole interval lies below ``1 − ρ``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from sharpsim import _validation as v
from sharpsim import bounds, classes
from sharpsim.algorithms import adaptive_sft_sharpening, rlhf_sharpening, sft_sharpening, xpo
from sharpsim.algorithms.xpo import base_projection
from sharpsim.coefficients import adaptive_coverage, coverage, margin, r_max
from sharpsim.laws import adaptive_law, bon_law, expected_adaptive_draws, kl_regularized_optimum
from sharpsim.policies import TabularPolicy
from sharpsim.problems import Problem
from sharpsim.theorems._core import Assumption, AssumptionResult, Conclusion, Instance, Theorem, per_instance

__all__ = ["MAX_SAMPLED_BUDGET", "THM_31", "THM_41", "THM_42", "THM_43", "THM_D1", "clopper_pearson"]

#: The largest budget (prompts n, rounds T, queries per run) a sampled verification runs; a promise
#: above it raises, asking for a smaller ``constant``.
MAX_SAMPLED_BUDGET = 1 << 22


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


def _within_budget(theorem_id: str, what: str, value: int) -> None:
    if value > MAX_SAMPLED_BUDGET:
        raise ValueError(f"{theorem_id}: the promised {what} = {value} is above {MAX_SAMPLED_BUDGET} (2^22) for a "
                         "sampled verification; pass a smaller `constant` (the constant hidden by ≲)")


def _run_seeds(run_one, key, num_seeds: int):
    """``run_one(key) -> error`` over ``num_seeds`` keys split from ``key``, vmapped under one jit."""
    return jax.jit(jax.vmap(run_one))(jax.random.split(key, num_seeds))


def _success_rate(errors, eps: float, rho: float, confidence: float, where: str) -> Conclusion:
    """The conclusion ``P[err <= ε] >= 1 − ρ`` measured on per-run errors, with its CP interval."""
    errors = np.asarray(errors)
    trials = errors.size
    wins = int((errors <= eps).sum())
    low, high = clopper_pearson(wins, trials, confidence)
    target = 1 - rho
    return Conclusion(high >= target, wins / trials, target,
                      f"success rate of {trials} runs at {where}, {100 * confidence:g} % Clopper–Pearson "
                      f"[{low:.3f}, {high:.3f}]; refuted only if the interval lies below {target:g}")


def _check_levels(params, names=("eps", "delta", "rho")):
    for name in names:
        params[name] = v.check_open_unit_interval(name, params[name])
    params["constant"] = v.check_positive("constant", params["constant"])


@per_instance
def _log_size(inst: Instance) -> float:
    """``log|Π|`` of the instance's class (``inf`` for an infinite one)."""
    return float(inst.params["model_class"].log_size)


def _no_prescription(inst: Instance, why: str) -> Conclusion:
    """The sampled conclusion when the theorem prescribes no budget on the instance."""
    return Conclusion(False, float("nan"), 1 - inst.params["rho"], f"no prescription{why}")


def _finite(inst: Instance) -> AssumptionResult:
    log_size = _log_size(inst)
    return AssumptionResult("finite_class", math.isfinite(log_size), log_size, None,
                            "log|Π| of the class (the statement is for a finite class; the tabular class is infinite)")


def _closest_tv(cls, target: np.ndarray, support: np.ndarray) -> float | None:
    """How far ``target: [X, Y]`` is from a finite or product class: the smallest, over members, of the
    largest TV over prompts of the support (``None`` for another kind of class)."""
    if isinstance(cls, classes.ProductClass):
        cands = np.exp(np.asarray(cls.log_probs, np.float64))  # [X, K, Y]
        tv = 0.5 * np.abs(cands - target[:, None, :]).sum(axis=2)
        tv = np.where(np.asarray(cls.valid), tv, np.inf).min(axis=1)  # the best candidate per prompt
        return float(tv[support].max())
    if isinstance(cls, classes.FiniteClass):
        members = np.exp(np.asarray(cls.log_probs, np.float64))  # [K, X, Y]
        tv = 0.5 * np.abs(members - target[None]).sum(axis=2)[:, support]
        return float(tv.max(axis=1).min())
    return None


def _tv_detail(distance: float | None) -> str:
    return "" if distance is None else f"; the closest member is at TV {distance:.3g}"


def _tabular_probs(problem) -> np.ndarray:
    return np.asarray(problem.tabular().base.probs, np.float64)


def _support(problem) -> np.ndarray:
    return np.asarray(problem.prompt_probs) > 0


# ------------------------------------------------------- Thm 4.1 and Thm D.1: their shared pattern
@dataclasses.dataclass(frozen=True)
class _Closure:
    """What Thm 4.1 and Thm D.1 share: the law SFT-Sharpening's kept responses follow at a level (the
    BoN_N law at N, the adaptive rule's law at μ) and the class's closure under it. The class is fitted
    at the prescribed level, closed when the parameter ``flag`` is true, and the realizability check is
    the law's membership in the fitted class, reported with the closest member's TV.

    Attributes:
      flag: the parameter that asks for the closed class.
      law: ``law(problem, level)``, the policy of the kept responses.
      closure: ``closure(model_class, level)``, the class of the members' laws.
      contains: ``contains(model_class, problem, level)``: whether ``law(problem, level)`` is a member.
      closed: the closed class, in words.
    """

    flag: str
    law: Callable
    closure: Callable
    contains: Callable
    closed: str

    def fitted(self, inst: Instance, level):
        """The class SFT-Sharpening fits at ``level``: closed under the law, or as given."""
        cls = inst.params["model_class"]
        return self.closure(cls, level) if inst.params[self.flag] else cls

    def realizable(self, inst: Instance, level, what: str) -> AssumptionResult:
        """Whether the law at ``level`` lies in the fitted class (``what``: that statement, in words)."""
        fitted = self.fitted(inst, level)
        ok = bool(self.contains(fitted, inst.problem, level))
        target = np.exp(np.asarray(self.law(inst.problem, level).log_probs, np.float64))
        distance = _closest_tv(fitted, target, _support(inst.problem))
        closed = self.closed if inst.params[self.flag] else "the class as given"
        return AssumptionResult("realizable", ok, ok if distance is None else distance,
                                None if distance is None else 0.0, f"{what} ({closed}){_tv_detail(distance)}")


_BON = _Closure("bon_closed", bon_law, classes.bon_closure, classes.is_realizable, "the class closed under BoN_N")
_ADAPTIVE = _Closure("adaptive_closed", adaptive_law, classes.adaptive_closure, classes.is_adaptive_realizable,
                     "the class closed under the adaptive law")


def _validate_sft(problem, params):
    if not classes.supports(params["model_class"], classes.ModelClass):
        raise TypeError(f"`model_class` must be a sharpsim model class; got {type(params['model_class']).__name__}")
    _check_levels(params)


# ------------------------------------------------------------------------------ Thm 4.1
def _validate_41(problem, params):
    _validate_sft(problem, params)
    params["gamma"] = v.check_unit_interval("gamma", params["gamma"])


@per_instance
def _41_prescription(inst: Instance) -> tuple[int, int]:
    """Thm 4.1's ``(n, N)``; ``(0, 0)`` for an infinite class."""
    p = inst.params
    log_size = _log_size(inst)
    if not math.isfinite(log_size):
        return 0, 0
    cov = coverage(inst.problem, gamma=p["gamma"])
    return bounds.sft_prescription(cov, log_size, p["eps"], delta=p["delta"], rho=p["rho"], constant=p["constant"])


def _41_realizable(inst: Instance) -> AssumptionResult:
    _, N = _41_prescription(inst)
    if N == 0:
        return AssumptionResult("realizable", False, None, None, "no prescribed N: the class is infinite")
    return _BON.realizable(inst, N, f"π^BoN_N ∈ Π at the prescribed N = {N}")


def _41_promise(inst: Instance) -> dict:
    n, N = _41_prescription(inst)
    p = inst.params
    return {"n": n, "N": N, "m = n N": n * N, "P[err_delta <= eps] >=": 1 - p["rho"]}


def _41_sample(inst: Instance, key, num_seeds: int, confidence: float) -> Conclusion:
    p = inst.params
    n, N = _41_prescription(inst)
    if N == 0:
        return _no_prescription(inst, ": the class is infinite")
    _within_budget("Thm 4.1", "m = n N", n * N)
    cls = _BON.fitted(inst, N)

    err = _run_seeds(lambda k: sft_sharpening(k, inst.problem, cls, n=n, N=N, delta=p["delta"], gamma=p["gamma"],
                                              return_policy=False).error, key, num_seeds)
    return _success_rate(err, p["eps"], p["rho"], confidence, f"(n, N) = ({n}, {N})")


THM_41 = Theorem(
    id="Thm 4.1",
    title="SFT-Sharpening reaches error ε with m ≍ C_cov log(|Π|/ρ) log(2/δ)/(δ ε²)",
    statement=("If π^BoN_N ∈ Π (Assumption 4.1) for a finite class Π, SFT-Sharpening with n = c log(|Π|/ρ)/(δε) "
               "prompts and N = c C_cov,γ log(2/δ)/ε draws per prompt outputs π̂ with err_δ(π̂) ≤ ε with "
               "probability ≥ 1 − ρ (Thm 4.1 / 4.1′, Eq 7; c is the absolute constant hidden by ≲, `constant` here)."),
    kind="statistical",
    assumptions=(Assumption("finite_class", "Π is finite (log|Π| < ∞)", _finite),
                 Assumption("realizable", "π^BoN_N ∈ Π at the prescribed N (Assumption 4.1)", _41_realizable)),
    defaults={"model_class": None, "eps": 0.1, "delta": 0.1, "rho": 0.1, "gamma": 0.0, "constant": 1.0,
              "bon_closed": True},
    promise_fn=_41_promise,
    conclusion_fn=lambda inst: _needs_sampling("Thm 4.1"),
    validate_fn=_validate_41,
    sample_fn=_41_sample,
)


# ------------------------------------------------------------------------------ Thm D.1
@per_instance
def _d1_prescription(inst: Instance) -> tuple[int, float]:
    """Thm D.1's ``(n, μ)``; ``(0, 0.0)`` for an infinite class."""
    p = inst.params
    log_size = _log_size(inst)
    if not math.isfinite(log_size):
        return 0, 0.0
    n = bounds.sft_num_prompts(log_size, p["eps"], delta=p["delta"], rho=p["rho"], constant=p["constant"])
    return n, bounds.adaptive_stop_level(p["delta"])


def _d1_realizable(inst: Instance) -> AssumptionResult:
    n, mu = _d1_prescription(inst)
    if n == 0:
        return AssumptionResult("realizable", False, None, None, "no prescription: the class is infinite")
    return _ADAPTIVE.realizable(inst, mu, f"the law of the response the adaptive rule keeps (μ = ln(2/δ) = {mu:.4g}) "
                                          "∈ Π")


def _d1_promise(inst: Instance) -> dict:
    p = inst.params
    n, mu = _d1_prescription(inst)
    if n == 0:
        return {"n": 0, "stop_level": mu}
    draws = float(np.asarray(inst.problem.prompt_probs) @ expected_adaptive_draws(inst.problem, mu))
    bound = bounds.adaptive_sft_upper_bound(adaptive_coverage(inst.problem), _log_size(inst),
                                            p["eps"], delta=p["delta"], rho=p["rho"], constant=p["constant"])
    return {"n": n, "stop_level": mu, "E[m] (exact, n E_x E[N_mu])": n * draws, "E[m] bound (Thm D.1)": bound,
            "P[err_delta <= eps] >=": 1 - p["rho"]}


def _d1_sample(inst: Instance, key, num_seeds: int, confidence: float) -> Conclusion:
    p = inst.params
    n, mu = _d1_prescription(inst)
    if n == 0:
        return _no_prescription(inst, ": the class is infinite")
    _within_budget("Thm D.1", "n", n)
    cls = _ADAPTIVE.fitted(inst, mu)

    err = _run_seeds(lambda k: adaptive_sft_sharpening(k, inst.problem, cls, n=n, stop_level=mu, delta=p["delta"],
                                                       return_policy=False).error, key, num_seeds)
    return _success_rate(err, p["eps"], p["rho"], confidence, f"n = {n}, μ = {mu:.4g}")


THM_D1 = Theorem(
    id="Thm D.1",
    title="adaptive SFT-Sharpening reaches error ε with E[m] ≍ C̄_cov log(|Π|/ρ) log(1/δ)/(δ ε)",
    statement=("If the law of the response App D's adaptive rule keeps lies in a finite class Π, adaptive "
               "SFT-Sharpening with μ = ln(2/δ) and n = c log(|Π|/ρ)/(δε) prompts outputs π̂ with err_δ(π̂) ≤ ε "
               "with probability ≥ 1 − ρ, using E[m] = n E_x[E N_μ(x)] ≲ C̄_cov log(|Π|/ρ) log(2/δ)/(δε) queries "
               "(Thm D.1; C̄_cov = E_x[1/max_y π_base(y|x)]; c is `constant`)."),
    kind="statistical",
    assumptions=(Assumption("finite_class", "Π is finite (log|Π| < ∞)", _finite),
                 Assumption("realizable", "the adaptive rule's law of the kept response lies in Π "
                            "(classes.is_adaptive_realizable)", _d1_realizable)),
    defaults={"model_class": None, "eps": 0.1, "delta": 0.1, "rho": 0.1, "constant": 1.0, "adaptive_closed": True},
    promise_fn=_d1_promise,
    conclusion_fn=lambda inst: _needs_sampling("Thm D.1"),
    validate_fn=_validate_sft,
    sample_fn=_d1_sample,
)


# ------------------------------------------------------------------------------ Thm 4.2
def _members(cls) -> np.ndarray:
    """``[K, X, Y]`` member probabilities of a finite class."""
    return np.exp(np.asarray(cls.log_probs, np.float64))


def _validate_42(problem, params):
    cls = params["model_class"]
    if isinstance(cls, classes.ProductClass):
        params["model_class"] = cls = cls.to_finite()
    if not isinstance(cls, classes.FiniteClass):
        raise TypeError("`model_class` must be a FiniteClass or ProductClass (Thm 4.2 is for a finite class whose "
                        f"coefficients are computed over its members); got {type(cls).__name__}")
    classes.bind(cls, problem)
    _check_levels(params)
    if params["margin"] is not None:
        params["margin"] = v.check_positive("margin", params["margin"])
    if params["beta"] is not None:
        params["beta"] = v.check_positive("beta", params["beta"])


@per_instance
def _measured_margin(inst: Instance) -> float:
    """γ_margin of π_base, measured."""
    return margin(inst.problem)


def _42_margin(inst: Instance) -> float:
    """The margin the prescription uses: the ``margin`` parameter, or the measured one."""
    m = inst.params["margin"]
    return _measured_margin(inst) if m is None else m


@per_instance
def _42_members(inst: Instance) -> np.ndarray:
    """``[K, X, Y]`` member probabilities of the instance's (finite) class."""
    return _members(inst.params["model_class"])


@per_instance
def _42_beta(inst: Instance) -> float:
    p = inst.params
    if p["beta"] is not None:
        return p["beta"]
    gm = _42_margin(inst)
    return bounds.rlhf_beta(gm, eps=p["eps"], delta=p["delta"]) if gm > 0 else 0.0


@per_instance
def _42_coefficients(inst: Instance) -> tuple[float, float]:
    """``(max_π C_π, max_π C_{π_base/π;β})`` over the class's members (Eq 9), exactly."""
    beta = _42_beta(inst)
    base = _tabular_probs(inst.problem)[None]
    pi = _42_members(inst)
    mu = np.asarray(inst.problem.prompt_probs, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        c_pi = np.where(pi > 0, pi**2 / base, 0.0).sum(axis=2) @ mu
        ratio = np.where(base > 0, np.where(pi > 0, (base / pi) ** beta, np.inf), 0.0) if beta > 0 else np.ones_like(pi)
        c_loss = np.where(base > 0, base * ratio, 0.0).sum(axis=2) @ mu
    return float(np.max(c_pi)), float(np.max(c_loss))


def _42_realizable(inst: Instance) -> AssumptionResult:
    beta = _42_beta(inst)
    if beta <= 0:
        return AssumptionResult("realizable", False, None, None, "no β: the margin is 0")
    target = np.exp(np.asarray(kl_regularized_optimum(inst.problem, beta).log_probs, np.float64))
    gap = np.abs(_42_members(inst) - target[None]).max(axis=2)[:, _support(inst.problem)]
    ok = float(gap.max(axis=1).min()) <= 1e-9  # the comparison of classes.is_realizable
    distance = _closest_tv(inst.params["model_class"], target, _support(inst.problem))
    return AssumptionResult("realizable", ok, distance, 0.0, f"π*_β ∈ Π at β = {beta:.4g}{_tv_detail(distance)}")


def _42_margin_check(inst: Instance) -> AssumptionResult:
    measured = _measured_margin(inst)
    claimed = inst.params["margin"]
    if claimed is None:
        return AssumptionResult("margin", measured > 0, measured, 0.0,
                                "γ_margin of π_base (Assumption 4.2), measured; the prescription uses it")
    return AssumptionResult("margin", measured >= claimed * (1 - 1e-12), measured, claimed,
                            "γ_margin of π_base (Assumption 4.2) against the margin the prescription uses")


def _42_concentrability(inst: Instance) -> AssumptionResult:
    c_pi, c_loss = _42_coefficients(inst)
    ok = math.isfinite(c_pi) and math.isfinite(c_loss)
    return AssumptionResult("bounded_concentrability", ok, {"C_conc": c_pi, "C_loss": c_loss}, None,
                            "max over members of C_π and of C_(π_base/π;β) (Eq 9), exactly; finite is required")


@per_instance
def _42_prescription(inst: Instance) -> tuple[int, float]:
    """Thm 4.2's ``(n, β)``: ``n = 0`` when the margin is 0 or a coefficient is unbounded."""
    p = inst.params
    gm, beta = _42_margin(inst), _42_beta(inst)
    c_pi, c_loss = _42_coefficients(inst)
    log_size = _log_size(inst)
    if not (gm > 0 and beta > 0 and math.isfinite(c_pi) and math.isfinite(c_loss)):
        return 0, beta
    m = bounds.rlhf_upper_bound(max(c_pi, 1.0), max(c_loss, 1.0), log_size, p["eps"], margin=gm, delta=p["delta"],
                                rho=p["rho"], constant=p["constant"])
    return max(1, math.ceil(m / 2)), beta


def _42_promise(inst: Instance) -> dict:
    n, beta = _42_prescription(inst)
    c_pi, c_loss = _42_coefficients(inst) if beta > 0 else (float("nan"), float("nan"))
    return {"n": n, "m = 2n": 2 * n, "beta": beta, "C_conc": c_pi, "C_loss": c_loss,
            "P[err_delta <= eps] >=": 1 - inst.params["rho"]}


def _42_sample(inst: Instance, key, num_seeds: int, confidence: float) -> Conclusion:
    p = inst.params
    n, beta = _42_prescription(inst)
    if n == 0:
        return _no_prescription(inst, " (margin 0 or unbounded coefficients)")
    _within_budget("Thm 4.2", "n", n)
    cls = p["model_class"]

    err = _run_seeds(lambda k: rlhf_sharpening(k, inst.problem, cls, n=n, beta=beta, delta=p["delta"]).error, key,
                     num_seeds)
    return _success_rate(err, p["eps"], p["rho"], confidence, f"n = {n} pairs, β = {beta:.4g}")


THM_42 = Theorem(
    id="Thm 4.2",
    title="RLHF-Sharpening (Eq 8) reaches error ε with m ≍ C_conc log³(C_loss|Π|/ρ)/(γ_margin² δ² ε²)",
    statement=("If π*_β ∈ Π for a finite class Π whose members have C_π ≤ C_conc and C_(π_base/π;β) ≤ C_loss "
               "(Eq 9), and π_base has margin γ_margin (Assumption 4.2), then RLHF-Sharpening (the Eq 8 "
               "regression on n pairs drawn from π_base) with β = γ_margin δ ε and m = 2n = c C_conc "
               "log³(C_loss|Π|/ρ)/(γ_margin² δ² ε²) outputs π̂ with err_δ(π̂) ≤ ε with probability ≥ 1 − ρ "
               "(Thm 4.2; c is `constant`, and the Õ's further log factors are not added)."),
    kind="statistical",
    assumptions=(Assumption("finite_class", "Π is finite (log|Π| < ∞)", _finite),
                 Assumption("realizable", "π*_β ∈ Π at the prescribed β", _42_realizable),
                 Assumption("margin", "π_base has margin γ_margin > 0, at least the one the prescription uses "
                            "(Assumption 4.2)", _42_margin_check),
                 Assumption("bounded_concentrability", "C_π and C_(π_base/π;β) are finite over Π (the bound's "
                            "C_conc and C_loss are their maxima)", _42_concentrability)),
    defaults={"model_class": None, "eps": 0.1, "delta": 0.1, "rho": 0.1, "constant": 1.0, "margin": None,
              "beta": None},
    promise_fn=_42_promise,
    conclusion_fn=lambda inst: _needs_sampling("Thm 4.2"),
    validate_fn=_validate_42,
    sample_fn=_42_sample,
    optional=frozenset({"margin", "beta"}),
)


# ------------------------------------------------------------------------- Thm 4.3 / J.2
def _validate_43(problem, params):
    cls = params["model_class"]
    if not isinstance(cls, classes.LinearSoftmaxClass):
        raise TypeError(f"`model_class` must be a LinearSoftmaxClass (Def J.3); got {type(cls).__name__}")
    classes.bind(cls, problem)
    _check_levels(params)
    if params["margin"] is not None:
        params["margin"] = v.check_positive("margin", params["margin"])
    if params["T"] is not None:
        params["T"] = v.check_positive_int("T", params["T"])
    if params["alpha"] is not None:
        params["alpha"] = v.check_at_least("alpha", params["alpha"], 0.0)


@per_instance
def _43_beta(inst: Instance) -> float:
    """Thm J.2's β = γ_margin/(2 log(2|Y|/δ)); 0 when the margin is 0."""
    gm = _42_margin(inst)
    return bounds.xpo_beta(gm, inst.problem.num_responses, delta=inst.params["delta"]) if gm > 0 else 0.0


def _43_member(cls, policy: TabularPolicy, support: np.ndarray) -> tuple[float, float]:
    """``(residual, ‖θ‖)`` of the least-squares fit ``log π(y|x) = ⟨φ(x,y), θ⟩ + c(x)`` on the prompts of
    the support (``inf`` residual if π has a zero there)."""
    lp = np.asarray(policy.log_probs, np.float64)[support]
    if not np.isfinite(lp).all():
        return float("inf"), float("nan")
    f = np.asarray(cls.features, np.float64)[support]  # [X', Y, d]
    fc = f - f.mean(axis=1, keepdims=True)
    lc = lp - lp.mean(axis=1, keepdims=True)
    A, b = fc.reshape(-1, fc.shape[-1]), lc.reshape(-1)
    theta, *_ = np.linalg.lstsq(A, b, rcond=None)
    return float(np.abs(A @ theta - b).max()), float(np.linalg.norm(theta))


def _43_realizable(inst: Instance) -> AssumptionResult:
    beta = _43_beta(inst)
    if beta <= 0:
        return AssumptionResult("realizable", False, None, None, "no β: the margin is 0")
    cls = inst.params["model_class"]
    resid, norm = _43_member(cls, kl_regularized_optimum(inst.problem, beta), _support(inst.problem))
    ok = resid <= 1e-8 and norm <= cls.radius * (1 + 1e-9)
    return AssumptionResult("realizable", ok, {"residual": resid, "norm": norm}, {"residual": 1e-8, "norm": cls.radius},
                            f"π*_β ∈ Π at β = γ_margin/(2 log(2|Y|/δ)) = {beta:.4g}: log π*_β = ⟨φ, θ⟩ + c(x) "
                            "(least squares) with ‖θ‖ ≤ B")


@per_instance
def _43_r_max(inst: Instance) -> float:
    """R_max of π_base (Assumption 4.5)."""
    return r_max(inst.problem)


def _43_bounded(inst: Instance) -> AssumptionResult:
    r = _43_r_max(inst)
    return AssumptionResult("bounded_log_probs", math.isfinite(r), r, None,
                            "R_max = max log(1/π_base(y|x)) over the support (Assumption 4.5); finite is required")


@per_instance
def _43_T(inst: Instance) -> int:
    """The rounds T with 2T >= Thm J.3's m(T) (a fixed point: SEC = d log(T + 1) grows with T)."""
    p = inst.params
    if p["T"] is not None:
        return p["T"]
    gm = _42_margin(inst)
    if not gm > 0:
        return 0
    cls = inst.params["model_class"]
    r = _43_r_max(inst)
    T = 1
    for _ in range(100):
        m = bounds.xpo_linear_upper_bound(cls.dim, cls.radius, r, inst.problem.num_responses,
                                          p["eps"], T=T, margin=gm, delta=p["delta"], rho=p["rho"],
                                          constant=p["constant"])
        need = max(1, math.ceil(m / 2))
        if need <= T:
            return T
        T = need
    return T


@per_instance
def _43_alpha(inst: Instance) -> float:
    """Thm J.1's α at the prescribed T and β (both positive)."""
    p = inst.params
    if p["alpha"] is not None:
        return p["alpha"]
    T, beta = _43_T(inst), _43_beta(inst)
    cls = p["model_class"]
    sec = cls.dim * math.log(T + 1)
    eps_disc = bounds.xpo_eps_disc(p["eps"], delta=p["delta"], sec=sec, T=T)
    return bounds.xpo_alpha(beta, r_max=_43_r_max(inst), v_max=2 * beta * cls.radius,
                            log_covering=cls.log_covering_number(eps_disc), sec=sec, T=T, rho=p["rho"])


def _43_promise(inst: Instance) -> dict:
    beta = _43_beta(inst)
    T = _43_T(inst)
    alpha = _43_alpha(inst) if T and beta > 0 else float("nan")
    return {"T": T, "m = 2T": 2 * T, "beta": beta, "alpha (Alg 1)": alpha,
            "P[err_delta <= eps] >=": 1 - inst.params["rho"]}


def _43_sample(inst: Instance, key, num_seeds: int, confidence: float) -> Conclusion:
    p = inst.params
    beta, T = _43_beta(inst), _43_T(inst)
    if not (T and beta > 0):
        return _no_prescription(inst, ": the margin is 0")
    _within_budget("Thm 4.3", "T", T)
    alpha = _43_alpha(inst)
    cls = p["model_class"]
    theta0 = base_projection(inst.problem, cls)  # Alg 1's π^(1) = π_base, projected on the class once

    err = _run_seeds(lambda k: xpo(k, inst.problem, cls, T=T, beta=beta, alpha=alpha, theta_init=theta0,
                                   select=p["select"], delta=p["delta"]).error, key, num_seeds)
    return _success_rate(err, p["eps"], p["rho"], confidence, f"T = {T} rounds, β = {beta:.4g}, α = {alpha:.4g}")


THM_43 = Theorem(
    id="Thm 4.3",
    title="XPO reaches error ε with m ≍ R_max² SEC log(N(Π)/ρ) log²(|Y|/δ)/(γ_margin² ε² δ²): no C_cov",
    statement=("If π_base has margin γ_margin (Assumption 4.2) and log-probabilities bounded by R_max "
               "(Assumption 4.5), and π*_β ∈ Π at β = γ_margin/(2 log(2|Y|/δ)) for the linear-softmax class "
               "(Def J.3), then XPO (Alg 1) with T rounds, m = 2T = c R_max² SEC log(N(Π, ε_disc)/ρ) "
               "log²(|Y|/δ)/(γ_margin² ε² δ²), SEC = d log(T + 1) (Lemma J.5), log N ≤ d log(6B/ε_disc) "
               "(Lemma J.4) and Thm J.1's α outputs π̂ with err_δ(π̂) ≤ ε with probability ≥ 1 − ρ "
               "(Thm 4.3 / J.2 / J.3; c is `constant`). The iterate is selected by its exact J_β "
               "(select='best'), which a simulation can afford."),
    kind="statistical",
    assumptions=(Assumption("margin", "π_base has margin γ_margin > 0, at least the one the prescription uses "
                            "(Assumption 4.2)", _42_margin_check),
                 Assumption("bounded_log_probs", "R_max < ∞ (Assumption 4.5)", _43_bounded),
                 Assumption("realizable", "π*_β ∈ Π at Thm J.2's β", _43_realizable)),
    defaults={"model_class": None, "eps": 0.1, "delta": 0.1, "rho": 0.1, "constant": 1.0, "margin": None, "T": None,
              "alpha": None, "select": "best"},
    promise_fn=_43_promise,
    conclusion_fn=lambda inst: _needs_sampling("Thm 4.3"),
    validate_fn=_validate_43,
    sample_fn=_43_sample,
    optional=frozenset({"margin", "T", "alpha"}),
)


# ------------------------------------------------------------------------------ Thm 3.1
#: Thm 3.1's target: π̂(y*_γ(x)|x) > 1/2 with γ = 1/2, i.e. ``err_δ`` at δ = 1/2 − 1e-9 (a mass of exactly
#: 1/2 fails), as in the lower-bound figures.
LOWER_BOUND_GAMMA, LOWER_BOUND_DELTA = 0.5, 0.5 - 1e-9


def _validate_31(problem, params):
    cls = params["model_class"]
    if not isinstance(cls, classes.ProductClass):
        raise TypeError("`model_class` must be a ProductClass (the App H family, e.g. "
                        f"problems.lower_bound_family(...).model_class); got {type(cls).__name__}")
    cls.bind(problem)
    _check_levels(params, ("eps", "rho"))
    params["C"] = v.check_at_least("C", params["C"], 1.0)
    params["p"] = v.check_at_least("p", params["p"], 1.0)
    params["coverage_constant"] = v.check_positive("coverage_constant", params["coverage_constant"])


@per_instance
def _31_candidates(inst: Instance):
    """The product class's candidate probabilities ``[X, K, Y]`` and validity ``[X, K]``."""
    cls = inst.params["model_class"]
    return np.exp(np.asarray(cls.log_probs, np.float64)), np.asarray(cls.valid)  # [X, K, Y], [X, K]


def _31_unique(inst: Instance) -> AssumptionResult:
    probs, valid = _31_candidates(inst)
    top = probs.max(axis=2, keepdims=True)
    size = (probs >= (1 - LOWER_BOUND_GAMMA) * top).sum(axis=2)  # |y*_γ| of every candidate
    worst = int(size[valid].max())
    return AssumptionResult("unique_argmax", worst == 1, worst, 1,
                            "largest |y*_γ(x)| (γ = 1/2) over the class's candidates and prompts")


def _31_coverage(inst: Instance) -> float:
    """``sup_{π∈Π} C_cov,γ,p(π)`` over the product class, exactly: per prompt the worst candidate."""
    probs, valid = _31_candidates(inst)
    top = probs.max(axis=2, keepdims=True)
    mass = np.where(probs >= (1 - LOWER_BOUND_GAMMA) * top, probs, 0.0).sum(axis=2)  # π(y^π_γ|x)
    worst = np.where(valid, mass ** -inst.params["p"], 0.0).max(axis=1)
    mu = np.asarray(inst.problem.prompt_probs, np.float64)
    return float((mu @ worst) ** (1 / inst.params["p"]))


def _31_coverage_check(inst: Instance) -> AssumptionResult:
    value = _31_coverage(inst)
    thr = inst.params["coverage_constant"] * inst.params["C"]
    return AssumptionResult("bounded_coverage", value <= thr * (1 + 1e-12), value, thr,
                            "sup over the class of C_cov,γ,p(π) (γ = 1/2), exactly, against coverage_constant · C "
                            "(the construction's ≲)")


@per_instance
def _31_budget(inst: Instance) -> int:
    """The lower bound's budget m (at least 1)."""
    p = inst.params
    log_size = _log_size(inst)
    return max(1, math.floor(bounds.sft_lower_bound(p["C"], log_size, p["eps"], p=p["p"], constant=p["constant"])))


def _31_promise(inst: Instance) -> dict:
    p = inst.params
    log_size = _log_size(inst)
    adaptive = bounds.sft_lower_bound(p["C"], log_size, p["eps"], p=p["p"], adaptive=True, constant=p["constant"])
    return {"m needed by any algorithm >=": _31_budget(inst), "E[m] needed with adaptive sampling >=": adaptive,
            "log|Pi|": log_size, "below it, P[err <= eps] <": 1 - p["rho"]}


def _31_splits(m: int) -> list[tuple[int, int]]:
    """``(n, N)`` with ``N`` a power of two and ``n = ⌊m/N⌋ >= 1``: every split of the budget on a 2× grid."""
    out, N = [], 1
    while N <= m:
        out.append((m // N, N))
        N *= 2
    return out


@functools.partial(jax.jit, static_argnames=("max_n",))
def _31_errors(keys, lp, valid, mu, closed, n, N, *, max_n):
    """SFT-Sharpening's errors on a fresh uniform member of the product class per key."""
    def one(k):
        k_member, k_run = jax.random.split(k)
        idx = jax.random.categorical(k_member, jnp.where(valid, 0.0, -jnp.inf), axis=-1)
        member = Problem(TabularPolicy(lp[jnp.arange(lp.shape[0]), idx]), mu)
        return sft_sharpening(k_run, member, closed, n=n, N=N, delta=LOWER_BOUND_DELTA, gamma=LOWER_BOUND_GAMMA,
                              max_n=max_n, return_policy=False).error

    return jax.vmap(one)(keys)


def _31_sample(inst: Instance, key, num_seeds: int, confidence: float) -> Conclusion:
    p = inst.params
    m = _31_budget(inst)
    _within_budget("Thm 3.1", "m", m)
    cls = p["model_class"]
    lp, valid, mu = cls.log_probs, cls.valid, inst.problem.prompt_probs
    splits = _31_splits(m)
    # one-sided level per split (Bonferroni over the splits): the lower bound is refuted by a split whose
    # success rate is significantly at least 1 − ρ
    level = 1 - (1 - confidence) / len(splits)
    rates = []
    keys = jax.random.split(key, num_seeds)
    for n, N in splits:  # one compilation for every split: n <= max_n and N are traced
        err = np.asarray(_31_errors(keys, lp, valid, mu, classes.bon_closure(cls, N), n, N, max_n=m))
        wins = int((err <= p["eps"]).sum())
        low, _ = clopper_pearson(wins, num_seeds, 2 * level - 1)
        rates.append((wins / num_seeds, low, n, N))
    target = 1 - p["rho"]
    best = max(rates)
    refuted = [r for r in rates if r[1] >= target]
    detail = (f"SFT-Sharpening (MLE over the BoN_N closure) on a fresh random member per run, {num_seeds} runs per "
              f"split of m = {m} over {len(splits)} splits (N = 1, 2, 4, …); best success rate {best[0]:.3f} at "
              f"(n, N) = ({best[2]}, {best[3]}); refuted only if a split's one-sided {100 * level:.4g} % "
              f"Clopper–Pearson lower limit reaches {target:g}")
    return Conclusion(not refuted, best[0], target, detail)


THM_31 = Theorem(
    id="Thm 3.1",
    title="lower bound: sharpening the App H family needs m ≳ C log|Π|/(ε² (1 + log(C/ε))) queries",
    statement=("For d ≥ 1, ε ∈ (0, 1) and C ≥ 1, the App H family (a product class with unique arg-maxes and "
               "sup_π C_cov(π) ≲ C, log|Π| = d log M) is such that any algorithm in the sample-and-evaluate "
               "framework (Def 3.2) that sharpens every member (π̂(y*_γ(x)|x) > 1/2, γ = 1/2, except on an ε "
               "fraction of prompts) needs m ≳ C log|Π|/(ε^{1+1/p} (1 + log(C ε^{−1/p}))) queries (Thm 3.1 / 3.1′; "
               "c is `constant`). The verification runs one algorithm, SFT-Sharpening over the BoN closure, at "
               "that budget: the statement is refuted if it succeeds with probability ≥ 1 − ρ there."),
    kind="statistical",
    assumptions=(Assumption("unique_argmax", "every member has a unique γ-arg-max (γ = 1/2) on every prompt",
                            _31_unique),
                 Assumption("bounded_coverage", "sup_{π∈Π} C_cov,γ,p(π) ≤ coverage_constant · C", _31_coverage_check)),
    defaults={"model_class": None, "eps": None, "C": None, "p": 1.0, "rho": 0.1, "constant": 1.0,
              "coverage_constant": 9.0},
    promise_fn=_31_promise,
    conclusion_fn=lambda inst: _needs_sampling("Thm 3.1"),
    validate_fn=_validate_31,
    sample_fn=_31_sample,
)
