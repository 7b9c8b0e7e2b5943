"""Property testing of the paper's theorems: instance strategies and a search for counterexamples.

``instances(theorem, drop=None)`` is a hypothesis strategy of :class:`~sharpsim.theorems.Instance`
objects that satisfy every assumption of ``theorem`` except ``drop`` (which is then left free:
drawn from a wider family, so it may or may not hold). ``falsify(theorem, drop=...)`` searches
that strategy for an instance where the conclusion fails and returns the shrunk counterexample,
or ``None``. With nothing dropped an exact statement has no counterexample; the tests run
:func:`falsify` with every assumption dropped in turn and pin the counterexamples found.

``sharpsim.strategies`` (problems, policies, coverage requests) stays the general-purpose module.
"""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
from hypothesis import HealthCheck, assume, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from sharpsim import bounds, strategies
from sharpsim.coefficients import margin
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
                f"  params = {self.params}\n{self.report}\n  conclusion fails: {self.conclusion.value} against "
                f"{self.conclusion.threshold} ({self.conclusion.detail})")


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


@st.composite
def _lemma41(draw, keep: bool):
    problem = draw(_tabular())
    beta = draw(st.floats(0.02, 10.0))
    params = {"beta": beta, "reference": None}
    if not keep:
        params["reference"] = np.asarray(draw(strategies.probability_tables(problem.num_prompts, problem.num_responses,
                                                                           min_prob=0.01)))
    return Instance(problem, params)


@st.composite
def _margin_lemma(draw, keep: bool):
    problem = draw(_tabular(num_responses=(2, 5)))
    delta = draw(st.floats(0.01, 0.5))
    thr = bounds.margin_lemma_beta(margin(problem), problem.num_responses, delta=delta)
    assume(thr > 0)
    factor = draw(st.floats(0.01, 1.0)) if keep else draw(st.floats(0.01, 1000.0))
    return Instance(problem, {"beta": factor * thr, "delta": delta})


@st.composite
def _lemma_i1(draw, keep: bool):
    problem = draw(_tabular())
    mu = draw(st.floats(0.05, 20.0))
    params = {"stop_level": mu, "verifier": None}
    if not keep:
        params["verifier"] = np.asarray(draw(strategies.probability_tables(problem.num_prompts, problem.num_responses,
                                                                          min_prob=0.001)))
    return Instance(problem, params)


_STRATEGIES = {
    "Prop 3.1": ("argmax_mass", _prop31),
    "Prop C.1": ("enough_draws", _prop_c1),
    "Lemma 4.1": ("reference_is_base", _lemma41),
    "Margin lemma": ("beta_small", _margin_lemma),
    "Lemma I.1": ("verifier_is_base", _lemma_i1),
}


def instances(theorem, *, drop: str | None = None) -> st.SearchStrategy[Instance]:
    """A hypothesis strategy of instances satisfying ``theorem``'s assumptions, except ``drop``.

    Args:
      theorem: a :class:`~sharpsim.theorems.Theorem` or its id.
      drop: the name of an assumption to leave free (drawn from a wider family), or ``None``.

    Returns:
      A strategy of :class:`~sharpsim.theorems.Instance` objects (validated by the theorem).

    Raises:
      KeyError: on an unknown theorem or assumption.
      NotImplementedError: for a theorem without instance strategies yet.
    """
    thm = _theorem(theorem)
    if thm.id not in _STRATEGIES:
        raise NotImplementedError(f"no instance strategy for {thm.id} yet; available: {sorted(_STRATEGIES)}")
    name, strategy = _STRATEGIES[thm.id]
    if drop is not None:
        thm.assumption(drop)  # KeyError naming the assumptions
    return strategy(keep=(drop != name)).map(lambda inst: thm.instance(inst.problem, **inst.params))


def falsify(theorem, *, drop: str | None = None, max_examples: int = 200, seed: int = 0) -> Counterexample | None:
    """Searches for an instance where ``theorem``'s conclusion fails; returns it shrunk, or ``None``.

    The search draws from :func:`instances` (every assumption kept except ``drop``) with hypothesis,
    derandomised by ``seed``, and shrinks the first failure to a minimal one.

    Args:
      theorem: a :class:`~sharpsim.theorems.Theorem` or its id.
      drop: an assumption to leave free, or ``None`` (then an exact theorem has no counterexample).
      max_examples: instances tried at most.
      seed: the search's seed.

    Returns:
      A :class:`Counterexample`, or ``None`` when none was found.

    Raises:
      KeyError: on an unknown theorem or assumption.
      ValueError: on ``max_examples`` below 1.
    """
    if not isinstance(max_examples, int) or isinstance(max_examples, bool) or max_examples < 1:
        raise ValueError(f"`max_examples` must be an integer >= 1; got {max_examples!r}")
    thm = _theorem(theorem)
    strategy = instances(thm, drop=drop)
    cfg = settings(max_examples=max_examples, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck))
    try:
        inst = find(strategy, lambda i: not thm.conclusion_fn(i).holds, settings=cfg, random=random.Random(seed))
    except NoSuchExample:
        return None
    return Counterexample(thm.id, drop, inst.problem, inst.params, thm._report(inst), thm.conclusion_fn(inst))
