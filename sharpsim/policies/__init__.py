"""Policies: conditional distributions ``π(y | x)`` as immutable JAX pytrees."""

from sharpsim.policies.autoregressive import AutoregressivePolicy
from sharpsim.policies.tabular import TabularPolicy

Policy = TabularPolicy | AutoregressivePolicy

__all__ = ["AutoregressivePolicy", "Policy", "TabularPolicy"]
