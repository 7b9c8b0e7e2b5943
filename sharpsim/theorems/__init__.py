"""The paper's results as testable objects: check a theorem's assumptions on your instance, see
what it promises there, and evaluate its conclusion.

``theorems.get("Prop 3.1")`` returns a :class:`Theorem`; ``theorems.all()`` lists them, in the
paper's order. ``Theorem.check(problem, **params)`` gives the assumption report (``.holds``,
``.rows``) and the promise; ``Theorem.verify(problem, **params)`` evaluates the conclusion (exactly,
for the exact statements). ``sharpsim.testing.falsify`` searches, with hypothesis, for an instance
where a conclusion fails once an assumption is dropped.
"""

from sharpsim.theorems._core import (
    Assumption,
    AssumptionResult,
    Conclusion,
    Instance,
    Report,
    Theorem,
    Verification,
)
from sharpsim.theorems.exact import (
    LEMMA_41,
    LEMMA_I1,
    MARGIN_LEMMA,
    PROP_31,
    PROP_C1,
    PROP_E2,
    class_sup_mass,
    reference_optimum,
)
from sharpsim.theorems.statistical import (
    MAX_SAMPLED_BUDGET,
    THM_31,
    THM_41,
    THM_42,
    THM_43,
    THM_D1,
    clopper_pearson,
)

__all__ = ["MAX_SAMPLED_BUDGET", "Assumption", "AssumptionResult", "Conclusion", "Instance", "Report", "Theorem", "Verification", "all",
           "class_sup_mass", "clopper_pearson", "get", "ids", "reference_optimum"]

_REGISTRY: dict[str, Theorem] = {t.id: t for t in (PROP_31, THM_31, THM_41, LEMMA_41, THM_42, MARGIN_LEMMA, THM_43, PROP_C1,
                                                  THM_D1, PROP_E2, LEMMA_I1)}
_ALIASES = {"margin lemma": "Margin lemma", "thm 4.3 margin lemma": "Margin lemma", "thm j.2": "Thm 4.3",
            "thm 4.3/j.2": "Thm 4.3", "thm 4.3 / j.2": "Thm 4.3"}


def ids() -> list[str]:
    """The registered ids, in the paper's order."""
    return list(_REGISTRY)


def all() -> list[Theorem]:
    """Every registered theorem, in the paper's order."""
    return list(_REGISTRY.values())


def get(id: str) -> Theorem:
    """The theorem with this id, as the paper prints it (``"Prop 3.1"``, ``"Lemma I.1"``; case and
    spacing are normalised, ``"Thm"``/``"Theorem"``, ``"Prop"``/``"Proposition"`` both accepted).

    Raises:
      KeyError: naming the registered ids.
    """
    key = " ".join(str(id).split())
    for long, short in (("Theorem ", "Thm "), ("Proposition ", "Prop "), ("Lem ", "Lemma ")):
        if key.lower().startswith(long.lower()):
            key = short + key[len(long):]
    for name in _REGISTRY:
        if name.lower() == key.lower():
            return _REGISTRY[name]
    if key.lower() in _ALIASES:
        return _REGISTRY[_ALIASES[key.lower()]]
    raise KeyError(f"no theorem {id!r}; registered: {ids()}")
