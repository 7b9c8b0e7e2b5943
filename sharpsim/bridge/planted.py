"""The core's exact predictions for an LM on the ``planted`` task, from the LM's own log-probs.

On the ``planted`` task (:class:`sharpsim.bridge.tasks.Planted`) every prompt has a short list of
candidate answers. :func:`answer_law` scores each candidate with the model (teacher-forced
``log π(answer + EOS | prompt)``), which gives the model's answer law per prompt and the mass it
puts outside the candidates. :func:`core_predictions` renormalises that law over the candidates,
builds the core's tabular problem (:func:`sharpsim.problems.from_probs`, ``correct=`` marking the
correct answer, the planted mode) and returns the core's exact predictions
(Huang et al., ICLR 2025):

* ``coverage`` — ``C_cov`` (Eq 6) of the model's law, and ``margin`` — ``γ_margin``
  (Assumption 4.2), both with respect to the model's own arg-max;
* ``bon_accuracy[N]`` — the probability that best-of-N with the self-reward ``log π`` (the
  inference-time sharpening of Sec 3.1 / Eq 3) returns the correct answer,
  ``accuracy(problem, bon_law(problem, N))``; ``bon_mode[N]`` — that it returns the model's
  own mode, :func:`sharpsim.bon_success_probability`;
* ``pass_at_k[k]`` — :func:`sharpsim.pass_at_k` of temperature-1 sampling;
* ``sample_accuracy`` — one temperature-1 draw is correct (BoN at N = 1);
* per prompt, the model's mode, whether it is the correct answer, and (when ``greedy=True``)
  the token-level greedy answer and whether it equals the model's sequence-level mode (Prop 3.1:
  greedy decoding need not find ``argmax_y π(y|x)``).

The predictions are exact for the model's law **conditioned on answering with a candidate**; the
mass outside the candidates is reported (``outside_mass``) so one can judge that conditioning.
:func:`planted_predictions` gives the same numbers for the planted law itself (what a model that
learnt the training labels' law exactly would do). :func:`exact_crossover` is the exact pass@k
crossover ``k*`` of two such laws (e.g. a base model's and its SFT-sharpened model's), as the
core's figure ``passk_crossover`` defines it. For pass@k measured from samples, where a draw
outside the candidates counts as wrong, :func:`with_outside_mass` keeps that mass as one more
(wrong) response instead of renormalising it away.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["answer_law", "core_predictions", "exact_crossover", "planted_predictions", "predictions_from_law",
           "with_outside_mass"]


def _check_task(task) -> None:
    from sharpsim.bridge.tasks.planted import Planted

    if not isinstance(task, Planted):
        raise ValueError(f"task must be a Planted task (sharpsim.bridge.tasks.get('planted', ...)), "
                         f"got {type(task).__name__}")


def _check_counts(name: str, values) -> list[int]:
    values = list(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in values):
        raise ValueError(f"{name} must be a non-empty sequence of integers >= 1, got {values!r}")
    return [int(v) for v in values]


def answer_law(policy, task) -> dict:
    """The model's probability of each candidate answer of each prompt of ``task``.

    Args:
        policy: an :class:`~sharpsim.bridge.policy.LMPolicy`.
        task: a ``planted`` task.

    Returns:
        ``{"prompts": [K] str, "candidates": [K][M] str (index 0 correct), "probs": [K, M] float64
        π(answer|prompt) (EOS included, not renormalised), "outside_mass": [K] float64
        1 − Σ probs}``.

    Raises:
        ValueError: ``task`` is not a ``planted`` task.
    """
    _check_task(task)
    prompts = [task.prompt(k) for k in range(task.n_prompts)]
    cands = [list(task.candidates(k)) for k in range(task.n_prompts)]
    m = len(cands[0])
    flat_p = [p for p, c in zip(prompts, cands) for _ in c]
    flat_r = [a for c in cands for a in c]
    logp = np.asarray(policy.log_prob(flat_p, flat_r), dtype=np.float64).reshape(len(prompts), m)
    probs = np.exp(logp)
    return {"prompts": prompts, "candidates": cands, "probs": probs,
            "outside_mass": np.clip(1.0 - probs.sum(axis=1), 0.0, 1.0)}


def predictions_from_law(probs, *, Ns: Sequence[int] = (1, 2, 4, 8, 16, 32),
                         ks: Sequence[int] = (1, 2, 4, 8, 16, 32)) -> dict:
    """The core's exact predictions for an answer law whose column 0 is the correct answer.

    Args:
        probs: ``[K, M]`` non-negative, each row with positive mass on column 0; rows are
            renormalised to sum to 1.
        Ns: best-of-N sizes (integers >= 1).
        ks: pass@k sizes (integers >= 1).

    Returns:
        ``coverage``, ``margin``, ``sample_accuracy``, ``mode_correct`` (fraction of prompts whose
        mode is the correct answer, ties counted as not), ``bon_accuracy`` and ``bon_mode``
        (``{N: float}``), ``pass_at_k`` (``{k: float}``), and ``law`` (the renormalised ``[K, M]``
        table as nested lists).

    Raises:
        ValueError: ``probs`` is not a 2-D table with positive mass on column 0 of every row, or bad
            ``Ns`` / ``ks``.
    """
    import sharpsim
    from sharpsim import problems

    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 2 or not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ValueError(f"probs must be a finite non-negative [K, M] table with M >= 2, got shape {probs.shape}")
    if np.any(probs[:, 0] <= 0):
        raise ValueError("probs must give the correct answer (column 0) positive mass on every prompt")
    Ns, ks = _check_counts("Ns", Ns), _check_counts("ks", ks)
    law = probs / probs.sum(axis=1, keepdims=True)
    correct = np.zeros(law.shape, dtype=bool)
    correct[:, 0] = True
    problem = problems.from_probs(law, correct=correct)
    pass_k = np.atleast_1d(np.asarray(sharpsim.pass_at_k(problem, problem.base, np.asarray(ks, dtype=np.float64))))
    return {
        "coverage": float(sharpsim.coverage(problem)),
        "margin": float(sharpsim.margin(problem)),
        "sample_accuracy": float(sharpsim.accuracy(problem, problem.base)),
        "mode_correct": float(np.mean(law[:, 0] > law[:, 1:].max(axis=1))),
        "bon_accuracy": {n: float(sharpsim.accuracy(problem, sharpsim.bon_law(problem, n))) for n in Ns},
        "bon_mode": {n: float(sharpsim.bon_success_probability(problem, n)) for n in Ns},
        "pass_at_k": {k: float(v) for k, v in zip(ks, pass_k)},
        "law": law.tolist(),
    }


def planted_predictions(task, *, Ns: Sequence[int] = (1, 2, 4, 8, 16, 32),
                        ks: Sequence[int] = (1, 2, 4, 8, 16, 32)) -> dict:
    """:func:`predictions_from_law` for the planted law itself (every prompt has ``task.law``).

    Raises:
        ValueError: ``task`` is not a ``planted`` task, or bad ``Ns`` / ``ks``.
    """
    _check_task(task)
    return predictions_from_law(np.tile(np.asarray(task.law), (task.n_prompts, 1)), Ns=Ns, ks=ks)


def core_predictions(policy, task, *, Ns: Sequence[int] = (1, 2, 4, 8, 16, 32),
                     ks: Sequence[int] = (1, 2, 4, 8, 16, 32), greedy: bool = True) -> dict:
    """The core's exact predictions for ``policy`` on ``task``, from the policy's own log-probs.

    Args:
        policy: an :class:`~sharpsim.bridge.policy.LMPolicy`.
        task: a ``planted`` task.
        Ns: best-of-N sizes; ks: pass@k sizes (integers >= 1).
        greedy: also decode greedily (at most 4 new tokens) and compare with the model's mode.

    Returns:
        :func:`predictions_from_law` of the renormalised :func:`answer_law`, plus
        ``outside_mass`` (mean over prompts), ``prompts`` (per prompt: ``prompt``, ``correct``,
        ``mode`` (the model's most likely candidate), ``mode_is_correct``, ``outside_mass`` and, with
        ``greedy``, ``greedy`` (the extracted greedy answer or None) and ``greedy_is_mode``), and
        with ``greedy`` the fractions ``greedy_accuracy`` and ``greedy_is_mode``.

    Raises:
        ValueError: ``task`` is not a ``planted`` task, bad ``Ns`` / ``ks``, or the model gives some
            prompt's correct answer probability 0.
    """
    law = answer_law(policy, task)
    out = predictions_from_law(law["probs"], Ns=Ns, ks=ks)
    out["outside_mass"] = float(np.mean(law["outside_mass"]))
    modes = np.argmax(law["probs"], axis=1)
    rows = []
    for k, prompt in enumerate(law["prompts"]):
        cands = law["candidates"][k]
        rows.append({"prompt": prompt, "correct": cands[0], "mode": cands[modes[k]],
                     "mode_is_correct": bool(modes[k] == 0), "outside_mass": float(law["outside_mass"][k])})
    if greedy:
        g = policy.greedy(law["prompts"], max_new_tokens=4)
        for row, text in zip(rows, g.text):
            row["greedy"] = task.extract(text)
            row["greedy_is_mode"] = row["greedy"] == row["mode"]
        out["greedy_accuracy"] = float(np.mean([r["greedy"] == r["correct"] for r in rows]))
        out["greedy_is_mode"] = float(np.mean([r["greedy_is_mode"] for r in rows]))
    out["prompts"] = rows
    return out


def exact_crossover(base_probs, other_probs, *, k_max: int = 1 << 16) -> dict:
    """The exact pass@k crossover of two answer laws on the same prompts (column 0 correct).

    With ``p_x`` the renormalised mass on the correct answer of prompt ``x`` (prompts weighted
    equally), ``1 − pass@k = mean_x (1 − p_x)^k``; both sides are compared in log space
    (:func:`sharpsim.metrics.crossover_k`, as the core's figure does) for every integer ``k`` in
    ``1..k_max``, and
    ``k* = min{k : pass@k(base) > pass@k(other)}`` (the core's ``passk_crossover`` definition,
    ``theory/passk_crossover.md``). When ``p_x^other >= p_x^base`` on every prompt the base never
    wins at any k (term by term); ``dominated`` records that.

    Args:
        base_probs, other_probs: ``[K, M]`` answer laws (as :func:`predictions_from_law` takes them),
            the same prompts in the same order.
        k_max: the largest k searched (integer >= 1).

    Returns:
        ``{"k_star": int or None (no crossing up to k_max), "k_max": k_max, "dominated": bool}``.

    Raises:
        ValueError: the tables are not both valid laws of one shape, or ``k_max`` is not an
            integer >= 1.
    """
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or k_max < 1:
        raise ValueError(f"k_max must be an integer >= 1, got {k_max!r}")
    k_max = int(k_max)
    laws = []
    for name, probs in (("base_probs", base_probs), ("other_probs", other_probs)):
        probs = np.asarray(probs, dtype=np.float64)
        if probs.ndim != 2 or probs.shape[1] < 2 or not np.all(np.isfinite(probs)) or np.any(probs < 0) \
                or np.any(probs[:, 0] <= 0):
            raise ValueError(f"{name} must be a finite non-negative [K, M] table (M >= 2) with positive mass on "
                             f"column 0 of every row, got shape {probs.shape}")
        laws.append(probs / probs.sum(axis=1, keepdims=True))
    if laws[0].shape != laws[1].shape:
        raise ValueError(f"base_probs and other_probs must have one shape, got {laws[0].shape} and {laws[1].shape}")
    from sharpsim.metrics import crossover_k

    log_w = np.full(laws[0].shape[0], -np.log(laws[0].shape[0]))  # prompts weighted equally
    with np.errstate(divide="ignore"):  # -inf where a law is always right
        parts = [(log_w, np.log1p(-np.minimum(law[:, 0], 1.0))) for law in laws]
    k_star = crossover_k(*parts, k_max)
    return {"k_star": k_star or None, "k_max": k_max, "dominated": bool(np.all(laws[1][:, 0] >= laws[0][:, 0]))}


def with_outside_mass(probs) -> np.ndarray:
    """``[K, M + 1]``: an answer law's candidates and, last, the mass outside them as one more response.

    The last column is ``max(0, 1 − Σ probs)`` per row, so rows sum to 1 (up to rounding) and
    :func:`predictions_from_law` leaves them as they are: its ``pass_at_k`` and
    ``sample_accuracy`` then count a draw outside the candidates as wrong, as a measurement from
    samples does. (Its BoN numbers treat that mass as a single response, which it is not; use the
    renormalised law for BoN.)

    Args:
        probs: ``[K, M]`` non-negative probabilities of the candidates (not renormalised), e.g.
            ``answer_law(policy, task)["probs"]``.

    Returns:
        The ``[K, M + 1]`` float64 table.

    Raises:
        ValueError: ``probs`` is not a finite non-negative 2-D table whose rows sum to at most 1
            (up to ``1e-6``).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ValueError(f"probs must be a finite non-negative [K, M] table, got shape {probs.shape}")
    total = probs.sum(axis=1)
    if np.any(total > 1 + 1e-6):
        raise ValueError(f"probs rows must sum to at most 1 (they are probabilities of some of the answers), "
                         f"got a row sum of {float(total.max())}")
    return np.column_stack([probs, np.clip(1.0 - total, 0.0, 1.0)])
