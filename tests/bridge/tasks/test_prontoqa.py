"""ProntoQA-style syllogism chains (:mod:`sharpsim.bridge.tasks.prontoqa`): answers follow the chain
parsed here (independently of the task's code) and are balanced, the word "not" alone does not
reveal the answer, and the documented format. All tests are deterministic (no statistical
assertions, false-failure probability 0).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.tasks._reference import FAST
from sharpsim.bridge import tasks
from sharpsim.bridge.tasks import Example

pytestmark = pytest.mark.no_torch  # pure Python: runs without the lm extra


def _prontoqa_truth(prompt: str) -> bool:
    """Follow the chain parsed from the prompt (independent of the task's code)."""
    body, question = prompt.split(" True or false: ")
    sentences = body.rstrip(".").split(". ")
    who, cat = re.fullmatch(r"(\w+) is a (\w+)", sentences[-1]).groups()
    edges = {}
    for r in sentences[:-1]:
        a, neg, b = re.fullmatch(r"Every (\w+) is (not )?a (\w+)", r).groups()
        assert a not in edges
        edges[a] = (b, neg is not None)
    q = re.fullmatch(rf"{who} is (not )?a (\w+)\.", question)
    q_neg, target = q.group(1) is not None, q.group(2)
    neg = False
    seen = set()
    while cat != target:
        assert cat not in seen and not neg
        seen.add(cat)
        cat, neg = edges[cat]
    return neg == q_neg


@given(seed=st.integers(0, 10**6), hops=st.integers(1, 6), distractors=st.integers(0, 3))
@FAST
def test_prontoqa_answers_follow_the_chain_and_are_balanced(seed, hops, distractors):
    t = tasks.get("prontoqa", hops=hops, distractors=distractors)
    ex = t.examples(10, seed=seed)
    for e in ex:
        assert e.answer == str(_prontoqa_truth(e.prompt))
        assert e.prompt.count("Every ") == hops + distractors
        assert len(e.prompt) < 160 or hops + distractors > 3
    assert Counter(e.answer for e in ex) == {"True": 5, "False": 5}


def test_prontoqa_not_word_alone_does_not_reveal_the_answer():
    """Both answers occur with and without 'not' in the question (over 200 examples; deterministic)."""
    ex = tasks.get("prontoqa").examples(200)
    combos = Counter((e.answer, "is not a" in e.prompt.split("True or false:")[1]) for e in ex)
    assert len(combos) == 4 and min(combos.values()) >= 20


def test_prontoqa_documented_format():
    t = tasks.get("prontoqa")
    ex = Example(id="x", prompt="Every wump is a yump. Every yump is not a zump. Max is a wump. "
                                "True or false: Max is a zump.", answer="False")
    assert t.solution(ex) == "Max is a wump, so a yump, so not a zump. Answer: False"
    assert t.is_correct(ex, "Answer: false") and t.is_correct(ex, "Answer:FALSE.")
    assert not t.is_correct(ex, "Answer: True") and not t.is_correct(ex, "Answer: falsey")
    assert t.extract("Answer: True. Answer: False") == "False"
    assert t.extract("Answer: maybe") is None

