"""Inference-time BoN and pass@k from per-sample tables (pure numpy; no torch).

The inputs are the rows a ``sharpsim lm bon|passk`` run writes to ``samples.jsonl`` (one per
draw: ``example_id, sample_index, log_prob, length, answer, correct``), grouped per prompt by
:func:`group_samples`. Definitions (``theory/bridge_inference.md``):

**BoN at smaller N by subsampling** (as the paper did). With ``N_max`` draws of a prompt, BoN at
``N <= N_max`` is the pick from a uniformly random subset of N of the draws (without
replacement). :func:`pick_probabilities` gives, per draw, the probability that it is that pick:

* exactly, for pointwise rewards (a draw's score ignores the other draws): the pick rule of
  :func:`sharpsim.bridge.rewards.pick` (score, then log-likelihood, then smaller index) is a
  strict total order, so with ``rank_j`` the position of draw j in increasing order (1 = worst),
  draw j is the pick iff it is in the subset and the other N-1 members all rank below it:
  ``P(j) = C(rank_j - 1, N - 1) / C(N_max, N)``;
* by enumerating all ``C(N_max, N)`` subsets when there are at most ``n_subsets`` of them;
* else by ``n_subsets`` random subsets (seeded per (seed, N, prompt)), each scored on its own.

BoN accuracy at N is the mean over prompts of ``Σ_j P(j) correct_j`` (and likewise the
log-likelihood of the pick); its lift over greedy is reported as an absolute difference and as a
percentage of the greedy accuracy, with percentile-bootstrap intervals over prompts.

**pass@k** (:func:`pass_at_k`): the unbiased estimator ``1 - C(n-c, k) / C(n, k)`` of the
probability that k draws contain a correct one, from n draws of which c are correct, computed as
``1 - Π_{i=n-c+1}^{n} (1 - k/i)``; averaged over prompts with a bootstrap interval.

**pass@k crossover** (:func:`crossover_k`, :func:`passk_crossover`): the smallest k at which the
base's pass@k is strictly above a sharpened policy's (the core's ``k*``, ``theory/passk_crossover.md``),
measured from two policies' draws on the same prompts, with a paired bootstrap interval.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from sharpsim.bridge import rewards as _rewards

_SAMPLE_KEYS = ("example_id", "sample_index", "log_prob", "length", "answer", "correct")


@dataclasses.dataclass(frozen=True)
class PromptDraws:
    """One prompt's draws, ordered by sample index.

    Attributes:
      example_id: the task example's id.
      log_prob: ``[N]`` float64 ``log π(y_j|x)`` (nats).
      length: ``[N]`` int response tokens (EOS included).
      answers: ``N`` extracted answers (``None`` where none).
      correct: ``[N]`` bool.
    """

    example_id: str
    log_prob: np.ndarray
    length: np.ndarray
    answers: tuple
    correct: np.ndarray

    @property
    def n(self) -> int:
        """The number of draws for this prompt."""
        return int(self.log_prob.size)


def group_samples(rows: Sequence[Mapping]) -> list[PromptDraws]:
    """Group per-sample rows into :class:`PromptDraws`, prompts in first-seen order, draws by sample index.

    A repeated ``(example_id, sample_index)`` keeps its last row (a prompt redone after a crash).

    Raises:
      ValueError: a row misses one of ``example_id, sample_index, log_prob, length, answer, correct``
        (names the row and key), or a prompt's sample indices are not ``0..N-1``.
    """
    by_prompt: dict[str, dict[int, Mapping]] = {}
    for i, row in enumerate(rows):
        for key in _SAMPLE_KEYS:
            if key not in row:
                raise ValueError(f"sample row {i} is missing the key {key!r} (needs {', '.join(_SAMPLE_KEYS)})")
        by_prompt.setdefault(str(row["example_id"]), {})[int(row["sample_index"])] = row
    out = []
    for ex, draws in by_prompt.items():
        idx = sorted(draws)
        if idx != list(range(len(idx))):
            raise ValueError(f"prompt {ex!r}: sample indices must be 0..N-1, got {idx[:10]}")
        ordered = [draws[j] for j in idx]
        log_prob = np.array([np.nan if r["log_prob"] is None else r["log_prob"] for r in ordered], dtype=np.float64)
        out.append(PromptDraws(ex, log_prob, np.array([int(r["length"]) for r in ordered]),
                               tuple(r["answer"] for r in ordered),
                               np.array([bool(r["correct"]) for r in ordered])))
    return out


def _order_ranks(score: np.ndarray, log_prob: np.ndarray) -> np.ndarray:
    """``[N]`` rank 1..N of each draw in the pick order (score, then log_prob, then smaller index); N = best."""
    n = score.size
    # lexsort: last key is primary; -index so that a smaller index ranks higher among full ties
    order = np.lexsort((-np.arange(n), log_prob, score))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(1, n + 1)
    return ranks


def exact_pick_probabilities(ranks, N: int) -> np.ndarray:
    """``[N_max]`` ``P(draw j is the best of a uniform random N-subset) = C(rank_j-1, N-1)/C(N_max, N)``.

    Args:
      ranks: ``[N_max]`` a permutation of 1..N_max (1 = worst) in a total order.
      N: subset size, 1 <= N <= N_max.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    n_max = ranks.size
    if sorted(ranks.tolist()) != list(range(1, n_max + 1)):
        raise ValueError("ranks must be a permutation of 1..N_max")
    _check_N(N, n_max)
    total = math.comb(n_max, N)
    return np.array([math.comb(int(r) - 1, N - 1) / total for r in ranks])


def _check_N(N, n_max: int) -> None:
    if not isinstance(N, (int, np.integer)) or isinstance(N, bool) or N < 1:
        raise ValueError(f"N must be an integer >= 1, got {N!r}")
    if N > n_max:
        raise ValueError(f"N must be <= the number of draws per prompt ({n_max}), got {N}")


def _answer_codes(answers: Sequence) -> np.ndarray:
    table: dict = {}
    return np.array([-1 if a is None else table.setdefault(a, len(table)) for a in answers], dtype=np.int64)


def pick_probabilities(draws: PromptDraws, reward, N: int, *, n_subsets: int = 1000,
                       seed: int = 0, prompt_index: int = 0) -> tuple[np.ndarray, str]:
    """``([N_max] P(draw j is the BoN_N pick), method)`` for a uniformly random N-subset of the draws.

    ``method`` is ``"exact"`` (rank formula, pointwise rewards), ``"enumerated"`` (all subsets)
    or ``"subsampled"`` (``n_subsets`` random subsets, RNG seeded by ``(seed, N, prompt_index)``).
    """
    r = _rewards._as_reward(reward)
    n_max = draws.n
    _check_N(N, n_max)
    if n_subsets < 1:
        raise ValueError(f"n_subsets must be >= 1, got {n_subsets}")
    lp, length, answers = draws.log_prob, draws.length, list(draws.answers)
    if r.pointwise:
        s = _rewards.scores(r, lp, length, answers)
        return exact_pick_probabilities(_order_ranks(s, lp), N), "exact"
    if math.comb(n_max, N) <= n_subsets:
        subsets = np.array(list(itertools.combinations(range(n_max), N)), dtype=np.int64)
        method = "enumerated"
    else:
        rng = np.random.default_rng([int(seed), int(N), int(prompt_index)])
        subsets = np.argsort(rng.random((n_subsets, n_max)), axis=1)[:, :N]
        method = "subsampled"
    # the tiebreak (log_prob, then smaller index) as a rank among all draws: subset-independent
    tiebreak = _order_ranks(np.zeros(n_max), lp).astype(np.float64)
    if r.batched is not None:
        s = np.asarray(r.batched(lp[subsets], length[subsets], _answer_codes(answers)[subsets]), dtype=np.float64)
        if s.shape != subsets.shape:
            raise ValueError(f"reward {r.name!r} batched form returned shape {s.shape}, expected {subsets.shape}")
        t = tiebreak[subsets]
        best = _rowwise_best(s, t)
        winners = subsets[np.arange(len(subsets)), best]
    else:
        winners = np.array([sub[_rewards.argmax_index(_rewards.scores(r, lp[sub], length[sub],
                                                                    [answers[k] for k in sub]), tiebreak[sub])]
                            for sub in subsets], dtype=np.int64)
    return np.bincount(winners, minlength=n_max) / len(subsets), method


def _rowwise_best(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``[B]`` column of the largest ``s`` per row, ties broken by the largest ``t`` (distinct within a row)."""
    if np.isnan(s).any():
        raise ValueError("reward scores must not contain NaN")
    top = s == s.max(axis=1, keepdims=True)
    return np.argmax(np.where(top, t, -np.inf), axis=1)


def _percentile_interval(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - confidence) / 2
    return np.quantile(samples, alpha, axis=0), np.quantile(samples, 1 - alpha, axis=0)


def _check_boot(confidence: float, n_boot: int) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")


def _boot_indices(p: int, n_boot: int, seed: int) -> np.ndarray:
    """``[n_boot, p]`` prompt indices drawn with replacement (seeded): the bootstrap resamples."""
    return np.random.default_rng(seed).integers(0, p, size=(n_boot, p))


def bootstrap_means(values, *, confidence: float = 0.95, n_boot: int = 1000, seed: int = 0):
    """Mean over prompts of ``values [P, K]`` with a percentile-bootstrap interval (prompts resampled).

    Returns ``(mean [K], low [K], high [K])``. The same resampled prompt sets serve every column,
    so columns compared with each other (e.g. BoN and greedy) are paired.
    """
    _check_boot(confidence, n_boot)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    p = values.shape[0]
    if p == 0:
        raise ValueError("need at least one prompt")
    boot = values[_boot_indices(p, n_boot, seed)].mean(axis=1)  # [n_boot, K]
    low, high = _percentile_interval(boot, confidence)
    return values.mean(axis=0), low, high


def bon_lift_table(prompts: Sequence[PromptDraws], greedy_correct, rewards: Sequence, Ns: Sequence[int], *,
                   n_subsets: int = 1000, seed: int = 0, confidence: float = 0.95,
                   n_boot: int = 1000) -> list[dict]:
    """BoN accuracy, lift over greedy and log-likelihood of the pick, per (reward, N): tidy rows.

    Args:
      prompts: ``P`` prompts' draws (same N_max for all).
      greedy_correct: ``[P]`` bool, greedy decoding correct per prompt (same order), or a mapping
        example_id -> bool.
      rewards: reward names (or :class:`~sharpsim.bridge.rewards.Reward`).
      Ns: subset sizes, each in 1..N_max.

    Returns: one row per (reward, N) with ``reward, N, N_max, n_prompts, method, bon_accuracy``
      (+ ``_low, _high``), ``greedy_accuracy, lift_abs`` (BoN − greedy accuracy, + interval),
      ``lift_pct`` (100·lift_abs/greedy accuracy; ``None`` if greedy accuracy is 0, + interval),
      ``pick_log_prob`` (mean over prompts of E[log π(pick|x)], + interval), ``pick_length`` and
      ``confidence``. Intervals: percentile bootstrap over prompts, ``n_boot`` resamples, seeded.
    """
    prompts = list(prompts)
    if not prompts:
        raise ValueError("prompts must not be empty")
    n_max = prompts[0].n
    if any(p.n != n_max for p in prompts):
        raise ValueError(f"every prompt needs the same number of draws; got {sorted({p.n for p in prompts})}")
    if isinstance(greedy_correct, Mapping):
        missing = [p.example_id for p in prompts if p.example_id not in greedy_correct]
        if missing:
            raise ValueError(f"greedy_correct has no entry for example(s) {missing[:5]}")
        greedy = np.array([bool(greedy_correct[p.example_id]) for p in prompts], dtype=np.float64)
    else:
        greedy = np.asarray(greedy_correct, dtype=np.float64)
        if greedy.shape != (len(prompts),):
            raise ValueError(f"greedy_correct must have one entry per prompt ({len(prompts)}), got {greedy.shape}")
    for N in Ns:
        _check_N(N, n_max)
    rows = []
    for reward in rewards:
        r = _rewards._as_reward(reward)
        for N in Ns:
            acc, lp, ln, methods = [], [], [], set()
            for i, p in enumerate(prompts):
                prob, method = pick_probabilities(p, r, int(N), n_subsets=n_subsets, seed=seed, prompt_index=i)
                methods.add(method)
                acc.append(prob @ p.correct)
                lp.append(prob @ p.log_prob)
                ln.append(prob @ p.length)
            cols = np.column_stack([acc, greedy, np.subtract(acc, greedy), lp, ln])
            mean, low, high = bootstrap_means(cols, confidence=confidence, n_boot=n_boot, seed=seed)
            # the ratio's interval from the same resamples
            idx = _boot_indices(len(prompts), n_boot, seed)
            g_boot = greedy[idx].mean(axis=1)
            d_boot = cols[:, 2][idx].mean(axis=1)
            if mean[1] > 0 and (g_boot > 0).all():
                pct_lo, pct_hi = _percentile_interval(100 * d_boot / g_boot, confidence)
            else:
                pct_lo = pct_hi = None
            rows.append({
                "reward": r.name, "N": int(N), "N_max": n_max, "n_prompts": len(prompts),
                "method": "/".join(sorted(methods)),
                "bon_accuracy": mean[0], "bon_accuracy_low": low[0], "bon_accuracy_high": high[0],
                "greedy_accuracy": mean[1],
                "lift_abs": mean[2], "lift_abs_low": low[2], "lift_abs_high": high[2],
                "lift_pct": 100 * mean[2] / mean[1] if mean[1] > 0 else None,
                "lift_pct_low": pct_lo, "lift_pct_high": pct_hi,
                "pick_log_prob": mean[3], "pick_log_prob_low": low[3], "pick_log_prob_high": high[3],
                "pick_length": mean[4], "confidence": confidence,
            })
    return [{k: (float(v) if isinstance(v, np.floating) else v) for k, v in row.items()} for row in rows]


def default_Ns(n_max: int) -> list[int]:
    """Subset sizes for a lift-vs-N curve: 1, 2, 4, ... (powers of two) below ``n_max``, then ``n_max``."""
    if n_max < 1:
        raise ValueError(f"n_max must be >= 1, got {n_max}")
    out = [1 << i for i in range(n_max.bit_length()) if (1 << i) < n_max]
    return [*out, n_max]


def pass_at_k(n, c, k):
    """Unbiased pass@k ``1 - C(n-c, k)/C(n, k)`` from n draws with c correct (numerically stable product form).

    ``1 - Π_{i=n-c+1}^{n} (1 - k/i)``, which equals the binomial ratio and never forms large
    binomial coefficients; it is 1 when ``n - c < k``. Broadcasts over arrays of ``n``, ``c``, ``k``.

    Raises:
      ValueError: unless ``n >= 1``, ``0 <= c <= n`` and ``1 <= k <= n`` (all integers).
    """
    n_a, c_a, k_a = np.broadcast_arrays(np.asarray(n), np.asarray(c), np.asarray(k))
    for name, a in (("n", n_a), ("c", c_a), ("k", k_a)):
        if a.size and not np.all(np.equal(np.mod(a, 1), 0)):
            raise ValueError(f"{name} must be integers, got {a}")
    if (n_a < 1).any():
        raise ValueError(f"n must be >= 1, got {n_a.min()}")
    if ((c_a < 0) | (c_a > n_a)).any():
        raise ValueError("c must satisfy 0 <= c <= n")
    if ((k_a < 1) | (k_a > n_a)).any():
        raise ValueError("k must satisfy 1 <= k <= n (pass@k needs at least k draws per prompt)")
    out = np.empty(n_a.shape, dtype=np.float64)
    for idx in np.ndindex(n_a.shape):
        nn, cc, kk = int(n_a[idx]), int(c_a[idx]), int(k_a[idx])
        if nn - cc < kk:
            out[idx] = 1.0
        else:
            i = np.arange(nn - cc + 1, nn + 1, dtype=np.float64)
            out[idx] = 1.0 - float(np.prod(1.0 - kk / i))
    return float(out) if out.ndim == 0 else out


def pass_at_k_table(n, c, ks: Sequence[int], *, confidence: float = 0.95, n_boot: int = 1000,
                    seed: int = 0) -> list[dict]:
    """The coverage skyline: mean pass@k over prompts with a percentile-bootstrap interval, per k.

    Args:
      n: ``[P]`` draws per prompt; c: ``[P]`` correct draws per prompt; ks: the k values
        (each <= min n).

    Returns: rows ``k, pass_at_k, pass_at_k_low, pass_at_k_high, n_prompts, confidence, n_boot``.
    """
    n = np.asarray(n)
    c = np.asarray(c)
    if n.ndim != 1 or n.size == 0 or c.shape != n.shape:
        raise ValueError(f"n and c must be 1-D of the same non-zero length, got {n.shape} and {c.shape}")
    ks = [int(k) for k in ks]
    if not ks:
        raise ValueError("ks must not be empty")
    if max(ks) > n.min():
        raise ValueError(f"every k must be <= the fewest draws of any prompt ({int(n.min())}), got k={max(ks)}")
    values = np.column_stack([pass_at_k(n, c, k) for k in ks])  # [P, K]
    mean, low, high = bootstrap_means(values, confidence=confidence, n_boot=n_boot, seed=seed)
    return [{"k": k, "pass_at_k": float(m), "pass_at_k_low": float(lo), "pass_at_k_high": float(hi),
             "n_prompts": int(n.size), "confidence": confidence, "n_boot": int(n_boot)}
            for k, m, lo, hi in zip(ks, mean, low, high)]


def crossover_k(ks: Sequence[int], pass_base, pass_other):
    """The smallest ``k`` at which the base's pass@k is strictly above the other policy's; None if none.

    The definition of the core's figure ``passk_crossover`` (``theory/passk_crossover.md``):
    ``k* = min{k : pass@k(π_base) > pass@k(π_sharp)}``, searched over the given ``ks`` only (ties,
    e.g. both at 1.0, are not a crossing).

    Args:
      ks: increasing integers >= 1.
      pass_base, pass_other: pass@k of the base and of the other policy at each of ``ks``.

    Returns:
      ``k*`` (an ``int``), or None when the base is never strictly above.

    Raises:
      ValueError: ``ks`` is empty or not strictly increasing integers >= 1, or the three sequences
        differ in length.
    """
    ks_a = np.asarray(ks)
    base = np.asarray(pass_base, dtype=np.float64)
    other = np.asarray(pass_other, dtype=np.float64)
    if ks_a.ndim != 1 or ks_a.size == 0 or not np.all(np.equal(np.mod(ks_a, 1), 0)) or ks_a.min() < 1 \
            or np.any(np.diff(ks_a) <= 0):
        raise ValueError(f"ks must be a non-empty strictly increasing sequence of integers >= 1, got {list(ks)}")
    if base.shape != ks_a.shape or other.shape != ks_a.shape:
        raise ValueError(f"pass_base and pass_other must have one value per k ({ks_a.size}), got "
                         f"{base.shape} and {other.shape}")
    hit = np.flatnonzero(base > other)
    return int(ks_a[hit[0]]) if hit.size else None


def passk_crossover(n_base, c_base, n_other, c_other, *, ks: Sequence[int] | None = None,
                    confidence: float = 0.95, n_boot: int = 1000, seed: int = 0) -> dict:
    """The measured pass@k crossover of two policies on the same prompts, with a bootstrap interval.

    pass@k of each policy is the mean over prompts of the unbiased estimator (:func:`pass_at_k`);
    ``k*`` is :func:`crossover_k` of the two curves over ``ks`` (default every integer from 1 to
    the fewest draws of any prompt). Its interval: the prompts are resampled with replacement
    ``n_boot`` times, the **same** prompts for both policies (paired: prompt ``i`` of the base is
    prompt ``i`` of the other), ``k*`` is recomputed on each resample, "no crossing" counts as
    ``+∞``, and the interval is the lower/upper ``(1 ± confidence)/2`` order statistics.

    Args:
      n_base, c_base: ``[P]`` draws and correct draws per prompt of the base.
      n_other, c_other: ``[P]`` the same for the other (sharpened) policy, prompts in the same order.
      ks: the k values searched (strictly increasing, each <= the fewest draws of any prompt).
      confidence: interval level in (0, 1); n_boot: resamples (>= 1); seed: their RNG seed.

    Returns:
      ``{"k_star": int or None, "k_star_low": int or None, "k_star_high": int or None,
      "crossed_fraction": share of resamples with a crossing, "k_max": largest k searched,
      "ks": the ks, "pass_base": [K] means, "pass_other": [K] means, "confidence", "n_boot",
      "n_prompts"}``; None stands for "no crossing within k <= k_max" (an interval end that is
      None: at least that share of resamples did not cross).

    Raises:
      ValueError: the four arrays are not 1-D of one non-zero length, counts out of range
        (:func:`pass_at_k`), bad ``ks`` (:func:`crossover_k`), or bad ``confidence`` / ``n_boot``.
    """
    _check_boot(confidence, n_boot)
    arrays = [np.asarray(a) for a in (n_base, c_base, n_other, c_other)]
    if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1 or arrays[0].size == 0:
        raise ValueError("n_base, c_base, n_other and c_other must be 1-D of one non-zero length (one entry "
                         f"per prompt), got shapes {[a.shape for a in arrays]}")
    nb, cb, no, co = arrays
    k_cap = int(min(nb.min(), no.min()))
    ks = list(range(1, k_cap + 1)) if ks is None else [int(k) for k in ks]
    if ks and max(ks) > k_cap:
        raise ValueError(f"every k must be <= the fewest draws of any prompt ({k_cap}), got k={max(ks)}")
    crossover_k(ks, np.zeros(len(ks)), np.zeros(len(ks)))  # checks ks
    vb = np.column_stack([pass_at_k(nb, cb, k) for k in ks])  # [P, K]
    vo = np.column_stack([pass_at_k(no, co, k) for k in ks])
    mb, mo = vb.mean(axis=0), vo.mean(axis=0)
    idx = _boot_indices(nb.size, n_boot, seed)
    bb, bo = vb[idx].mean(axis=1), vo[idx].mean(axis=1)  # [n_boot, K]
    hits = bb > bo
    first = np.where(hits.any(axis=1), np.asarray(ks)[np.argmax(hits, axis=1)], np.inf)
    alpha = (1 - confidence) / 2
    low = float(np.quantile(first, alpha, method="lower"))
    high = float(np.quantile(first, 1 - alpha, method="higher"))
    return {"k_star": crossover_k(ks, mb, mo),
            "k_star_low": None if math.isinf(low) else int(low),
            "k_star_high": None if math.isinf(high) else int(high),
            "crossed_fraction": float(np.isfinite(first).mean()), "k_max": int(max(ks)), "ks": ks,
            "pass_base": mb.tolist(), "pass_other": mo.tolist(), "confidence": confidence,
            "n_boot": int(n_boot), "n_prompts": int(nb.size)}


def loglik_histogram(log_prob, correct, *, bins: int = 30) -> list[dict]:
    """Histogram data of sequence log-likelihood split by correctness (shared bin edges).

    Args:
      log_prob: ``[M]`` log π(y|x) of all draws (nats); non-finite values are left out.
      correct: ``[M]`` bool.
      bins: number of equal-width bins over the finite range.

    Returns: rows ``bin, left, right, count_correct, count_incorrect, density_correct,
      density_incorrect`` (density: count / (group size · bin width), so each group integrates to 1).
    """
    log_prob = np.asarray(log_prob, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if log_prob.shape != correct.shape or log_prob.ndim != 1:
        raise ValueError(f"log_prob and correct must be 1-D of the same length, got {log_prob.shape}, {correct.shape}")
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")
    ok = np.isfinite(log_prob)
    lp, cor = log_prob[ok], correct[ok]
    if lp.size == 0:
        return []
    lo, hi = float(lp.min()), float(lp.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    cc, _ = np.histogram(lp[cor], bins=edges)
    ci, _ = np.histogram(lp[~cor], bins=edges)
    width = np.diff(edges)
    rows = []
    for b in range(bins):
        rows.append({
            "bin": b, "left": float(edges[b]), "right": float(edges[b + 1]),
            "count_correct": int(cc[b]), "count_incorrect": int(ci[b]),
            "density_correct": float(cc[b] / (cc.sum() * width[b])) if cc.sum() else 0.0,
            "density_incorrect": float(ci[b] / (ci.sum() * width[b])) if ci.sum() else 0.0,
        })
    return rows
