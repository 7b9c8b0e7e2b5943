"""The task registry (:mod:`sharpsim.bridge.tasks.registry`): the built-in names, ``get`` with options
and its errors ("unknown task", unknown options, bad option values named), user tasks through
``register``, and command-line specs (``from_spec``). All tests are deterministic (no statistical
assertions, false-failure probability 0).
"""

from __future__ import annotations

import re

import pytest

from sharpsim.bridge import tasks
from sharpsim.bridge.tasks import Example

pytestmark = pytest.mark.no_torch  # pure Python: runs without the lm extra


def test_names_lists_the_builtin_tasks():
    assert {"arithmetic", "prontoqa", "game24", "jsonl"} <= set(tasks.names())
    assert tasks.names() == sorted(tasks.names())


def test_get_returns_configured_task_objects():
    t = tasks.get("arithmetic", steps=3, max_operand=20, ops="+*")
    assert isinstance(t, tasks.Task) and t.name == "arithmetic"
    assert t.options == {"steps": 3, "max_operand": 20, "ops": "+*"}
    assert isinstance(t.description, str) and t.description
    ex = t.examples(20)
    assert all(len(re.findall(r"[-+*]", e.prompt)) == 3 for e in ex)
    assert all(set(re.findall(r"[-+*]", e.prompt)) <= {"+", "*"} for e in ex)
    assert all(1 <= int(x) <= 20 for e in ex for x in re.findall(r"\d+", e.prompt))


def test_unknown_task_lists_available_names():
    with pytest.raises(ValueError, match=r"unknown task 'gsm9k'.*arithmetic.*game24.*jsonl.*prontoqa"):
        tasks.get("gsm9k")


def test_unknown_option_names_it_and_lists_the_options():
    with pytest.raises(ValueError, match=r"no option 'hop'.*hops"):
        tasks.get("prontoqa", hop=3)


@pytest.mark.parametrize("name, options, option", [
    ("arithmetic", {"steps": 0}, "steps"),
    ("arithmetic", {"steps": -2}, "steps"),
    ("arithmetic", {"steps": 2.0}, "steps"),
    ("arithmetic", {"steps": True}, "steps"),
    ("arithmetic", {"max_operand": 0}, "max_operand"),
    ("arithmetic", {"ops": ""}, "ops"),
    ("arithmetic", {"ops": "+/"}, "ops"),
    ("arithmetic", {"ops": ["+"]}, "ops"),
    ("prontoqa", {"hops": 0}, "hops"),
    ("prontoqa", {"hops": len(tasks.PRONTOQA_WORDS)}, "hops"),
    ("prontoqa", {"distractors": -1}, "distractors"),
    ("prontoqa", {"hops": 10, "distractors": 10}, "distractors"),
    ("game24", {"max_number": 0}, "max_number"),
    ("game24", {"max_number": "13"}, "max_number"),
])
def test_bad_option_values_name_the_option(name, options, option):
    with pytest.raises(ValueError, match=rf"option {option}\b"):
        tasks.get(name, **options)


def test_register_user_task_and_its_errors(monkeypatch):
    monkeypatch.setattr(tasks.registry, "_REGISTRY", dict(tasks.registry._REGISTRY))  # registrations end with the test
    class Echo(tasks.Task):
        name = "echo_test_task"

        def __init__(self, word: str = "hi"):
            super().__init__()
            self.word = word

        def _example(self, rng, seed, index):
            return Example(id=f"{self.name}/seed{seed}/{index}", prompt=f"{self.word}{index}:",
                           answer=str(index))

        def solution(self, example):
            return f"Answer: {example.answer}"

        def extract(self, response):
            m = re.search(r"Answer: (\d+)", response)
            return m and m.group(1)

    tasks.register("echo_test_task", Echo)
    assert "echo_test_task" in tasks.names()
    t = tasks.get("echo_test_task", word="yo")
    ex = t.examples(3, seed=1)
    assert [e.prompt for e in ex] == ["yo0:", "yo1:", "yo2:"]
    assert t.is_correct(ex[2], "Answer: 2") and not t.is_correct(ex[2], "Answer: 3")
    with pytest.raises(ValueError, match="already registered"):
        tasks.register("echo_test_task", Echo)
    with pytest.raises(ValueError, match="factory must be callable"):
        tasks.register("echo_test_task2", 3)
    with pytest.raises(ValueError, match="name must be"):
        tasks.register("bad name", Echo)
    with pytest.raises(ValueError, match=r"no option 'wrd'.*word"):
        tasks.get("echo_test_task", wrd="x")
    tasks.register("not_a_task_test", lambda: 42)
    with pytest.raises(ValueError, match="not a Task"):
        tasks.get("not_a_task_test")


def test_from_spec_parses_options():
    t = tasks.from_spec("arithmetic:steps=3,ops=+*")
    assert t.options == {"steps": 3, "max_operand": 9, "ops": "+*"}
    assert tasks.from_spec("prontoqa").options == {"hops": 2, "distractors": 0}
    with pytest.raises(ValueError, match="key=value"):
        tasks.from_spec("arithmetic:steps")
    with pytest.raises(ValueError, match="unknown task"):
        tasks.from_spec("nope:steps=1")

