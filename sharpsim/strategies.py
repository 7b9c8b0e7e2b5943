"""Hypothesis strategies that draw valid sharpsim objects, for property tests.

Every strategy here draws *valid* inputs: probability tables whose rows are distributions,
policies, problems with a requested coverage and margin, autoregressive policies, and the
requests themselves (feasible or not) for the coverage-controlled constructors. They are the
strategies sharpsim's own property tests use, and users can import them::

    from hypothesis import given
    from sharpsim import strategies as sst

    @given(sst.problems(coverage=(1.0, 5.0), margin=(0.1, 1.0)))
    def test_my_claim(problem):
        ...

Size arguments (``num_prompts``, ``num_responses``, ...) accept an ``int`` (fixed), a
``(lo, hi)`` tuple (inclusive range) or a hypothesis strategy; real-valued arguments
(``coverage``, ``margin``, ``heterogeneity``) accept a number, a ``(lo, hi)`` tuple or a
strategy. Defaults are small so that property tests stay fast.

Randomness: strategies draw an integer seed and build keys with ``jax.random.key(seed)``;
the random numbers behind a table come from a fixed-size pool of normals (so drawing tables
of many shapes compiles JAX's sampler only once), while the structure of each row (its kind,
ties, tiny entries) is drawn by hypothesis itself and shrinks well.

Row kinds of :func:`probability_tables` (one drawn per row):

* ``"generic"``: log-normal weights with a drawn spread (flat to very peaked; continuous, so
  ties have probability zero);
* ``"integer"``: small integer weights ``0..4`` — exact ties anywhere in the row and, unless
  ``min_prob`` is set, exact zeros;
* ``"tied"``: a generic row whose ``k >= 2`` largest entries are set exactly equal (a tied
  arg-max set);
* ``"near_degenerate"``: one response holds ``1 - O(ε)``, the others ``ε ∈ {1e-12, 1e-9, 1e-6,
  1e-3}`` times a factor in ``(0.5, 1)``;
* ``"uniform"``: every response tied;
* ``"point_mass"``: one response has probability 1, the others 0.

Whenever two entries of a drawn row are meant to be tied they are *exactly* equal, and
entries not meant to be tied are far apart relative to ``TIE_RTOL`` (``1e-9``), so the
tie-handling convention never matters for drawn inputs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import numpy as np
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from sharpsim import problems as _problems
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.problems import Problem

__all__ = [
    "ROW_KINDS",
    "CoverageRequest",
    "PlantedRequest",
    "autoregressive_policies",
    "coverage_requests",
    "keys",
    "planted_requests",
    "probability_tables",
    "problems",
    "prompt_distributions",
    "seeds",
    "tabular_policies",
    "tabular_problems",
]

#: The row kinds :func:`probability_tables` draws from (see the module docstring).
ROW_KINDS: tuple[str, ...] = ("generic", "integer", "tied", "near_degenerate", "uniform", "point_mass")

#: Sizes of the smallest tiny entries drawn by the ``"near_degenerate"`` row kind.
NEAR_DEGENERATE_EPS: tuple[float, ...] = (1e-12, 1e-9, 1e-6, 1e-3)

_MAX_SEED = 2**32 - 1


# ---------------------------------------------------------------------------- helpers
def _int_strategy(value, name: str, minimum: int) -> st.SearchStrategy[int]:
    if isinstance(value, st.SearchStrategy):
        return value
    if isinstance(value, tuple):
        if len(value) != 2:
            raise InvalidArgument(f"`{name}` as a tuple must be (lo, hi); got {value!r}")
        lo, hi = (int(x) for x in value)
        if lo < minimum or hi < lo:
            raise InvalidArgument(f"`{name}` must satisfy {minimum} <= lo <= hi; got {value!r}")
        return st.integers(lo, hi)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < minimum:
            raise InvalidArgument(f"`{name}` must be >= {minimum}; got {value}")
        return st.just(int(value))
    raise InvalidArgument(f"`{name}` must be an int, a (lo, hi) tuple or a strategy; got {value!r}")


def _float_range(
    value, name: str, lower: float, upper: float = math.inf
) -> tuple[float, float] | st.SearchStrategy:
    """Normalises a real-valued argument to a ``(lo, hi)`` pair (or passes a strategy through)."""
    if isinstance(value, st.SearchStrategy):
        return value
    if isinstance(value, tuple):
        if len(value) != 2:
            raise InvalidArgument(f"`{name}` as a tuple must be (lo, hi); got {value!r}")
        lo, hi = (float(x) for x in value)
    elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        lo = hi = float(value)
    else:
        raise InvalidArgument(f"`{name}` must be a number, a (lo, hi) tuple or a strategy; got {value!r}")
    if not (lower <= lo <= hi <= upper) or math.isnan(lo) or math.isnan(hi):
        raise InvalidArgument(f"`{name}` must satisfy {lower:g} <= lo <= hi <= {upper:g}; got {value!r}")
    return lo, hi


def _draw_float(draw, spec) -> float:
    if isinstance(spec, st.SearchStrategy):
        return float(draw(spec))
    lo, hi = spec
    return lo if lo == hi else float(draw(st.floats(lo, hi)))


def seeds() -> st.SearchStrategy[int]:
    """Integer seeds in ``[0, 2**32 - 1]`` (pass one to ``jax.random.key``)."""
    return st.integers(0, _MAX_SEED)


def keys() -> st.SearchStrategy[jax.Array]:
    """Typed JAX PRNG keys ``jax.random.key(seed)`` for a drawn integer seed."""
    return seeds().map(jax.random.key)


def _normals(seed: int, size: int) -> np.ndarray:
    """``size`` standard normals from ``jax.random.key(seed)``, cut from a pool whose length is
    a power of two (>= 1024), so that JAX compiles its sampler for few shapes only."""
    pool = max(1024, 1 << max(size - 1, 0).bit_length())
    return np.asarray(jax.random.normal(jax.random.key(seed), (pool,)), dtype=np.float64)[:size]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# ------------------------------------------------------------------- probability tables
@st.composite
def probability_tables(
    draw,
    num_rows=(1, 3),
    num_cols=(1, 6),
    *,
    min_prob: float | None = None,
    kinds: tuple[str, ...] = ROW_KINDS,
) -> np.ndarray:
    """Row-stochastic float64 tables ``[num_rows, num_cols]`` with ties and tiny entries.

    Args:
      num_rows: number of rows (int, ``(lo, hi)`` or strategy).
      num_cols: number of columns.
      min_prob: if given, every entry is at least ``min_prob`` (rows are mixed with the
        uniform row: ``p <- min_prob + (1 - num_cols min_prob) p``, which keeps exact ties
        exact). Requires ``num_cols * min_prob <= 1``. ``None``: entries may be exactly 0
        (every row keeps a positive entry).
      kinds: the row kinds to draw from (a subset of :data:`ROW_KINDS`).

    Returns:
      A NumPy array whose rows sum to 1 up to float64 rounding.
    """
    bad = set(kinds) - set(ROW_KINDS)
    if not kinds or bad:
        raise InvalidArgument(f"`kinds` must be a non-empty subset of {ROW_KINDS}; got {kinds!r}")
    X = draw(_int_strategy(num_rows, "num_rows", 1))
    Y = draw(_int_strategy(num_cols, "num_cols", 1))
    if min_prob is not None and not (0.0 <= min_prob and Y * min_prob <= 1.0):
        raise InvalidArgument(
            f"`min_prob` must satisfy 0 <= num_cols * min_prob <= 1; got {min_prob} with {Y} columns"
        )
    z = _normals(draw(seeds()), 2 * X * Y).reshape(2, X, Y)
    rows = []
    for r in range(X):
        kind = draw(st.sampled_from(kinds))
        if kind == "generic" or (kind == "tied" and Y == 1):
            spread = draw(st.floats(0.05, 8.0))
            w = np.exp(spread * (z[0, r] - z[0, r].max()))
        elif kind == "integer":
            w = np.asarray(draw(st.lists(st.integers(0, 4), min_size=Y, max_size=Y)), dtype=np.float64)
            if w.sum() == 0:
                w[draw(st.integers(0, Y - 1))] = 1.0
        elif kind == "tied":
            spread = draw(st.floats(0.05, 8.0))
            w = np.exp(spread * (z[0, r] - z[0, r].max()))
            k = draw(st.integers(2, Y))
            top = np.argsort(-w, kind="stable")[:k]
            w[top] = w.max()
        elif kind == "near_degenerate":
            eps = draw(st.sampled_from(NEAR_DEGENERATE_EPS))
            j = draw(st.integers(0, Y - 1))
            w = eps * (0.5 + 0.5 * _sigmoid(z[1, r]))
            w[j] = 0.0
            w[j] = 1.0 - w.sum()
        elif kind == "uniform":
            w = np.ones(Y)
        else:  # point_mass
            w = np.zeros(Y)
            w[draw(st.integers(0, Y - 1))] = 1.0
        rows.append(w / w.sum())
    p = np.stack(rows)
    if min_prob is not None and min_prob > 0:
        p = min_prob + (1.0 - Y * min_prob) * p
        p = p / p.sum(axis=1, keepdims=True)
    return p


@st.composite
def tabular_policies(
    draw,
    num_prompts=(1, 3),
    num_responses=(1, 6),
    *,
    min_prob: float | None = None,
    kinds: tuple[str, ...] = ROW_KINDS,
) -> TabularPolicy:
    """Valid :class:`~sharpsim.policies.TabularPolicy` objects ``[num_prompts, num_responses]``.

    Rows are drawn by :func:`probability_tables`: some have exact ties (also in the arg-max
    set), some are near-degenerate (entries down to ~1e-12), some are point masses.

    Args:
      num_prompts: ``|X|`` (int, ``(lo, hi)`` or strategy).
      num_responses: ``|Y|``.
      min_prob: a lower bound on every probability (``None``: exact zeros may occur).
      kinds: row kinds to draw from.
    """
    table = draw(probability_tables(num_prompts, num_responses, min_prob=min_prob, kinds=kinds))
    return TabularPolicy.from_probs(table)


@st.composite
def prompt_distributions(
    draw, num_prompts, *, allow_zero: bool = True, allow_none: bool = True
) -> np.ndarray | None:
    """Prompt distributions μ of length ``num_prompts`` (an int).

    Draws ``None`` (meaning uniform, the constructors' default, when ``allow_none``), a random
    full-support μ, or (when ``allow_zero``) a μ with some zero entries or a point mass.
    """
    X = int(num_prompts)
    kinds = ["random"] + (["none"] if allow_none else []) + (["sparse", "point_mass"] if allow_zero else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "random" or X == 1:
        z = _normals(draw(seeds()), X)
        w = np.exp(draw(st.floats(0.05, 3.0)) * (z - z.max()))
    elif kind == "sparse":
        w = np.asarray(draw(st.lists(st.integers(0, 3), min_size=X, max_size=X)), dtype=np.float64)
        if w.sum() == 0:
            w[draw(st.integers(0, X - 1))] = 1.0
    else:
        w = np.zeros(X)
        w[draw(st.integers(0, X - 1))] = 1.0
    return w / w.sum()


@st.composite
def tabular_problems(
    draw,
    num_prompts=(1, 3),
    num_responses=(1, 6),
    *,
    min_prob: float | None = None,
    kinds: tuple[str, ...] = ROW_KINDS,
    allow_zero_prompts: bool = True,
) -> Problem:
    """Arbitrary tabular problems: a random probability table and a random μ.

    Unlike :func:`problems`, nothing about coverage or margin is controlled: the table is any
    :func:`probability_tables` draw (ties, tiny entries, zeros unless ``min_prob``), and μ is a
    :func:`prompt_distributions` draw (uniform, random, or with zero entries when
    ``allow_zero_prompts``).
    """
    policy = draw(tabular_policies(num_prompts, num_responses, min_prob=min_prob, kinds=kinds))
    mu = draw(prompt_distributions(policy.num_prompts, allow_zero=allow_zero_prompts))
    return _problems.from_policy(policy, mu)


# ------------------------------------------------------------- coverage-controlled problems
@st.composite
def problems(
    draw,
    num_prompts=(1, 3),
    num_responses=(2, 6),
    *,
    coverage=None,
    margin=(0.0, 1.0),
    num_argmax=(1, 2),
    heterogeneity=(0.0, 1.0),
    nonuniform_prompts: bool = True,
) -> Problem:
    """Problems from :func:`sharpsim.problems.with_coverage` with feasible requests.

    Draws ``|X|``, ``|Y|``, ``k = |y*(x)|`` (capped at ``|Y|``), a margin, then a coverage in
    the intersection of ``coverage`` with the feasible range
    :func:`sharpsim.problems.coverage_range` for that ``|Y|``, ``k`` and margin, then the
    heterogeneity and (if ``nonuniform_prompts``) a μ; the problem is built with
    ``jax.random.key(seed)`` for a drawn seed. When the requested coverage range and the
    drawn sizes do not intersect the draw is rejected, so ranges that are mostly infeasible
    (a large coverage with few responses) make hypothesis give up; widen ``num_responses``.

    Args:
      num_prompts: ``|X|``.
      num_responses: ``|Y|``.
      coverage: ``(lo, hi)`` for ``C_cov`` (``None``: the whole feasible range).
      margin: ``(lo, hi)`` lower bound on ``γ_margin`` passed to ``with_coverage``.
      num_argmax: ``|y*(x)|``.
      heterogeneity: passed to ``with_coverage`` (in ``[0, 1]``).
      nonuniform_prompts: also draw non-uniform μ (possibly with zero entries).
    """
    X = draw(_int_strategy(num_prompts, "num_prompts", 1))
    Y = draw(_int_strategy(num_responses, "num_responses", 1))
    if isinstance(num_argmax, tuple) and len(num_argmax) == 2 and num_argmax[0] <= Y:
        num_argmax = (num_argmax[0], min(num_argmax[1], Y))
    k = draw(_int_strategy(num_argmax, "num_argmax", 1))
    if k > Y:
        reject()
    m = _draw_float(draw, _float_range(margin, "margin", 0.0))
    _, c_hi = _problems.coverage_range(Y, margin=m, num_argmax=k)
    cov = (1.0, math.inf) if coverage is None else _float_range(coverage, "coverage", 1.0)
    if isinstance(cov, st.SearchStrategy):
        c = float(draw(cov))
        if c > c_hi:
            reject()
    else:
        lo, hi = cov[0], min(cov[1], c_hi)
        if lo > hi:
            reject()
        c = lo if lo == hi else float(draw(st.floats(lo, hi)))
    het = _draw_float(draw, _float_range(heterogeneity, "heterogeneity", 0.0, 1.0))
    mu = draw(prompt_distributions(X)) if nonuniform_prompts else None
    key = jax.random.key(draw(seeds()))
    return _problems.with_coverage(key, X, Y, c, margin=m, heterogeneity=het, num_argmax=k, prompt_probs=mu)


class CoverageRequest(NamedTuple):
    """A request to :func:`sharpsim.problems.with_coverage` (feasible or not).

    The first four fields are the ones feasibility depends on; the rest are passed along.
    """

    num_responses: int
    num_argmax: int
    margin: float
    coverage: float
    num_prompts: int = 1
    heterogeneity: float = 0.0
    prompt_probs: np.ndarray | None = None

    def max_coverage(self) -> float:
        """The largest coverage any problem with this ``|Y|``, ``k`` and margin can have,
        ``1 + (|Y| - k) / (k (1 + margin))`` (the non-arg-max responses hold at most
        ``(|Y|-k)/(1+margin)`` times the mass of one arg-max)."""
        return 1.0 + (self.num_responses - self.num_argmax) / (self.num_argmax * (1.0 + self.margin))

    def build(self, key: jax.Array) -> Problem:
        """Calls :func:`sharpsim.problems.with_coverage` with this request."""
        return _problems.with_coverage(
            key,
            self.num_prompts,
            self.num_responses,
            self.coverage,
            margin=self.margin,
            heterogeneity=self.heterogeneity,
            num_argmax=self.num_argmax,
            prompt_probs=self.prompt_probs,
        )


@st.composite
def coverage_requests(
    draw,
    num_prompts=(1, 3),
    num_responses=(1, 6),
    num_argmax=(1, 3),
    margin=(0.0, 2.0),
    *,
    feasible: bool | None = None,
) -> CoverageRequest:
    """:class:`CoverageRequest` tuples ``(num_responses, num_argmax, margin, coverage, ...)``.

    Feasible requests take a coverage in :func:`sharpsim.problems.coverage_range` (its end
    points included). Infeasible ones take a coverage below 1, or above
    :meth:`CoverageRequest.max_coverage` by a relative excess of at least 1e-9 (no problem
    with that margin has that coverage).

    Args:
      feasible: ``True`` draws only feasible requests, ``False`` only infeasible ones,
        ``None`` both (about one in four infeasible).
    """
    X = draw(_int_strategy(num_prompts, "num_prompts", 1))
    Y = draw(_int_strategy(num_responses, "num_responses", 1))
    k = min(draw(_int_strategy(num_argmax, "num_argmax", 1)), Y)
    m = _draw_float(draw, _float_range(margin, "margin", 0.0))
    het = draw(st.floats(0.0, 1.0))
    mu = draw(prompt_distributions(X))
    if feasible is None:
        feasible = draw(st.sampled_from((True, True, True, False)))
    if feasible:
        lo, hi = _problems.coverage_range(Y, margin=m, num_argmax=k)
        c = draw(st.one_of(st.just(lo), st.just(hi), st.floats(lo, hi)))
    else:
        c_max = CoverageRequest(Y, k, m, 1.0).max_coverage()
        c = draw(
            st.one_of(
                st.floats(-1e3, 1.0, exclude_max=True),
                st.floats(1e-9, 1e3).map(lambda r: c_max * (1.0 + r)),
            )
        )
    return CoverageRequest(Y, k, m, float(c), X, het, mu)


class PlantedRequest(NamedTuple):
    """A request to :func:`sharpsim.problems.planted_autoregressive` (feasible or not)."""

    vocab_size: int
    horizon: int
    margin: float
    coverage: float
    num_prompts: int = 1
    heterogeneity: float = 0.0
    prompt_probs: np.ndarray | None = None

    def build(self, key: jax.Array) -> Problem:
        """Calls :func:`sharpsim.problems.planted_autoregressive` with this request."""
        return _problems.planted_autoregressive(
            key,
            self.num_prompts,
            self.vocab_size,
            self.horizon,
            self.coverage,
            margin=self.margin,
            heterogeneity=self.heterogeneity,
            prompt_probs=self.prompt_probs,
        )


@st.composite
def planted_requests(
    draw,
    num_prompts=(1, 2),
    vocab_size=(2, 3),
    horizon=(1, 3),
    margin=(0.0, 2.0),
    *,
    feasible: bool | None = None,
) -> PlantedRequest:
    """:class:`PlantedRequest` tuples for :func:`~sharpsim.problems.planted_autoregressive`.

    Feasible coverages lie in :func:`sharpsim.problems.planted_coverage_range` (end points
    included); infeasible ones lie below 1 or above that range by a relative excess of at
    least 1e-9. ``feasible`` as in :func:`coverage_requests`.
    """
    X = draw(_int_strategy(num_prompts, "num_prompts", 1))
    V = draw(_int_strategy(vocab_size, "vocab_size", 2))
    H = draw(_int_strategy(horizon, "horizon", 1))
    m = _draw_float(draw, _float_range(margin, "margin", 0.0))
    het = draw(st.floats(0.0, 1.0))
    mu = draw(prompt_distributions(X))
    lo, hi = _problems.planted_coverage_range(V, H, margin=m)
    if feasible is None:
        feasible = draw(st.sampled_from((True, True, True, False)))
    if feasible:
        c = draw(st.one_of(st.just(lo), st.just(hi), st.floats(lo, hi)))
    else:
        c = draw(
            st.one_of(
                st.floats(-1e3, 1.0, exclude_max=True),
                st.floats(1e-9, 1e3).map(lambda r: hi * (1.0 + r)),
            )
        )
    return PlantedRequest(V, H, m, float(c), X, het, mu)


# ----------------------------------------------------------------------- autoregressive
@st.composite
def autoregressive_policies(
    draw,
    vocab_size=(2, 3),
    horizon=(1, 3),
    num_prompts=(1, 2),
    context_length=None,
) -> AutoregressivePolicy:
    """Valid :class:`~sharpsim.policies.AutoregressivePolicy` objects.

    Per-step logits ``[H, X, V**k, V]`` are either ``scale · z`` with standard normals ``z``
    and a drawn ``scale`` in ``[0.1, 10]`` (flat to nearly deterministic conditionals) or
    ``scale · round(z)`` clipped to ``{-2..2}`` (exact ties between tokens, so greedy decoding
    meets ties).

    Args:
      vocab_size: ``|V| >= 2``.
      horizon: ``H >= 1``.
      num_prompts: ``|X|``.
      context_length: ``k`` (``None``: drawn in ``[0, H - 1]``; ``H - 1`` is the full history).
    """
    V = draw(_int_strategy(vocab_size, "vocab_size", 2))
    H = draw(_int_strategy(horizon, "horizon", 1))
    X = draw(_int_strategy(num_prompts, "num_prompts", 1))
    if context_length is None:
        k = draw(st.integers(0, H - 1))
    else:
        k = draw(_int_strategy(context_length, "context_length", 0))
        if k > H - 1:
            raise InvalidArgument(f"`context_length` must be <= horizon - 1 = {H - 1}; got {k}")
    shape = (H, X, V**k, V)
    z = _normals(draw(seeds()), int(np.prod(shape))).reshape(shape)
    scale = draw(st.floats(0.1, 10.0))
    if draw(st.booleans()):
        z = np.clip(np.round(1.5 * z), -2.0, 2.0)
    return AutoregressivePolicy.from_logits(scale * z, context_length=k)
