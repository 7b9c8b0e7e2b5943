"""Tasks that need no download: generators with exact checkers, and a JSONL loader for user data.

Pure Python (no torch, no jax). Every task is a :class:`Task` with

* ``examples(n, *, seed=0) -> list[Example]`` — deterministic in ``(n, seed)``; the first ``k`` of
  ``examples(n)`` equal ``examples(k)``; ids are unique within the task;
* ``solution(example) -> str`` — a correct reference response (the steps, then ``Answer: ...``);
* ``extract(response) -> str | None`` — the answer in a response, in canonical form, so that two
  responses with the same answer give the same string (majority vote can compare them directly);
* ``is_correct(example, response) -> bool`` — the exact checker on the extracted answer.

Built-in tasks (``get(name, **options)``; formats and regexes in ``theory/bridge_tasks.md``):

* ``"arithmetic"`` — multi-step integer arithmetic, ``"3+4*2-5="`` →
  ``"4*2=8;3+8=11;11-5=6. Answer: 6"``;
* ``"prontoqa"`` — ProntoQA-style syllogism chains with made-up category words, True/False;
* ``"game24"`` — four numbers in 1..13 to be combined into 24 (exact solver in Fractions; the
  checker parses the answer with a whitelisting ``ast`` parser, never ``eval``);
* ``"jsonl"`` — user data, ``{"prompt", "answer"}`` rows or GSM8K-style ``{"question", "answer"}``
  rows whose answer ends in ``#### 42`` (:func:`load_jsonl`);
* ``"planted"`` — prompts ``"Q<k>="`` with a planted answer law (label-noised training data: the
  correct answer is the mode with a chosen probability and margin; optionally the wrong answers
  share a first letter so token-level greedy misses the sequence mode);
  ``training_response(example)`` gives the noisy label that ``sharpsim lm train-tiny`` trains on.

Modules: :mod:`~sharpsim.bridge.tasks.base` (the interface), one module per task
(:mod:`~sharpsim.bridge.tasks.arithmetic`, :mod:`~sharpsim.bridge.tasks.prontoqa`,
:mod:`~sharpsim.bridge.tasks.game24`, :mod:`~sharpsim.bridge.tasks.jsonl`), the answer parsers
(:mod:`~sharpsim.bridge.tasks.answers`, :mod:`~sharpsim.bridge.tasks.expression`), the Game-of-24
solver (:mod:`~sharpsim.bridge.tasks.solver`) and the registry (:mod:`~sharpsim.bridge.tasks.registry`).
"""

from __future__ import annotations

from sharpsim.bridge.tasks.answers import ANSWER_RE, GSM8K_MARK_RE, NUMBER_RE
from sharpsim.bridge.tasks.arithmetic import Arithmetic
from sharpsim.bridge.tasks.base import Example, Task
from sharpsim.bridge.tasks.expression import MAX_EXPRESSION_CHARS, evaluate_expression
from sharpsim.bridge.tasks.game24 import Game24
from sharpsim.bridge.tasks.jsonl import JSONL_FORMATS, JsonlTask, load_jsonl
from sharpsim.bridge.tasks.planted import Planted
from sharpsim.bridge.tasks.prontoqa import PRONTOQA_NAMES, PRONTOQA_WORDS, ProntoQA
from sharpsim.bridge.tasks.registry import from_spec, get, names, register
from sharpsim.bridge.tasks.solver import solve24

__all__ = [
    "ANSWER_RE",
    "GSM8K_MARK_RE",
    "JSONL_FORMATS",
    "MAX_EXPRESSION_CHARS",
    "NUMBER_RE",
    "PRONTOQA_NAMES",
    "PRONTOQA_WORDS",
    "Arithmetic",
    "Example",
    "Game24",
    "JsonlTask",
    "Planted",
    "ProntoQA",
    "Task",
    "evaluate_expression",
    "from_spec",
    "get",
    "load_jsonl",
    "names",
    "register",
    "solve24",
]
