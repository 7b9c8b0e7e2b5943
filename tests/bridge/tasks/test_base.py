"""The contract every task keeps (:mod:`sharpsim.bridge.tasks.base`): ``examples(n, seed=)`` is
deterministic with a stable prefix and unique ids and rejects bad ``n`` and ``seed``; the defaults
are short ASCII; a reference solution checks as correct and a corrupted answer does not; no answer
without a marker; and the package stays pure Python (no torch, jax or numpy).

Expected values are computed here independently of ``sharpsim.bridge.tasks``. All tests are
deterministic (no statistical assertions, false-failure probability 0).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.tasks._reference import FAST, exact
from sharpsim.bridge import tasks

pytestmark = pytest.mark.no_torch  # pure Python: runs without the lm extra

GENERATED = ("arithmetic", "prontoqa", "game24")


@pytest.mark.parametrize("name", GENERATED)
@pytest.mark.parametrize("n", [0, -1, 2.5, True, None])
def test_examples_n_below_one_or_not_int_is_an_error(name, n):
    with pytest.raises(ValueError, match=r"n must be an integer >= 1"):
        tasks.get(name).examples(n)


def test_numpy_integers_are_accepted_for_n_seed_and_options():
    np = pytest.importorskip("numpy")
    t = tasks.get("arithmetic", steps=np.int64(3))
    assert t.options["steps"] == 3 and type(t.options["steps"]) is int
    assert t.examples(np.int32(4), seed=np.int64(2)) == t.examples(4, seed=2)


@pytest.mark.parametrize("name", GENERATED)
def test_examples_seed_must_be_an_integer(name):
    with pytest.raises(ValueError, match=r"seed must be an integer"):
        tasks.get(name).examples(2, seed="0")


@pytest.mark.parametrize("name", GENERATED)
def test_examples_deterministic_prefix_stable_unique_ids(name):
    t = tasks.get(name)
    a = t.examples(40, seed=3)
    assert a == tasks.get(name).examples(40, seed=3)  # deterministic, also across instances
    assert a[:7] == t.examples(7, seed=3)  # first k of n equal examples(k)
    assert len({e.id for e in a}) == len(a)
    assert a[17].id == f"{name}/seed3/17"
    assert [e.prompt for e in a] != [e.prompt for e in t.examples(40, seed=4)]
    assert all(e.prompt.isascii() and e.answer.isascii() for e in a)


def test_examples_do_not_depend_on_pythonhashseed():
    code = ("from sharpsim.bridge import tasks;"
            "print([e.prompt for n in ('arithmetic','prontoqa','game24') for e in tasks.get(n).examples(5)])")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": h}).stdout for h in ("1", "2")}
    assert len(outs) == 1


@pytest.mark.parametrize("name, prompt_max, solution_max", [
    ("arithmetic", 64, 64), ("prontoqa", 100, 64), ("game24", 64, 64)])
def test_default_difficulty_is_short_ascii(name, prompt_max, solution_max):
    t = tasks.get(name)
    ex = t.examples(300)
    assert max(len(e.prompt) for e in ex) <= prompt_max
    assert max(len(t.solution(e)) for e in ex) <= solution_max


@given(name=st.sampled_from(GENERATED), seed=st.integers(-10**6, 10**6), level=st.integers(1, 4))
@FAST
def test_reference_solution_is_correct_and_a_corrupted_answer_is_not(name, seed, level):
    opts = {"arithmetic": {"steps": level}, "prontoqa": {"hops": level, "distractors": level - 1},
            "game24": {}}[name]
    t = tasks.get(name, **opts)
    for ex in t.examples(6, seed=seed):
        sol = t.solution(ex)
        assert t.is_correct(ex, sol), (ex, sol)
        assert t.extract(sol) is not None
        head, _, _ = sol.rpartition("Answer:")
        if name == "arithmetic":
            wrong = str(int(ex.answer) + 1)
        elif name == "prontoqa":
            wrong = {"True": "False", "False": "True"}[ex.answer]
        else:
            nums = ex.meta["numbers"]
            wrong = "+".join(map(str, nums)) if sum(nums) != 24 else "*".join(map(str, nums))
            assert exact(wrong) != 24
        assert not t.is_correct(ex, head + "Answer: " + wrong)
        assert not t.is_correct(ex, head)  # no answer at all


@pytest.mark.parametrize("name", [*GENERATED, "jsonl"])
def test_responses_without_an_answer_marker(name, tmp_path):
    if name == "jsonl":
        f = tmp_path / "d.jsonl"
        f.write_text('{"prompt": "x", "answer": "7"}\n')
        t = tasks.get("jsonl", path=f)
    else:
        t = tasks.get(name)
    ex = t.examples(1)[0]
    for junk in ("", "Answer:", "Answer:   \n 7", "no idea"):
        assert not t.is_correct(ex, junk)


def test_package_imports_neither_torch_nor_jax_nor_numpy():
    # stub the parent packages so that only sharpsim.bridge.tasks' own modules run (sharpsim's
    # __init__ imports jax)
    root = Path(tasks.__file__).parents[2]
    code = ("import sys, types;"
            f"root = {str(root)!r};"
            "[sys.modules.__setitem__(n, types.ModuleType(n)) for n in ('sharpsim', 'sharpsim.bridge')];"
            "sys.modules['sharpsim'].__path__ = [root];"
            "sys.modules['sharpsim.bridge'].__path__ = [root + '/bridge'];"
            "import sharpsim.bridge.tasks as t; assert t.get('arithmetic').examples(2);"
            "print(sorted(x for x in ('torch', 'jax', 'numpy') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

