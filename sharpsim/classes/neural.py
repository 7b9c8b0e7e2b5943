"""A small neural autoregressive class over sequences ``Y = V^H``: an MLP over the full prefix.

``π_w(y_{1:H}|x) = Π_h π_w(y_h | x, y_{<h})`` with

    π_w(· | x, y_{<h}) = softmax(W_out g(... g(E_x[x] + E_s[h] + Σ_{j<h} E_t[j, y_j] + b_1) ...) + b_out),

where ``g`` is the GELU, ``E_x: [X, width]``, ``E_s: [H, width]`` and ``E_t: [H, V, width]`` are
embeddings and ``depth`` hidden layers of ``width`` units follow. The first layer is an MLP's first
linear map applied to the concatenated one-hot encodings of the prompt, the step and the tokens
``y_j`` at their positions ``j < h`` (written as a sum of embedding look-ups, which is the same
map and cheaper). One network serves every step (weights shared over ``h``, as in a language
model), it sees the whole history (``context_length = H − 1``), and with enough width it can
represent any autoregressive law over ``V^H`` (one hidden layer is a universal approximator of the
``H · X · V^{H-1}`` conditionals it must produce).

The class is parametrised by a pytree ``params`` (a dict of arrays, see :meth:`init_params`). The
class object holds an initial ``params`` (built from a key) and the key of its minibatches, so its
oracles are pure functions of ``(params, data, key)`` and jit and vmap (over seeds, over data,
over classes built by :meth:`with_key`).

Oracles:

* :meth:`mle` — maximum likelihood by Adam (optax) on minibatches of ``batch_size`` rows drawn
  with replacement among the unmasked rows, ``steps`` steps from the initial ``params`` with a
  cosine decay of the rate. The loss is not convex in ``params``: the fit is a local solution (its
  full-data gradient norm is reported by :meth:`mle_with_info`).
* :meth:`regress` — the Eq 8 square loss (RLHF-Sharpening), the same way.
* :meth:`policy` — ``π_w`` as an :class:`~sharpsim.policies.AutoregressivePolicy` with the full
  history; its conditional tables are built by evaluating the network at every reachable prefix
  (``Σ_h X V^h`` evaluations), so everything exact in sharpsim (the joint law by enumeration,
  ``err_δ``, coverage, ``J_β``) applies to the trained model.
* :meth:`fit_law` — the KL projection of a given law onto the class (full-batch Adam).
* XPO (Alg 1): the class is a :class:`~sharpsim.classes.PytreeParametricClass` (``params``,
  ``log_probs``, ``policy``, ``fit_law``), so :func:`sharpsim.algorithms.xpo` runs over it: its
  iterates are ``params`` pytrees, its inner minimisation is warm-started, unconstrained Adam over
  every leaf (no ball: the class has no ``features``, ``radius`` or ``project``) and its start is
  :meth:`fit_law` of the exact base law. Thm J.1/J.2's guarantees assume an exact argmin over
  a class with bounded log-ratios, SEC and covering number (the linear-softmax class with bounded
  parameters, Thm J.3); they do not cover this class.

``log_size`` is ``inf`` (a continuum of parameters), as for the linear-softmax classes; no
covering number is given (Thm 4.1's bound is then vacuous for this class).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import TYPE_CHECKING, Any, ClassVar

import jax
import jax.numpy as jnp
import optax

from sharpsim import _validation as v
from sharpsim.classes.protocol import FitInfo, check_sizes, pytree_class
from sharpsim.policies import AutoregressivePolicy
from sharpsim.policies.tabular import _float

if TYPE_CHECKING:
    from sharpsim.problems import Problem

__all__ = ["NEURAL_RESPONSE_LIMIT", "NeuralAutoregressiveClass"]

#: The default bound on ``V^H`` (the class builds full-history conditional tables).
NEURAL_RESPONSE_LIMIT = 2**16


@pytree_class
@dataclasses.dataclass(frozen=True, init=False, eq=False)
class NeuralAutoregressiveClass:
    """An MLP over the full prefix, shared over steps, as a model class over ``V^H`` (module doc).

    Args:
      num_prompts: ``|X| >= 1``.
      vocab_size: ``V >= 2``.
      horizon: ``H >= 1``.
      key: a PRNG key: the initial parameters and the minibatch key derive from it.
      width: hidden units per layer (``>= 1``).
      depth: hidden layers (``>= 1``).
      steps: optimiser steps of :meth:`mle` and :meth:`regress` (``>= 1``).
      batch_size: rows per minibatch (``>= 1``), drawn with replacement among the unmasked rows.
      learning_rate: Adam's initial rate (``> 0``; cosine decay to 1% of it).
      init_scale: the standard deviation of the initial weights times ``sqrt(fan_in)``
        (``> 0``; small values start near the uniform law).
      response_limit: the largest ``V^H`` accepted (default ``NEURAL_RESPONSE_LIMIT = 2**16``).

    Raises:
      TypeError: if a size is not an integer or ``key`` is not a PRNG key.
      ValueError: if a size is out of range or ``V^H > response_limit``.

    Attributes:
      params: the initial parameters (a pytree of arrays; leaves).
      key: the minibatch key (a leaf).
      num_prompts: ``|X|`` (static).
      vocab_size: ``V`` (static).
      horizon: ``H`` (static).
      width: hidden units per layer (static).
      depth: hidden layers (static).
      steps: optimiser steps (static).
      batch_size: rows per minibatch (static).
      learning_rate: Adam's initial rate (static).
      init_scale: the initialisation scale (static).
    """

    params: Any
    key: jax.Array
    num_prompts: int = dataclasses.field(metadata=dict(static=True))
    vocab_size: int = dataclasses.field(metadata=dict(static=True))
    horizon: int = dataclasses.field(metadata=dict(static=True))
    width: int = dataclasses.field(metadata=dict(static=True))
    depth: int = dataclasses.field(metadata=dict(static=True))
    steps: int = dataclasses.field(metadata=dict(static=True))
    batch_size: int = dataclasses.field(metadata=dict(static=True))
    learning_rate: float = dataclasses.field(metadata=dict(static=True))
    init_scale: float = dataclasses.field(metadata=dict(static=True))
    autoregressive: ClassVar[bool] = True

    def __init__(self, num_prompts: int, vocab_size: int, horizon: int, *, key, width: int = 32,
                 depth: int = 1, steps: int = 300, batch_size: int = 64, learning_rate: float = 0.02,
                 init_scale: float = 1.0, response_limit: int = NEURAL_RESPONSE_LIMIT):
        sizes = dict(num_prompts=v.check_positive_int("num_prompts", num_prompts),
                     vocab_size=v.check_positive_int("vocab_size", vocab_size, minimum=2),
                     horizon=v.check_positive_int("horizon", horizon),
                     width=v.check_positive_int("width", width), depth=v.check_positive_int("depth", depth),
                     steps=v.check_positive_int("steps", steps), batch_size=v.check_positive_int("batch_size", batch_size))
        response_limit = v.check_positive_int("response_limit", response_limit)
        if sizes["vocab_size"] ** sizes["horizon"] > response_limit:
            raise ValueError(
                f"`vocab_size`**`horizon` = {vocab_size}**{horizon} = {vocab_size**horizon} exceeds "
                f"`response_limit` = {response_limit}: the class builds full-history tables over V^H"
            )
        for name, value in sizes.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "learning_rate", v.check_positive("learning_rate", learning_rate))
        object.__setattr__(self, "init_scale", v.check_positive("init_scale", init_scale))
        k_init, k_batch = jax.random.split(_check_key(key))
        object.__setattr__(self, "params", self.init_params(k_init))
        object.__setattr__(self, "key", k_batch)

    @classmethod
    def for_problem(cls, problem: Problem, *, key, **options) -> NeuralAutoregressiveClass:
        """The class on ``problem``'s prompts, ``V`` and ``H``.

        Args:
          problem: a problem whose base is an :class:`~sharpsim.policies.AutoregressivePolicy`.
          key: a PRNG key.
          **options: ``width``, ``depth``, ``steps``, ``batch_size``, ``learning_rate``,
            ``init_scale``, ``response_limit`` (see the class).

        Returns:
          A :class:`NeuralAutoregressiveClass`.

        Raises:
          TypeError: if ``problem``'s base is not autoregressive.
          ValueError: as the constructor.
        """
        base = _autoregressive_base(problem)
        return cls(base.num_prompts, base.vocab_size, base.horizon, key=key, **options)

    # ------------------------------------------------------------------------ basics
    @property
    def num_responses(self) -> int:
        """``|Y| = V^H``."""
        return self.vocab_size**self.horizon

    @property
    def sizes(self) -> tuple[int, int]:
        """``(num_prompts, num_responses)``."""
        return (self.num_prompts, self.num_responses)

    @property
    def log_size(self) -> float:
        """``inf`` (a continuum of parameters; no covering number is given)."""
        return math.inf

    @property
    def num_params(self) -> int:
        """The number of scalar parameters."""
        return sum(int(x.size) for x in jax.tree_util.tree_leaves(self.params))

    def with_key(self, key) -> NeuralAutoregressiveClass:
        """The same class re-initialised from ``key`` (new initial parameters and minibatch key);
        traceable, so ``jax.vmap(cls.with_key)(keys)`` builds one class per seed.

        Raises:
          TypeError: if ``key`` is not a PRNG key.
        """
        k_init, k_batch = jax.random.split(_check_key(key))
        return self._replace(params=self.init_params(k_init), key=k_batch)

    def with_params(self, params) -> NeuralAutoregressiveClass:
        """The same class with initial parameters ``params`` (e.g. a previous fit, to warm-start).

        Raises:
          ValueError: if ``params`` does not have the structure and shapes of :attr:`params`.
        """
        want = jax.tree_util.tree_structure(self.params)
        got = jax.tree_util.tree_structure(params)
        shapes = [jnp.shape(x) for x in jax.tree_util.tree_leaves(self.params)]
        if got != want or [jnp.shape(x) for x in jax.tree_util.tree_leaves(params)] != shapes:
            raise ValueError(f"`params` must have the structure and shapes of the class's parameters "
                             f"({want}, {shapes}); got {got}")
        return self._replace(params=jax.tree_util.tree_map(lambda x: jnp.asarray(x, _float()), params))

    def bind(self, problem: Problem) -> NeuralAutoregressiveClass:
        """This class, after checking that it is defined on ``problem`` (same ``X``, ``V`` and ``H``).

        Raises:
          TypeError: if ``problem`` is not problem-like or its base is not autoregressive.
          ValueError: on mismatched sizes.
        """
        check_sizes(self.sizes, problem)
        base = _autoregressive_base(problem)
        if (base.vocab_size, base.horizon) != (self.vocab_size, self.horizon):
            raise ValueError(f"`model_class` has [vocab_size, horizon] = {[self.vocab_size, self.horizon]} but "
                             f"the problem has {[base.vocab_size, base.horizon]}")
        return self

    # ------------------------------------------------------------------- the network
    def init_params(self, key) -> dict:
        """Initial parameters from ``key``: Gaussian weights with standard deviation
        ``init_scale / sqrt(fan_in)`` (fan-in of the first layer: ``H + 2`` one-hot blocks), zero biases.

        Returns:
          ``{"prompt": [X, w], "step": [H, w], "token": [H, V, w], "b1": [w],
          "hidden": [(W [w, w], b [w]) * (depth − 1)], "out": [w, V], "b_out": [V]}``.
        """
        dt = _float()
        w, V, H = self.width, self.vocab_size, self.horizon
        ks = jax.random.split(key, 4 + self.depth)
        s_in = self.init_scale / math.sqrt(H + 2)
        s_hid = self.init_scale / math.sqrt(w)
        return {
            "prompt": s_in * jax.random.normal(ks[0], (self.num_prompts, w), dt),
            "step": s_in * jax.random.normal(ks[1], (H, w), dt),
            "token": s_in * jax.random.normal(ks[2], (H, V, w), dt),
            "b1": jnp.zeros((w,), dt),
            "hidden": [(s_hid * jax.random.normal(ks[4 + i], (w, w), dt), jnp.zeros((w,), dt))
                       for i in range(self.depth - 1)],
            "out": s_hid * jax.random.normal(ks[3], (w, V), dt),
            "b_out": jnp.zeros((V,), dt),
        }

    @staticmethod
    def _head(params, pre) -> jax.Array:
        h = jax.nn.gelu(pre + params["b1"])
        for W, b in params["hidden"]:
            h = jax.nn.gelu(h @ W + b)
        return jax.nn.log_softmax(h @ params["out"] + params["b_out"], axis=-1)

    def sequence_log_probs(self, params, prompts, sequences) -> jax.Array:
        """``log π_w(sequences | prompts)`` evaluated directly (no table).

        Args:
          params: the parameters.
          prompts: ``[n]`` prompt indices.
          sequences: ``[n, H]`` tokens in ``[0, V)`` (not checked: out-of-range tokens are clipped
            by JAX's indexing).

        Returns:
          ``[n]`` log-probabilities.
        """
        x = jnp.asarray(prompts).ravel()
        y = jnp.asarray(sequences).reshape(x.shape[0], self.horizon)
        tok = params["token"][jnp.arange(self.horizon), y]  # [n, H, w]: E_t[j, y_j]
        prefix = jnp.cumsum(tok, axis=1) - tok  # Σ_{j<h}
        pre = params["prompt"][x][:, None, :] + params["step"][None] + prefix
        lp = self._head(params, pre)  # [n, H, V]
        return jnp.sum(jnp.take_along_axis(lp, y[..., None], axis=-1)[..., 0], axis=-1)

    def log_tables(self, params) -> jax.Array:
        """The conditional log-tables of ``π_w`` (context encoding of
        :class:`~sharpsim.policies.AutoregressivePolicy` with ``k = H − 1``).

        Args:
          params: the parameters.

        Returns:
          ``[H, X, V^{H-1}, V]``. Step ``h``'s reachable rows (contexts ``< V^h``) come from the
          network; the unreachable ones are uniform.
        """
        V, H, X = self.vocab_size, self.horizon, self.num_prompts
        S = V ** (H - 1)
        dt = params["b_out"].dtype
        prefix = jnp.zeros((1, self.width), dt)  # Σ_{j<h} E_t[j, y_j] per context c < V^h
        rows = []
        for h in range(H):
            if h > 0:  # c_{h} = c_{h-1} V + y_{h-1}: the new token is least significant
                prefix = (prefix[:, None, :] + params["token"][h - 1][None]).reshape(V**h, self.width)
            pre = params["prompt"][:, None, :] + params["step"][h] + prefix[None]  # [X, V^h, w]
            lp = self._head(params, pre)
            pad = jnp.full((X, S - V**h, V), -math.log(V), dt)
            rows.append(jnp.concatenate([lp, pad], axis=1))
        return jnp.stack(rows)

    def policy(self, params=None) -> AutoregressivePolicy:
        """``π_w`` as a policy.

        Args:
          params: the parameters (default: the class's initial :attr:`params`).

        Returns:
          An :class:`~sharpsim.policies.AutoregressivePolicy` with ``context_length = H − 1``.
        """
        params = self.params if params is None else params
        return AutoregressivePolicy(_log_tables(self, params), self.horizon - 1)

    def log_probs(self, params=None) -> jax.Array:
        """The joint ``log π_w`` by enumeration.

        Args:
          params: the parameters (default: the class's initial :attr:`params`).

        Returns:
          ``[X, V^H]`` in the index order of ``AutoregressivePolicy``.
        """
        return self.policy(params).joint_log_probs()

    # --------------------------------------------------------------------- fitting
    def mle(self, prompts, sequences, *, steps: int | None = None) -> AutoregressivePolicy:
        """Maximum likelihood of ``sequences: [n, H]`` given ``prompts: [n]`` (rows with a negative
        token are masked) by minibatch Adam from :attr:`params` (module doc).

        Args:
          prompts: ``[n]`` prompt indices.
          sequences: ``[n, H]`` tokens.
          steps: optimiser steps (default: the class's ``steps``).

        Returns:
          ``π̂`` as an :class:`AutoregressivePolicy`.

        Raises:
          ValueError: on data of the wrong shape or a bad ``steps``.
        """
        return self.policy(self.fit_mle(self.params, prompts, sequences, self.key, steps=steps))

    def mle_with_info(self, prompts, sequences, *, steps: int | None = None,
                      tol: float = 1e-3) -> tuple[AutoregressivePolicy, FitInfo]:
        """:meth:`mle` and its :class:`~sharpsim.classes.FitInfo` (``theta``: the fitted params;
        ``loss``: the full-data mean negative log-likelihood; ``grad_map_norm``: the full-data
        gradient norm; ``converged``: that norm below ``tol``, a local criterion).

        Returns:
          ``(π̂, info)``.

        Raises:
          ValueError: as :meth:`mle`.
        """
        params = self.fit_mle(self.params, prompts, sequences, self.key, steps=steps)
        return self.policy(params), _mle_info(self, params, prompts, sequences, tol)

    def mle_mass(self, prompts, sequences, mask) -> jax.Array:
        """The mass of :meth:`mle`'s fit on a set of responses, per prompt (enumerating ``V^H``).

        Args:
          prompts, sequences: the data, as for :meth:`mle`.
          mask: ``[X, V^H]`` bool.

        Returns:
          ``[X]``.

        Raises:
          ValueError: as :meth:`mle`.
        """
        lp = self.mle(prompts, sequences).joint_log_probs()
        return jnp.exp(jax.scipy.special.logsumexp(jnp.where(mask, lp, -jnp.inf), axis=-1))

    def fit_mle(self, params, prompts, sequences, key, *, steps: int | None = None):
        """The maximum-likelihood fit from ``params`` with minibatch key ``key``: a pure function
        of ``(params, data, key)``.

        Returns:
          The fitted parameters (same pytree structure).

        Raises:
          ValueError: as :meth:`mle`.
        """
        steps = self.steps if steps is None else v.check_positive_int("steps", steps)
        self._rows("sequences", prompts, sequences)  # checked before jit, where the values are concrete
        return _fit_mle(self, params, prompts, sequences, key, steps)

    def regress(self, triples, beta, *, steps: int | None = None) -> AutoregressivePolicy:
        """The Eq 8 square loss over the class by minibatch Adam from :attr:`params`.

        Args:
          triples: a :class:`sharpsim.oracle.Triples` whose responses are sequences ``[n, H]``
            (masked rows: negative tokens).
          beta: ``β > 0``.
          steps: optimiser steps (default: the class's ``steps``).

        Returns:
          ``π̂`` as an :class:`AutoregressivePolicy`.

        Raises:
          ValueError: if ``beta <= 0``, ``steps`` is bad or the triples have the wrong shape.
        """
        return self.policy(self.fit_regression(self.params, triples, beta, self.key, steps=steps))

    def regress_with_info(self, triples, beta, *, steps: int | None = None,
                          tol: float = 1e-3) -> tuple[AutoregressivePolicy, FitInfo]:
        """:meth:`regress` and its :class:`~sharpsim.classes.FitInfo` (full-data mean square
        residual and gradient norm).

        Returns:
          ``(π̂, info)``.

        Raises:
          ValueError: as :meth:`regress`.
        """
        params = self.fit_regression(self.params, triples, beta, self.key, steps=steps)
        return self.policy(params), _regression_info(self, params, triples, beta, tol)

    def fit_regression(self, params, triples, beta, key, *, steps: int | None = None):
        """The Eq 8 fit from ``params`` with minibatch key ``key``: a pure function of
        ``(params, data, key)``.

        Returns:
          The fitted parameters.

        Raises:
          ValueError: as :meth:`regress`.
        """
        steps = self.steps if steps is None else v.check_positive_int("steps", steps)
        if v.is_concrete(beta):
            v.check_positive("beta", beta)
        self._rows("triples.responses", triples.prompts, triples.responses)
        self._rows("triples.other_responses", triples.prompts, triples.other_responses)
        return _fit_regression(self, params, triples, beta, key, steps)

    def fit_law(self, params, log_probs, prompt_probs, *, steps: int | None = None):
        """The KL projection of a law onto the class, ``argmin_w Σ_x μ(x) KL(π(·|x) ‖ π_w(·|x))``:
        the infinite-data limit of :meth:`fit_mle` on samples of ``π`` (full-batch Adam over every
        ``(x, y)`` from ``params``; a local solution, like every fit of this class).

        Args:
          params: the starting parameters.
          log_probs: ``[X, V^H]`` ``log π`` (index order of ``AutoregressivePolicy``).
          prompt_probs: ``[X]`` ``μ``.
          steps: optimiser steps (default: the class's ``steps``).

        Returns:
          The fitted parameters.

        Raises:
          ValueError: on arrays of the wrong shape or a bad ``steps``.
        """
        steps = self.steps if steps is None else v.check_positive_int("steps", steps)
        if jnp.shape(log_probs) != self.sizes:
            raise ValueError(f"`log_probs` must have shape [num_prompts, V^H] = {list(self.sizes)}; got "
                             f"{list(jnp.shape(log_probs))}")
        if jnp.shape(prompt_probs) != (self.num_prompts,):
            raise ValueError(f"`prompt_probs` must have shape [{self.num_prompts}]; got {list(jnp.shape(prompt_probs))}")
        return _fit_law(self, params, log_probs, prompt_probs, steps)

    # ------------------------------------------------------------------- internals
    def _law_loss(self, log_probs, prompt_probs):
        X, Y = self.sizes
        seqs = AutoregressivePolicy(jnp.zeros((self.horizon, 1, 1, self.vocab_size)), 0).all_sequences()
        x = jnp.repeat(jnp.arange(X), Y)
        y = jnp.tile(seqs, (X, 1))
        lp = jnp.asarray(log_probs, _float())
        w = (jnp.asarray(prompt_probs, _float())[:, None] * jnp.exp(lp)).ravel()

        def loss(params, key=None):
            return -jnp.sum(w * self.sequence_log_probs(params, x, y))

        return loss

    def _replace(self, **changes):
        obj = object.__new__(type(self))
        for f in dataclasses.fields(self):
            object.__setattr__(obj, f.name, changes.get(f.name, getattr(self, f.name)))
        return obj

    def _rows(self, name, prompts, sequences):
        x = jnp.asarray(prompts)
        if x.ndim != 1:
            raise ValueError(f"`prompts` must be a 1-d array of prompt indices; got shape {x.shape}")
        y = jnp.asarray(sequences)
        if y.shape != (x.shape[0], self.horizon):
            raise ValueError(f"`{name}` must have shape [n, horizon] = {[x.shape[0], self.horizon]}; got "
                             f"{list(y.shape)}")
        if v.is_concrete(y) and y.size and int(jnp.max(y)) >= self.vocab_size:
            raise ValueError(f"`{name}` must hold tokens < vocab_size = {self.vocab_size} (negative: masked); "
                             f"got {int(jnp.max(y))}")
        return x, y

    def _adam(self, loss, params, key, steps):
        schedule = optax.cosine_decay_schedule(self.learning_rate, steps, alpha=0.01)
        opt = optax.adam(schedule)
        keys = jax.random.split(key, steps)

        def step(carry, k):
            p, state = carry
            g = jax.grad(loss)(p, k)
            updates, state = opt.update(g, state, p)
            return (optax.apply_updates(p, updates), state), None

        (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), keys)
        return params

    def _minibatch(self, keep):
        """A function ``key -> (rows [B], weights [B])``: ``B`` rows drawn uniformly with replacement
        among the kept rows (the i-th kept row found by rank, so the draw does not depend on how
        many masked rows follow the kept ones)."""
        ranks = jnp.cumsum(keep.astype(jnp.int32))
        count = ranks[-1]

        def draw(key):
            r = jax.random.randint(key, (self.batch_size,), 0, jnp.maximum(count, 1))
            rows = jnp.clip(jnp.searchsorted(ranks, r + 1), 0, keep.shape[0] - 1)
            return rows, jnp.full((self.batch_size,), count > 0, _float())

        return draw

    def _mle_loss(self, prompts, sequences):
        x, y = self._rows("sequences", prompts, sequences)
        keep = jnp.all(y >= 0, axis=-1)
        ys = jnp.where(keep[:, None], y, 0)
        draw = self._minibatch(keep)

        def loss(params, key=None):
            if key is None:  # full data
                w = keep.astype(_float())
                return -jnp.sum(w * self.sequence_log_probs(params, x, ys)) / jnp.maximum(w.sum(), 1.0)
            rows, w = draw(key)
            return -jnp.mean(w * self.sequence_log_probs(params, x[rows], ys[rows]))

        return loss

    def _regression_loss(self, triples, beta):
        if v.is_concrete(beta):
            v.check_positive("beta", beta)
        x, y = self._rows("triples.responses", triples.prompts, triples.responses)
        _, z = self._rows("triples.other_responses", triples.prompts, triples.other_responses)
        keep = jnp.all(y >= 0, axis=-1) & jnp.all(z >= 0, axis=-1)
        ys, zs = jnp.where(keep[:, None], y, 0), jnp.where(keep[:, None], z, 0)
        ly = jnp.where(keep, jnp.ravel(triples.base_log_probs), 0.0)
        lz = jnp.where(keep, jnp.ravel(triples.other_base_log_probs), 0.0)
        target = jnp.where(keep, jnp.ravel(triples.rewards) - jnp.ravel(triples.other_rewards), 0.0)
        draw = self._minibatch(keep)

        def resid(params, rows):
            return (beta * (self.sequence_log_probs(params, x[rows], ys[rows]) - ly[rows])
                    - beta * (self.sequence_log_probs(params, x[rows], zs[rows]) - lz[rows]) - target[rows])

        def loss(params, key=None):
            if key is None:
                w = keep.astype(_float())
                return jnp.sum(w * resid(params, jnp.arange(x.shape[0])) ** 2) / jnp.maximum(w.sum(), 1.0)
            rows, w = draw(key)
            return jnp.mean(w * resid(params, rows) ** 2)

        return loss


# Module-level jitted kernels: one compilation per class shape, not one per eager call (inside an
# outer jit they are inlined).
@functools.partial(jax.jit, static_argnames=("steps",))
def _fit_mle(cls, params, prompts, sequences, key, steps):
    return cls._adam(cls._mle_loss(prompts, sequences), params, key, steps)


@functools.partial(jax.jit, static_argnames=("steps",))
def _fit_regression(cls, params, triples, beta, key, steps):
    return cls._adam(cls._regression_loss(triples, beta), params, key, steps)


@functools.partial(jax.jit, static_argnames=("steps",))
def _fit_law(cls, params, log_probs, prompt_probs, steps):
    keys = jax.random.key(0)  # full batch: the key is unused
    return cls._adam(cls._law_loss(log_probs, prompt_probs), params, keys, steps)


@jax.jit
def _mle_info(cls, params, prompts, sequences, tol):
    return _info(cls._mle_loss(prompts, sequences), params, tol)


@jax.jit
def _regression_info(cls, params, triples, beta, tol):
    return _info(cls._regression_loss(triples, beta), params, tol)


@jax.jit
def _log_tables(cls, params):
    return cls.log_tables(params)


def _info(loss, params, tol) -> FitInfo:
    g = jax.grad(loss)(params)
    norm = optax.tree.norm(g)
    return FitInfo(params, loss(params), norm, norm <= tol)


def _check_key(key):
    if not (isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.ndim == 0):
        raise TypeError(f"`key` must be a single typed PRNG key (jax.random.key(seed)); got {key!r}")
    return key


def _autoregressive_base(problem):
    base = getattr(problem, "base", None)
    if not isinstance(base, AutoregressivePolicy):
        raise TypeError("`problem` must have an AutoregressivePolicy base (e.g. problems.planted_autoregressive); "
                        f"got a base of type {type(base).__name__}")
    return base
