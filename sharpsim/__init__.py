"""sharpsim: exact simulations of self-improvement by sharpening (Huang et al., ICLR 2025).

Importing sharpsim enables JAX's 64-bit mode; see ``sharpsim._config`` for the
floating-point policy.
"""

from sharpsim import (
    _config,  # noqa: F401  (sets the floating-point policy first)
    algorithms,
    bounds,
    classes,
    metrics,
    oracle,
    policies,
    power,
    problems,
)
from sharpsim._config import ENUMERATION_LIMIT, TIE_RTOL
from sharpsim.coefficients import (
    adaptive_coverage,
    concentrability,
    coverage,
    margin,
    power_concentrability,
    r_max,
)
from sharpsim.laws import (
    BonSampler,
    bon_law,
    bon_sampler,
    bon_success_probability,
    kl_regularized_optimum,
    sharpening_error,
)
from sharpsim.metrics import accuracy, pass_at_k
from sharpsim.objectives import hellinger, kl_divergence, kl_objective, regression_loss
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.power import power_law
from sharpsim.problems import Problem

__version__ = "0.1.0"

__all__ = [
    "ENUMERATION_LIMIT",
    "TIE_RTOL",
    "AutoregressivePolicy",
    "BonSampler",
    "Problem",
    "TabularPolicy",
    "__version__",
    "accuracy",
    "adaptive_coverage",
    "algorithms",
    "bon_law",
    "bon_sampler",
    "bon_success_probability",
    "bounds",
    "classes",
    "concentrability",
    "coverage",
    "hellinger",
    "kl_divergence",
    "kl_objective",
    "kl_regularized_optimum",
    "margin",
    "metrics",
    "oracle",
    "pass_at_k",
    "policies",
    "power",
    "power_concentrability",
    "power_law",
    "problems",
    "r_max",
    "regression_loss",
    "sharpening_error",
]
