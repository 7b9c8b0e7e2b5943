"""Self-rewards over one prompt's N draws, and the best-of-N pick (pure numpy; no torch).

A self-reward scores draws using only the model itself (Huang et al., ICLR 2025, Sec 2): its own
log-likelihood, its length-normalised log-likelihood, or agreement among its draws (majority
vote). Every reward has the signature::

    fn(log_prob: [N] float, length: [N] int, answers: list[str | None] of length N) -> scores: [N] float

where ``log_prob[j] = log π(y_j|x)`` (sum over response tokens, nats), ``length[j]`` the number
of response tokens (EOS included) and ``answers[j]`` the answer extracted from draw j (``None``
when none could be extracted).

**The pick.** :func:`pick` returns the draw with the largest score; ties between equal scores
are broken by the larger log-likelihood and then by the smaller index. This order is a strict
total order on the draws, so the pick is deterministic, and (for rewards whose score of a draw
does not depend on the other draws: ``pointwise`` rewards) it is the same order whatever subset
of the draws is offered — which is what makes the exact subsampling formula of
:mod:`sharpsim.bridge.analysis` valid even with ties. :func:`argmax_index` is the bare rule
(first maximum of a score vector, optionally with a tie-break).

Built-in rewards:

* ``loglik`` — ``log π(y|x)`` (the paper's maximum-likelihood self-reward); pointwise.
* ``norm_loglik`` — ``log π(y|x) / length`` (mean log-probability per response token); pointwise.
* ``majority`` — the number of draws among the N whose extracted answer equals this draw's
  answer; a draw with no answer scores 0, so a ``None`` answer never wins unless every answer is
  ``None`` (then all score 0 and the most likely draw wins). Not pointwise: a draw's score
  depends on the draws offered with it. Among the draws of the winning answer, the most likely
  one is returned.

Other rewards plug in with :func:`register_reward`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

RewardFn = Callable[[np.ndarray, np.ndarray, Sequence], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Reward:
    """A registered self-reward: its name, its function, and whether a draw's score ignores the others.

    Calling it calls ``fn``: ``get_reward("loglik")(log_prob, length, answers) -> scores [N]``.
    """

    name: str
    fn: RewardFn
    pointwise: bool
    #: optional vectorised form for analysis: ``(log_prob [B, N], length [B, N], codes [B, N] int, -1 for
    #: no answer) -> scores [B, N]``, each row being one subset of draws scored on its own
    batched: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None

    def __call__(self, log_prob, length, answers) -> np.ndarray:
        return self.fn(log_prob, length, answers)


_REGISTRY: dict[str, Reward] = {}


def _check_inputs(log_prob, length, answers) -> tuple[np.ndarray, np.ndarray, list]:
    log_prob = np.asarray(log_prob, dtype=np.float64)
    length = np.asarray(length)
    if log_prob.ndim != 1 or log_prob.size == 0:
        raise ValueError(f"log_prob must be a non-empty 1-D array [N], got shape {log_prob.shape}")
    if length.shape != log_prob.shape:
        raise ValueError(f"length must have the shape of log_prob {log_prob.shape}, got {length.shape}")
    answers = list(answers)
    if len(answers) != log_prob.size:
        raise ValueError(f"answers must have one entry per draw ({log_prob.size}), got {len(answers)}")
    if np.isnan(log_prob).any():
        raise ValueError("log_prob must not contain NaN")
    return log_prob, length, answers


def loglik(log_prob, length, answers) -> np.ndarray:
    """``[N]`` sequence log-likelihood ``log π(y_j|x)`` (nats)."""
    log_prob, _, _ = _check_inputs(log_prob, length, answers)
    return log_prob.copy()


def norm_loglik(log_prob, length, answers) -> np.ndarray:
    """``[N]`` length-normalised log-likelihood ``log π(y_j|x) / length_j`` (nats per response token).

    Raises:
      ValueError: a length is < 1 (an empty response has no per-token likelihood).
    """
    log_prob, length, _ = _check_inputs(log_prob, length, answers)
    if (length < 1).any():
        raise ValueError(f"length must be >= 1 for norm_loglik, got {length.min()}")
    return log_prob / length.astype(np.float64)


def majority(log_prob, length, answers) -> np.ndarray:
    """``[N]`` the count of draw j's answer among the N answers (0 for a ``None`` answer)."""
    _, _, answers = _check_inputs(log_prob, length, answers)
    counts = Counter(a for a in answers if a is not None)
    return np.array([0.0 if a is None else float(counts[a]) for a in answers])


def _majority_batched(log_prob, length, codes) -> np.ndarray:
    """``[B, N]`` :func:`majority` on each row of answer codes ``[B, N]`` (``-1`` = no answer)."""
    codes = np.asarray(codes)
    same = codes[:, :, None] == codes[:, None, :]
    return np.where(codes < 0, 0.0, same.sum(-1).astype(np.float64))


def register_reward(name: str, fn: RewardFn, *, pointwise: bool = False, batched=None) -> None:
    """Register a self-reward ``fn(log_prob [N], length [N], answers) -> scores [N]`` under ``name``.

    Args:
      pointwise: ``True`` only if a draw's score does not depend on the other draws (as for
        ``loglik``); analysis then uses the exact subsampling formula, else it recomputes the
        reward on each subset (always correct, slower).
      batched: optional vectorised form (see :class:`Reward`) that analysis uses on many subsets at once.

    Raises:
      ValueError: ``name`` is empty or already registered, or ``fn`` is not callable.
    """
    if not isinstance(name, str) or not name.strip() or "," in name:
        raise ValueError(f"reward name must be a non-empty string without commas, got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"reward {name!r} is already registered")
    if not callable(fn):
        raise ValueError(f"reward fn for {name!r} must be callable, got {type(fn).__name__}")
    _REGISTRY[name] = Reward(name, fn, bool(pointwise), batched)


def get_reward(name: str) -> Reward:
    """The registered :class:`Reward` called ``name``: a callable ``(log_prob, length, answers) -> scores [N]``.

    Raises:
      ValueError: unknown name (the message lists the known ones).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown reward {name!r}; known rewards: {', '.join(reward_names())}")
    return _REGISTRY[name]


def reward_names() -> list[str]:
    """The registered reward names, in registration order."""
    return list(_REGISTRY)


def argmax_index(scores, tiebreak=None) -> int:
    """Index of the largest of ``scores [N]``; among equal maxima the largest ``tiebreak [N]``, then the first.

    Without ``tiebreak`` this is the first maximum (``np.argmax``).

    Args:
      scores: ``[N]`` scores, no NaN.
      tiebreak: optional ``[N]`` second key (e.g. the log-likelihoods).

    Returns:
      The index of the chosen entry.

    Raises:
      ValueError: ``scores`` is not a non-empty 1-D array, contains NaN, or ``tiebreak`` has
        another shape.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(f"scores must be a non-empty 1-D array [N], got shape {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError("scores must not contain NaN")
    if tiebreak is None:
        return int(np.argmax(scores))
    tiebreak = np.asarray(tiebreak, dtype=np.float64)
    if tiebreak.shape != scores.shape:
        raise ValueError(f"tiebreak must have the shape of scores {scores.shape}, got {tiebreak.shape}")
    tied = np.flatnonzero(scores == scores.max())
    return int(tied[np.argmax(tiebreak[tied])])


def _as_reward(reward) -> Reward:
    if isinstance(reward, Reward):
        return reward
    if isinstance(reward, str):
        return get_reward(reward)
    if callable(reward):
        return Reward(getattr(reward, "__name__", "custom"), reward, False)
    raise ValueError(f"reward must be a registered name, a Reward or a callable, got {type(reward).__name__}")


def scores(reward, log_prob, length, answers) -> np.ndarray:
    """``[N]`` the scores of ``reward`` (a name, a :class:`Reward` or a bare callable) on one prompt's draws."""
    r = _as_reward(reward)
    log_prob, length, answers = _check_inputs(log_prob, length, answers)
    out = np.asarray(r.fn(log_prob, length, answers), dtype=np.float64)
    if out.shape != log_prob.shape:
        raise ValueError(f"reward {r.name!r} returned shape {out.shape}, expected {log_prob.shape}")
    return out


def pick(reward, log_prob, length, answers) -> int:
    """The best-of-N draw under ``reward`` (ties: larger log-likelihood, then smaller index; see the module doc)."""
    s = scores(reward, log_prob, length, answers)
    return argmax_index(s, tiebreak=np.asarray(log_prob, dtype=np.float64))


register_reward("loglik", loglik, pointwise=True)
register_reward("norm_loglik", norm_loglik, pointwise=True)
register_reward("majority", majority, pointwise=False, batched=_majority_batched)
