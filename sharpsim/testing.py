"""Property testing of the paper's theorems: instance strategies and a search for counterexamples.

``instances(theorem, drop=None, **fixed)`` is a hypothesis strategy of
:class:`~sharpsim.theorems.Instance` objects that satisfy every assumption of ``theorem`` except
``drop`` (which is then left free: drawn from a wider family, so it may or may not hold).
``falsify(theorem, drop=...)`` searches that strategy for an instance where the conclusion fails and
returns the counterexample (shrunk, for an exact statement), or ``None``. With nothing dropped an
exact statement has no counterexample; the tests run :func:`falsify` with every assumption dropped in
turn and pin the counterexamples found.

For a statistical statement the conclusion is a success rate measured by
:meth:`~sharpsim.theorems.Theorem.verify` (a Clopper–Pearson interval at ``confidence``), so a
counterexample is an instance where the interval lies wholly below ``1 − ρ``: with every assumption
kept, each instance tried is a false counterexample with probability at most ``(1 − confidence)/2``.
Their dropped assumptions are drawn from the paper's known constructions: Prop E.2 (a class that cannot
put more than 1/2 on y*) for realizability, near-ties for the margin. Instances of a statistical
statement are not shrunk (each try runs the algorithm over many seeds).

``sharpsim.strategies`` (problems, policies, coverage requests) stays the general-purpose module.
"""

from __future__ import annotations

import dataclasses
import math
import random

import jax
import numpy as np
from hypothesis import HealthCheck, Phase, assume, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from sharpsim import bounds, classes, problems, strategies
from sharpsim.coefficients import margin
from sharpsim.laws import kl_regularized_optimum
from sharpsim.policies import AutoregressivePolicy
from sharpsim.problems import Problem
from sharpsim.theorems import Conclusion, Instance, Report, Theorem
from sharpsim.theorems import get as get_theorem

__all__ = ["Counterexample", "falsify", "instances"]


@dataclasses.dataclass(frozen=True)
class Counterexample:
    """An instance on which a theorem's conclusion fails.

    Attributes:
      theorem: the theorem's id.
      dropped: the assumption left free in the search (``None``: none).
      problem: the instance's problem.
      params: its parameters.
      report: its assumption report (which assumption fails, by how much).
      conclusion: the failing conclusion.
    """

    theorem: str
    dropped: str | None
    problem: Problem
    params: dict
    report: Report
    conclusion: Conclusion

    def __str__(self) -> str:
        base = self.problem.base
        table = np.round(np.exp(np.asarray(base.to_tabular().log_probs if isinstance(base, AutoregressivePolicy)
                                           else base.log_probs)), 6)
        return (f"counterexample to {self.theorem} (assumption dropped: {self.dropped}):\n"
                f"  π_base = {table.tolist()}\n  μ = {np.round(np.asarray(self.problem.prompt_probs), 6).tolist()}\n"
                f"  params = {_brief(self.params)}\n{self.report}\n  conclusion fails: {self.conclusion.value} against "
                f"{self.conclusion.threshold} ({self.conclusion.detail})")


def _brief(params: dict) -> dict:
    """Parameters for printing: numbers as they are, classes and arrays by their type and shape."""
    def one(val):
        if val is None or isinstance(val, (bool, int, float, str)):
            return val
        shape = getattr(val, "shape", None) or getattr(val, "sizes", None)
        return f"<{type(val).__name__}{' ' + str(tuple(shape)) if shape is not None else ''}>"

    return {k: one(val) for k, val in params.items()}


def _theorem(theorem) -> Theorem:
    return theorem if isinstance(theorem, Theorem) else get_theorem(theorem)


# ------------------------------------------------------------------------------ strategies
def _tabular(num_prompts=(1, 3), num_responses=(1, 5), **kw):
    return strategies.tabular_problems(num_prompts, num_responses, allow_zero_prompts=False, **kw)


@st.composite
def _prop31(draw, keep: bool):
    V = draw(st.integers(2, 3))
    H = draw(st.integers(1 if keep else 2, 3))  # with H = 1 greedy is the arg-max
    X = draw(st.integers(1, 2))
    k = draw(st.integers(0, H - 1))
    shape = (H, X, V**k, V)
    size = int(np.prod(shape))
    z = np.asarray(draw(st.lists(st.floats(-3.0, 3.0, allow_subnormal=False), min_size=size, max_size=size)),
                   np.float64).reshape(shape)
    if keep:  # plant a sequence with most of the mass: a bonus b on its tokens at every step
        seq = np.asarray(draw(st.lists(st.lists(st.integers(0, V - 1), min_size=H, max_size=H),
                                       min_size=X, max_size=X)))
        ctx = np.asarray(AutoregressivePolicy.from_logits(z, context_length=k).contexts(seq))  # [X, H]
        bonus = draw(st.floats(2.0, 12.0))
        for x in range(X):
            for h in range(H):
                z[h, x, ctx[x, h], seq[x, h]] += bonus
    policy = AutoregressivePolicy.from_logits(z, context_length=k)
    problem = Problem(policy, np.full(X, 1.0 / X))
    if keep:
        top = np.exp(np.asarray(problem.tabular().base.max_log_prob()))
        assume(bool((top > 0.5).all()))
    return Instance(problem, {})


@st.composite
def _prop_c1(draw, keep: bool):
    problem = draw(_tabular())
    rho = draw(st.floats(0.01, 0.5))
    gamma = draw(st.sampled_from([0.0, 0.1, 0.5]))
    tab = problem.base
    p = float(np.asarray(tab.mass(tab.argmax_set(gamma))).min())
    need = math.ceil(math.log(1 / rho) / p)
    N = need + draw(st.integers(0, 5)) if keep else draw(st.integers(1, max(1, 2 * need)))
    return Instance(problem, {"N": N, "rho": rho, "gamma": gamma})


def _base_or_other(level: str, low: float, high: float, other: str, min_prob: float):
    """A statement whose one assumption is that a policy it takes is π_base itself (Lemma 4.1's KL
    reference, Lemma I.1's verifier): ``strategy(keep)`` draws a tabular problem and the parameter
    ``level`` in ``[low, high]``; kept, the policy ``other`` is ``None`` (π_base), else a table drawn with
    every probability at least ``min_prob``."""
    @st.composite
    def strategy(draw, keep: bool):
        problem = draw(_tabular())
        params = {level: draw(st.floats(low, high)), other: None}
        if not keep:
            params[other] = np.asarray(draw(strategies.probability_tables(problem.num_prompts, problem.num_responses,
                                                                         min_prob=min_prob)))
        return Instance(problem, params)

    return strategy


_lemma41 = _base_or_other("beta", 0.02, 10.0, "reference", 0.01)


@st.composite
def _margin_lemma(draw, keep: bool):
    problem = draw(_tabular(num_responses=(2, 5)))
    delta = draw(st.floats(0.01, 0.5))
    thr = bounds.margin_lemma_beta(margin(problem), problem.num_responses, delta=delta)
    assume(thr > 0)
    factor = draw(st.floats(0.01, 1.0)) if keep else draw(st.floats(0.01, 1000.0))
    return Instance(problem, {"beta": factor * thr, "delta": delta})


_lemma_i1 = _base_or_other("stop_level", 0.05, 20.0, "verifier", 0.001)


@st.composite
def _prop_e2(draw, drop: str | None):
    """Eq 11 classes with H = 2, V = 3, d = 2, one prompt (one shape: one compilation of the search).
    Kept: y*'s first token shares its first-step feature with another token b (copied), y* unique.
    With ``unique_argmax`` dropped the second-step features after b copy those after y*'s first token,
    so (a, c) and (b, c) tie for every c."""
    from sharpsim.classes import AutoregressiveLinearSoftmaxClass

    H, V, d = 2, 3, 2
    grid = st.integers(-2, 2)  # features and parameters on a grid of halves: quick to shrink
    f = np.asarray(draw(st.lists(grid, min_size=H * V * V * d, max_size=H * V * V * d)), np.float64)
    f = f.reshape(H, 1, V, V, d) / 2
    f /= np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1.0)  # ‖φ‖ <= 1
    radius = float(draw(st.integers(2, 12))) / 2
    theta = np.asarray(draw(st.lists(grid, min_size=H * d, max_size=H * d)), np.float64).reshape(H, d) / 2
    theta *= radius / max(float(np.linalg.norm(theta, axis=1).max()), 1.0) / 2
    base = AutoregressiveLinearSoftmaxClass(f, radius, context_length=1).policy(theta)
    a = int(np.asarray(base.sequence_argmax())[0, 0])  # y*'s first token
    b = (a + draw(st.integers(1, V - 1))) % V
    if drop != "shared_feature":
        f[0, 0, :, b] = f[0, 0, :, a]
    if drop == "unique_argmax":
        f[1, 0, b] = f[1, 0, a]  # the step after b sees the features of the step after a
    cls = AutoregressiveLinearSoftmaxClass(f, radius, context_length=1)
    problem = problems.from_policy(cls.policy(theta))
    inst = Instance(problem, {"model_class": cls})
    thm = get_theorem("Prop E.2")
    checked = thm.instance(problem, model_class=cls)  # one instance: the arg-max set is computed once
    for asm in thm.assumptions:
        if asm.name != drop:
            assume(asm.check(checked).holds)
    return inst


def _level(draw, name, fixed, values):
    return fixed[name] if name in fixed else draw(st.sampled_from(values))


@st.composite
def _thm41(draw, drop: str | None, fixed: dict, adaptive: bool = False):
    """Kept: a with_coverage problem and the decoy product class, closed under BoN_N (or under the
    adaptive law). With ``realizable`` dropped: Prop E.2's base over V^H and a finite class of members
    of its Eq 11 class, none of which puts more than 1/2 on y* (so neither law is in the class)."""
    seed = draw(st.integers(0, 2**31 - 1))
    params = {"eps": _level(draw, "eps", fixed, [0.2, 0.3]), "delta": _level(draw, "delta", fixed, [0.1, 0.2]),
              "rho": _level(draw, "rho", fixed, [0.1, 0.2]), "constant": fixed.get("constant", 1.0)}
    key = jax.random.key(seed)
    if drop == "realizable":
        n = draw(st.integers(3, 5))
        pr, cls, theta = problems.prop_e2_instance(n)
        pr = pr.tabular()
        thetas = [theta] + [np.asarray(cls.project(jax.random.normal(k, theta.shape) * cls.radius))
                            for k in jax.random.split(key, draw(st.integers(1, 3)))]
        members = np.stack([np.asarray(cls.log_probs(t)) for t in thetas])
        model_class = classes.FiniteClass(log_probs=members)
        closed = False
    else:
        Y = draw(st.integers(3, 6))
        X = draw(st.integers(2, 4))
        lo, hi = problems.coverage_range(Y, margin=0.1)
        cov = draw(st.floats(lo, min(hi, 3.0)))
        pr = problems.with_coverage(key, X, Y, cov, margin=0.1)
        model_class = classes.decoy_product_class(jax.random.fold_in(key, 1), pr, draw(st.integers(1, min(2, Y - 1))))
        closed = True
    params["model_class"] = model_class
    params["adaptive_closed" if adaptive else "bon_closed"] = closed
    return Instance(pr, params)


def _near_tie_problem(draw, key, num_prompts: int, num_responses: int) -> Problem:
    """Every prompt's runner-up within a factor 1 − τ of the arg-max, τ tiny: the margin is about τ."""
    tau = draw(st.floats(1e-4, 1e-3))
    rows = []
    for k in jax.random.split(key, num_prompts):
        rest = np.asarray(jax.random.uniform(k, (num_responses - 2,), minval=0.05, maxval=0.5))
        top = 1.0
        row = np.concatenate([[top, top * (1 - tau)], rest])
        rows.append(row / row.sum())
    return problems.from_probs(np.asarray(rows))


@st.composite
def _thm42(draw, drop: str | None, fixed: dict):
    """Kept: a with_coverage problem with margin >= 0.2 and the decoy class around π*_β (as a finite
    class). With ``margin`` dropped: near ties (margin ~τ) while the prescription claims margin 0.5,
    with the class built around π*_β at the claimed margin's β (realizable)."""
    seed = draw(st.integers(0, 2**31 - 1))
    key = jax.random.key(seed)
    params = {"eps": _level(draw, "eps", fixed, [0.2, 0.3]), "delta": _level(draw, "delta", fixed, [0.1, 0.2]),
              "rho": _level(draw, "rho", fixed, [0.1, 0.2]), "constant": fixed.get("constant", 1e-4)}
    X, Y = draw(st.integers(2, 3)), draw(st.integers(3, 5))
    if drop == "margin":
        pr = _near_tie_problem(draw, key, X, Y)
        params["margin"] = 0.5
        gm = 0.5
    else:
        lo, hi = problems.coverage_range(Y, margin=0.3)
        pr = problems.with_coverage(key, X, Y, draw(st.floats(max(lo, 1.2), min(hi, 3.0))), margin=0.3)
        gm = margin(pr)
    beta = bounds.rlhf_beta(gm, eps=params["eps"], delta=params["delta"])
    opt = kl_regularized_optimum(pr, beta)
    params["model_class"] = classes.decoy_product_class(jax.random.fold_in(key, 1), pr, draw(st.integers(1, 2)),
                                                        around=opt).to_finite()
    return Instance(pr, params)


@st.composite
def _thm43(draw, drop: str | None, fixed: dict):
    """Kept: ``problems.hidden_direction`` (d = 2 or 3) with a radius that holds π*_β. With ``margin``
    dropped: a runner-up whose feature is e_1 scaled by 1 − τ (margin ~ bias·τ) while the prescription
    claims margin 1."""
    params = {"eps": _level(draw, "eps", fixed, [0.25]), "delta": _level(draw, "delta", fixed, [0.2]),
              "rho": _level(draw, "rho", fixed, [0.2]), "constant": fixed.get("constant", 1e-4)}
    Y = draw(st.integers(4, 6))
    if drop == "margin":
        tau = draw(st.floats(1e-4, 1e-3))
        f = np.zeros((1, Y, 2))
        f[0, 0] = [1.0, 0.0]
        f[0, 1] = [1.0 - tau, 0.0]
        f[0, 2:, 1] = np.linspace(-1.0, 1.0, Y - 2)
        theta = np.array([1.0, 0.0])
        pr = problems.from_probs(np.asarray(jax.nn.softmax(f @ theta, axis=-1)))
        params["margin"] = 1.0
        params["model_class"] = classes.LinearSoftmaxClass(f, 50.0)
    else:
        pr, f = problems.hidden_direction(draw(st.integers(2, 3)), Y, bias=draw(st.floats(0.5, 1.5)))
        params["model_class"] = classes.LinearSoftmaxClass(f, 50.0)
    return Instance(pr, params)


@st.composite
def _thm31(draw, drop: str | None, fixed: dict):
    """The App H family (``problems.lower_bound_family``) with small d and ε."""
    d = draw(st.integers(1, 4))
    eps = fixed.get("eps", draw(st.sampled_from([0.04, 0.05])))
    C = fixed.get("C", draw(st.sampled_from([1.0, 2.0])))
    fam = problems.lower_bound_family(jax.random.key(draw(st.integers(0, 2**31 - 1))), d=d, C=C, eps=eps)
    params = {"model_class": fam.model_class, "eps": eps, "C": C, "rho": fixed.get("rho", 0.1),
              "constant": fixed.get("constant", 0.1)}
    return Instance(fam.problem, params)


def _single(name, strategy):
    """An exact statement with one assumption: ``strategy(keep)``."""
    return lambda drop, fixed: strategy(keep=(drop != name))


#: theorem id -> (the assumptions a strategy can drop, strategy(drop, fixed)).
_STRATEGIES = {
    "Prop 3.1": (("argmax_mass",), _single("argmax_mass", _prop31)),
    "Prop C.1": (("enough_draws",), _single("enough_draws", _prop_c1)),
    "Lemma 4.1": (("reference_is_base",), _single("reference_is_base", _lemma41)),
    "Margin lemma": (("beta_small",), _single("beta_small", _margin_lemma)),
    "Lemma I.1": (("verifier_is_base",), _single("verifier_is_base", _lemma_i1)),
    "Prop E.2": (("shared_feature", "unique_argmax"), lambda drop, fixed: _prop_e2(drop)),
    "Thm 3.1": ((), lambda drop, fixed: _thm31(drop, fixed)),
    "Thm 4.1": (("realizable",), lambda drop, fixed: _thm41(drop, fixed)),
    "Thm D.1": (("realizable",), lambda drop, fixed: _thm41(drop, fixed, adaptive=True)),
    "Thm 4.2": (("margin",), lambda drop, fixed: _thm42(drop, fixed)),
    "Thm 4.3": (("margin",), lambda drop, fixed: _thm43(drop, fixed)),
}


def instances(theorem, *, drop: str | None = None, **fixed) -> st.SearchStrategy[Instance]:
    """A hypothesis strategy of instances satisfying ``theorem``'s assumptions, except ``drop``.

    Args:
      theorem: a :class:`~sharpsim.theorems.Theorem` or its id.
      drop: the name of an assumption to leave free (drawn from a wider family, or, for a
        statistical statement, from the known construction that breaks it), or ``None``.
      **fixed: parameters held fixed instead of drawn, for the statistical statements (e.g.
        ``constant=1e-3`` for Thm 4.2, whose constant-1 budget is too large to sample; ``eps``,
        ``delta``, ``rho``).

    Returns:
      A strategy of :class:`~sharpsim.theorems.Instance` objects (validated by the theorem).

    Raises:
      KeyError: on an unknown theorem or assumption.
      NotImplementedError: when no strategy or construction exists for the theorem or for
        dropping that assumption.
    """
    thm = _theorem(theorem)
    droppable, strategy = _STRATEGIES[thm.id]
    if drop is not None:
        thm.assumption(drop)  # KeyError naming the assumptions
        if drop not in droppable:
            raise NotImplementedError(f"no construction that drops {drop!r} from {thm.id}; droppable: "
                                      f"{list(droppable) or 'none'}")
    return strategy(drop, dict(fixed)).map(lambda inst: thm.instance(inst.problem, **inst.params))


def falsify(theorem, *, drop: str | None = None, max_examples: int | None = None, seed: int = 0,
            num_seeds: int = 50, confidence: float = 0.999) -> Counterexample | None:
    """Searches for an instance where ``theorem``'s conclusion fails; returns it, or ``None``.

    The search draws from :func:`instances` (every assumption kept except ``drop``) with hypothesis,
    derandomised by ``seed``. For an exact statement the conclusion is evaluated exactly and the first
    failure is shrunk to a minimal one. For a statistical statement each instance is verified by
    sampling (:meth:`~sharpsim.theorems.Theorem.verify` with ``num_seeds`` runs and a Clopper–Pearson
    interval at ``confidence``), and the first refuted instance is returned without shrinking.

    Args:
      theorem: a :class:`~sharpsim.theorems.Theorem` or its id.
      drop: an assumption to leave free, or ``None`` (then an exact theorem has no counterexample).
      max_examples: instances tried at most (default 200 for an exact statement, 4 for a statistical one).
      seed: the search's seed (also the PRNG seed of the sampled verifications).
      num_seeds: runs per sampled verification (statistical statements).
      confidence: the Clopper–Pearson level of a sampled verification.

    Returns:
      A :class:`Counterexample`, or ``None`` when none was found.

    Raises:
      KeyError: on an unknown theorem or assumption.
      NotImplementedError: when no strategy exists for dropping ``drop``.
      ValueError: on ``max_examples`` or ``num_seeds`` below 1.
    """
    thm = _theorem(theorem)
    exact = thm.kind == "exact"
    if max_examples is None:
        max_examples = 200 if exact else 4
    if not isinstance(max_examples, int) or isinstance(max_examples, bool) or max_examples < 1:
        raise ValueError(f"`max_examples` must be an integer >= 1; got {max_examples!r}")
    if not isinstance(num_seeds, int) or isinstance(num_seeds, bool) or num_seeds < 1:
        raise ValueError(f"`num_seeds` must be an integer >= 1; got {num_seeds!r}")
    strategy = instances(thm, drop=drop)
    phases = list(Phase) if exact else [Phase.generate]
    cfg = settings(max_examples=max_examples, database=None, deadline=None, phases=phases,
                   suppress_health_check=list(HealthCheck))
    key = jax.random.key(seed)

    def conclusion(inst: Instance) -> Conclusion:
        if exact:
            return thm.conclusion_fn(inst)
        return thm.sample_fn(inst, key, num_seeds, confidence)

    try:
        inst = find(strategy, lambda i: not conclusion(i).holds, settings=cfg, random=random.Random(seed))
    except NoSuchExample:
        return None
    return Counterexample(thm.id, drop, inst.problem, inst.params, thm._report(inst), conclusion(inst))
