"""Problems: a base policy ``π_base`` plus a prompt distribution ``μ`` (Huang et al., ICLR 2025, Sec 2).

One module per construction, each named after what it is in the paper:

* :mod:`~sharpsim.problems.core` — :class:`Problem`, :func:`from_probs` / :func:`from_policy`
  (wrap user arrays or policies, validated) and :func:`as_tabular_base`;
* :mod:`~sharpsim.problems.correct` — :func:`flawed_verifier` (a problem whose correctness set
  ``Problem.correct`` differs from the arg-max on a chosen number of prompts; read with
  :func:`correct_set`);
* :mod:`~sharpsim.problems.coverage` — :func:`with_coverage` (a random tabular problem whose exact
  coverage ``C_cov`` (Eq 6) is the one requested and whose margin (Assumption 4.2) is at least the
  one requested) and :func:`planted_autoregressive` (the same over sequences ``V^H``);
* :mod:`~sharpsim.problems.runner_up` — :func:`planted_runner_up` (the margin of Assumption 4.2
  exactly the one requested: a runner-up at ``π(y*)/(1 + γ)`` on every prompt), feasible range
  :func:`runner_up_range`;
* :mod:`~sharpsim.problems.prop31` — :func:`prop31_tightness`, Prop 3.1's tightness instance;
* :mod:`~sharpsim.problems.lower_bound` — :func:`lower_bound_family`, the App H hard family of Thm 3.1;
* :mod:`~sharpsim.problems.example_j1` — :func:`sphere_separation`, Example J.1 (margin Ω(1),
  coverage exp(Ω(d)); responses a :func:`nested_spherical_code`, so ``|Y|`` grows with d);
* :mod:`~sharpsim.problems.hidden` — :func:`hidden_direction`, a linear-softmax instance where
  offline Eq 8 cannot sharpen without exploration and XPO (Alg 1) can;
* :mod:`~sharpsim.problems.hardness` — App E: :func:`maxcut_instance` (Prop E.1) and
  :func:`prop_e2_instance` (Prop E.2).
"""

from sharpsim.problems.core import Problem, as_tabular_base, correct_set, from_policy, from_probs
from sharpsim.problems.correct import flawed_verifier
from sharpsim.problems.coverage import (
    MIN_CONSTRUCTED_MARGIN,
    coverage_range,
    planted_autoregressive,
    planted_coverage_range,
    with_coverage,
)
from sharpsim.problems.example_j1 import nested_spherical_code, sign_code, sphere_separation
from sharpsim.problems.hardness import cut_value, maxcut_instance, prop_e2_instance
from sharpsim.problems.hidden import hidden_direction
from sharpsim.problems.lower_bound import LowerBoundInstance, hard_conditionals, lower_bound_family
from sharpsim.problems.prop31 import prop31_tightness
from sharpsim.problems.runner_up import planted_runner_up, runner_up_range

__all__ = [
    "MIN_CONSTRUCTED_MARGIN",
    "LowerBoundInstance",
    "Problem",
    "as_tabular_base",
    "correct_set",
    "coverage_range",
    "cut_value",
    "flawed_verifier",
    "from_policy",
    "from_probs",
    "hard_conditionals",
    "hidden_direction",
    "lower_bound_family",
    "maxcut_instance",
    "nested_spherical_code",
    "planted_autoregressive",
    "planted_coverage_range",
    "planted_runner_up",
    "prop31_tightness",
    "prop_e2_instance",
    "runner_up_range",
    "sign_code",
    "sphere_separation",
    "with_coverage",
]
