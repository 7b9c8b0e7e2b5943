"""A task with a PLANTED answer law per prompt: label-noised training data whose law is known.

Every prompt ``x`` (``"Q<k>="``, ``k = 0..prompts-1``) has ``1 + wrong`` candidate answers, each two
characters (a capital letter, then a digit). The planted law of the training label is

* the correct answer with probability ``p_mode`` (the strict mode),
* the runner-up wrong answer with probability ``p_mode - margin``,
* the other ``wrong - 1`` wrong answers with the rest, ``1 - 2 p_mode + margin``, in equal shares,
  each below the runner-up's share.

So in the paper's terms (Huang et al., ICLR 2025, Sec 3 and Assumption 4.2) the sequence-level
mode ``y*(x)`` is the correct answer, the coverage of a model that learnt the law exactly is
``C_cov = 1 / p_mode`` and its margin is ``γ_margin = p_mode / (p_mode - margin) - 1``; with
``p_mode < 1/2`` a temperature-1 sample is more often wrong than right, while best-of-N with the
self-reward ``log π`` picks the mode as N grows.

With ``ambiguous=1`` every wrong answer starts with the same letter and the correct answer with
another one, so the first token's law is ``(p_mode, 1 - p_mode)``: when ``p_mode < 1/2``
token-level greedy decoding takes the wrong letter and then the runner-up, missing the sequence
mode — the situation of Prop 3.1 (greedy need not find ``argmax_y π(y|x)`` for an autoregressive
``π``). With ``ambiguous=0`` all first letters differ, so greedy over the first token already
picks the mode.

The candidate strings of every prompt are fixed by the options (including ``law_seed``), not by the
``seed`` of :meth:`~sharpsim.bridge.tasks.base.Task.examples`, so training data (seed ``S``) and
evaluation prompts (seed ``S + 1``) share one planted law. Example ``i`` has prompt
``i mod prompts`` (``examples(prompts)`` lists every prompt once) and a label drawn from the
planted law with the example stream's RNG: :meth:`Planted.training_response` returns that label,
:meth:`~Planted.solution` the correct answer. Extraction: the stripped response if it is one
letter and one digit, else None.

Pure Python (no torch, no jax, no numpy).
"""

from __future__ import annotations

import bisect
import itertools
import math
import numbers
import random
import re
import string
from typing import Any

from sharpsim.bridge.tasks.base import Example, Task, check_int_option

__all__ = ["Planted"]

_ANSWER_RE = re.compile(r"[A-Z][0-9]")


def _check_prob_option(option: str, value: Any) -> float:
    """A float option given as a number or a decimal string (``from_spec`` passes strings)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"task 'planted': option {option} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"task 'planted': option {option} must be a finite number, got {value!r}")
    return float(value)


class Planted(Task):
    """Prompts ``"Q<k>="`` whose training labels follow a planted answer law (see the module doc).

    Args:
        prompts: number of distinct prompts (1..1000); default 16.
        p_mode: probability of the correct answer, the law's strict mode, in (0, 1); default 0.4.
        margin: ``p_mode`` minus the runner-up's probability, in (0, p_mode]; default 0.1.
        wrong: number of wrong answers (1..9); default 5. With ``wrong=1`` the law is
            ``(p_mode, 1 - p_mode)`` and ``margin`` must equal ``2 p_mode - 1``.
        ambiguous: 1 = all wrong answers share their first letter (needs ``wrong >= 2``); 0 = all
            first letters differ; default 1.
        law_seed: seeds the candidate strings (not the labels); default 0.

    Raises:
        ValueError: an option out of range, or a law that is not a distribution with a strict mode
            at the correct answer (the message names the option and the constraint).
    """

    name = "planted"

    def __init__(self, prompts: int = 16, p_mode: float | str = 0.4, margin: float | str = 0.1,
                 wrong: int = 5, ambiguous: int = 1, law_seed: int = 0) -> None:
        super().__init__()
        prompts = check_int_option(self.name, "prompts", prompts, low=1, high=1000)
        wrong = check_int_option(self.name, "wrong", wrong, low=1, high=9)
        ambiguous = check_int_option(self.name, "ambiguous", ambiguous, low=0, high=1)
        law_seed = check_int_option(self.name, "law_seed", law_seed, low=0)
        p_mode = _check_prob_option("p_mode", p_mode)
        margin = _check_prob_option("margin", margin)
        if not 0 < p_mode < 1:
            raise ValueError(f"task 'planted': option p_mode must be in (0, 1), got {p_mode}")
        if not 0 < margin <= p_mode:
            raise ValueError(f"task 'planted': option margin must be in (0, p_mode] = (0, {p_mode}], got {margin}")
        if ambiguous and wrong < 2:
            raise ValueError("task 'planted': option ambiguous=1 needs wrong >= 2 (a shared first letter)")
        runner = p_mode - margin
        rest = 1.0 - p_mode - runner
        if wrong == 1:
            if abs(rest) > 1e-9:
                raise ValueError(f"task 'planted': with wrong=1 the law is (p_mode, 1 - p_mode), so margin must "
                                 f"be 2*p_mode - 1 = {2 * p_mode - 1:.6g}, got {margin}")
            law = [p_mode, 1.0 - p_mode]
        else:
            share = rest / (wrong - 1)
            if rest <= 0:
                raise ValueError(f"task 'planted': p_mode + (p_mode - margin) = {p_mode + runner:.6g} must be < 1 "
                                 f"so that the other {wrong - 1} wrong answer(s) get positive mass")
            if share >= runner:
                raise ValueError(f"task 'planted': the other wrong answers get {share:.6g} each, not below the "
                                 f"runner-up's p_mode - margin = {runner:.6g}; raise p_mode, lower margin or "
                                 f"raise wrong")
            law = [p_mode, runner] + [share] * (wrong - 1)
        self.n_prompts, self.p_mode, self.margin, self.wrong = prompts, p_mode, margin, wrong
        self.ambiguous, self.law_seed = ambiguous, law_seed
        #: the planted law over each prompt's candidates (index 0 correct, 1 runner-up, then the rest)
        self.law = tuple(law)
        self._cum = list(itertools.accumulate(self.law))
        rng = random.Random(f"sharpsim.tasks/planted/law/{law_seed}")
        letters, digits = string.ascii_uppercase, string.digits
        self._candidates = []
        for _ in range(prompts):
            if ambiguous:
                first_ok, first_bad = rng.sample(letters, 2)
                ds = rng.sample(digits, wrong + 1)
                cands = [first_ok + ds[0]] + [first_bad + d for d in ds[1:]]
            else:
                firsts = rng.sample(letters, wrong + 1)
                cands = [f + rng.choice(digits) for f in firsts]
            self._candidates.append(tuple(cands))
        self.options = {"prompts": prompts, "p_mode": p_mode, "margin": margin, "wrong": wrong,
                        "ambiguous": ambiguous, "law_seed": law_seed}
        self.description = (f"{prompts} prompt(s) with a planted answer law: correct answer w.p. {p_mode}, "
                            f"runner-up {runner:.6g}, {wrong} wrong answer(s)"
                            + (", wrong answers share their first letter" if ambiguous else ""))

    def prompt(self, k: int) -> str:
        """The text of prompt ``k`` (``"Q<k>="``)."""
        return f"Q{k}="

    def candidates(self, k: int) -> tuple[str, ...]:
        """Prompt ``k``'s candidate answers: index 0 the correct one, 1 the runner-up, then the rest
        (probabilities :attr:`law`, same order)."""
        return self._candidates[k]

    def _example(self, rng: random.Random, seed: int, index: int) -> Example:
        k = index % self.n_prompts
        j = min(bisect.bisect_right(self._cum, rng.random()), len(self.law) - 1)
        cands = self._candidates[k]
        return Example(id=f"{self.name}/seed{seed}/{index}", prompt=self.prompt(k), answer=cands[0],
                       meta={"prompt_index": k, "label": cands[j], "label_index": j})

    def solution(self, example: Example) -> str:
        """The correct answer (the planted law's mode)."""
        return example.answer

    def training_response(self, example: Example) -> str:
        """The label drawn from the planted law (what ``sharpsim lm train-tiny`` trains on)."""
        return example.meta["label"]

    def extract(self, response: str) -> str | None:
        """The stripped response if it is a capital letter then a digit, else None."""
        text = response.strip()
        return text if _ANSWER_RE.fullmatch(text) else None
