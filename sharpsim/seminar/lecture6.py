"""Checkers of lecture 6 (representation: greedy decoding, the sequence arg-max, App E).

Each checker draws its instances deterministically (fixed seeds), so a verdict is reproducible:

* 6.1 — greedy decoding of an :class:`~sharpsim.AutoregressivePolicy`, compared token for token with
  :meth:`~sharpsim.AutoregressivePolicy.greedy` on drawn policies (full-history and Markov contexts,
  ties, Prop 3.1's tightness instance);
* 6.2 — Prop 3.1's certificate: whether ``π(greedy(x) | x) > 1/2`` (then greedy *is* the sequence
  arg-max), compared with the exact mass and with the enumerated arg-max;
* 6.3 — a maximum cut read off the sequence arg-max of Prop E.1's instance, compared with a
  brute-force maximum cut on drawn graphs;
* 6.4 — the smallest N at which the BoN law puts more than 1/2 on a unique arg-max (past the
  ceiling of Prop E.2's class), compared with the exact value on one-prompt problems.
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np

import sharpsim as ss
from sharpsim import problems
from sharpsim.seminar._core import exercise

__all__ = ["instance_bon_problems", "instance_graphs", "instance_policies"]


def instance_policies() -> list[ss.AutoregressivePolicy]:
    """The policies the checkers of 6.1 and 6.2 use (deterministic; built once and cached).

    Returns:
      Three policies. The first (V = 3, H = 3, full history) holds, as prompts: Prop 3.1's
      tightness instance (``π(y*) = 0.3``, greedy misses ``y*``), a policy whose every greedy step
      has probability 0.7 (> 1/2) while the greedy sequence has mass 0.343 (< 1/2), two prompts
      with exact ties (integer logits) and random prompts at several temperatures (some with
      ``π(y*) > 1/2``, most without). The second is a random Markov policy (context length 1), the
      third a random policy whose steps ignore the context (context length 0).
    """
    if not _CACHE:
        rng = np.random.default_rng(6)
        tight = np.asarray(problems.prop31_tightness(vocab_size=3, horizon=3, p_star=0.3).base.log_tables)
        step = np.log(np.broadcast_to([0.7, 0.15, 0.15], (3, 1, 9, 3)))
        ties = rng.integers(0, 2, size=(3, 2, 9, 3)).astype(float)
        scales = 3.0 * np.exp(rng.uniform(-1.2, 1.2, size=(1, 6, 1, 1)))
        rand = rng.normal(size=(3, 6, 9, 3)) * scales
        with np.errstate(divide="ignore"):
            first = np.concatenate([tight, step, ties, rand], axis=1)
        markov = rng.normal(size=(4, 5, 2, 2)) * 3.0 * np.exp(rng.uniform(-1.0, 1.0, size=(1, 5, 1, 1)))
        memoryless = rng.normal(size=(3, 4, 1, 2)) * 2.0
        policies = [ss.AutoregressivePolicy.from_logits(first, context_length=2),
                    ss.AutoregressivePolicy.from_logits(markov, context_length=1),
                    ss.AutoregressivePolicy.from_logits(memoryless, context_length=0)]
        _CACHE["policies"] = policies
        _CACHE["greedy"] = [np.asarray(p.greedy()) for p in policies]
        _CACHE["argmax"] = [np.asarray(p.sequence_argmax()) for p in policies]
        _CACHE["certificate"] = [
            np.asarray(p.log_prob(jnp.arange(p.num_prompts), g)) > np.log(0.5)
            for p, g in zip(policies, _CACHE["greedy"])]
    return list(_CACHE["policies"])


_CACHE: dict = {}


def instance_graphs() -> list[np.ndarray]:
    """Symmetric non-negative weight matrices on 3 to 5 nodes, each with an edge (deterministic).

    Returns:
      The graphs the checker of 6.3 uses (one of them is the 5-cycle, the others have integer weights).
    """
    rng = np.random.default_rng(63)
    graphs = []
    for n in (3, 4, 5):
        A = np.triu(rng.integers(0, 3, size=(n, n)) * (rng.random((n, n)) < 0.7), 1).astype(float)
        A[0, 1] = max(A[0, 1], 1.0)
        graphs.append(A + A.T)
    cycle = np.zeros((5, 5))
    for i in range(5):
        cycle[i, (i + 1) % 5] = cycle[(i + 1) % 5, i] = 1.0
    graphs.insert(2, cycle)
    return graphs


def _describe(policy) -> str:
    return (f"a policy with {policy.num_prompts} prompts, V = {policy.vocab_size}, H = {policy.horizon}, "
            f"context length {policy.context_length}")


def _greedy_without_context(policy):
    """A deliberately wrong greedy decoder: it always reads the context-0 row of each step's table."""
    return np.asarray(jnp.argmax(policy.log_tables[:, :, 0, :], axis=-1).T)


@exercise("6.1", title="greedy decoding of an autoregressive policy",
          wrong=[lambda policy: policy.sequence_argmax(), _greedy_without_context])
def _check_greedy(answer):
    """``answer(policy) -> [num_prompts, H]`` tokens: compared with ``policy.greedy()`` on drawn policies."""
    for policy, want in zip(instance_policies(), _CACHE["greedy"]):
        got = np.asarray(answer(policy))
        if got.shape != want.shape:
            return f"on {_describe(policy)} your array has shape {got.shape}; expected [num_prompts, H] = {want.shape}"
        if not np.array_equal(got, want):
            x = int(np.flatnonzero(np.any(got != want, axis=-1))[0])
            h = int(np.flatnonzero(got[x] != want[x])[0])
            return (f"on {_describe(policy)}, prompt {x}: your sequence {got[x].tolist()} differs from greedy "
                    f"decoding at step {h + 1}. Hint: each step takes the most likely token given the tokens "
                    f"already chosen (the context index is updated as c ← (c·V + token) mod V^k), and ties go to "
                    f"the lowest token.")
    return None


def _all_steps_above_half(policy):
    """A deliberately wrong certificate: every greedy step has conditional probability > 1/2."""
    greedy = policy.greedy()
    ctx = policy.contexts(greedy)
    steps = jnp.arange(policy.horizon)
    prompts = jnp.arange(policy.num_prompts)[:, None]
    per_step = policy.log_tables[steps, prompts, ctx, greedy]
    return np.asarray(jnp.all(per_step > np.log(0.5), axis=-1))


def _greedy_equals_argmax(policy):
    return np.all(np.asarray(policy.greedy()) == np.asarray(policy.sequence_argmax()), axis=-1)


@exercise("6.2", title="Prop 3.1's certificate: π(greedy) > 1/2",
          wrong=[_greedy_equals_argmax, _all_steps_above_half, lambda policy: np.ones(policy.num_prompts, bool)])
def _check_certificate(answer):
    """``answer(policy) -> [num_prompts]`` bools: ``π(greedy(x) | x) > 1/2``, compared exactly on drawn policies;
    where it is true, greedy must equal the enumerated sequence arg-max (Prop 3.1)."""
    policies = instance_policies()
    for policy, want, greedy, best in zip(policies, _CACHE["certificate"], _CACHE["greedy"], _CACHE["argmax"]):
        got = np.asarray(answer(policy))
        if got.shape != want.shape:
            return f"on {_describe(policy)} your array has shape {got.shape}; expected [num_prompts] = {want.shape}"
        got = got.astype(bool)
        if not np.array_equal(got, want):
            x = int(np.flatnonzero(got != want)[0])
            return (f"on {_describe(policy)}, prompt {x}: you said {bool(got[x])}. Hint: the certificate is about "
                    f"the probability of the whole greedy sequence (one call to log_prob), not about single steps, "
                    f"and it must not need the sequence arg-max.")
        hit = np.all(greedy == best, axis=-1)
        if not np.all(hit[want]):  # Prop 3.1 itself; cannot fail for a right answer
            return "Prop 3.1 failed on a certified prompt (please report this)"
    return None


def _max_cut(A: np.ndarray) -> float:
    n = A.shape[0]
    return max(problems.cut_value(A, np.array(s)) for s in itertools.product([0, 1], repeat=n))


@exercise("6.3", title="a maximum cut from the sequence arg-max (Prop E.1)",
          wrong=[lambda A: np.zeros(len(A), int), lambda A: np.arange(len(A)) % 2])
def _check_max_cut(answer):
    """``answer(adjacency) -> [n]`` tokens in {0, 1}: its cut value must equal the brute-force maximum cut."""
    for A in instance_graphs():
        n = A.shape[0]
        got = np.asarray(answer(A.copy()))
        if got.shape != (n,):
            return f"on a graph with {n} nodes your assignment has shape {got.shape}; expected ({n},)"
        if not set(np.unique(got).tolist()) <= {0, 1}:
            return f"the assignment must hold tokens 0/1 (one per node); got values {np.unique(got).tolist()}"
        got_cut, best = problems.cut_value(A, got), _max_cut(A)
        if not np.isclose(got_cut, best):
            return (f"on a graph with {n} nodes and total weight {np.triu(A, 1).sum():g} your cut has value "
                    f"{got_cut:g}, below the maximum. Hint: the first n tokens of the most likely *sequence* of "
                    f"the instance are the cut; greedy decoding is not the sequence arg-max here.")
    return None


def instance_bon_problems() -> list:
    """One-prompt problems with a unique arg-max the checker of 6.4 uses (deterministic).

    Returns:
      Prop E.2's base for n = 3, 4, 5 and tabular problems with ``π(y*)`` = 0.6, 0.3, 0.05 and
      0.01 (the rest of the mass spread evenly below it).
    """
    if "bon_problems" not in _CACHE:
        out = [problems.prop_e2_instance(n)[0] for n in (3, 4, 5)]
        for p, k in ((0.6, 3), (0.3, 4), (0.05, 40), (0.01, 200)):
            out.append(problems.from_probs(np.array([[p] + [(1.0 - p) / k] * k])))
        _CACHE["bon_problems"] = out
    return list(_CACHE["bon_problems"])


def _first_n_above_half(problem) -> int:
    """The smallest N with ``1 − (1 − π(y*))^N > 1/2`` (unique arg-max), by exact integer search."""
    p = float(np.max(np.asarray(problem.tabular().probs)))
    n = max(1, int(np.floor(np.log(0.5) / np.log1p(-p))) - 1) if p < 1 else 1
    while 1.0 - (1.0 - p) ** n <= 0.5:
        n += 1
    return n


@exercise("6.4", title="how many draws until the BoN law passes the class's ceiling 1/2",
          wrong=[lambda problem: int(np.ceil(1.0 / float(np.max(np.asarray(problem.tabular().probs))))),
                 lambda problem: int(np.ceil(np.log(2.0) / float(np.max(np.asarray(problem.tabular().probs))))),
                 lambda problem: 1])
def _check_first_n(answer):
    """``answer(problem) -> int``: the smallest N with ``π^BoN_N(y*) > 1/2`` on one-prompt problems with a
    unique arg-max (Prop E.2's base and tabular problems), compared with the exact value."""
    for problem in instance_bon_problems():
        want = _first_n_above_half(problem)
        got = answer(problem)
        p = float(np.max(np.asarray(problem.tabular().probs)))
        if got != want:
            return (f"on a problem with π(y*) = {p:.4g} you gave N = {got!r}. Hint: with a unique arg-max the "
                    f"best of N draws is y* unless all N draws miss it; the bound of Prop C.1 (N ≥ log 2/π(y*)) "
                    f"is sufficient, not the smallest N.")
    return None
