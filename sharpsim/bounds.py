"""The paper's guarantees, one function per result, every hidden constant a parameter.

Each function cites the result it implements. Constants hidden by ``≲`` in the paper are
keyword arguments named ``constant`` (default 1) and are shown in figure legends.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim.coefficients import argmax_mass
from sharpsim.problems import Problem

__all__ = [
    "MARGIN_LEMMA_MAX_GAMMA",
    "adaptive_sft_error_bound",
    "adaptive_sft_upper_bound",
    "adaptive_stop_level",
    "bon_inference",
    "bon_inference_guarantee",
    "lemma_i1_expected_draws",
    "lemma_i1_miss_probability",
    "margin_lemma_beta",
    "rlhf_beta",
    "rlhf_error_bound",
    "rlhf_upper_bound",
    "sft_error_bound",
    "sft_lower_bound",
    "sft_num_prompts",
    "sft_prescription",
    "sft_upper_bound",
    "xpo_alpha",
    "xpo_beta",
    "xpo_eps_disc",
    "xpo_linear_r_max",
    "xpo_linear_upper_bound",
    "xpo_upper_bound",
]


def bon_inference(problem: Problem, *, rho: float, gamma: float = 0.0, constant: float = 1.0) -> np.ndarray:
    """Prop C.1: the number of draws after which inference-time BoN succeeds w.p. ``>= 1 - ρ``.

    If ``N >= log(1/ρ) / π_base(y*_γ(x)|x)`` then the best of N draws lies in ``y*_γ(x)`` with
    probability at least ``1 - ρ`` (because ``(1 - p)^N <= e^{-Np}``). Prop C.1 is sharp
    (``constant = 1``); the parameter is kept for uniformity with the other bounds.

    Args:
      problem: the problem.
      rho: failure probability ρ ∈ (0, 1).
      gamma: the approximation level of ``y*_γ``.
      constant: kept for uniformity (default 1).

    Returns:
      ``[num_prompts]`` float array: ``constant · log(1/ρ) / π_base(y*_γ(x)|x)`` per prompt.
    Raises:
      ValueError: naming the argument out of range.
    """
    rho = v.check_open_unit_interval("rho", rho)
    constant = v.check_positive("constant", constant)
    log_mass = argmax_mass(problem, gamma=gamma)
    return np.asarray(constant * jnp.log(1.0 / rho) * jnp.exp(-log_mass))


def bon_inference_guarantee(problem: Problem, N, *, gamma: float = 0.0) -> float:
    """Prop C.1 read the other way: ``P_{x~μ}[BoN_N pick ∈ y*_γ(x)] >= E_μ[1 - e^{-N π_base(y*_γ(x)|x)}]``.

    Args:
      problem: the problem.
      N: the number of draws (``>= 1``).
      gamma: the approximation level of ``y*_γ``.

    Returns:
      The right-hand side.
    Raises:
      ValueError: naming the argument out of range.
    """
    N = v.check_at_least("N", N, 1.0)
    mass = jnp.exp(argmax_mass(problem, gamma=gamma))
    return float(jnp.sum(problem.prompt_probs * -jnp.expm1(-N * mass)))


# ------------------------------------------------------------------ lower bounds (Sec 3)
def _lb_common(C, log_size, eps, p, constant):
    C = v.check_at_least("C", C, 1.0)
    log_size = v.check_positive("log_size", log_size)
    eps = v.check_open_unit_interval("eps", eps)
    p = v.check_at_least("p", p, 1.0)
    constant = v.check_positive("constant", constant)
    return C, log_size, eps, p, constant


def sft_lower_bound(C, log_size, eps, *, p: float = 1, adaptive: bool = False, constant: float = 1.0) -> float:
    """Thm 3.1 / 3.1′ (and Thm D.2 with ``adaptive=True``): queries any algorithm needs.

    Sample-and-evaluate (Thm 3.1′; Thm 3.1 is ``p = 1``, where the exponent is ``ε^{-2}``)::

        m ≳ C log|Π| / (ε^{1+1/p} (1 + log(C ε^{-1/p})))

    Adaptive sampling (Thm D.2 / 3.1′)::

        E[m] ≳ C log|Π| / (ε^{1/p} (1 + log(C ε^{-1/p})))

    Args:
      C: the coverage level ``C >= 1`` (sup of ``C_cov,γ,p`` over the class).
      log_size: ``log|Π|``.
      eps: target failure probability ε ∈ (0, 1).
      p: moment of the coverage coefficient.
      adaptive: the adaptive-sampling form.
      constant: the absolute constant hidden by ``≳`` (default 1).

    Returns:
      The number of queries.
    Raises:
      ValueError: naming the argument out of range.
    """
    C, log_size, eps, p, constant = _lb_common(C, log_size, eps, p, constant)
    log_term = 1.0 + np.log(C * eps ** (-1.0 / p))
    exponent = 1.0 / p if adaptive else 1.0 + 1.0 / p
    return float(constant * C * log_size / (eps**exponent * log_term))


# ------------------------------------------------------------------ upper bounds (Sec 4)
def _log_class_over_rho(log_size, rho):
    log_size = v.check_at_least("log_size", log_size, 0.0)
    rho = v.check_open_unit_interval("rho", rho)
    return log_size + float(np.log(1.0 / rho))


def sft_upper_bound(coverage, log_size, eps, *, delta, rho, constant: float = 1.0) -> float:
    """Thm 4.1 (Eq 7) in the form the algorithm runs: SFT-Sharpening reaches error ≤ ε at level δ
    w.p. ≥ 1 − ρ with

        m = constant · C_cov log(|Π|/ρ) log(2/δ) / (δ ε²)

    queries. Eq 7 prints ``log(1/δ)``; Thm 4.1′ prescribes ``n ≍ log(|Π|/ρ)/(δ ε)`` prompts and
    ``N = N* log(2/δ)`` draws each with ``N* ≍ C_cov/ε`` (:func:`sft_prescription`), so the budget
    the algorithm actually spends is ``n·N`` with ``log(2/δ)``. The two agree up to the constant
    (``log(2/δ) <= 2 log(1/δ)`` for ``δ <= 1/2``); this function returns the prescription's
    ``n·N`` without the ceilings (``constant = c²`` for :func:`sft_prescription`'s constant ``c``).
    Assumes realizability ``π^BoN_N ∈ Π`` (Assumption 4.1).

    Args:
      coverage: ``C_cov >= 1``.
      log_size: ``log|Π| >= 0``.
      eps, delta, rho: the target ε, the level δ and the failure probability ρ, each in (0, 1).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The number of queries m.
    Raises:
      ValueError: naming the argument out of range.
    """
    coverage = v.check_at_least("coverage", coverage, 1.0)
    eps = v.check_open_unit_interval("eps", eps)
    delta = v.check_open_unit_interval("delta", delta)
    constant = v.check_positive("constant", constant)
    return float(constant * coverage * _log_class_over_rho(log_size, rho) * np.log(2 / delta) / (delta * eps**2))


def sft_num_prompts(log_size, eps, *, delta, rho, constant: float = 1.0) -> int:
    """Thm 4.1's number of prompts ``n = max(1, ⌈c log(|Π|/ρ)/(δ ε)⌉)`` with ``c = constant``.

    Args:
      log_size: ``log|Π|`` (``>= 0``).
      eps: target error ε ∈ (0, 1).
      delta: the level δ ∈ (0, 1) of ``err_δ``.
      rho: failure probability ρ ∈ (0, 1).
      constant: the constant hidden by ``≍`` (default 1).

    Returns:
      The number of prompts, at least 1.

    Raises:
      ValueError: naming the argument out of range.
    """
    eps = v.check_open_unit_interval("eps", eps)
    delta = v.check_open_unit_interval("delta", delta)
    constant = v.check_positive("constant", constant)
    n = int(np.ceil(constant * _log_class_over_rho(log_size, rho) / (delta * eps)))
    return max(n, 1)


def sft_prescription(coverage, log_size, eps, *, delta, rho, constant: float = 1.0) -> tuple[int, int]:
    """Thm 4.1's choice of ``(n, N)``: ``n = ⌈c log(|Π|/ρ)/(δ ε)⌉``, ``N = ⌈c C_cov log(2/δ)/ε⌉``
    (``N = N* log(2/δ)`` with ``N* = c C_cov/ε``); ``c = constant``.

    Args:
      coverage: ``C_cov >= 1``.
      log_size: ``log|Π|`` (``>= 0``).
      eps, delta, rho: the target ε, the level δ and the failure probability ρ, each in (0, 1).
      constant: the constant hidden by ``≍`` (default 1).

    Returns:
      ``(n, N)``, each at least 1 (``n`` is :func:`sft_num_prompts`).

    Raises:
      ValueError: naming the argument out of range.
    """
    coverage = v.check_at_least("coverage", coverage, 1.0)
    eps = v.check_open_unit_interval("eps", eps)
    delta = v.check_open_unit_interval("delta", delta)
    constant = v.check_positive("constant", constant)
    n = sft_num_prompts(log_size, eps, delta=delta, rho=rho, constant=constant)
    N = int(np.ceil(constant * coverage * np.log(2 / delta) / eps))
    return n, max(N, 1)


def sft_error_bound(coverage, log_size, *, n, N_star, delta, rho, constant: float = 1.0) -> float:
    """Thm 4.1′: with ``N = N* log(2/δ)`` draws per prompt, w.p. ≥ 1 − ρ,

        P_x[π̂(y*_γ(x)|x) ≤ 1 − 2δ] ≤ constant · ( log(|Π|/ρ)/(δ n) + C_cov,γ / N* ).

    Args:
      coverage: ``C_cov,γ >= 1``.
      log_size: ``log|Π| >= 0``.
      n: the number of prompts (``> 0``).
      N_star: ``N*`` (``> 0``).
      delta, rho: the level δ and the failure probability ρ, each in (0, 1).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The bound on the error.
    Raises:
      ValueError: naming the argument out of range.
    """
    coverage = v.check_at_least("coverage", coverage, 1.0)
    n = v.check_positive("n", n)
    N_star = v.check_positive("N_star", N_star)
    delta = v.check_open_unit_interval("delta", delta)
    constant = v.check_positive("constant", constant)
    return float(constant * (_log_class_over_rho(log_size, rho) / (delta * n) + coverage / N_star))


def adaptive_sft_upper_bound(adaptive_coverage, log_size, eps, *, delta, rho, constant: float = 1.0) -> float:
    """Thm D.1: adaptive SFT-Sharpening with ``μ = ln(2/δ)`` reaches error ≤ ε w.p. ≥ 1 − ρ with

        E[m] = constant · C̄_cov log(|Π|/ρ) log(2/δ) / (δ ε)

    (1/ε instead of Thm 4.1's 1/ε², matching Thm D.2). Assumes the adaptive BoN law is realizable.
    Thm D.1 prints ``log(1/δ)`` inside its ``O(·)``; the rule the algorithm runs stops at level
    ``μ = ln(2/δ)`` and draws about ``μ C̄_cov`` responses per prompt, so this returns the
    ``log(2/δ)`` the algorithm spends (as :func:`sft_upper_bound` does for Eq 7); the two agree up
    to the constant (``log(2/δ) <= 2 log(1/δ)`` for ``δ <= 1/2``).

    Args:
      adaptive_coverage: ``C̄_cov >= 1`` (App D).
      log_size: ``log|Π| >= 0``.
      eps, delta, rho: the target ε, the level δ and the failure probability ρ, each in (0, 1).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The expected number of queries.
    Raises:
      ValueError: naming the argument out of range.
    """
    adaptive_coverage = v.check_at_least("adaptive_coverage", adaptive_coverage, 1.0)
    eps = v.check_open_unit_interval("eps", eps)
    delta = v.check_open_unit_interval("delta", delta)
    constant = v.check_positive("constant", constant)
    return float(constant * adaptive_coverage * _log_class_over_rho(log_size, rho) * np.log(2 / delta) / (delta * eps))


def adaptive_sft_error_bound(log_size, *, n, delta, rho, constant: float = 1.0) -> float:
    """Thm D.1 (finite-n form): error ≤ ``constant · log(|Π|/ρ)/(δ n)``.

    Args:
      log_size: ``log|Π| >= 0``.
      n: the number of prompts (``> 0``).
      delta, rho: the level δ and the failure probability ρ, each in (0, 1).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The bound on the error.
    Raises:
      ValueError: naming the argument out of range.
    """
    n = v.check_positive("n", n)
    delta = v.check_open_unit_interval("delta", delta)
    constant = v.check_positive("constant", constant)
    return float(constant * _log_class_over_rho(log_size, rho) / (delta * n))


def adaptive_stop_level(delta) -> float:
    """Thm D.1's stop level ``μ = ln(2/δ)`` of App D's adaptive rule.

    With it, the response the rule keeps misses ``y*(x)`` with probability at most
    ``e^{-μ} = δ/2`` (Lemma I.1).

    Args:
      delta: the level δ ∈ (0, 1).

    Returns:
      ``ln(2/δ)``.

    Raises:
      ValueError: if δ is not in (0, 1).
    """
    delta = v.check_open_unit_interval("delta", delta)
    return float(np.log(2 / delta))


def lemma_i1_expected_draws(stop_level, p_star, num_argmax: int = 1) -> float:
    """Lemma I.1: ``E[N_μ(x)] ≤ (μ + 1/|y*(x)|) / P*`` with ``P* = max_y π_base(y|x)``.

    Args:
      stop_level: μ > 0.
      p_star: ``P*`` ∈ (0, 1].
      num_argmax: ``|y*(x)| >= 1``.

    Returns:
      The bound on the expected number of draws.
    Raises:
      ValueError: naming the argument out of range.
    """
    stop_level = v.check_positive("stop_level", stop_level)
    p_star = v.check_positive("p_star", p_star)
    if p_star > 1:
        raise ValueError(f"`p_star` must be a probability in (0, 1]; got {p_star}")
    num_argmax = v.check_at_least("num_argmax", num_argmax, 1.0)
    return float((stop_level + 1.0 / num_argmax) / p_star)


def lemma_i1_miss_probability(stop_level, num_argmax: int = 1) -> float:
    """Lemma I.1: the response kept at ``N_μ`` misses ``y*(x)`` w.p. ≤ ``e^{-|y*(x)| μ}``.

    Args:
      stop_level: μ > 0.
      num_argmax: ``|y*(x)| >= 1``.

    Returns:
      The bound on the miss probability.
    Raises:
      ValueError: naming the argument out of range.
    """
    stop_level = v.check_positive("stop_level", stop_level)
    num_argmax = v.check_at_least("num_argmax", num_argmax, 1.0)
    return float(np.exp(-num_argmax * stop_level))


# ------------------------------------------------------------- RLHF-Sharpening and XPO
def rlhf_upper_bound(C_conc, C_loss, log_size, eps, *, margin, delta, rho, constant: float = 1.0) -> float:
    """Thm 4.2: RLHF-Sharpening (Eq 8) with ``β ≲ γ_margin δ ε`` reaches error ≤ ε w.p. ≥ 1 − ρ with

        m = constant · C_conc log³(C_loss |Π|/ρ) / (γ_margin² δ² ε²)

    queries (two responses per prompt; ``Õ`` hides further log factors, which are not added).
    Assumes ``π*_β ∈ Π``, ``C_π <= C_conc`` and ``C_{π_base/π;β} <= C_loss`` for all ``π ∈ Π``.

    Args:
      C_conc, C_loss: the concentrability bounds (each ``>= 1``).
      log_size: ``log|Π| >= 0``.
      eps: the target ε ∈ (0, 1).
      margin: ``γ_margin > 0``.
      delta, rho: the level δ and the failure probability ρ, each in (0, 1).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The number of queries m.
    Raises:
      ValueError: naming the argument out of range.
    """
    C_conc = v.check_at_least("C_conc", C_conc, 1.0)
    C_loss = v.check_at_least("C_loss", C_loss, 1.0)
    eps = v.check_open_unit_interval("eps", eps)
    margin = v.check_positive("margin", margin)
    delta = v.check_open_unit_interval("delta", delta)
    constant = v.check_positive("constant", constant)
    log_term = np.log(C_loss) + _log_class_over_rho(log_size, rho)
    return float(constant * C_conc * log_term**3 / (margin**2 * delta**2 * eps**2))


def rlhf_error_bound(C_conc, C_loss, log_size, *, n, beta, margin, delta, rho, gamma: float = 0.0,
                     constant: float = 1.0) -> float:
    """Thm 4.2′ (App J.1; the finite-n form of Thm 4.2): with probability ``>= 1 − ρ``,

        P_x[π̂(y*_γ(x)|x) <= 1 − δ] <= constant/(γ_margin δ) · ( sqrt(C_conc log³(C_loss |Π|/ρ)/n)
                                                               + β log C_conc + γ ).

    ``γ ∈ [0, 1)`` is the tolerance of the arg-max set ``y*_γ`` (the responses within a factor
    ``1 − γ`` of the arg-max; Assumptions J.1/J.2 hold with respect to it) and ``γ = 0`` gives
    Thm 4.2. It is not the margin ``γ_margin``, which only divides. (The proof's last step lower
    bounds ``J(π*) − J(π̂)`` by ``log(1 + γ_margin) δ P[...]``; the statement writes ``γ_margin``,
    equal up to a factor ``<= 1/log 2`` for ``γ_margin <= 1``.) The ``Õ``'s log factors are not added.

    Args:
      C_conc, C_loss: the concentrability bounds (each ``>= 1``).
      log_size: ``log|Π| >= 0``.
      n: the number of pairs (``> 0``).
      beta: β > 0.
      margin: ``γ_margin > 0``.
      delta, rho: the level δ and the failure probability ρ, each in (0, 1).
      gamma: the tolerance γ ∈ [0, 1) of ``y*_γ`` (default 0: Thm 4.2).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The bound on the error (it can be below 1, e.g. for large ``n``, small β and ``γ = 0``).
    Raises:
      ValueError: naming the argument out of range.
    """
    C_conc = v.check_at_least("C_conc", C_conc, 1.0)
    C_loss = v.check_at_least("C_loss", C_loss, 1.0)
    n = v.check_positive("n", n)
    beta = v.check_positive("beta", beta)
    margin = v.check_positive("margin", margin)
    delta = v.check_open_unit_interval("delta", delta)
    gamma = v.check_unit_interval("gamma", gamma)
    constant = v.check_positive("constant", constant)
    log_term = np.log(C_loss) + _log_class_over_rho(log_size, rho)
    inner = np.sqrt(C_conc * log_term**3 / n) + beta * np.log(C_conc) + gamma
    return float(constant * inner / (margin * delta))


def rlhf_beta(margin, *, eps, delta, constant: float = 1.0) -> float:
    """Thm 4.2's choice ``β = constant · γ_margin δ ε``.

    Args:
      margin: ``γ_margin > 0``.
      eps, delta: the target ε and the level δ, each in (0, 1).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      β.
    Raises:
      ValueError: naming the argument out of range.
    """
    margin = v.check_positive("margin", margin)
    eps = v.check_open_unit_interval("eps", eps)
    delta = v.check_open_unit_interval("delta", delta)
    return float(v.check_positive("constant", constant) * margin * delta * eps)


def xpo_beta(margin, num_responses, *, delta) -> float:
    """Thm 4.3's ``β = γ_margin / (2 log(2|Y|/δ))``, under which ``π*_β(y*|x) >= 1 − δ/2`` (for
    ``γ_margin <=`` :data:`MARGIN_LEMMA_MAX_GAMMA`; see ``theory/kl_optimum.md``).

    Args:
      margin: ``γ_margin > 0``, used as given (:func:`margin_lemma_beta` caps it to the lemma's range).
      num_responses: ``|Y| >= 1``.
      delta: the level δ ∈ (0, 1).

    Returns:
      β.

    Raises:
      ValueError: naming the argument out of range.
    """
    margin = v.check_positive("margin", margin)
    num_responses = v.check_positive_int("num_responses", num_responses)
    delta = v.check_open_unit_interval("delta", delta)
    return float(margin / (2.0 * np.log(2.0 * num_responses / delta)))


#: ``γ₀ ≈ 2.5129``, the positive root of ``log(1 + γ) = γ/2``: the margin lemma's proof uses
#: ``log(1 + γ) >= γ/2``, which holds exactly for ``0 <= γ <= γ₀`` (``theory/kl_optimum.md``).
MARGIN_LEMMA_MAX_GAMMA = 2.512862417252339


def margin_lemma_beta(margin, num_responses, *, delta) -> float:
    """The margin lemma's ``β = min(γ_margin, γ₀) / (2 log(2|Y|/δ))`` (Thm 4.3's choice of β).

    The lemma (in the proof of Thm 4.3, Huang et al., ICLR 2025): if the base has margin
    ``γ_margin`` on every prompt (Assumption 4.2) and ``β <= γ/(2 log(2|Y|/δ))``, then
    ``π*_β(y*(x)|x) >= 1 − δ/2`` on every prompt. Its proof needs ``log(1 + γ) >= γ/2``, true for
    ``γ <= γ₀ =`` :data:`MARGIN_LEMMA_MAX_GAMMA` only; a base with margin γ also has every smaller
    margin, so a larger margin is used at ``γ₀``.

    Args:
      margin: ``γ_margin >= 0`` (e.g. ``sharpsim.margin(problem)``; ``inf`` is allowed and capped
        like any margin above ``γ₀``; a margin of 0 gives β = 0, where the lemma says nothing).
      num_responses: ``|Y| >= 1``.
      delta: the level δ ∈ (0, 1).

    Returns:
      β.

    Raises:
      ValueError: naming the argument out of range.
    """
    gamma = margin
    if not isinstance(margin, bool):
        try:
            gamma = min(float(margin), MARGIN_LEMMA_MAX_GAMMA)  # an infinite margin is capped too
        except (TypeError, ValueError):
            pass  # not a number: the check below names it
    gamma = v.check_at_least("margin", gamma, 0.0)
    num_responses = v.check_positive_int("num_responses", num_responses)
    delta = v.check_open_unit_interval("delta", delta)
    return float(gamma / (2.0 * np.log(2.0 * num_responses / delta)))


def xpo_alpha(beta, *, r_max, v_max, log_covering, sec, T, rho, form: str = "alg1") -> float:
    """The optimism weight α of Thm J.1's proof, in the normalisation ``form``.

    Thm J.1 prints ``α_J1 = β/(R_max + V_max) · sqrt(log(2 N(Π, ε_disc) T/ρ) / (SEC · T))``
    (``log_covering`` is ``log N(Π, ε_disc)``). Its proof (App J.2.2) minimises
    ``L̂ = Σ β log π(y'|x) + β/(α (R_max + V_max)²) Σ (residual)²``, i.e. (times α/β)
    ``α Σ log π(y'|x) + Σ (residual)² / (R_max + V_max)²``, while Alg 1 as printed weights the
    square loss by 1: ``α Σ log π(y'|x) + Σ (residual)²``. The two objectives have the same
    minimiser when Alg 1's α is ``α_J1 (R_max + V_max)²``.

    * ``form="alg1"`` (default): the coefficient for Alg 1's normalisation, which is the one
      :func:`sharpsim.algorithms.xpo` minimises: ``β (R_max + V_max) sqrt(log(2 N T/ρ)/(SEC T))``.
    * ``form="thm_j1"``: the printed ``α_J1``, valid only with the square loss divided by
      ``(R_max + V_max)²`` (the proof's ``L̂``); it is smaller by the factor ``(R_max + V_max)²``.

    Args:
      beta: β > 0.
      r_max: ``R_max > 0`` (Assumption 4.5).
      v_max: ``V_max >= 0``, the bound on ``β|log π/π_base|`` over the class.
      log_covering: ``log N(Π, ε_disc) >= 0``.
      sec: the sequential extrapolation coefficient (``> 0``).
      T: the number of rounds (``>= 1``).
      rho: failure probability ρ ∈ (0, 1).
      form: ``"alg1"`` or ``"thm_j1"`` (see above).

    Returns:
      α.
    Raises:
      ValueError: naming the argument out of range, or an unknown ``form``.
    """
    beta = v.check_positive("beta", beta)
    r_max = v.check_positive("r_max", r_max)
    v_max = v.check_at_least("v_max", v_max, 0.0)
    log_covering = v.check_at_least("log_covering", log_covering, 0.0)
    sec = v.check_positive("sec", sec)
    T = v.check_positive_int("T", T)
    rho = v.check_open_unit_interval("rho", rho)
    if form not in ("alg1", "thm_j1"):
        raise ValueError(f"`form` must be 'alg1' (Alg 1's normalisation, used by algorithms.xpo) or 'thm_j1' "
                         f"(the printed α of Thm J.1); got {form!r}")
    root = np.sqrt((np.log(2.0 * T / rho) + log_covering) / (sec * T))
    scale = r_max + v_max
    return float(beta * scale * root if form == "alg1" else beta / scale * root)


def xpo_upper_bound(r_max, sec, log_covering, num_responses, eps, *, margin, delta, rho,
                    constant: float = 1.0) -> float:
    """Thm 4.3 / J.2: XPO with ``β = γ_margin/(2 log(2|Y|/δ))`` reaches error ≤ ε w.p. ≥ 1 − ρ with

        m = constant · R_max² SEC log(N(Π, ε_disc)/ρ) log²(|Y|/δ) / (γ_margin² ε² δ²)

    queries: no coverage coefficient. ``log_covering`` is ``log N(Π, ε_disc)``.

    Args:
      r_max: ``R_max > 0`` (Assumption 4.5).
      sec: the sequential extrapolation coefficient (``> 0``).
      log_covering: ``log N(Π, ε_disc) >= 0``.
      num_responses: ``|Y| >= 1``.
      eps: the target ε ∈ (0, 1).
      margin: ``γ_margin > 0``.
      delta, rho: the level δ and the failure probability ρ, each in (0, 1).
      constant: the constant hidden by ``≲`` (default 1).

    Returns:
      The number of queries m.
    Raises:
      ValueError: naming the argument out of range.
    """
    r_max = v.check_positive("r_max", r_max)
    sec = v.check_positive("sec", sec)
    log_covering = v.check_at_least("log_covering", log_covering, 0.0)
    num_responses = v.check_positive_int("num_responses", num_responses)
    eps = v.check_open_unit_interval("eps", eps)
    margin = v.check_positive("margin", margin)
    delta = v.check_open_unit_interval("delta", delta)
    rho = v.check_open_unit_interval("rho", rho)
    constant = v.check_positive("constant", constant)
    return float(constant * r_max**2 * sec * (log_covering + np.log(1 / rho)) * np.log(num_responses / delta) ** 2
                 / (margin**2 * eps**2 * delta**2))


def xpo_linear_r_max(radius, num_responses, beta) -> float:
    """Thm J.3's ``R_max = sqrt(4 β² B² + (2B + log|Y|)²)`` for a base in the linear-softmax ball
    of radius B (``|log π_base(y|x)| <= 2B + log|Y|``).

    Args:
      radius: B > 0.
      num_responses: ``|Y| >= 1``.
      beta: β > 0.

    Returns:
      ``R_max``.
    Raises:
      ValueError: naming the argument out of range.
    """
    radius = v.check_positive("radius", radius)
    num_responses = v.check_positive_int("num_responses", num_responses)
    beta = v.check_positive("beta", beta)
    return float(np.sqrt(4 * beta**2 * radius**2 + (2 * radius + np.log(num_responses)) ** 2))


def xpo_eps_disc(eps, *, delta, sec, T, constant: float = 1.0) -> float:
    """Thm J.2's discretisation ``ε_disc = constant · ε δ / sqrt(SEC · T)`` (the theorem asks for
    ``ε_disc <= c_J.2 ε δ / sqrt(SEC T)``; ``constant`` plays ``c_J.2``), capped below 1.

    Args:
      eps, delta: the target ε and the level δ, each in (0, 1).
      sec: the sequential extrapolation coefficient (``> 0``).
      T: the number of rounds (``>= 1``).
      constant: ``c_J.2`` (default 1).

    Returns:
      ``ε_disc`` in (0, 1).
    Raises:
      ValueError: naming the argument out of range.
    """
    eps = v.check_open_unit_interval("eps", eps)
    delta = v.check_open_unit_interval("delta", delta)
    sec = v.check_positive("sec", sec)
    T = v.check_positive_int("T", T)
    constant = v.check_positive("constant", constant)
    return float(min(constant * eps * delta / np.sqrt(sec * T), 1.0 - 1e-12))


def xpo_linear_upper_bound(dim, radius, r_max, num_responses, eps, *, T, margin, delta, rho,
                           eps_disc: float | None = None, constant: float = 1.0) -> float:
    """Thm J.3: :func:`xpo_upper_bound` for the linear-softmax class, with Lemma J.5's
    ``SEC <= d log(T + 1)`` and Lemma J.4's ``log N <= d log(6B/ε_disc)`` — poly(d, B, 1/ε, 1/δ,
    1/γ_margin, log(|Y|/ρ)).

    Unless given, ``r_max`` is Thm J.3's :func:`xpo_linear_r_max` at Thm J.3's
    ``β = γ_margin/(2 log(2|Y|/δ))`` and ``eps_disc`` is Thm J.2's condition
    :func:`xpo_eps_disc` (constant 1) at ``SEC = d log(T + 1)``.

    Args:
      dim: the feature dimension d (``>= 1``).
      radius: the class's radius B (``> 0``).
      r_max: ``R_max > 0``, or ``None`` for Thm J.3's value.
      num_responses, eps, margin, delta, rho, constant: as in :func:`xpo_upper_bound`.
      T: the number of rounds (``>= 1``).
      eps_disc: the covering's discretisation (``> 0``), or ``None`` for Thm J.2's condition.

    Returns:
      The number of queries m.

    Raises:
      ValueError: naming the argument out of range.
    """
    dim = v.check_positive_int("dim", dim)
    radius = v.check_positive("radius", radius)
    T = v.check_positive_int("T", T)
    sec = dim * np.log(T + 1)
    if r_max is None:
        beta = xpo_beta(margin, num_responses, delta=delta)
        r_max = xpo_linear_r_max(radius, num_responses, beta)
    if eps_disc is None:
        eps_disc = xpo_eps_disc(eps, delta=delta, sec=sec, T=T)
    eps_disc = v.check_positive("eps_disc", eps_disc)
    log_cov = dim * np.log(max(6 * radius / eps_disc, 1.0))
    return xpo_upper_bound(r_max, sec, log_cov, num_responses, eps, margin=margin, delta=delta, rho=rho,
                           constant=constant)
