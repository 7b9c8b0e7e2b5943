"""Tabular autoregressive policies over sequences ``Y = V^H``.

``π(y_{1:H} | x) = Π_h π_h(y_h | y_{<h}, x)``. Each step's conditional is a table indexed by
the prompt and by the last ``k = context_length`` tokens (``k = H - 1``, the default, is the
full history, so every autoregressive law over ``V^H`` is representable; a smaller ``k`` gives
a Markov policy whose tables stay small when ``V^H`` is huge, so sampling, scoring and greedy
decoding work far beyond the enumeration limit).

Sequences are integer arrays ``[..., H]``. A sequence's *index* in ``V^H`` reads it as a
base-``V`` number with the first token most significant; :meth:`to_tabular` uses this order.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _config
from sharpsim import _validation as v
from sharpsim.policies.tabular import TabularPolicy, _float


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class AutoregressivePolicy:
    """Per-step conditional tables of an autoregressive policy.

    Attributes:
      log_tables: ``[horizon, num_prompts, vocab_size ** context_length, vocab_size]``;
        ``log_tables[h, x, c, t] = log π_h(t | context c, x)``. The context index ``c`` of step
        ``h`` encodes the last ``min(h, k)`` tokens in base ``V`` (most recent least
        significant): ``c_0 = 0``, ``c_{h+1} = (c_h V + y_h) mod V^k``. For ``h < k`` only the
        first ``V^h`` contexts are reachable; the other rows are unused.
      context_length: ``k``, a static (non-traced) field.
    """

    log_tables: jax.Array
    context_length: int = dataclasses.field(metadata=dict(static=True))

    # ----------------------------------------------------------------------- constructors
    @classmethod
    def from_conditionals(cls, probs, context_length: int | None = None) -> AutoregressivePolicy:
        """Builds a policy from conditional probability tables ``[H, X, V**k, V]``.

        Args:
          probs: per-step conditionals; every row over the last axis must be a distribution
            (tolerance ``PROB_SUM_ATOL``; rows are renormalised).
          context_length: ``k``; inferred from the third axis (``V**k``) when omitted.
        """
        arr = v.check_probability_table("probs", probs, ndim=4)
        k = _infer_context_length(arr.shape, context_length)
        return cls(jnp.log(jnp.asarray(arr, dtype=_float())), k)

    @classmethod
    def from_logits(cls, logits, context_length: int | None = None) -> AutoregressivePolicy:
        """Builds a policy from unnormalised per-step logits ``[H, X, V**k, V]``."""
        if v.is_concrete(logits):
            logits = v.check_logits("logits", logits, ndim=4)
        k = _infer_context_length(np.shape(logits), context_length)
        return cls(jax.nn.log_softmax(jnp.asarray(logits, dtype=_float()), axis=-1), k)

    # --------------------------------------------------------------------------- shapes
    @property
    def horizon(self) -> int:
        """``H``, the number of tokens in a response."""
        return self.log_tables.shape[0]

    @property
    def num_prompts(self) -> int:
        """``|X|``, the number of prompts."""
        return self.log_tables.shape[1]

    @property
    def vocab_size(self) -> int:
        """``V``, the number of tokens."""
        return self.log_tables.shape[3]

    @property
    def num_responses(self) -> int:
        """``|Y| = V^H`` (a Python int; may be astronomically large)."""
        return self.vocab_size**self.horizon

    @property
    def num_contexts(self) -> int:
        """``V^k`` (``k = context_length``), the number of contexts indexing each step's table."""
        return self.log_tables.shape[2]

    # ----------------------------------------------------------------- sequence helpers
    def contexts(self, sequences) -> jax.Array:
        """``[..., H]`` the context index seen at each step of ``sequences: [..., H]``."""
        return _contexts(jnp.asarray(sequences), self.vocab_size, self.num_contexts)

    def sequence_to_index(self, sequences) -> jax.Array:
        """``[...]`` the index in ``V^H`` of ``sequences: [..., H]`` (first token most significant)."""
        sequences = jnp.asarray(sequences)
        powers = self.vocab_size ** jnp.arange(self.horizon - 1, -1, -1, dtype=sequences.dtype)
        return jnp.sum(sequences * powers, axis=-1)

    def index_to_sequence(self, index) -> jax.Array:
        """``[..., H]`` the sequence with index ``index: [...]`` (inverse of :meth:`sequence_to_index`)."""
        index = jnp.asarray(index)
        powers = self.vocab_size ** jnp.arange(self.horizon - 1, -1, -1, dtype=index.dtype)
        return (index[..., None] // powers) % self.vocab_size

    # ------------------------------------------------------------------- probabilities
    def log_prob(self, prompts, sequences) -> jax.Array:
        """``log π(sequences | prompts)``; ``prompts: [...]``, ``sequences: [..., k, H]`` or ``[..., H]``."""
        prompts = jnp.asarray(prompts)
        sequences = jnp.asarray(sequences)
        extra = sequences.ndim - 1 - prompts.ndim
        p = prompts.reshape(prompts.shape + (1,) * extra)
        ctx = self.contexts(sequences)
        steps = jnp.arange(self.horizon)
        per_step = self.log_tables[steps, p[..., None], ctx, sequences]
        return jnp.sum(per_step, axis=-1)

    def sample(self, key: jax.Array, prompts, num_samples: int | None = None) -> jax.Array:
        """Token-wise sampling: ``[...]`` prompts → ``[..., H]`` (or ``[..., num_samples, H]``)."""
        prompts = jnp.asarray(prompts)
        if num_samples is not None:
            prompts = jnp.broadcast_to(prompts[..., None], prompts.shape + (num_samples,))
        return _sample(self.log_tables, key, prompts)

    def greedy(self, prompts=None) -> jax.Array:
        """Token-wise greedy decoding (lowest token among ties): ``[num_prompts, H]``."""
        prompts = jnp.arange(self.num_prompts) if prompts is None else jnp.asarray(prompts)
        return _greedy(self.log_tables, prompts)

    # -------------------------------------------------------------------- enumeration
    def all_sequences(self, *, limit: int = _config.ENUMERATION_LIMIT) -> jax.Array:
        """``[V^H, H]`` every sequence, in index order (raises beyond ``limit``)."""
        self._check_enumerable(limit)
        return self.index_to_sequence(jnp.arange(self.num_responses))

    def joint_log_probs(self, *, limit: int = _config.ENUMERATION_LIMIT) -> jax.Array:
        """``[num_prompts, V^H]`` the exact joint log-law, by enumeration.

        Raises:
          ValueError: if ``num_prompts * V**H`` exceeds ``limit``
            (default ``ENUMERATION_LIMIT = 2**24``).
        """
        seqs = self.all_sequences(limit=limit)
        prompts = jnp.arange(self.num_prompts)
        return self.log_prob(prompts, jnp.broadcast_to(seqs, (self.num_prompts,) + seqs.shape))

    def to_tabular(self, *, limit: int = _config.ENUMERATION_LIMIT) -> TabularPolicy:
        """The same law as a :class:`TabularPolicy` over ``V^H`` (index order)."""
        return TabularPolicy(self.joint_log_probs(limit=limit))

    def sequence_argmax(self, *, limit: int = _config.ENUMERATION_LIMIT) -> jax.Array:
        """``[num_prompts, H]`` a most likely sequence per prompt (exact, by enumeration;
        the lowest index among ties). The full arg-max set is ``to_tabular().argmax_set()``."""
        return self.index_to_sequence(jnp.argmax(self.joint_log_probs(limit=limit), axis=-1))

    def _check_enumerable(self, limit: int) -> None:
        size = self.num_prompts * self.num_responses
        if size > limit:
            raise ValueError(
                f"enumerating this autoregressive policy needs num_prompts * vocab_size**horizon = "
                f"{self.num_prompts} * {self.vocab_size}**{self.horizon} = {size} entries, above "
                f"`limit` = {limit} (sharpsim._config.ENUMERATION_LIMIT); pass a larger `limit` "
                f"if you have the memory"
            )


# Module-level jitted kernels: one compilation per shape, not one per call (a scan over a closure
# built inside a method would be traced and compiled anew at every call).
@functools.partial(jax.jit, static_argnums=(1, 2))
def _contexts(sequences, V: int, S: int):
    def step(c, tok):
        return (c * V + tok) % S, c

    seq_first = jnp.moveaxis(sequences, -1, 0)
    _, ctx = jax.lax.scan(step, jnp.zeros(sequences.shape[:-1], sequences.dtype), seq_first)
    return jnp.moveaxis(ctx, 0, -1)


@jax.jit
def _sample(log_tables, key, prompts):
    H, _, S, V = log_tables.shape
    keys = jax.random.split(key, H)

    def step(ctx, inputs):
        table, k = inputs
        tok = jax.random.categorical(k, table[prompts, ctx], axis=-1)
        return (ctx * V + tok) % S, tok

    ctx0 = jnp.zeros(prompts.shape, jnp.int64 if _config.X64_ENABLED else jnp.int32)
    _, toks = jax.lax.scan(step, ctx0, (log_tables, keys))
    return jnp.moveaxis(toks, 0, -1)


@jax.jit
def _greedy(log_tables, prompts):
    _, _, S, V = log_tables.shape

    def step(ctx, table):
        tok = jnp.argmax(table[prompts, ctx], axis=-1)
        return (ctx * V + tok) % S, tok

    _, toks = jax.lax.scan(step, jnp.zeros_like(prompts), log_tables)
    return jnp.moveaxis(toks, 0, -1)


def _infer_context_length(shape, context_length):
    if len(shape) != 4:
        raise ValueError(f"conditional tables must have shape [H, X, V**k, V]; got {shape}")
    H, _, S, V = shape
    if context_length is None:
        k = round(math.log(S, V)) if V > 1 else 0
    else:
        k = v.check_positive_int("context_length", context_length, minimum=0)
    if V**k != S:
        raise ValueError(
            f"the third axis of the conditional tables must be vocab_size**context_length = "
            f"{V}**{k} = {V**k}; got {S}"
        )
    if k > max(H - 1, 0):
        raise ValueError(f"`context_length` must be <= horizon - 1 = {H - 1}; got {k}")
    return k
