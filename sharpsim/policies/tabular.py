"""Tabular policies: an explicit table ``π(y | x)`` over finite prompts and responses."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from sharpsim import _config
from sharpsim import _validation as v
from sharpsim._search import first_greater


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TabularPolicy:
    """A conditional distribution ``π(y | x)`` stored as a table of log-probabilities.

    An immutable JAX pytree (its only leaf is ``log_probs``), so it passes through ``jit``,
    ``vmap`` and ``lax.scan``. Build one with :meth:`from_probs`, :meth:`from_logits` or
    :meth:`from_log_probs`, which validate their input; the raw constructor trusts it.

    Attributes:
      log_probs: ``[num_prompts, num_responses]`` normalised log-probabilities
        (``-inf`` where ``π(y|x) = 0``).
    """

    log_probs: jax.Array

    # ----------------------------------------------------------------------- constructors
    @classmethod
    def from_probs(cls, probs) -> TabularPolicy:
        """Builds a policy from ``probs: [num_prompts, num_responses]``.

        Raises:
          ValueError: if an entry is negative or non-finite, or a row does not sum to 1
            within ``sharpsim._config.PROB_SUM_ATOL`` (1e-6; accepted rows are renormalised).
        """
        if not v.is_concrete(probs):
            p = jnp.asarray(probs)
            return cls(jnp.log(p / p.sum(-1, keepdims=True)))
        arr = v.check_probability_table("probs", probs)
        return cls(jnp.log(jnp.asarray(arr, dtype=_float())))

    @classmethod
    def from_logits(cls, logits) -> TabularPolicy:
        """Builds ``π(·|x) = softmax(logits[x])`` from ``logits: [num_prompts, num_responses]``.

        ``-inf`` logits give zero probability; NaN or ``+inf`` raise ``ValueError``.
        """
        if v.is_concrete(logits):
            logits = v.check_logits("logits", logits)
        return cls(jax.nn.log_softmax(jnp.asarray(logits, dtype=_float()), axis=-1))

    @classmethod
    def from_log_probs(cls, log_probs) -> TabularPolicy:
        """Builds a policy from normalised log-probabilities (rows must sum to 1 in prob space)."""
        if v.is_concrete(log_probs):
            log_probs = v.check_log_probability_table("log_probs", log_probs)
        return cls(jnp.asarray(log_probs, dtype=_float()))

    # --------------------------------------------------------------------------- shapes
    @property
    def num_prompts(self) -> int:
        """``|X|``, the number of prompts."""
        return self.log_probs.shape[-2]

    @property
    def num_responses(self) -> int:
        """``|Y|``, the number of responses."""
        return self.log_probs.shape[-1]

    @property
    def probs(self) -> jax.Array:
        """``[num_prompts, num_responses]`` probabilities ``π(y|x)``."""
        return jnp.exp(self.log_probs)

    @property
    def logits(self) -> jax.Array:
        """Alias of :attr:`log_probs` (normalised logits)."""
        return self.log_probs

    # ------------------------------------------------------------------- probabilities
    def log_prob(self, prompts, responses) -> jax.Array:
        """``log π(responses | prompts)``; ``prompts: [...]``, ``responses: [..., k]`` or ``[...]``.

        ``responses`` may carry trailing axes beyond those of ``prompts`` (e.g. ``N`` draws per
        prompt); ``prompts`` is broadcast against them.
        """
        prompts = jnp.asarray(prompts)
        responses = jnp.asarray(responses)
        extra = responses.ndim - prompts.ndim
        p = prompts.reshape(prompts.shape + (1,) * extra)
        return self.log_probs[p, responses]

    def sample(self, key: jax.Array, prompts, num_samples: int | None = None) -> jax.Array:
        """Draws ``y ~ π(·|x)`` for each prompt.

        Args:
          key: a JAX PRNG key.
          prompts: ``[...]`` integer prompt indices.
          num_samples: if given, draws that many i.i.d. responses per prompt.

        Returns:
          ``[...]`` (or ``[..., num_samples]``) integer responses.
        """
        # Inverse-CDF sampling: O(log |Y|) time and O(1) memory per draw (a Gumbel-max
        # categorical would materialise |Y| noise values per draw).
        prompts = jnp.asarray(prompts)
        shape = prompts.shape if num_samples is None else prompts.shape + (num_samples,)
        cdf = jnp.cumsum(self.probs, axis=-1)  # [X, Y]
        u = jax.random.uniform(key, shape, dtype=cdf.dtype)
        rows = prompts if num_samples is None else prompts[..., None]
        rows = jnp.broadcast_to(rows, shape).astype(_int())
        Y = self.num_responses
        target = u * cdf[rows, -1]  # < the row total, so the answer is a response of mass > 0
        return first_greater(cdf.reshape(-1), rows * Y, Y, Y, target)

    # ------------------------------------------------------------------- arg-max sets
    def max_log_prob(self) -> jax.Array:
        """``[num_prompts]`` ``log max_y π(y|x)``."""
        return jnp.max(self.log_probs, axis=-1)

    def argmax_set(self, gamma: float = 0.0, *, rtol: float = _config.TIE_RTOL) -> jax.Array:
        """Boolean mask ``[num_prompts, num_responses]`` of ``y*_γ(x)``.

        ``y`` is included when ``π(y|x) >= (1 - γ)(1 - rtol) max_y' π(y'|x)``; with ``γ = 0``
        this is the arg-max set ``y*(x)`` with ties up to the relative tolerance ``rtol``
        (default ``TIE_RTOL = 1e-9``).
        """
        if v.is_concrete(gamma):
            gamma = v.check_unit_interval("gamma", gamma)
        threshold = self.max_log_prob()[:, None] + jnp.log1p(-gamma) + jnp.log1p(-rtol)
        return self.log_probs >= threshold

    def num_argmax(self, *, rtol: float = _config.TIE_RTOL) -> jax.Array:
        """``[num_prompts]`` the size ``|y*(x)|`` of each arg-max set."""
        return jnp.sum(self.argmax_set(0.0, rtol=rtol), axis=-1)

    def mass(self, mask) -> jax.Array:
        """``[num_prompts]`` ``π(S(x) | x)`` for a boolean ``mask: [num_prompts, num_responses]``."""
        return jnp.sum(jnp.where(mask, self.probs, 0.0), axis=-1)

    def greedy(self) -> jax.Array:
        """``[num_prompts]`` the mode of each row (lowest index among ties)."""
        return jnp.argmax(self.log_probs, axis=-1)


def _float():
    return jnp.float64 if _config.X64_ENABLED else jnp.float32


def _int():
    return jnp.int64 if _config.X64_ENABLED else jnp.int32
