"""Lecture 4's own check: an answer of the wrong shape is a wrong answer.

The tests every lecture shares (tags, wrong answers, the notebook run) are in ``test_lectures.py``.
"""

from __future__ import annotations

from sharpsim import seminar


def test_an_answer_of_the_wrong_shape_is_wrong(monkeypatch):
    monkeypatch.delenv("SHARPSIM_SEMINAR_STRICT", raising=False)
    assert not seminar.check("4.1", lambda problem, beta: 0.5).ok
    assert not seminar.check("4.3", lambda problem, delta: [0.1]).ok
