"""Power sampling: the sequence-level law ``π^α / Z`` and three ways to approach it.

For α > 1 the *power law* ``π^α(y|x) ∝ π(y|x)^α`` sharpens ``π`` towards its arg-max while
keeping the order of responses. With ``α = 1 + 1/β`` it is exactly the KL-regularised optimum
``π*_β ∝ π_base^{1+1/β}`` of Eq 3 (Huang et al., ICLR 2025, Sec 2.2), so sampling from it is
inference-time RLHF-Sharpening without training. Here:

* :func:`power_law` — the exact law over whole responses (sequences ``V^H`` enumerated);
* :func:`token_temperature` — the usual low-temperature decoding: every next-token conditional
  raised to α and renormalised (temperature ``1/α``). Its sequence law (``.to_tabular()``) is
  *not* ``π^α`` in general: it forgets how much mass each prefix leads to, which is exactly how
  greedy decoding misses ``y*`` on Prop 3.1's instance (``problems.prop31_tightness``);
* :func:`metropolis_hastings` — an independence Metropolis–Hastings chain targeting ``π_base^α``
  whose proposals are draws from ``π_base`` (or from the low-temperature policy), each scored by
  the sample-and-evaluate oracle (Def 3.2) and charged as one query;
* :func:`mh_kernel`, :func:`mh_law` — the chain's exact transition kernel and its exact law after
  t steps, so the sampler's convergence is computed, not estimated.

See ``theory/power_sampling.md``.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import _validation as v
from sharpsim import oracle
from sharpsim.policies import AutoregressivePolicy, TabularPolicy
from sharpsim.problems import Problem

__all__ = [
    "PROPOSALS",
    "MHResult",
    "metropolis_hastings",
    "mh_kernel",
    "mh_law",
    "mh_rate",
    "power_law",
    "token_temperature",
    "total_variation",
]

#: The proposals :func:`metropolis_hastings` accepts.
PROPOSALS = ("base", "temperature")


def _check_alpha(alpha):
    if v.is_concrete(alpha):
        return v.check_positive("alpha", alpha)
    return alpha


def _table(policy, name: str = "policy") -> TabularPolicy:
    if isinstance(policy, Problem):
        policy = policy.base
    if isinstance(policy, AutoregressivePolicy):
        return policy.to_tabular()
    if isinstance(policy, TabularPolicy):
        return policy
    raise TypeError(f"`{name}` must be a TabularPolicy, AutoregressivePolicy or Problem; got {type(policy).__name__}")


def power_law(policy, alpha) -> TabularPolicy:
    """The sequence-level power law ``π^α(y|x) = π(y|x)^α / Σ_y' π(y'|x)^α``, exactly.

    Args:
      policy: a :class:`TabularPolicy`, an :class:`AutoregressivePolicy` (enumerated over
        ``V^H``; at most ``ENUMERATION_LIMIT`` sequences) or a Problem (its base).
      alpha: the exponent α > 0 (α > 1 sharpens; ``α = 1 + 1/β`` gives π*_β of Eq 3).

    Returns:
      A :class:`TabularPolicy` over the responses (sequence indices for an autoregressive policy).

    Raises:
      TypeError: on a policy of another type.
      ValueError: unless α is a finite number > 0, or if the enumeration is too large.
    """
    alpha = _check_alpha(alpha)
    table = _table(policy)
    lp = table.log_probs
    shifted = lp - table.max_log_prob()[:, None]
    scaled = jnp.where(shifted == 0, 0.0, shifted * alpha)  # -inf stays -inf, no 0·inf
    return TabularPolicy(jax.nn.log_softmax(scaled, axis=-1))


def token_temperature(policy: AutoregressivePolicy, alpha) -> AutoregressivePolicy:
    """Low-temperature decoding: every next-token conditional ``∝ π_h(·|context)^α``.

    Args:
      policy: an :class:`AutoregressivePolicy` (or a Problem with one as base).
      alpha: α > 0 (temperature ``1/α``).

    Returns:
      An :class:`AutoregressivePolicy` with the same context length; its exact sequence law is
      ``token_temperature(policy, alpha).to_tabular()``.

    Raises:
      TypeError: if ``policy`` is not autoregressive.
      ValueError: unless α is a finite number > 0.
    """
    if isinstance(policy, Problem):
        policy = policy.base
    if not isinstance(policy, AutoregressivePolicy):
        raise TypeError(f"`policy` must be an AutoregressivePolicy; got {type(policy).__name__}")
    alpha = _check_alpha(alpha)
    lt = policy.log_tables
    shifted = lt - jnp.max(lt, axis=-1, keepdims=True)
    scaled = jnp.where(shifted == 0, 0.0, shifted * alpha)
    return AutoregressivePolicy(jax.nn.log_softmax(scaled, axis=-1), policy.context_length)


def total_variation(p, q) -> jax.Array:
    """``[num_prompts]`` total variation ``½ Σ_y |p(y|x) − q(y|x)|`` between two policies or tables.

    Args:
      p, q: policies (tabular or autoregressive) or ``[..., num_responses]`` probability arrays.

    Returns:
      The per-prompt distances (the leading shape of the arrays).
    """
    def probs(a):
        if isinstance(a, (TabularPolicy, AutoregressivePolicy, Problem)):
            return _table(a).probs
        return jnp.asarray(a)

    return 0.5 * jnp.sum(jnp.abs(probs(p) - probs(q)), axis=-1)


# ------------------------------------------------------------------------- Metropolis–Hastings
def _proposal_table(problem: Problem, alpha, proposal: str) -> TabularPolicy:
    if proposal == "base":
        return _table(problem)
    if not isinstance(problem.base, AutoregressivePolicy):
        return power_law(problem, alpha)  # token temperature of a one-token policy is the power law
    return token_temperature(problem.base, alpha).to_tabular()


def _check_proposal(proposal: str) -> str:
    if proposal not in PROPOSALS:
        raise ValueError(f"`proposal` must be one of {PROPOSALS}; got {proposal!r}")
    return proposal


def mh_kernel(problem: Problem, alpha, *, proposal: str = "base") -> jax.Array:
    """The exact transition kernel of :func:`metropolis_hastings`: ``[num_prompts, Y, Y]``.

    ``K[x, y, y'] = q(y'|x) min(1, w(y')/w(y))`` for ``y' ≠ y`` with ``w = π_base^α / q`` (the
    independence sampler), and ``K[x, y, y] = 1 − Σ_{y'≠y} K[x, y, y']``. Rows of responses
    outside the proposal's support are the identity (the chain never visits them).

    Args:
      problem: the problem (its base is enumerated if autoregressive).
      alpha: the target exponent α > 0.
      proposal: ``"base"`` (``q = π_base``) or ``"temperature"`` (``q`` = :func:`token_temperature`
        with the same α).

    Returns:
      The kernel, each ``K[x, y, :]`` a distribution.

    Raises:
      ValueError: on a bad α or proposal.
    """
    alpha = _check_alpha(alpha)
    proposal = _check_proposal(proposal)
    lp = _table(problem).log_probs
    lq = _proposal_table(problem, alpha, proposal).log_probs
    lw = jnp.where(lq > -jnp.inf, alpha * lp - lq, -jnp.inf)  # [X, Y]
    log_acc = jnp.minimum(0.0, lw[:, None, :] - lw[:, :, None])  # [X, y, y']
    off = jnp.where(lq[:, None, :] > -jnp.inf, jnp.exp(lq[:, None, :] + log_acc), 0.0)
    eye = jnp.eye(lp.shape[-1], dtype=bool)
    off = jnp.where(eye, 0.0, off)
    stay = 1.0 - jnp.sum(off, axis=-1)
    return off + jnp.where(eye, stay[:, :, None], 0.0)


def mh_law(problem: Problem, alpha, num_steps: int, *, proposal: str = "base") -> jax.Array:
    """The exact law of the chain's state after ``t = 0..num_steps`` steps: ``[num_steps + 1, X, Y]``.

    The chain starts from one proposal draw (``t = 0``: the proposal ``q``) and makes ``num_steps``
    independence-MH steps (:func:`mh_kernel`). Its state after ``t`` steps has cost ``t + 1``
    oracle queries.

    Args:
      problem: the problem.
      alpha: α > 0.
      num_steps: steps, ``>= 0``.
      proposal: see :func:`mh_kernel`.

    Returns:
      ``law[t, x, y] = P(state_t = y | x)``.

    Raises:
      ValueError: on a bad α, proposal or ``num_steps``.
    """
    num_steps = v.check_positive_int("num_steps", num_steps, minimum=0)
    K = mh_kernel(problem, alpha, proposal=proposal)
    q = _proposal_table(problem, alpha, proposal).probs

    def step(p, _):
        nxt = jnp.einsum("xy,xyz->xz", p, K)
        return nxt, nxt

    _, laws = jax.lax.scan(step, q, None, length=num_steps)
    return jnp.concatenate([q[None], laws], axis=0)


def mh_rate(problem: Problem, alpha, *, proposal: str = "base") -> jax.Array:
    """``[num_prompts]`` the independence sampler's contraction factor ``1 − 1/w*(x)``.

    With ``w*(x) = max_y π^α(y|x)/q(y|x)`` (normalised target over proposal), the chain started
    anywhere satisfies ``TV(law_t, π^α) <= (1 − 1/w*)^t`` (the geometric rate of the independence
    Metropolis–Hastings sampler, Liu 1996), so ``(1 − 1/w*)^t`` bounds :func:`mh_law`'s distance.

    Args:
      problem, alpha, proposal: as :func:`mh_kernel`.

    Returns:
      The factors, in ``[0, 1)``.

    Raises:
      ValueError: on a bad α or proposal.
    """
    alpha = _check_alpha(alpha)
    proposal = _check_proposal(proposal)
    target = power_law(problem, alpha).log_probs
    lq = _proposal_table(problem, alpha, proposal).log_probs
    w_star = jnp.exp(jnp.max(jnp.where(target > -jnp.inf, target - lq, -jnp.inf), axis=-1))
    return 1.0 - 1.0 / w_star


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class MHResult:
    """The chains of :func:`metropolis_hastings`.

    Attributes:
      prompts: ``[num_chains]`` each chain's prompt.
      states: ``[num_chains, num_steps + 1]`` response indices (sequence indices in ``V^H`` for an
        autoregressive base); column ``t`` is the state after ``t`` steps (column 0: the first
        proposal).
      accepted: ``[num_chains]`` accepted proposals per chain.
      num_queries: total oracle queries, ``num_chains (num_steps + 1)``: every proposal is drawn
        and scored once.
    """

    prompts: jax.Array
    states: jax.Array
    accepted: jax.Array
    num_queries: jax.Array


def metropolis_hastings(
    key: jax.Array,
    problem: Problem,
    alpha,
    *,
    num_chains: int,
    num_steps: int,
    prompts=None,
    proposal: str = "base",
) -> MHResult:
    """Independence Metropolis–Hastings chains targeting ``π_base^α / Z`` (jitted, vmapped over chains).

    Each chain starts from one proposal and, ``num_steps`` times, proposes ``y' ~ q(·|x)``
    independently of its state and moves there with probability
    ``min(1, π_base(y'|x)^α q(y|x) / (π_base(y|x)^α q(y'|x)))``. Every proposal is scored by the
    oracle (``oracle.sample_responses`` for ``q = π_base``, ``oracle.evaluate`` for the
    low-temperature proposal) and charged one query; with ``q = π_base`` the acceptance ratio is
    ``(π_base(y'|x)/π_base(y|x))^{α−1}`` and needs nothing beyond the oracle (Def 3.2), while
    ``"temperature"`` also reads the proposal's own next-token probabilities (white-box access).
    The exact law of the states is :func:`mh_law`.

    Args:
      key: PRNG key.
      problem: the problem (tabular or autoregressive base).
      alpha: the target exponent α > 0.
      num_chains: independent chains (static).
      num_steps: steps per chain (static).
      prompts: ``[num_chains]`` prompt indices; drawn from μ when omitted (free, as in the oracle).
      proposal: ``"base"`` or ``"temperature"`` (:func:`token_temperature` at the same α).

    Returns:
      An :class:`MHResult`.

    Raises:
      TypeError: if ``problem`` is not a Problem.
      ValueError: on a bad α, proposal, number of chains or steps, or prompts of another shape.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"`problem` must be a sharpsim Problem; got {type(problem).__name__}")
    alpha = _check_alpha(alpha)
    proposal = _check_proposal(proposal)
    num_chains = v.check_positive_int("num_chains", num_chains)
    num_steps = v.check_positive_int("num_steps", num_steps, minimum=0)
    k_x, k_run = jax.random.split(key)
    if prompts is None:
        prompts = oracle.sample_prompts(k_x, problem, num_chains)
    prompts = jnp.asarray(prompts)
    if prompts.shape != (num_chains,):
        raise ValueError(f"`prompts` must have shape [num_chains] = [{num_chains}]; got {list(prompts.shape)}")
    if v.is_concrete(prompts) and (np.any(np.asarray(prompts) < 0) or np.any(np.asarray(prompts) >= problem.num_prompts)):
        raise ValueError(f"`prompts` must lie in [0, {problem.num_prompts})")
    return _mh(k_run, problem, jnp.asarray(alpha, problem.prompt_probs.dtype), prompts, num_steps, proposal)


@functools.partial(jax.jit, static_argnames=("num_steps", "proposal"))
def _mh(key, problem, alpha, prompts, num_steps, proposal):
    base = problem.base
    autoregressive = isinstance(base, AutoregressivePolicy)
    q_policy = token_temperature(base, alpha) if (proposal == "temperature" and autoregressive) else None
    q_table = power_law(base, alpha) if (proposal == "temperature" and not autoregressive) else None

    def index(y):
        return base.sequence_to_index(y) if autoregressive else y

    def propose(k, x):
        xs = x[None]
        if proposal == "base":
            batch = oracle.sample_responses(k, problem, xs)
            return index(batch.responses[0]), batch.log_probs[0], batch.log_probs[0]
        q = q_policy if autoregressive else q_table
        y = q.sample(k, xs)
        lp = oracle.evaluate(problem, xs, y).log_probs.reshape(-1)[0]
        return index(y[0]), lp, q.log_prob(xs, y)[0]

    def chain(k, x):
        k0, ks = jax.random.split(k)
        y0, lp0, lq0 = propose(k0, x)

        def body(carry, kt):
            y, lp, lq, acc = carry
            k_prop, k_u = jax.random.split(kt)
            y1, lp1, lq1 = propose(k_prop, x)
            log_ratio = alpha * (lp1 - lp) - (lq1 - lq)
            take = jnp.log(jax.random.uniform(k_u, dtype=lp.dtype)) < log_ratio
            carry = (jnp.where(take, y1, y), jnp.where(take, lp1, lp), jnp.where(take, lq1, lq), acc + take)
            return carry, carry[0]

        init = (y0, lp0, lq0, jnp.zeros((), jnp.int32))
        (_, _, _, acc), ys = jax.lax.scan(body, init, jax.random.split(ks, num_steps))
        return jnp.concatenate([y0[None], ys]), acc

    keys = jax.random.split(key, prompts.shape[0])
    states, accepted = jax.vmap(chain)(keys, prompts)
    nq = jnp.asarray(prompts.shape[0] * (num_steps + 1), jnp.int32)
    return MHResult(prompts, states, accepted, nq)
