"""The paper's exact statements as :class:`~sharpsim.theorems.Theorem` objects.

Each conclusion is evaluated exactly from sharpsim's closed forms (the BoN law, ``π*_β``, the
adaptive rule's law, enumeration of ``V^H``); comparisons allow a relative ``1e-9`` for float
rounding, always in the theorem's favour.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim import bounds
from sharpsim.coefficients import as_policy, concentrability, coverage, margin, power_concentrability
from sharpsim.laws import adaptive_miss_probability, bon_law, expected_adaptive_draws, kl_regularized_optimum
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.problems import as_tabular_base
from sharpsim.theorems._core import Assumption, AssumptionResult, Conclusion, Instance, Theorem, per_instance

__all__ = ["LEMMA_41", "LEMMA_I1", "MARGIN_LEMMA", "PROP_31", "PROP_C1", "PROP_E2", "class_sup_mass", "reference_optimum"]

RTOL = 1e-9


def _support(problem) -> np.ndarray:
    return np.asarray(problem.prompt_probs) > 0


def _tab(problem) -> TabularPolicy:
    return as_tabular_base(problem)


@per_instance
def _inst_tab(inst: Instance) -> TabularPolicy:
    """The instance's base as a table (``V^H`` enumerated once per instance for an autoregressive base)."""
    return _tab(inst.problem)


@per_instance
def _argmax_set(inst: Instance) -> jax.Array:
    """``[X, Y]`` y*(x): the responses tied for the arg-max of π_base."""
    return _inst_tab(inst).argmax_set(0.0)


@per_instance
def _argmax_sizes(inst: Instance) -> np.ndarray:
    """``[X]`` ``|y*(x)|``."""
    return np.asarray(_argmax_set(inst)).sum(axis=-1)


def _prompts(mask: np.ndarray, support: np.ndarray) -> str:
    return f"on {int(mask[support].sum())} of {int(support.sum())} prompts in the support of μ"


def _max_tv(problem, policy) -> float:
    a = np.asarray(_tab(problem).probs)
    b = np.asarray(as_policy(problem, policy, "reference").probs)
    tv = 0.5 * np.abs(a - b).sum(axis=-1)
    return float(tv[_support(problem)].max())


def _same_as_base(name: str, what: str):
    def check(inst: Instance) -> AssumptionResult:
        other = inst.params.get(name)
        if other is None:
            return AssumptionResult(name + "_is_base", True, 0.0, 0.0, f"the {what} is π_base")
        tv = _max_tv(inst.problem, other)
        return AssumptionResult(name + "_is_base", tv <= 1e-12, tv, 0.0, f"largest TV between the {what} and π_base")

    return check


# ------------------------------------------------------------------------------ Prop 3.1
def _validate_prop31(problem, params):
    if not isinstance(problem.base, AutoregressivePolicy):
        raise ValueError("Prop 3.1 is about autoregressive policies: `problem.base` must be an AutoregressivePolicy")
    problem.base.to_tabular()  # raises if V^H is too large to enumerate


def _prop31_mass(inst: Instance) -> AssumptionResult:
    top = np.exp(np.asarray(_inst_tab(inst).max_log_prob()))
    sup = _support(inst.problem)
    ok = top > 0.5
    return AssumptionResult("argmax_mass", bool(ok[sup].all()), float(top[sup].min()), 0.5,
                            "smallest π(y*(x)|x) over prompts; > 1/2 " + _prompts(ok, sup))


def _prop31_conclusion(inst: Instance) -> Conclusion:
    base: AutoregressivePolicy = inst.problem.base
    greedy = base.sequence_to_index(base.greedy())
    in_set = np.asarray(_argmax_set(inst))[np.arange(base.num_prompts), np.asarray(greedy)]
    sup = _support(inst.problem)
    misses = int((~in_set)[sup].sum())
    return Conclusion(misses == 0, misses, 0, "prompts where greedy decoding does not return a sequence of y*(x)")


PROP_31 = Theorem(
    id="Prop 3.1",
    title="greedy decoding finds the sequence arg-max when it has most of the mass",
    statement=("For an autoregressive policy π over V^H, if π(y*(x)|x) > 1/2 then token-wise greedy decoding "
               "returns y*(x) (every prefix of y* has marginal > 1/2, so each of its tokens has conditional "
               "> 1/2 given the prefix). The threshold 1/2 cannot be lowered (problems.prop31_tightness)."),
    kind="exact",
    assumptions=(Assumption("argmax_mass", "π(y*(x)|x) > 1/2 on every prompt of the support of μ (Prop 3.1)",
                            _prop31_mass),),
    defaults={},
    promise_fn=lambda inst: {"greedy returns y*(x) on every prompt": True},
    conclusion_fn=_prop31_conclusion,
    validate_fn=_validate_prop31,
)


# ------------------------------------------------------------------------------ Prop C.1
def _validate_c1(problem, params):
    params["N"] = v.check_positive_int("N", params["N"])
    params["rho"] = v.check_open_unit_interval("rho", params["rho"])
    params["gamma"] = v.check_unit_interval("gamma", params["gamma"])


@per_instance
def _target_set(inst: Instance):
    """``[X, Y]`` the base's γ-arg-max set y*_γ(x)."""
    return _inst_tab(inst).argmax_set(inst.params["gamma"])


@per_instance
def _target_mass(inst: Instance) -> np.ndarray:
    """``[X]`` π_base(y*_γ(x)|x)."""
    return np.asarray(_inst_tab(inst).mass(_target_set(inst)))


def _c1_draws(inst: Instance) -> AssumptionResult:
    p = _target_mass(inst)
    sup = _support(inst.problem)
    need = math.log(1 / inst.params["rho"])
    ok = inst.params["N"] * p >= need
    return AssumptionResult("enough_draws", bool(ok[sup].all()), float((inst.params["N"] * p)[sup].min()), need,
                            "smallest N·π_base(y*_γ(x)|x), against log(1/ρ); enough " + _prompts(ok, sup))


def _c1_conclusion(inst: Instance) -> Conclusion:
    hit = np.asarray(bon_law(inst.problem, inst.params["N"]).mass(_target_set(inst)))
    sup = _support(inst.problem)
    target = 1 - inst.params["rho"]
    low = float(hit[sup].min())
    return Conclusion(low >= target * (1 - RTOL), low, target,
                      "smallest P[BoN_N pick ∈ y*_γ(x)] over prompts (exact BoN law)")


def _c1_promise(inst: Instance) -> dict:
    p = _target_mass(inst)[_support(inst.problem)]
    return {"N needed": math.ceil(math.log(1 / inst.params["rho"]) / float(p.min())),
            "P[pick in y*_γ] >=": 1 - inst.params["rho"]}


PROP_C1 = Theorem(
    id="Prop C.1",
    title="inference-time BoN with N ≥ log(1/ρ)/π_base(y*_γ|x) draws",
    statement=("If N ≥ log(1/ρ) / π_base(y*_γ(x)|x), the best of N draws (by log π_base) lies in y*_γ(x) with "
               "probability ≥ 1 − ρ, since (1 − p)^N ≤ e^{−Np} (Prop C.1)."),
    kind="exact",
    assumptions=(Assumption("enough_draws", "N ≥ log(1/ρ)/π_base(y*_γ(x)|x) on every prompt of the support of μ",
                            _c1_draws),),
    defaults={"N": None, "rho": 0.1, "gamma": 0.0},
    promise_fn=_c1_promise,
    conclusion_fn=_c1_conclusion,
    validate_fn=_validate_c1,
)


# ----------------------------------------------------------------------------- Lemma 4.1
def reference_optimum(problem, beta, reference=None) -> TabularPolicy:
    """``π ∝ π_ref · π_base^{1/β}``: the maximiser of ``E_π[log π_base] − β KL(π ‖ π_ref)``.

    With ``reference=None`` (``π_ref = π_base``) this is ``π*_β`` of Eq 3
    (``sharpsim.kl_regularized_optimum``).

    Args:
      problem: the problem (tabular base).
      beta: ``β > 0``.
      reference: ``None`` or a policy of the problem's shape.

    Returns:
      The policy (a :class:`~sharpsim.policies.TabularPolicy`).

    Raises:
      ValueError: on a bad β or a reference of another shape.
    """
    beta = v.check_positive("beta", beta)
    if reference is None:
        return kl_regularized_optimum(problem, beta)
    base = _tab(problem)
    ref = as_policy(problem, reference, "reference")
    lb = base.log_probs - base.max_log_prob()[:, None]
    scaled = jnp.where(lb == -jnp.inf, -jnp.inf, lb / beta)
    logits = jnp.where(ref.log_probs == -jnp.inf, -jnp.inf, ref.log_probs + scaled)
    if bool(jnp.any(jnp.all(logits == -jnp.inf, axis=-1))):
        raise ValueError("`reference` must put mass on some response that π_base supports, on every prompt")
    return TabularPolicy(jax.nn.log_softmax(logits, axis=-1))


def _validate_beta(problem, params):
    params["beta"] = v.check_positive("beta", params["beta"])


def _lemma41_values(inst: Instance):
    pi = reference_optimum(inst.problem, inst.params["beta"], inst.params.get("reference"))
    c_pi = concentrability(inst.problem, pi)
    c_loss = power_concentrability(inst.problem, _inst_tab(inst), pi, beta=inst.params["beta"])
    return c_pi, c_loss


@per_instance
def _coverage(inst: Instance) -> float:
    """C_cov of π_base."""
    return coverage(inst.problem)


def _lemma41_conclusion(inst: Instance) -> Conclusion:
    c_pi, c_loss = _lemma41_values(inst)
    c_cov, size = _coverage(inst), inst.problem.num_responses
    ratio = max(c_pi / c_cov, c_loss / size)
    return Conclusion(ratio <= 1 + RTOL, ratio, 1.0,
                      f"max(C_π/C_cov, C_(π_base/π;β)/|Y|) with C_π = {c_pi:.6g}, C_cov = {c_cov:.6g}, "
                      f"C_(π_base/π;β) = {c_loss:.6g}, |Y| = {size}")


LEMMA_41 = Theorem(
    id="Lemma 4.1",
    title="π*_β inherits the base's coverage",
    statement=("π*_β ∝ π_base^{1+1/β} satisfies C_{π*_β} ≤ C_cov and C_{π_base/π*_β;β} ≤ |Y| (Lemma 4.1; "
               "C_π = E_{x, y~π}[π/π_base], C_{π/π';β} = E_{x, y~π}[(π/π')^β], Eq 9). Both use that the "
               "KL reference of Eq 3 is π_base itself."),
    kind="exact",
    assumptions=(Assumption("reference_is_base", "the KL reference of Eq 3 is π_base (π ∝ π_ref·π_base^{1/β} "
                            "with π_ref = π_base)", _same_as_base("reference", "KL reference")),),
    defaults={"beta": None, "reference": None},
    optional=frozenset({"reference"}),
    promise_fn=lambda inst: {"C_pi <=": _coverage(inst), "C_(base/pi;beta) <=": inst.problem.num_responses},
    conclusion_fn=_lemma41_conclusion,
    validate_fn=_validate_beta,
)


# ------------------------------------------------------------------------ the margin lemma
def _validate_margin(problem, params):
    params["beta"] = v.check_positive("beta", params["beta"])
    params["delta"] = v.check_open_unit_interval("delta", params["delta"])


@per_instance
def _margin(inst: Instance) -> float:
    """γ_margin of π_base."""
    return margin(inst.problem)


@per_instance
def _margin_threshold(inst: Instance) -> float:
    """The largest β the margin lemma allows."""
    return bounds.margin_lemma_beta(_margin(inst), inst.problem.num_responses, delta=inst.params["delta"])


def _margin_beta(inst: Instance) -> AssumptionResult:
    thr = _margin_threshold(inst)
    beta = inst.params["beta"]
    return AssumptionResult("beta_small", beta <= thr, beta, thr,
                            f"β against min(γ_margin, γ₀)/(2 log(2|Y|/δ)) with γ_margin = {_margin(inst):.6g}")


def _margin_conclusion(inst: Instance) -> Conclusion:
    opt = kl_regularized_optimum(inst.problem, inst.params["beta"])
    mass = np.asarray(opt.mass(_argmax_set(inst)))
    sup = _support(inst.problem)
    low, target = float(mass[sup].min()), 1 - inst.params["delta"] / 2
    return Conclusion(low >= target * (1 - RTOL), low, target, "smallest π*_β(y*(x)|x) over prompts")


MARGIN_LEMMA = Theorem(
    id="Margin lemma",
    title="under a margin, π*_β puts 1 − δ/2 on y* once β ≤ γ_margin/(2 log(2|Y|/δ))",
    statement=("If π_base has margin γ_margin (Assumption 4.2: π_base(y*) ≥ (1 + γ_margin) π_base(y) for y ∉ y*) "
               "and β ≤ γ_margin/(2 log(2|Y|/δ)), then π*_β(y*(x)|x) ≥ 1 − δ/2 on every prompt (the key step "
               "of Thm 4.3 / J.2; the proof uses log(1 + γ) ≥ γ/2, so γ_margin is capped at γ₀ = "
               f"{bounds.MARGIN_LEMMA_MAX_GAMMA:.4g})."),
    kind="exact",
    assumptions=(Assumption("beta_small", "β ≤ bounds.margin_lemma_beta(γ_margin, |Y|, δ)", _margin_beta),),
    defaults={"beta": None, "delta": 0.1},
    promise_fn=lambda inst: {"beta <=": _margin_threshold(inst), "pi*_beta(y*) >=": 1 - inst.params["delta"] / 2},
    conclusion_fn=_margin_conclusion,
    validate_fn=_validate_margin,
)


# ----------------------------------------------------------------------------- Lemma I.1
def _validate_i1(problem, params):
    params["stop_level"] = v.check_positive("stop_level", params["stop_level"])


@per_instance
def _i1_bound(inst: Instance) -> np.ndarray:
    """``[X]`` Lemma I.1's bound (μ + 1/|y*(x)|)/P*(x) on E[N_μ(x)]."""
    p_star = np.exp(np.asarray(_inst_tab(inst).max_log_prob()))
    size = _argmax_sizes(inst)
    return (inst.params["stop_level"] + 1.0 / size) / p_star


def _i1_conclusion(inst: Instance) -> Conclusion:
    mu, verifier = inst.params["stop_level"], inst.params.get("verifier")
    e = expected_adaptive_draws(inst.problem, mu, verifier=verifier)
    sup = _support(inst.problem)
    ratio = float((e / _i1_bound(inst))[sup].max())
    detail = "largest E[N_μ(x)] / ((μ + 1/|y*(x)|)/P*(x)) over prompts (E[N_μ] exact)"
    if verifier is not None:  # the miss probability is computed for the base's own rule only
        return Conclusion(ratio <= 1 + RTOL, ratio, 1.0, detail + "; miss probability not evaluated with a verifier")
    size = _argmax_sizes(inst)
    miss = adaptive_miss_probability(inst.problem, mu)
    miss_ratio = float((miss / np.exp(-size * mu))[sup].max())
    value = max(ratio, miss_ratio)
    return Conclusion(value <= 1 + RTOL, value, 1.0,
                      f"{detail}: {ratio:.6g}; largest P[kept ∉ y*(x)] / e^(−|y*(x)| μ) (exact): {miss_ratio:.6g}")


LEMMA_I1 = Theorem(
    id="Lemma I.1",
    title="the adaptive rule's expected draws and its chance of missing y*",
    statement=("App D's rule N_μ = inf{k : k·max_{j≤k} π_base(y_j|x) ≥ μ} draws E[N_μ(x)] ≤ (μ + 1/|y*(x)|)/P*(x) "
               "responses, P*(x) = max_y π_base(y|x), and the response it keeps misses y*(x) with probability "
               "≤ e^{−|y*(x)| μ} (Lemma I.1); both sides are computed exactly."),
    kind="exact",
    assumptions=(Assumption("verifier_is_base", "the rule scores the draws with π_base itself (the verifier is the "
                            "base)", _same_as_base("verifier", "verifier")),),
    defaults={"stop_level": None, "verifier": None},
    optional=frozenset({"verifier"}),
    promise_fn=lambda inst: {"E[N_mu] <= (largest prompt)": float(_i1_bound(inst)[_support(inst.problem)].max())},
    conclusion_fn=_i1_conclusion,
    validate_fn=_validate_i1,
)


# ------------------------------------------------------------------------------ Prop E.2
def class_sup_mass(model_class, target, *, steps: int = 3000, learning_rate: float = 0.05, restarts: int = 4,
                   key=None) -> tuple[np.ndarray, np.ndarray]:
    """The largest mass a member of an Eq 11 class puts on a set of sequences, per prompt, by search.

    For each prompt ``x`` it maximises ``log π_θ(S(x)|x)`` over the class (``‖θ_h‖ <= B`` per layer) with
    projected Adam from ``θ = 0`` and ``restarts − 1`` random starts, and returns the best member's mass.
    Every value is attained by an explicit member, so it is a lower bound on the supremum (a
    certificate when it exceeds a threshold). When ``S(x)`` is one sequence the objective is a sum over
    layers of concave functions of separate ``θ_h`` (log-softmax is concave), so the search reaches the
    supremum up to the optimiser's tolerance.

    Args:
      model_class: an ``AutoregressiveLinearSoftmaxClass`` (its ``V^H`` enumerable).
      target: ``[X, V^H]`` boolean mask of ``S(x)`` (sequence index order of ``AutoregressivePolicy``).
      steps, learning_rate: projected Adam's steps and rate.
      restarts: starts (``θ = 0`` first), an integer ``>= 1``.
      key: PRNG key of the random starts (default ``jax.random.key(0)``).

    Returns:
      ``(mass [X], theta [X, H, d])``: the best mass found per prompt and the member attaining it.

    Raises:
      ValueError: on a ``target`` of another shape or bad ``steps``/``restarts``.
    """
    steps = v.check_positive_int("steps", steps)
    restarts = v.check_positive_int("restarts", restarts)
    target = jnp.asarray(np.asarray(target, bool))
    X, Y = model_class.sizes
    if target.shape != (X, Y):
        raise ValueError(f"`target` must have shape [X, V^H] = {[X, Y]}; got {list(target.shape)}")
    key = jax.random.key(0) if key is None else key
    H, d = model_class.param_shape
    starts = jax.random.normal(key, (restarts, H, d)) * model_class.radius / math.sqrt(d)
    starts = jax.vmap(model_class.project)(starts.at[0].set(0.0))
    vals, thetas = _sup_search(model_class.features, jnp.asarray(model_class.radius, model_class.features.dtype), target,
                               starts, context_length=model_class.context_length, steps=steps,
                               learning_rate=float(learning_rate))
    vals, thetas = np.asarray(vals), np.asarray(thetas)  # [X, R], [X, R, H, d]
    best = vals.argmax(axis=1)
    return np.exp(vals[np.arange(X), best]), thetas[np.arange(X), best]


@functools.partial(jax.jit, static_argnames=("context_length", "steps", "learning_rate"))
def _sup_search(features, radius, target, starts, *, context_length, steps, learning_rate):
    """Projected Adam on ``log π_θ(S(x)|x)`` for every prompt and start: ``([X, R], [X, R, H, d])``.
    The radius is traced, so one compilation serves every radius of a shape."""
    import optax

    from sharpsim.classes._optim import ball_projection

    opt = optax.adam(learning_rate)

    def mass(theta, x):
        logits = jnp.einsum("hxctd,hd->hxct", features, theta)
        lp = AutoregressivePolicy(jax.nn.log_softmax(logits, axis=-1), context_length).joint_log_probs()[x]
        return jax.nn.logsumexp(jnp.where(target[x], lp, -jnp.inf))

    def search(x, theta):
        def step(carry, _):
            th, state = carry
            g = jax.grad(lambda t: -mass(t, x))(th)
            upd, state = opt.update(g, state)
            return (ball_projection(th + upd, radius, per_layer=True), state), None

        (th, _), _ = jax.lax.scan(step, (theta, opt.init(theta)), None, length=steps)
        return mass(th, x), th

    xs = jnp.arange(target.shape[0])
    return jax.vmap(lambda x: jax.vmap(lambda th: search(x, th))(starts))(xs)


def _validate_e2(problem, params):
    from sharpsim.classes import AutoregressiveLinearSoftmaxClass

    if not isinstance(problem.base, AutoregressivePolicy):
        raise ValueError("Prop E.2 is about autoregressive policies: `problem.base` must be an AutoregressivePolicy")
    cls = params["model_class"]
    if not isinstance(cls, AutoregressiveLinearSoftmaxClass):
        raise TypeError(f"`model_class` must be an AutoregressiveLinearSoftmaxClass (Eq 11); got {type(cls).__name__}")
    cls.bind(problem)
    problem.base.to_tabular()  # raises if V^H is too large to enumerate
    if params["N"] is not None:
        params["N"] = v.check_positive_int("N", params["N"])
    params["rho"] = v.check_open_unit_interval("rho", params["rho"])


@per_instance
def _e2_star(inst: Instance):
    """The base's arg-max set ``[X, V^H]``, its first arg-max sequence ``[X, H]`` and their contexts."""
    base: AutoregressivePolicy = inst.problem.base
    tab = _inst_tab(inst)
    star_set = np.asarray(_argmax_set(inst))
    seq = np.asarray(base.index_to_sequence(jnp.asarray(np.asarray(tab.log_probs).argmax(axis=1))))
    return star_set, seq, np.asarray(base.contexts(jnp.asarray(seq)))


def _e2_shared(inst: Instance) -> AssumptionResult:
    _, seq, ctx = _e2_star(inst)
    f = np.asarray(inst.params["model_class"].features, np.float64)  # [H, X, C, V, d]
    H, X = f.shape[0], f.shape[1]
    closest = np.empty(X)
    for x in range(X):
        per_step = []
        for h in range(H):
            F = f[h, x, ctx[x, h]]
            t = seq[x, h]
            others = np.delete(np.arange(F.shape[0]), t)
            per_step.append(float(np.linalg.norm(F[others] - F[t], axis=1).min()) if others.size else np.inf)
        closest[x] = min(per_step)
    sup = _support(inst.problem)
    ok = closest <= 1e-12
    return AssumptionResult("shared_feature", bool(ok[sup].all()), float(closest[sup].max()), 0.0,
                            "largest over prompts of the smallest distance, over the steps of y*(x), between the "
                            "feature of y*'s token and another token's; 0 (shared) " + _prompts(ok, sup))


def _e2_unique(inst: Instance) -> AssumptionResult:
    star_set, _, _ = _e2_star(inst)
    size = star_set.sum(axis=1)
    sup = _support(inst.problem)
    ok = size == 1
    return AssumptionResult("unique_argmax", bool(ok[sup].all()), int(size[sup].max()), 1,
                            "largest |y*(x)| (sequences tied for the arg-max); unique " + _prompts(ok, sup))


@per_instance
def _e2_N(inst: Instance) -> int:
    """BoN's N: the ``N`` parameter, or the smallest N with N·π_base(y*|x) >= log(1/ρ) on every prompt."""
    if inst.params["N"] is not None:
        return inst.params["N"]
    p = np.exp(np.asarray(_inst_tab(inst).max_log_prob()))[_support(inst.problem)]
    return max(1, math.ceil(math.log(1 / inst.params["rho"]) / float(p.min())))


def _e2_conclusion(inst: Instance) -> Conclusion:
    star_set, _, _ = _e2_star(inst)
    sup_mass, _ = class_sup_mass(inst.params["model_class"], star_set)
    sup = _support(inst.problem)
    best = float(sup_mass[sup].max())
    N = _e2_N(inst)
    bon = np.asarray(bon_law(inst.problem, N).mass(star_set))
    low = float(bon[sup].min())
    target = 1 - inst.params["rho"]
    ok = best <= 0.5 * (1 + RTOL) and low >= target * (1 - RTOL)
    return Conclusion(ok, best, 0.5,
                      f"largest mass a member puts on y*(x) (projected Adam; a member attains it), against 1/2; "
                      f"BoN_{N} of π_base puts {low:.6g} on y*(x) (exact), against 1 − ρ = {target:g}")


PROP_E2 = Theorem(
    id="Prop E.2",
    title="a linear-softmax base whose arg-max no member of its class can sharpen, while BoN can",
    statement=("With H = d = 2 and V = [n] there is a multi-layer linear-softmax π_base (Eq 11) whose unique "
               "sequence arg-max y* = (2, 1) receives mass ≤ 1/2 from every member of the class: the first token "
               "of y* shares its first-step feature with another token, so every member gives both the same "
               "probability. Training-time sharpening within the class cannot put more than 1/2 on y*, while "
               "inference-time BoN with N ≥ log(1/ρ)/π_base(y*|x) returns y* with probability ≥ 1 − ρ "
               "(Prop E.2; problems.prop_e2_instance builds it)."),
    kind="exact",
    assumptions=(Assumption("shared_feature", "at some step of y*(x), y*'s token shares its feature with another "
                            "token, on every prompt", _e2_shared),
                 Assumption("unique_argmax", "y*(x) is a single sequence on every prompt", _e2_unique)),
    defaults={"model_class": None, "N": None, "rho": 0.1},
    promise_fn=lambda inst: {"sup over the class of pi(y*|x) <=": 0.5, "N (BoN)": _e2_N(inst),
                             "P[BoN_N pick in y*] >=": 1 - inst.params["rho"]},
    conclusion_fn=_e2_conclusion,
    validate_fn=_validate_e2,
    optional=frozenset({"N"}),
)
