"""Theorems as objects: assumptions checked on an instance, a promise, and a conclusion.

An *instance* is a problem and the theorem's parameters (``Instance(problem, params)``). A
:class:`Theorem` holds its statement in our words, its assumptions (each a named check on an
instance returning :class:`AssumptionResult`: holds or fails, with the measured value and the
threshold), its promise on the instance (the bound's numbers, constants exposed) and its
conclusion (a predicate on the instance, evaluated exactly for the exact statements).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sharpsim.problems import Problem

__all__ = ["Assumption", "AssumptionResult", "Conclusion", "Instance", "Report", "Theorem", "Verification"]

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class Instance:
    """A problem and a theorem's parameters.

    Attributes:
      problem: the :class:`~sharpsim.problems.Problem`.
      params: the theorem's parameters (e.g. ``{"N": 8, "rho": 0.1}``), defaults filled in.
    """

    problem: Problem
    params: dict

    def __repr__(self) -> str:
        p = self.problem
        return (f"Instance(problem=<{p.num_prompts} prompts × {p.num_responses} responses>, "
                f"params={self.params})")


def per_instance(fn: Callable[[Instance], _T]) -> Callable[[Instance], _T]:
    """Memoises ``fn(instance)`` per :class:`Instance` object, so that a quantity the assumptions,
    the promise and the sampler all need is computed once per instance.

    An instance holds a dict and arrays, so it is unhashable: the cache is keyed by ``id(instance)``
    and each entry is dropped when its instance is garbage-collected (``weakref.finalize``), so a
    later instance that reuses the id never sees another instance's value. Nothing is shared between
    two instances, even equal ones; :meth:`Theorem.instance` builds a fresh one per call. ``fn`` must
    be a pure function of the instance, whose ``params`` are not changed after it is built.

    Args:
      fn: ``fn(instance) -> value``.

    Returns:
      The memoised function, with ``fn``'s signature. An exception raised by ``fn`` is not cached.
    """
    cache: dict[int, Any] = {}

    @functools.wraps(fn)
    def memoised(inst: Instance) -> _T:
        key = id(inst)
        if key in cache:
            return cache[key]
        value = fn(inst)
        cache[key] = value
        weakref.finalize(inst, cache.pop, key, None)
        return value

    memoised._cache = cache  # the live entries, for tests
    return memoised


@dataclasses.dataclass(frozen=True)
class AssumptionResult:
    """One assumption checked on one instance.

    Attributes:
      name: the assumption's name.
      holds: whether it holds.
      value: the measured quantity.
      threshold: what it is compared with (``None`` for a yes/no condition).
      detail: one line in words (e.g. "on 37 of 40 prompts").
    """

    name: str
    holds: bool
    value: Any
    threshold: Any
    detail: str = ""

    def row(self) -> dict:
        """A tidy row: ``name``, ``holds``, ``value``, ``threshold``, ``detail``."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Assumption:
    """A named, documented check of one assumption on an instance.

    Attributes:
      name: a short identifier (used by ``falsify(..., drop=name)``).
      description: the assumption in words, with the paper's reference.
      check: ``check(instance) -> AssumptionResult``.
    """

    name: str
    description: str
    check: Callable[[Instance], AssumptionResult]


@dataclasses.dataclass(frozen=True)
class Report:
    """The assumption report of a theorem on an instance (:meth:`Theorem.check`).

    Attributes:
      theorem: the theorem's id.
      instance: the instance checked.
      results: one :class:`AssumptionResult` per assumption.
      promise: what the theorem promises on the instance (:meth:`Theorem.promise`).
    """

    theorem: str
    instance: Instance
    results: tuple
    promise: dict

    @property
    def holds(self) -> bool:
        """True when every assumption holds."""
        return all(r.holds for r in self.results)

    @property
    def rows(self) -> list[dict]:
        """One dict per assumption: ``name``, ``holds``, ``value``, ``threshold``, ``detail``."""
        return [r.row() for r in self.results]

    def __str__(self) -> str:
        failing = [r.name for r in self.results if not r.holds]
        lines = [f"{self.theorem}: " + ("every assumption holds" if not failing else
                                         f"{len(failing)} of {len(self.results)} assumption(s) FAIL: {', '.join(failing)}")]
        for r in self.results:
            thr = "" if r.threshold is None else f" (threshold {_fmt(r.threshold)})"
            lines.append(f"  {'holds' if r.holds else 'FAILS'}  {r.name}: {_fmt(r.value)}{thr}"
                         + (f"; {r.detail}" if r.detail else ""))
        if self.promise:
            lines.append("  promise: " + ", ".join(f"{k}{' ' if k.endswith(('=', '<', '>')) else ': '}{_fmt(val)}"
                                                  for k, val in self.promise.items()))
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Conclusion:
    """The theorem's conclusion evaluated on an instance.

    Attributes:
      holds: whether the conclusion holds.
      value: the measured quantity (e.g. the smallest per-prompt success probability).
      threshold: the value the theorem promises.
      detail: one line in words.
    """

    holds: bool
    value: Any
    threshold: Any
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Verification:
    """The outcome of :meth:`Theorem.verify`.

    Attributes:
      theorem: the theorem's id.
      exact: True when evaluated exactly (no sampling).
      report: the assumption report of the instance.
      conclusion: the conclusion on the instance.
    """

    theorem: str
    exact: bool
    report: Report
    conclusion: Conclusion

    @property
    def holds(self) -> bool:
        """Whether the conclusion holds on the instance."""
        return self.conclusion.holds

    def __str__(self) -> str:
        c = self.conclusion
        how = "exactly" if self.exact else "by sampling"
        return (f"{self.theorem}, evaluated {how}: the conclusion {'holds' if c.holds else 'FAILS'}: "
                f"{_fmt(c.value)} against {_fmt(c.threshold)}" + (f"; {c.detail}" if c.detail else ""))


def _fmt(x) -> str:
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, float):
        return "inf" if math.isinf(x) else f"{x:.6g}"
    return str(x)


@dataclasses.dataclass(frozen=True)
class Theorem:
    """A result of the paper as a testable object.

    Attributes:
      id: the id as the paper prints it (``"Prop 3.1"``, ``"Lemma I.1"``).
      title: one line.
      statement: the statement in our words, with its formula.
      kind: ``"exact"`` (the conclusion is evaluated exactly) or ``"statistical"``.
      assumptions: the :class:`Assumption` objects.
      defaults: the parameters and their defaults (``None``: required).
      promise_fn: ``promise_fn(instance) -> dict``.
      conclusion_fn: ``conclusion_fn(instance) -> Conclusion``.
      validate_fn: ``validate_fn(problem, params)``: raises ``ValueError`` on bad input.
      sample_fn: for a statistical statement, ``sample_fn(instance, key, num_seeds, confidence) ->
        Conclusion``: runs the theorem's algorithm at the promised budget over ``num_seeds`` seeds.
      optional: the parameters whose default ``None`` means "not given" (e.g. a reference policy,
        or a margin to be measured) rather than "required".
    """

    id: str
    title: str
    statement: str
    kind: str
    assumptions: tuple
    defaults: dict
    promise_fn: Callable[[Instance], dict]
    conclusion_fn: Callable[[Instance], Conclusion]
    validate_fn: Callable[[Problem, dict], None] = lambda problem, params: None
    sample_fn: Callable[..., Conclusion] | None = None
    optional: frozenset = frozenset()

    def instance(self, problem: Problem, **params) -> Instance:
        """The instance ``(problem, params)`` with defaults filled in, validated.

        Raises:
          TypeError: if ``problem`` is not a Problem.
          ValueError: on an unknown or missing parameter, or one out of range.
        """
        if not isinstance(problem, Problem):
            raise TypeError(f"`problem` must be a sharpsim Problem; got {type(problem).__name__}")
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(f"{self.id} takes the parameters {sorted(self.defaults)}; got unknown {unknown}")
        full = {**self.defaults, **params}
        missing = sorted(k for k, val in full.items() if val is None and k not in self.optional)
        if missing:
            raise ValueError(f"{self.id} needs the parameter(s) {missing}")
        self.validate_fn(problem, full)
        return Instance(problem, full)

    def assumption(self, name: str) -> Assumption:
        """The assumption called ``name``.

        Raises:
          KeyError: naming the theorem's assumptions.
        """
        for a in self.assumptions:
            if a.name == name:
                return a
        raise KeyError(f"{self.id} has no assumption {name!r}; its assumptions: {[a.name for a in self.assumptions]}")

    def check(self, problem: Problem, **params) -> Report:
        """The assumption report and the promise on ``(problem, params)``.

        Returns:
          A :class:`Report` (``.holds``: every assumption holds; ``.rows``: one row each).
        """
        inst = self.instance(problem, **params)
        return self._report(inst)

    def _report(self, inst: Instance) -> Report:
        return Report(self.id, inst, tuple(a.check(inst) for a in self.assumptions), self.promise_fn(inst))

    def promise(self, problem: Problem, **params) -> dict:
        """What the theorem promises on ``(problem, params)`` (its bound, constants exposed)."""
        return self.promise_fn(self.instance(problem, **params))

    def conclusion(self, problem: Problem, **params) -> Conclusion:
        """The conclusion evaluated on ``(problem, params)`` (exactly for an exact statement)."""
        return self.conclusion_fn(self.instance(problem, **params))

    def verify(self, problem: Problem, *, key=None, num_seeds: int = 200, confidence: float = 0.95,
               **params) -> Verification:
        """Evaluates the conclusion on the instance, with its assumption report.

        For an exact statement nothing is sampled (``key`` and ``num_seeds`` are ignored). For a
        statistical one the theorem's algorithm runs at the promised budget over ``num_seeds``
        seeds and the measured success rate is compared with the promised ``1 − ρ`` through a
        Clopper–Pearson interval at level ``confidence``: the conclusion is refuted when the whole
        interval lies below ``1 − ρ``, which happens with probability at most ``(1 − confidence)/2``
        when the theorem holds on the instance. Whether the assumptions hold is reported, not required: on
        an instance where one fails, the conclusion may or may not hold.

        Args:
          problem: the problem.
          key: PRNG key (statistical statements; default ``jax.random.key(0)``).
          num_seeds: runs (statistical statements), an integer ``>= 1``.
          confidence: the interval's level (statistical statements), in (0, 1).
          **params: the theorem's parameters.

        Returns:
          A :class:`Verification`.

        Raises:
          ValueError: on a bad parameter, ``num_seeds`` or ``confidence``.
        """
        inst = self.instance(problem, **params)
        if self.kind == "exact":
            return Verification(self.id, True, self._report(inst), self.conclusion_fn(inst))
        if isinstance(num_seeds, bool) or not isinstance(num_seeds, int) or num_seeds < 1:
            raise ValueError(f"`num_seeds` must be an integer >= 1; got {num_seeds!r}")
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
            raise ValueError(f"`confidence` must be in (0, 1); got {confidence!r}")
        import jax

        key = jax.random.key(0) if key is None else key
        return Verification(self.id, False, self._report(inst), self.sample_fn(inst, key, num_seeds, confidence))

    def __str__(self) -> str:
        lines = [f"{self.id}: {self.title} ({self.kind})", "", self.statement, "", "Assumptions:"]
        lines += [f"  {a.name}: {a.description}" for a in self.assumptions]
        lines += ["", "Parameters: " + ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())]
        return "\n".join(lines)

