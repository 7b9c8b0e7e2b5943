"""XPO, reward-based (Alg 1): exploration-augmented RLHF-Sharpening with an optimism term.

Start at ``π^(1) = π_base`` as Alg 1 does: by default at :func:`base_projection`, the member
closest to ``π_base`` in KL (the maximum-likelihood fit to the *exact* base law, which is
``π_base`` itself whenever the class contains it); data ``D = ∅``. For ``t = 1..T``: draw ``x ~ μ``, ``y ~ π^(t)(·|x)``, ``y' ~ π_base(·|x)``
(``batch`` of them), add them to ``D`` and set

    π^(t+1) = argmin_{π ∈ Π} α Σ_D log π(y'|x) + Σ_D (β log(π(y|x)/π_base(y|x))
                                                   − β log(π(y'|x)/π_base(y'|x)) − (r(y|x) − r(y'|x)))²

(note the ``+``: Alg 1 prints ``−`` before the square loss, which would make the argmin
unbounded; its proof, App J.2.2, minimises the sum). This is Alg 1's normalisation (square loss
weighted 1); the proof's ``L̂`` divides the square loss by ``(R_max + V_max)²``, so the α of
Thm J.1 corresponds here to ``α (R_max + V_max)²`` — ``bounds.xpo_alpha`` returns that value
(``form="alg1"``). The α-term lowers the likelihood of base samples, which pushes the iterate
to explore. The output is the iterate with the largest exact ``J_β`` (``select="best"``, free in
simulation, no algorithm can compute it without queries), the largest held-out estimate
(``select="heldout"``, charged) or the last iterate (``select="last"``).

Queries: each step reveals ``log π_base`` of ``y`` and ``y'`` for every pair (``m = 2 T batch``).
The inner minimisation (non-convex in general because of the α-term) runs ``inner_steps`` of
projected Adam from the previous iterate (warm start).

Classes: the linear-softmax classes of App J (Def J.3, Eq 11; ``classes.ParametricClass``, θ in a
ball or one ball per layer), which Thm J.1/J.2 cover, and any pytree-parameter class
(``classes.PytreeParametricClass``, e.g. the neural class ``classes.NeuralAutoregressiveClass``).
For the latter the loop, the data, the draws, the loss, the queries and the selection are the
same; the parameter is a pytree (``thetas`` carries a leading iterate axis on every leaf), the
inner minimisation is unconstrained Adam (optax) over every leaf, warm-started, for
``inner_steps`` steps, and ``π^(1)`` is the class's ``fit_law`` of the exact base law (its KL
projection; a local solution, the loss being non-convex). Thm J.1/J.2's guarantees assume an
exact argmin over the class, bounded log-ratios and a bounded SEC and covering number, which hold
(Thm J.3, Lemma J.4, J.5) for the linear-softmax class with bounded parameters; they do not cover
the pytree case (unbounded parameters, a local inner minimisation).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim import bounds, classes, oracle
from sharpsim.algorithms._buckets import bucket, is_eager, take_first
from sharpsim.algorithms.results import XPOResult
from sharpsim.classes._optim import projected_adam, projected_fista
from sharpsim.coefficients import margin
from sharpsim.laws import sharpening_error
from sharpsim.objectives import kl_objective_of_table
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.problems import Problem

__all__ = ["base_projection", "heldout_objective", "xpo"]


_RESTART_EVERY = 250


def base_projection(problem: Problem, model_class, *, steps: int = 2000):
    """``θ`` of the member closest to ``π_base``: ``argmin_{‖θ‖<=B} E_{x~μ} KL(π_base(·|x) ‖ π_θ(·|x))``.

    Maximum likelihood on the *exact* base law (weights ``μ(x) π_base(y|x)``, no samples, no
    queries counted: it stands for the pre-trained parameters, which Alg 1 takes as given). The
    objective is convex (a linear-softmax log-likelihood, one block per layer for Eq 11, each with
    Hessian ``⪯ I``), solved by projected FISTA with step 1 (``classes._optim``), its momentum
    restarted every 250 steps (measured on ``hidden_direction(4, 4096)``, whose curvature along
    the hidden direction is ``≈ 1/C_cov``: ``max |log π_θ − log π_base|`` = 3e-11 after 2000 steps,
    1.8e-4 without restarts). When ``π_base``
    is in the class the minimum is ``KL = 0`` at ``π_θ = π_base``; otherwise it is the
    KL-projection of ``π_base`` onto the class.

    For a pytree-parameter class (:class:`~sharpsim.classes.PytreeParametricClass`, e.g. the
    neural class) it is the class's own ``fit_law`` of the exact base law from its initial
    ``params``, ``steps`` full-batch Adam steps (the loss is not convex there: a local solution).

    Args:
      problem: the problem (its base may be autoregressive; the law is enumerated).
      model_class: a linear-softmax class (Def J.3), an autoregressive one (Eq 11) or a
        pytree-parameter class.
      steps: FISTA iterations (static; rounded down to a multiple of 250, at least 250), or the
        ``fit_law`` steps of a pytree-parameter class.

    Returns:
      ``θ`` with the class's ``param_shape``, or a pytree of the structure of the class's ``params``.

    Raises:
      TypeError: if ``model_class`` is neither a parametric nor a pytree-parameter class.
    """
    if not classes.supports(model_class, classes.ParametricClass):
        if classes.supports(model_class, classes.PytreeParametricClass):
            steps = v.check_positive_int("steps", steps)
            tab = problem.tabular() if isinstance(problem.base, AutoregressivePolicy) else problem
            return model_class.fit_law(model_class.params, tab.base.log_probs, tab.prompt_probs, steps=steps)
        raise TypeError("`model_class` must be a parametric (linear-softmax) class or a pytree-parameter class "
                        f"(classes.PytreeParametricClass); got {type(model_class).__name__}")
    steps = v.check_positive_int("steps", steps)
    return _base_projection(problem, model_class, steps=steps)


@functools.partial(jax.jit, static_argnames=("steps",))
def _base_projection(problem: Problem, model_class, *, steps: int) -> jax.Array:  # one compilation per shape
    if isinstance(problem.base, AutoregressivePolicy):
        problem = problem.tabular()
    weights = problem.prompt_probs[:, None] * problem.probs
    dtype = model_class.features.dtype

    def loss(theta):
        return -jnp.sum(weights * model_class.log_probs(theta))

    def restart(theta, _):  # fixed-interval restarts: linear convergence on the strongly convex cases
        return projected_fista(loss, theta, model_class.project, _RESTART_EVERY), None

    theta, _ = jax.lax.scan(restart, jnp.zeros(model_class.param_shape, dtype), None,
                            length=max(1, steps // _RESTART_EVERY))
    return theta


def xpo(
    key: jax.Array,
    problem: Problem,
    model_class,
    *,
    T: int,
    beta: float | None,
    alpha: float,
    batch: int = 1,
    theta_init="base",
    inner_steps: int = 100,
    learning_rate: float = 0.05,
    fresh_data_only: bool = False,
    select: str = "best",
    heldout_samples: int = 64,
    anchor: str = "base",
    delta: float = 0.1,
    gamma: float = 0.0,
    max_T: int | None = None,
    bucketed: bool = True,
) -> XPOResult:
    """XPO (Alg 1) with a linear-softmax class (Def J.3), the multi-layer autoregressive one (Eq 11)
    or a pytree-parameter class (:class:`~sharpsim.classes.PytreeParametricClass`: the neural class).

    With an ``AutoregressiveLinearSoftmaxClass`` the problem's base is an ``AutoregressivePolicy``;
    the run enumerates ``V^H`` (exact sampling and ``J_β``), ``theta`` has shape ``[H, d]`` and the
    output ``policy`` is an ``AutoregressivePolicy``. With a pytree-parameter class the iterates
    are pytrees of the structure of ``model_class.params`` (``thetas``: each leaf with a leading
    iterate axis), the inner minimisation is unconstrained Adam over every leaf (no ball), and
    everything else (data, draws, loss, queries, selection) is the same.

    Args:
      T: iterations (``>= 1``); ``batch``: pairs per iteration.
      beta: KL weight (``> 0``), or ``None`` for Thm J.2's ``β = γ_margin/(2 log(2|Y|/δ))``
        (``bounds.margin_lemma_beta`` at the problem's measured margin and ``delta``; needs a
        concrete, not traced, problem).
      alpha: optimism weight (``>= 0``; 0 gives online RLHF-Sharpening without exploration
        bonus), in Alg 1's normalisation (see the module docstring and ``bounds.xpo_alpha``).
      theta_init: ``"base"`` (default: :func:`base_projection`, Alg 1's ``π^(1) = π_base``),
        ``"uniform"`` (θ = 0; linear-softmax classes only) or a parameter of the class's shape
        (for a pytree-parameter class: a pytree of the structure and leaf shapes of
        ``model_class.params``). ``"uniform"`` is refused for a pytree-parameter class: the
        neural class's all-zero parameters give the uniform law but are a stationary point of its
        hidden layers (only the output bias would ever move); pass ``model_class.params`` to
        start at the class's initialisation instead.
      fresh_data_only: a *variant* that fits each iterate on the newest batch only instead of
        the growing ``D_t`` (not Alg 1; labelled as such in results).
      select: ``"best"`` (largest exact ``J_β``, available in simulation), ``"heldout"``
        (largest estimate of ``J_β`` from ``heldout_samples`` fresh draws ``x ~ μ``, ``y ~ π^(t)``
        per iterate, whose ``log π_base(y|x)`` is queried and charged: ``(T+1) heldout_samples``
        more queries) or ``"last"``.
      anchor: ``"base"`` (Alg 1: ``y' ~ π_base`` and log-ratios against ``π_base``) or
        ``"iterate"``, a REBEL-style *variant* (not Alg 1): both responses from ``π_t`` and the
        log-ratios taken against ``π_t`` (frozen when the pair was drawn), the reward difference
        unchanged.
      inner_steps, learning_rate: projected Adam's steps per iteration (warm-started) and rate
        (unconstrained Adam for a pytree-parameter class).
      delta, gamma: the level of the reported exact ``error``.
      max_T: static capacity for a traced ``T`` (under ``jit``/``vmap``): the scan runs
        ``max_T`` rounds and rounds ``t >= T`` change nothing (no data, no fit); ``thetas`` and
        ``objectives`` then have ``max_T + 1`` rows, those after row ``T`` repeating the last
        iterate, never selected. The round keys are a prefix-consistent split, so the first
        ``T + 1`` iterates are those of the run with ``T`` rounds.
      bucketed: on an eager call (no argument traced) without ``max_T``, run one jitted function
        per shape bucket: ``T`` padded to the next power of two (at least 16) as with ``max_T``,
        ``α``, ``β``, ``δ``, ``γ`` traced, and ``thetas``/``objectives`` cut back to ``T + 1``
        rows on the host; a loop over many ``T`` (and levels) compiles once per bucket
        (:mod:`sharpsim.algorithms._buckets`). Same draws as the plain path; floats agree to
        rounding (sums run over the padded data). ``False``: the plain path.

    Returns:
      An :class:`XPOResult`.

    Raises:
      TypeError: if ``model_class`` is neither a linear-softmax nor a pytree-parameter class, or an
        autoregressive class is paired with a tabular base.
      ValueError: on bad ``T``, ``batch``, ``beta``, ``alpha``, ``select``, ``anchor``,
        ``heldout_samples``, ``theta_init`` or ``max_T``, or a class not defined on ``problem``.
    """
    if max_T is None:
        T = v.check_positive_int("T", T)
    else:
        max_T = v.check_positive_int("max_T", max_T)
        if v.is_concrete(T):
            T = v.check_positive_int("T", T)
            if T > max_T:
                raise ValueError(f"`T` must be <= `max_T` = {max_T}; got {T}")
    if beta is None:
        if not v.is_concrete(problem):
            raise ValueError("`beta` = None (Thm J.2's β) needs a concrete problem to measure its margin; "
                             "pass β explicitly inside jit")
        tab = problem.tabular() if isinstance(problem.base, AutoregressivePolicy) else problem
        beta = bounds.margin_lemma_beta(margin(tab), tab.num_responses, delta=delta)
        if beta <= 0:
            raise ValueError("`beta` = None: the problem's margin is 0, where Thm J.2's β is 0; pass β explicitly")
    batch = v.check_positive_int("batch", batch)
    if v.is_concrete(beta):
        v.check_positive("beta", beta)
    if v.is_concrete(alpha):
        v.check_at_least("alpha", alpha, 0.0)
    if select not in ("best", "last", "heldout"):
        raise ValueError(f"`select` must be 'best', 'heldout' or 'last'; got {select!r}")
    heldout_samples = v.check_positive_int("heldout_samples", heldout_samples)
    if anchor not in ("base", "iterate"):
        raise ValueError(f"`anchor` must be 'base' (Alg 1) or 'iterate' (REBEL-style variant); got {anchor!r}")
    output_problem = problem
    if not classes.supports(model_class, classes.ParametricClass):
        if not classes.supports(model_class, classes.PytreeParametricClass):
            raise TypeError("`model_class` must be a LinearSoftmaxClass or AutoregressiveLinearSoftmaxClass "
                            "(a parametric class with features, radius and project) or a pytree-parameter class "
                            "such as NeuralAutoregressiveClass (params, log_probs, policy, fit_law); got "
                            f"{type(model_class).__name__}")
        classes.bind(model_class, problem)  # on the problem as given: the neural class checks its base
        if model_class.autoregressive and not isinstance(problem.base, AutoregressivePolicy):
            raise TypeError(f"an autoregressive {type(model_class).__name__} needs a problem whose base is an "
                            "AutoregressivePolicy")
        if isinstance(problem.base, AutoregressivePolicy):
            problem = problem.tabular()  # exact simulation over V^H, as for Eq 11
        theta0 = _pytree_start(problem, model_class, theta_init)
    else:
        problem, theta0 = _linear_start(problem, model_class, theta_init)
    if bucketed and max_T is None and is_eager(key, problem, model_class, beta, alpha, delta, gamma, theta0):
        out = _xpo_in_bucket(key, problem, output_problem, model_class, theta0, int(T), float(beta), float(alpha),
                             float(delta), float(gamma), size=bucket(T), batch=batch, inner_steps=inner_steps,
                             learning_rate=learning_rate, fresh_data_only=fresh_data_only, select=select,
                             heldout_samples=heldout_samples, anchor=anchor)
        return dataclasses.replace(out, thetas=jax.tree_util.tree_map(lambda a: take_first(a, T + 1), out.thetas),
                                   objectives=take_first(out.objectives, T + 1))
    return _xpo_rounds(key, problem, output_problem, model_class, theta0, T, beta, alpha, delta, gamma,
                       size=T if max_T is None else max_T, batch=batch, inner_steps=inner_steps,
                       learning_rate=learning_rate, fresh_data_only=fresh_data_only, select=select,
                       heldout_samples=heldout_samples, anchor=anchor)


def _linear_start(problem, model_class, theta_init):
    """The enumerated problem and ``θ^(1)`` of a linear-softmax class (Def J.3, Eq 11)."""
    if model_class.autoregressive:
        # Exact simulation over V^H: sampling a sequence from the enumerated joint law is the same
        # law as sampling it token by token, and J_β needs the joint anyway.
        if not isinstance(problem.base, AutoregressivePolicy):
            raise TypeError("an AutoregressiveLinearSoftmaxClass needs a problem whose base is an AutoregressivePolicy")
        problem = problem.tabular()
    param_shape = model_class.param_shape
    classes.bind(model_class, problem)
    feats = model_class.features
    if isinstance(theta_init, str):
        if theta_init == "base":
            theta0 = base_projection(problem, model_class)
        elif theta_init == "uniform":  # built on the host: no eager XLA op, so no compilation per call site
            theta0 = np.zeros(param_shape, feats.dtype)
        else:
            raise ValueError(f"`theta_init` must be 'base', 'uniform' or a parameter array; got {theta_init!r}")
    elif theta_init is None:
        raise ValueError("`theta_init` must be 'base', 'uniform' or a parameter array; got None")
    else:
        theta0 = jnp.asarray(theta_init, feats.dtype)
        if theta0.shape != param_shape:
            raise ValueError(f"`theta_init` must have shape {param_shape}; got {theta0.shape}")
    return problem, theta0


def _pytree_start(problem, model_class, theta_init):
    """``θ^(1)`` of a pytree-parameter class: its base fit, or ``theta_init`` checked and cast."""
    if isinstance(theta_init, str) and theta_init == "base":
        return base_projection(problem, model_class)
    if isinstance(theta_init, str) and theta_init == "uniform":
        raise ValueError(f"`theta_init` = 'uniform' (θ = 0) is defined for linear-softmax classes only; for a "
                         f"{type(model_class).__name__} (pytree parameters) pass 'base' or a params pytree such "
                         "as `model_class.params`")
    ref = model_class.params
    want, got = jax.tree_util.tree_structure(ref), jax.tree_util.tree_structure(theta_init)
    want_shapes = [jnp.shape(a) for a in jax.tree_util.tree_leaves(ref)]
    got_shapes = [jnp.shape(a) for a in jax.tree_util.tree_leaves(theta_init)]
    if isinstance(theta_init, str) or theta_init is None or got != want or got_shapes != want_shapes:
        shown = repr(theta_init) if isinstance(theta_init, str) or theta_init is None else f"{got}, {got_shapes}"
        raise ValueError(f"`theta_init` must be 'base' or a pytree with the structure and leaf shapes of "
                         f"`model_class.params` ({want}, {want_shapes}); got {shown}")
    return jax.tree_util.tree_map(lambda a, r: jnp.asarray(a, jnp.result_type(r)), theta_init, ref)


_STATIC = ("size", "batch", "inner_steps", "learning_rate", "fresh_data_only", "select", "heldout_samples", "anchor")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _xpo_in_bucket(key, problem, output_problem, model_class, theta0, T, beta, alpha, delta, gamma, **static):
    return _xpo_rounds(key, problem, output_problem, model_class, theta0, T, beta, alpha, delta, gamma, **static)


def _xpo_rounds(key, problem, output_problem, model_class, theta0, T, beta, alpha, delta, gamma, *, size, batch,
                inner_steps, learning_rate, fresh_data_only, select, heldout_samples, anchor):
    """Alg 1's ``size`` rounds (static), of which the first ``T`` (possibly traced) act."""
    masked = not (v.is_concrete(T) and int(T) == size)  # the plain path keeps its unmasked graph
    if classes.supports(model_class, classes.ParametricClass):
        project, dtype = model_class.project, model_class.features.dtype
    else:  # a pytree-parameter class: unconstrained Adam over every leaf
        project, dtype = _identity, jnp.result_type(jax.tree_util.tree_leaves(theta0)[0])
    cap = size * batch

    def loss(theta, data):
        x, y, z, ly, lz, ay, az, w = data  # a*: log-probs of the anchor (π_base, or π_t for REBEL)
        lp = model_class.log_probs(theta)
        resid = beta * (lp[x, y] - ay) - beta * (lp[x, z] - az) - (ly - lz)
        return jnp.sum(w * (alpha * lp[x, z] + resid**2))

    def fit(theta, data):
        return projected_adam(lambda th: loss(th, data), theta, project, inner_steps, learning_rate)

    def iteration(carry, inputs):
        theta, data = carry
        t, k = inputs
        k_x, k_y, k_z = jax.random.split(k, 3)
        x = oracle.sample_prompts(k_x, problem, batch)
        current = TabularPolicy(model_class.log_probs(theta))
        y = current.sample(k_y, x)
        ly = oracle.evaluate(problem, x, y).log_probs  # one query each
        if anchor == "iterate":
            z = current.sample(k_z, x)
            lz = oracle.evaluate(problem, x, z).log_probs
        else:
            base_batch = oracle.sample_responses(k_z, problem, x)  # y' ~ π_base, one query each
            z, lz = base_batch.responses, base_batch.log_probs
        if anchor == "iterate":  # REBEL-style: log-ratios against π_t, frozen at sampling time
            ay, az = current.log_prob(x, y), current.log_prob(x, z)
        else:
            ay, az = ly, lz
        idx = t * batch + jnp.arange(batch)
        xs, ys, zs, lys, lzs, ays, azs, ws = data
        if not masked:
            if fresh_data_only:
                ws = jnp.zeros_like(ws)
            data = (xs.at[idx].set(x), ys.at[idx].set(y), zs.at[idx].set(z), lys.at[idx].set(ly),
                    lzs.at[idx].set(lz), ays.at[idx].set(ay), azs.at[idx].set(az), ws.at[idx].set(1.0))
            theta = fit(theta, data)
            return (theta, data), theta
        active = t < T
        if fresh_data_only:
            ws = jnp.where(active, jnp.zeros_like(ws), ws)
        data = (xs.at[idx].set(x), ys.at[idx].set(y), zs.at[idx].set(z), lys.at[idx].set(ly),
                lzs.at[idx].set(lz), ays.at[idx].set(ay), azs.at[idx].set(az),
                ws.at[idx].set(jnp.where(active, 1.0, 0.0)))
        theta = jax.lax.cond(active, fit, lambda th, _: th, theta, data)  # rounds t >= T change nothing
        return (theta, data), theta

    empty = (jnp.zeros(cap, jnp.int64), jnp.zeros(cap, jnp.int64), jnp.zeros(cap, jnp.int64),
             *(jnp.zeros(cap, dtype) for _ in range(5)))
    k_run, k_heldout = jax.random.split(key)
    keys = jax.random.split(k_run, size)  # prefix-consistent: the first T are split(k_run, T)
    (_, _), thetas = jax.lax.scan(iteration, (theta0, empty), (jnp.arange(size), keys))
    thetas = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b], axis=0), theta0, thetas)
    objectives = jax.vmap(lambda th: kl_objective_of_table(problem, model_class.log_probs(th), beta))(thetas)
    valid = jnp.arange(size + 1) <= T  # the iterates π^(1..T+1)
    queries = 2 * T * batch
    if select == "best":
        selected = jnp.argmax(jnp.where(valid, objectives, -jnp.inf))
    elif select == "last":
        selected = jnp.asarray(T)
    else:
        estimates = jax.vmap(lambda th, k: heldout_objective(k, problem, model_class, th, beta, heldout_samples))(
            thetas, jax.random.split(k_heldout, size + 1)
        )
        selected = jnp.argmax(jnp.where(valid, estimates, -jnp.inf))
        queries = queries + (T + 1) * heldout_samples
    policy = model_class.policy(jax.tree_util.tree_map(lambda a: a[selected], thetas))
    err = sharpening_error(output_problem, policy, delta=delta, gamma=gamma)
    return XPOResult(policy, jnp.asarray(queries), jnp.asarray(err), thetas, objectives, selected)


def _identity(theta):
    return theta


def heldout_objective(key, problem: Problem, model_class, theta, beta, num: int) -> jax.Array:
    """An unbiased estimate of ``J_β(π_θ)`` from ``num`` draws ``x ~ μ``, ``y ~ π_θ`` and the
    oracle's ``log π_base(y|x)`` (``num`` queries): the mean of
    ``log π_base(y|x) − β(log π_θ(y|x) − log π_base(y|x))``.

    Args:
      key: PRNG key.
      problem: the problem (tabular base; ``xpo`` enumerates autoregressive ones first).
      model_class: the class of ``theta`` (linear-softmax or pytree-parameter).
      theta: the parameter (an array, or a pytree for a pytree-parameter class).
      beta: β.
      num: the number of draws (static).

    Returns:
      The estimate (a scalar).
    """
    k_x, k_y = jax.random.split(key)
    x = oracle.sample_prompts(k_x, problem, num)
    y = TabularPolicy(model_class.log_probs(theta)).sample(k_y, x)
    lb = oracle.evaluate(problem, x, y).log_probs
    lp = model_class.log_probs(theta)[x, y]
    return jnp.mean(lb - beta * (lp - lb))
