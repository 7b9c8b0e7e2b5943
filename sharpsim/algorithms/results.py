"""The result types of the algorithms: one per algorithm, sharing a core.

Every result has the :class:`AlgorithmResult` core — the fitted ``policy``, the sample complexity
``num_queries`` charged by the oracle (Def 3.2) and the exact sharpening ``error``
``err_δ(π̂)`` (Def 3.1) — plus what that algorithm produces:

* :class:`SFTResult` (also importable as ``SharpeningResult``) — SFT-Sharpening (Sec 2.1);
* :class:`AdaptiveSFTResult` — adaptive SFT-Sharpening (App D);
* :class:`RLHFResult` — RLHF-Sharpening (Sec 2.2, Eq 8);
* :class:`XPOResult` — XPO (Alg 1).

All are pytrees (``jit``/``vmap`` return them).
"""

from __future__ import annotations

import dataclasses

import jax

from sharpsim.policies import AutoregressivePolicy, TabularPolicy

__all__ = [
    "AdaptiveSFTResult",
    "AlgorithmResult",
    "RLHFResult",
    "SFTResult",
    "SharpeningResult",
    "XPOResult",
]


@dataclasses.dataclass(frozen=True)
class AlgorithmResult:
    """The core every algorithm reports.

    Attributes:
      policy: the output ``π̂`` (a :class:`TabularPolicy` or :class:`AutoregressivePolicy`), or
        ``None`` when the caller asked for ``return_policy=False``.
      num_queries: the sample complexity ``m`` charged by the oracle.
      error: the exact sharpening error ``err_δ(π̂)`` at the requested δ (and γ), evaluated by
        the simulator (not something the algorithm used).
    """

    policy: TabularPolicy | AutoregressivePolicy | None
    num_queries: jax.Array
    error: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SFTResult(AlgorithmResult):
    """The output of SFT-Sharpening (Sec 2.1): the core plus the data it fitted.

    Attributes:
      prompts: ``[n]`` the prompts drawn.
      responses: ``[n]`` the responses kept for fitting (the BoN picks).
      num_draws: ``[n]`` responses drawn per prompt (``N`` each).
    """

    prompts: jax.Array
    responses: jax.Array
    num_draws: jax.Array


#: The name under which SFT-Sharpening's result is documented.
SharpeningResult = SFTResult


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class AdaptiveSFTResult(AlgorithmResult):
    """The output of adaptive SFT-Sharpening (App D): the core plus the data it fitted.

    Attributes:
      prompts: ``[n]`` the prompts drawn.
      responses: ``[n]`` the responses kept for fitting (each prompt's best draw).
      num_draws: ``[n]`` the stopping times ``N_μ(x_i)``.
    """

    prompts: jax.Array
    responses: jax.Array
    num_draws: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class RLHFResult(AlgorithmResult):
    """The output of RLHF-Sharpening (Sec 2.2, Eq 8): the core plus its preference data.

    Attributes:
      prompts: ``[n]`` the prompts drawn.
      responses: ``[n, 2]`` (``[n, 2, H]`` for sequences) the two base responses of each prompt.
      num_draws: ``[n]`` responses drawn per prompt (2 each).
    """

    prompts: jax.Array
    responses: jax.Array
    num_draws: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class XPOResult(AlgorithmResult):
    """The output of XPO (Alg 1): the core (``policy`` is the selected iterate; ``num_queries`` is
    ``2 T batch``, plus ``(T+1) heldout_samples`` with ``select="heldout"``) plus the run.

    Attributes:
      thetas: ``[T+1, d]`` or ``[T+1, H, d]``, every iterate; for a pytree-parameter class (the neural
        class) the params pytree with a leading ``T+1`` axis on every leaf.
      objectives: ``[T+1]`` their exact ``J_β``.
      selected: the index of the output iterate.
    """

    thetas: jax.Array
    objectives: jax.Array
    selected: jax.Array

