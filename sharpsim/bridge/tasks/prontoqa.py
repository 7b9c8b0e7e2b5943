"""ProntoQA-style syllogism chains with made-up category words, answered True or False."""

from __future__ import annotations

import itertools
import random
import re

from sharpsim.bridge.tasks.answers import BOOL_AFTER_RE, last_answer_tail
from sharpsim.bridge.tasks.base import Example, Task, check_int_option

__all__ = ["PRONTOQA_NAMES", "PRONTOQA_WORDS", "ProntoQA"]

#: Made-up category words (short, lower-case ASCII), as in ProntoQA's fictional ontologies.
PRONTOQA_WORDS: tuple[str, ...] = (
    "wump", "yump", "zump", "dax", "fep", "gorp", "lorp", "mip", "vox", "quib",
    "jub", "kiv", "norp", "tib", "zeb", "rax", "pim", "blick", "tove", "snib",
)
#: Names of the individual the chain is about.
PRONTOQA_NAMES: tuple[str, ...] = ("Max", "Sam", "Ann", "Bob", "Eve", "Tom", "Kim", "Lea")


class ProntoQA(Task):
    """ProntoQA-style syllogism chains with made-up category words, answered True or False.

    ``hops`` rules form a chain ``w0 -> w1 -> ... -> w_hops``; every rule is positive
    (``"Every w0 is a w1."``) except that the last one may be negative (``"Every w1 is not a w2."``).
    The fact is ``"<Name> is a w0."`` and the question ``"True or false: <Name> is [not] a w_hops."``.
    The answer is True iff the last rule's polarity equals the question's. Answers alternate with
    the example index (index 0 True, 1 False, ...), so any ``n`` examples are balanced to within
    one; which of the two polarity pairs gives the answer is drawn at random, so neither the word
    ``not`` in the rules nor in the question alone reveals the answer.

    Prompt (hops=2)::

        Every wump is a yump. Every yump is not a zump. Max is a wump. True or false: Max is a zump.

    Solution: ``"Max is a wump, so a yump, so not a zump. Answer: False"``. Extraction: ``True`` or
    ``False`` (any case) right after the last ``Answer:``, returned as ``"True"``/``"False"``.

    With ``distractors=k > 0``, ``k`` more rules ``"Every d is [not] a w_hops."`` about unused words
    ``d``, each with the polarity opposite to the chain's last rule, are added and all rules are
    shuffled, so the answer cannot be read off the one rule that mentions the asked category: the
    chain has to be followed. (Without distractors the answer is the XOR of the polarities of the
    last rule and the question, as in ProntoQA's plain chains.)

    Args:
        hops: rules in the chain, >= 1 (``hops + distractors + 1 <= len(PRONTOQA_WORDS)``); default 2.
        distractors: extra rules about other words, >= 0; default 0.
    """

    name = "prontoqa"

    def __init__(self, hops: int = 2, distractors: int = 0) -> None:
        super().__init__()
        hops = check_int_option(self.name, "hops", hops, low=1, high=len(PRONTOQA_WORDS) - 1)
        distractors = check_int_option(self.name, "distractors", distractors, low=0, high=len(PRONTOQA_WORDS) - 1 - hops)
        self.hops, self.distractors = hops, distractors
        self.options = {"hops": hops, "distractors": distractors}
        self.description = (f"ProntoQA-style syllogism chains of {hops} hop(s) with {distractors} distractor "
                            "rule(s), True/False after 'Answer:'")

    def _example(self, rng: random.Random, seed: int, index: int) -> Example:
        drawn = rng.sample(PRONTOQA_WORDS, self.hops + 1 + self.distractors)
        words, others = drawn[:self.hops + 1], drawn[self.hops + 1:]
        who = rng.choice(PRONTOQA_NAMES)
        truth = index % 2 == 0
        last_negative = rng.random() < 0.5
        question_negative = last_negative if truth else not last_negative
        rules = [f"Every {a} is a {b}." for a, b in itertools.pairwise(words[:-1])]
        rules.append(f"Every {words[-2]} is {'not ' if last_negative else ''}a {words[-1]}.")
        if others:
            rules += [f"Every {d} is {'' if last_negative else 'not '}a {words[-1]}." for d in others]
            rng.shuffle(rules)
        prompt = " ".join([*rules, f"{who} is a {words[0]}.",
                           f"True or false: {who} is {'not ' if question_negative else ''}a {words[-1]}."])
        return Example(id=f"{self.name}/seed{seed}/{index}", prompt=prompt, answer=str(truth),
                       meta={"name": who, "chain": words, "last_negative": last_negative,
                             "question_negative": question_negative})

    _RULE_RE = re.compile(r"Every (\w+) is (not )?a (\w+)\.")
    _FACT_RE = re.compile(r"(\w+) is a (\w+)\. True or false: \1 is (not )?a (\w+)\.$")

    def solution(self, example: Example) -> str:
        """Walk the chain from the fact through the rules (parsed from the prompt)."""
        rules = {a: (b, bool(neg)) for a, neg, b in self._RULE_RE.findall(example.prompt)}
        m = self._FACT_RE.search(example.prompt)
        if m is None or not rules:
            raise ValueError(f"not a prontoqa prompt: {example.prompt!r}")
        who, cat, q_neg, target = m.group(1), m.group(2), m.group(3) is not None, m.group(4)
        parts, negative = [f"{who} is a {cat}"], False
        while cat in rules and cat != target and not negative:
            cat, negative = rules[cat]
            parts.append(f"so {'not ' if negative else ''}a {cat}")
        if cat != target:
            raise ValueError(f"the chain in this prontoqa prompt does not reach {target!r}: {example.prompt!r}")
        return ", ".join(parts) + f". Answer: {negative == q_neg}"

    def extract(self, response: str) -> str | None:
        tail = last_answer_tail(response)
        if tail is None:
            return None
        m = BOOL_AFTER_RE.match(tail)
        return None if m is None else m.group(1).capitalize()
