"""Problems: a base policy ``π_base`` plus a prompt distribution ``μ``.

Constructors:

* :func:`from_probs` / :func:`from_policy` — wrap user arrays or policies (validated);
* :func:`with_coverage` — a random tabular problem whose exact coverage ``C_cov`` (Eq 6) is the
  one requested and whose margin (Assumption 4.2) is at least the one requested;
* :func:`planted_autoregressive` — the same over sequences ``V^H``, with a planted sequence
  arg-max;
* :func:`prop31_tightness` — Prop 3.1's tightness instance: ``π(y*) <= 1/2`` and greedy
  decoding misses ``y*``;
* ``lower_bound_family`` — the App H hard family of Thm 3.1 (see ``sharpsim.hard_family``);
* ``sphere_separation`` — Example J.1, margin Ω(1) and coverage exp(Ω(d)) (``sharpsim.separation``).
* ``hidden_direction`` — a linear-softmax instance where offline Eq 8 cannot sharpen without
  exploration and XPO can (``sharpsim.separation``).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _config
from sharpsim import _validation as v
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.policies.tabular import _float

#: With ``margin=0`` the constructors still keep every non-arg-max response at least this
#: relative gap below the arg-max, so that no tie is accidental (it is 1000x ``TIE_RTOL``).
MIN_CONSTRUCTED_MARGIN: float = 1e-6


def _construction_gap(margin: float) -> float:
    """The relative gap the constructors build: the requested margin (at least
    ``MIN_CONSTRUCTED_MARGIN``) inflated by 1e-9 relative so that float64 rounding never
    leaves the measured margin below the requested one."""
    return max(margin, MIN_CONSTRUCTED_MARGIN) * (1.0 + 1e-9)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Problem:
    """A sharpening problem: ``π_base`` and ``μ``.

    Attributes:
      base: the base policy (:class:`TabularPolicy` or :class:`AutoregressivePolicy`).
      prompt_probs: ``[num_prompts]`` the prompt distribution ``μ``.
    """

    base: TabularPolicy | AutoregressivePolicy
    prompt_probs: jax.Array

    @property
    def num_prompts(self) -> int:
        return self.prompt_probs.shape[-1]

    @property
    def num_responses(self) -> int:
        return self.base.num_responses

    @property
    def probs(self) -> jax.Array:
        """``[num_prompts, num_responses]`` ``π_base(y|x)`` (tabular bases only)."""
        if not isinstance(self.base, TabularPolicy):
            raise TypeError(
                "`problem.probs` needs a tabular base; call `problem.tabular()` to enumerate "
                "an autoregressive base first"
            )
        return self.base.probs

    def tabular(self, *, limit: int | None = None) -> Problem:
        """This problem with its base as a :class:`TabularPolicy` (enumerating an
        autoregressive base; raises beyond the enumeration limit)."""
        if isinstance(self.base, TabularPolicy):
            return self
        kwargs = {} if limit is None else {"limit": limit}
        return Problem(self.base.to_tabular(**kwargs), self.prompt_probs)


def as_tabular_base(problem: Problem) -> TabularPolicy:
    """The base policy of ``problem`` as a table (enumerating if autoregressive)."""
    if not isinstance(problem, Problem):
        raise TypeError(f"`problem` must be a sharpsim Problem; got {type(problem).__name__}")
    return problem.tabular().base


# ------------------------------------------------------------------------------ wrapping
def from_probs(base_probs, prompt_probs=None) -> Problem:
    """Builds a problem from ``base_probs: [num_prompts, num_responses]`` and ``μ``.

    Args:
      base_probs: the table ``π_base(y|x)``; rows must be distributions (tolerance 1e-6).
      prompt_probs: ``[num_prompts]`` the prompt distribution; uniform when omitted.

    Raises:
      ValueError: on a non-distribution or on mismatched shapes.
    """
    try:
        policy = TabularPolicy.from_probs(base_probs)
    except (TypeError, ValueError) as err:  # name the argument the caller passed
        raise type(err)(str(err).replace("`probs`", "`base_probs`")) from None
    return from_policy(policy, prompt_probs)


def from_policy(policy: TabularPolicy | AutoregressivePolicy, prompt_probs=None) -> Problem:
    """Wraps an existing policy as a problem (μ uniform when ``prompt_probs`` is omitted)."""
    if not isinstance(policy, (TabularPolicy, AutoregressivePolicy)):
        raise TypeError(
            f"`policy` must be a TabularPolicy or AutoregressivePolicy; got {type(policy).__name__}"
        )
    mu = _prompt_probs(prompt_probs, policy.num_prompts)
    return Problem(policy, jnp.asarray(mu, dtype=_float()))


def _prompt_probs(prompt_probs, num_prompts: int) -> np.ndarray:
    if prompt_probs is None:
        return np.full(num_prompts, 1.0 / num_prompts)
    mu = v.check_probability_table("prompt_probs", prompt_probs, ndim=1)
    if mu.shape[0] != num_prompts:
        raise ValueError(
            f"`prompt_probs` has {mu.shape[0]} entries but the policy has {num_prompts} prompts"
        )
    return mu


# ------------------------------------------------------------------- coverage-controlled
def coverage_range(num_responses: int, *, margin: float = 0.0, num_argmax: int = 1) -> tuple[float, float]:
    """The coverages :func:`with_coverage` can build: ``[1, 1 + (|Y|-k)/(k(1+γ'))]``.

    With ``k`` tied arg-maxes of mass ``1/c`` in total and every other response at most
    ``1/(k c (1+γ'))``, the other ``|Y|-k`` responses hold at most ``(|Y|-k)/(k c (1+γ'))``,
    which must cover ``1 - 1/c``. Here ``γ' = max(margin, MIN_CONSTRUCTED_MARGIN)(1 + 1e-9)``.
    """
    num_responses = v.check_positive_int("num_responses", num_responses)
    num_argmax = v.check_positive_int("num_argmax", num_argmax)
    if num_argmax > num_responses:
        raise ValueError(f"`num_argmax` must be <= num_responses = {num_responses}; got {num_argmax}")
    g = _construction_gap(v.check_at_least("margin", margin, 0.0))
    return 1.0, 1.0 + (num_responses - num_argmax) / (num_argmax * (1.0 + g))


def with_coverage(
    key: jax.Array,
    num_prompts: int,
    num_responses: int,
    coverage: float,
    *,
    margin: float = 0.0,
    heterogeneity: float = 0.0,
    num_argmax: int = 1,
    prompt_probs=None,
) -> Problem:
    """A random tabular problem with exact coverage ``C_cov = coverage`` (Eq 6).

    Each prompt ``x`` gets ``num_argmax`` tied arg-max responses of total mass ``1/c_x`` at
    random positions; the other responses share ``1 - 1/c_x`` with random (Dirichlet) weights,
    capped so that ``max_y π(y|x) >= (1 + margin) π(y'|x)`` for every ``y' ∉ y*(x)``. The
    per-prompt ``c_x`` satisfy ``E_μ[c_x] = coverage`` exactly (up to float64 rounding).

    Args:
      key: PRNG key.
      num_prompts: ``|X|``.
      num_responses: ``|Y|``.
      coverage: the target ``C_cov = E_μ[1/π_base(y*(x)|x)]``, in :func:`coverage_range`.
      margin: a lower bound on ``γ_margin`` (Assumption 4.2). With ``margin=0`` the gap is
        still at least ``MIN_CONSTRUCTED_MARGIN = 1e-6`` so the arg-max set is what was asked.
      heterogeneity: in ``[0, 1]``. ``0``: every prompt has ``c_x = coverage`` (equally hard).
        ``1``: ``c_x`` spread over the whole feasible range with the same μ-mean.
      num_argmax: the number ``|y*(x)|`` of tied arg-maxes per prompt.
      prompt_probs: μ (uniform when omitted).

    Raises:
      ValueError: if ``coverage`` is outside the feasible range (stated in the message).
    """
    num_prompts = v.check_positive_int("num_prompts", num_prompts)
    lo, hi = coverage_range(num_responses, margin=margin, num_argmax=num_argmax)
    coverage = v.check_at_least("coverage", coverage, -np.inf)
    if not lo <= coverage <= hi * (1 + 1e-12):
        raise ValueError(
            f"`coverage` = {coverage:g} is infeasible with num_responses = {num_responses}, "
            f"num_argmax = {num_argmax} and margin = {margin:g}: the feasible range is "
            f"[{lo:g}, {hi:.10g}]"
        )
    coverage = min(coverage, hi)
    heterogeneity = v.check_at_least("heterogeneity", heterogeneity, 0.0)
    if heterogeneity > 1:
        raise ValueError(f"`heterogeneity` must lie in [0, 1]; got {heterogeneity}")
    mu = _prompt_probs(prompt_probs, num_prompts)
    k_het, k_pos, k_w = jax.random.split(key, 3)
    c = _per_prompt_coverages(k_het, mu, coverage, hi, heterogeneity)

    Y, k = num_responses, num_argmax
    gap = _construction_gap(margin)
    top = (1.0 / c) / k  # [X] prob of each arg-max
    rest_mass = 1.0 - 1.0 / c
    cap = top / (1.0 + gap)
    n_rest = Y - k
    probs = np.empty((num_prompts, Y))
    if n_rest > 0:
        w = np.asarray(jax.random.exponential(k_w, (num_prompts, n_rest)), dtype=np.float64)
        rest = _capped_fill(w, rest_mass, cap)
        probs[:, k:] = rest
    probs[:, :k] = top[:, None]
    # random positions: a uniform permutation of the columns per prompt
    perm = np.asarray(jnp.argsort(jax.random.uniform(k_pos, (num_prompts, Y)), axis=-1))
    out = np.empty_like(probs)
    np.put_along_axis(out, perm, probs, axis=-1)
    return Problem(
        TabularPolicy(jnp.log(jnp.asarray(out, dtype=_float()))), jnp.asarray(mu, dtype=_float())
    )


def _per_prompt_coverages(key, mu: np.ndarray, coverage: float, c_max: float, heterogeneity: float):
    """Per-prompt ``c_x ∈ [1, c_max]`` with ``Σ μ_x c_x = coverage`` exactly."""
    X = mu.shape[0]
    t = 0.0 if c_max == 1.0 else (coverage - 1.0) / (c_max - 1.0)  # target μ-mean of v_x
    t = min(max(t, 0.0), 1.0)
    if heterogeneity == 0.0 or t in (0.0, 1.0):
        frac = np.full(X, t)
    else:
        r = np.asarray(jax.random.uniform(key, (X,)), dtype=np.float64)
        m = float(mu @ r)
        # move the μ-mean of r to t while staying inside [0, 1]
        r = r * (t / m) if m > t else 1.0 - (1.0 - r) * ((1.0 - t) / (1.0 - m))
        frac = (1.0 - heterogeneity) * t + heterogeneity * r
    c = 1.0 + (c_max - 1.0) * frac
    # absorb the last rounding error in the prompt with the most μ-mass (keeps E_μ[c] exact)
    j = int(np.argmax(mu))
    c[j] += (coverage - float(mu @ c)) / mu[j]
    return np.clip(c, 1.0, c_max)


def _capped_fill(w: np.ndarray, mass: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Per row, ``min(cap, t w)`` with ``t`` such that the row sums to ``mass``.

    Requires ``mass <= n * cap`` (``n = w.shape[1]``); exact water-filling by sorting.
    """
    X, n = w.shape
    order = np.argsort(-w, axis=1)
    ws = np.take_along_axis(w, order, axis=1)
    tail = np.cumsum(ws[:, ::-1], axis=1)[:, ::-1]  # tail[j] = sum_{i >= j} ws[i]
    j = np.arange(n)
    t = (mass[:, None] - j[None, :] * cap[:, None]) / tail  # t if the first j are capped
    ok = t * ws <= cap[:, None] * (1 + 1e-12)
    first = np.argmax(ok, axis=1)
    none = ~ok.any(axis=1)
    t_sel = t[np.arange(X), first]
    fill_sorted = np.minimum(cap[:, None], t_sel[:, None] * ws)
    fill_sorted[none] = (mass[none] / n)[:, None]
    out = np.empty_like(fill_sorted)
    np.put_along_axis(out, order, fill_sorted, axis=1)
    return out


# ------------------------------------------------------------------------ autoregressive
def planted_coverage_range(vocab_size: int, horizon: int, *, margin: float = 0.0) -> tuple[float, float]:
    """Coverages :func:`planted_autoregressive` can build: ``[1, ((V+γ')/(1+γ'))^H]``.

    With ``π_h(y*_h | y*_{<h}) = q`` on the planted path and uniform tables off it, the
    second most likely sequence leaves the path at the last step, so the margin is
    ``q (V-1)/(1-q) - 1``; it is at least ``γ'`` iff ``q >= (1+γ')/(V+γ')``.
    """
    V = v.check_positive_int("vocab_size", vocab_size, minimum=2)
    H = v.check_positive_int("horizon", horizon)
    g = _construction_gap(v.check_at_least("margin", margin, 0.0))
    return 1.0, ((V + g) / (1.0 + g)) ** H


def planted_autoregressive(
    key: jax.Array,
    num_prompts: int,
    vocab_size: int,
    horizon: int,
    coverage: float,
    *,
    margin: float = 0.0,
    heterogeneity: float = 0.0,
    prompt_probs=None,
) -> Problem:
    """An autoregressive problem over ``V^H`` with a planted unique sequence arg-max.

    Each prompt gets a random planted sequence ``y*(x)``. Along it every step has
    ``π_h(y*_h | y*_{<h}, x) = c_x^{-1/H}``, so ``π(y*(x)|x) = 1/c_x``; the other tokens of an
    on-path step share the rest evenly and every off-path table is uniform. Then ``y*(x)`` is
    the unique arg-max, the margin is ``q(V-1)/(1-q) - 1 >= margin``, greedy decoding follows
    the path, and ``E_μ[c_x] = coverage`` exactly.

    Tables keep the full history (``context_length = H - 1``), so memory is
    ``H · |X| · V^H`` entries; use small ``V^H``.

    Raises:
      ValueError: if ``coverage`` is outside :func:`planted_coverage_range`.
    """
    num_prompts = v.check_positive_int("num_prompts", num_prompts)
    lo, hi = planted_coverage_range(vocab_size, horizon, margin=margin)
    coverage = v.check_at_least("coverage", coverage, -np.inf)
    if not lo <= coverage <= hi * (1 + 1e-12):
        raise ValueError(
            f"`coverage` = {coverage:g} is infeasible with vocab_size = {vocab_size}, "
            f"horizon = {horizon} and margin = {margin:g}: the feasible range is [{lo:g}, {hi:.10g}]"
        )
    coverage = min(coverage, hi)
    heterogeneity = v.check_at_least("heterogeneity", heterogeneity, 0.0)
    if heterogeneity > 1:
        raise ValueError(f"`heterogeneity` must lie in [0, 1]; got {heterogeneity}")
    mu = _prompt_probs(prompt_probs, num_prompts)
    V, H = vocab_size, horizon
    k_het, k_path = jax.random.split(key)
    c = _per_prompt_coverages(k_het, mu, coverage, hi, heterogeneity)
    q = c ** (-1.0 / H)  # [X]
    path = np.asarray(jax.random.randint(k_path, (num_prompts, H), 0, V))
    S = V ** (H - 1)
    tables = np.full((H, num_prompts, S, V), 1.0 / V)
    for h in range(H):
        ctx = np.zeros(num_prompts, dtype=np.int64)  # context index of the planted prefix
        for j in range(h):
            ctx = ctx * V + path[:, j]
        rows = np.repeat(((1.0 - q) / (V - 1))[:, None], V, axis=1)
        rows[np.arange(num_prompts), path[:, h]] = q
        tables[h, np.arange(num_prompts), ctx] = rows
    with np.errstate(divide="ignore"):
        log_tables = np.log(tables)
    policy = AutoregressivePolicy(jnp.asarray(log_tables, dtype=_float()), H - 1)
    return Problem(policy, jnp.asarray(mu, dtype=_float()))


def prop31_tightness(*, vocab_size: int = 2, horizon: int = 2, p_star: float = 0.4) -> Problem:
    """Prop 3.1's tightness instance: ``π(y*) = p_star <= 1/2`` and greedy decoding misses ``y*``.

    One prompt. The first token is ``0`` w.p. ``1 - p_star`` and ``1`` w.p. ``p_star``; after
    ``1`` every later token is ``0`` surely, so ``y* = (1, 0, ..., 0)`` has probability
    ``p_star``; after ``0`` the rest is uniform, so each such sequence has probability
    ``(1 - p_star)/V^{H-1} < p_star``. Greedy takes ``0`` first (``1 - p_star >= p_star``,
    ties broken to the lowest token) and can never reach ``y*``.

    Raises:
      ValueError: unless ``1/(1 + (1 - TIE_RTOL) V^{H-1}) < p_star <= 1/2``, with a relative
        1e-12 to spare at the lower end (needed for ``y*`` to be the unique arg-max beyond the
        tie tolerance, ``(1 - p_star)/V^{H-1} < (1 - TIE_RTOL) p_star``, and for greedy to
        miss it).
    """
    V = v.check_positive_int("vocab_size", vocab_size, minimum=2)
    H = v.check_positive_int("horizon", horizon, minimum=2)
    s = v.check_positive("p_star", p_star)
    lo = (1.0 + 1e-12) / (1.0 + (1.0 - _config.TIE_RTOL) * V ** (H - 1))
    if not (lo < s <= 0.5):
        raise ValueError(f"`p_star` must lie in ({lo:g}, 0.5] for vocab_size={V}, horizon={H}; got {s}")
    S = V ** (H - 1)
    tables = np.full((H, 1, S, V), 1.0 / V)
    tables[0, 0, 0] = 0.0
    tables[0, 0, 0, 0], tables[0, 0, 0, 1] = 1.0 - s, s
    for h in range(1, H):
        ctx = V ** (h - 1)  # the prefix (1, 0, ..., 0) of length h, in base V
        tables[h, 0, ctx] = 0.0
        tables[h, 0, ctx, 0] = 1.0
    with np.errstate(divide="ignore"):
        log_tables = np.log(tables)
    policy = AutoregressivePolicy(jnp.asarray(log_tables, dtype=_float()), H - 1)
    return Problem(policy, jnp.ones((1,), dtype=_float()))


def __getattr__(name):
    # The App H family (``lower_bound_family``, ``LowerBoundInstance``) lives in
    # ``sharpsim.hard_family``, which needs the model classes; importing it lazily avoids an
    # import cycle while keeping the public name ``sharpsim.problems.lower_bound_family``.
    if name in ("lower_bound_family", "LowerBoundInstance"):
        from sharpsim import hard_family

        return getattr(hard_family, name)
    if name in ("sphere_separation", "hidden_direction"):
        from sharpsim import separation

        return getattr(separation, name)
    raise AttributeError(f"module 'sharpsim.problems' has no attribute {name!r}")
