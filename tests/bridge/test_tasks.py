"""Tasks without downloads: generators, exact checkers, the safe Game-of-24 parser, the
JSONL loader, the registry, and their bad-input rows ("unknown task", "JSONL rows missing fields").

Expected values are computed here independently of ``sharpsim.bridge.tasks``: arithmetic by Python's
own integer arithmetic on the (regex-checked) prompt, ProntoQA answers by following the chain
parsed here, Game-of-24 expressions by exact ``Fraction`` evaluation done here. All tests are
deterministic (no statistical assertions, false-failure probability 0).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from itertools import combinations, combinations_with_replacement
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.bridge import tasks
from sharpsim.bridge.tasks import Example

pytestmark = pytest.mark.no_torch  # pure Python: runs without the lm extra

GENERATED = ("arithmetic", "prontoqa", "game24")
FAST = settings(max_examples=25, deadline=None)


def _exact(expr: str) -> Fraction:
    """Exact value of a trusted expression over + - * / and integers (test oracle; the string is
    checked against a strict character whitelist before Python evaluates it with Fractions)."""
    assert re.fullmatch(r"[0-9+\-*/() ]+", expr), expr
    return eval(re.sub(r"\d+", lambda m: f"Fraction({m.group(0)})", expr), {"Fraction": Fraction})


# ------------------------------------------------------------------------------------------------
# Registry, options, examples(): the common contract
# ------------------------------------------------------------------------------------------------


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
            assert _exact(wrong) != 24
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


# ------------------------------------------------------------------------------------------------
# Arithmetic
# ------------------------------------------------------------------------------------------------


@given(seed=st.integers(0, 10**6), steps=st.integers(1, 6), max_operand=st.integers(1, 99),
       ops=st.sampled_from(["+", "-", "*", "+-", "+*", "-*", "+-*"]))
@FAST
def test_arithmetic_answer_equals_python_integer_arithmetic(seed, steps, max_operand, ops):
    t = tasks.get("arithmetic", steps=steps, max_operand=max_operand, ops=ops)
    for ex in t.examples(5, seed=seed):
        assert re.fullmatch(rf"(\d+[-+*]){{{steps}}}\d+=", ex.prompt), ex.prompt
        expected = eval(ex.prompt[:-1], {"__builtins__": {}})  # Python's own precedence; prompt regex-checked
        assert int(ex.answer) == expected
        sol = t.solution(ex)
        # every step is a true equation, in the documented order, and there are `steps` of them
        eqs = sol.split(". Answer: ")[0].split(";")
        assert len(eqs) == steps
        for eq in eqs:
            m = re.fullmatch(r"(-?\d+)([-+*])(-?\d+)=(-?\d+)", eq)
            assert m, eq
            a, op, b, c = int(m[1]), m[2], int(m[3]), int(m[4])
            assert {"+": a + b, "-": a - b, "*": a * b}[op] == c
        assert sol.endswith(f". Answer: {expected}")


def test_arithmetic_documented_example():
    t = tasks.get("arithmetic")
    ex = Example(id="x", prompt="3+4*2-5=", answer="6")
    assert t.solution(ex) == "4*2=8;3+8=11;11-5=6. Answer: 6"
    assert t.solution(Example(id="y", prompt="2*3*4-1=", answer="23")) == "2*3=6;6*4=24;24-1=23. Answer: 23"


@pytest.mark.parametrize("response, extracted", [
    ("Answer: 6", "6"), ("Answer:6", "6"), ("answer :  6.", "6"), ("ANSWER: -11", "-11"),
    ("Answer: - 11", "-11"), ("Answer: +7", "7"), ("Answer: 007", "7"),
    ("Answer: 5 ... Answer: 9", "9"), ("x=1. Answer: 12\nmore text 3", "12"),
    ("Answer: 6.5", None), ("Answer: six", None), ("Answer:", None), ("6", None), ("", None),
    ("Answer: 9 then Answer: ?", None), ("Answer: 6, I think", "6"), ("Answer: 1,234", "1234"),
    ("Answer: 1,23", None), ("Answer: 12345,6", None),
])
def test_arithmetic_extraction(response, extracted):
    assert tasks.get("arithmetic").extract(response) == extracted


def test_arithmetic_checker_compares_integers():
    t = tasks.get("arithmetic")
    ex = Example(id="x", prompt="9-3*4=", answer="-3")
    assert t.is_correct(ex, "3*4=12;9-12=-3. Answer: -3")
    assert t.is_correct(ex, "Answer: - 3")
    assert not t.is_correct(ex, "Answer: 3")
    assert not t.is_correct(ex, "Answer: -3.5")


# ------------------------------------------------------------------------------------------------
# ProntoQA
# ------------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------------
# Game of 24
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("numbers", [[4, 7, 8, 8], [1, 5, 5, 5], [3, 3, 8, 8], [1, 2, 3, 4], [13, 13, 12, 12]])
def test_solver_finds_a_valid_expression(numbers):
    expr = tasks.solve24(numbers)
    assert expr is not None
    assert _exact(expr) == 24
    assert sorted(int(x) for x in re.findall(r"\d+", expr)) == sorted(numbers)


def test_solver_known_hard_cases_need_fractions():
    # 5*(5-1/5) and 8/(3-8/3) are the classic solutions needing non-integer intermediates
    for numbers in ([1, 5, 5, 5], [3, 3, 8, 8]):
        assert _exact(tasks.solve24(numbers)) == 24
        assert tasks.solve24(numbers) == tasks.solve24(list(reversed(numbers)))  # deterministic per multiset


def _reachable(nums: tuple[int, ...]) -> set[Fraction]:
    """Every value of an expression using each of ``nums`` once (test oracle: splits the multiset
    into two non-empty parts in every way, a different algorithm from the solver's pair merging)."""
    if len(nums) == 1:
        return {Fraction(nums[0])}
    out: set[Fraction] = set()
    idx = range(len(nums))
    for r in range(1, len(nums)):
        for left in combinations(idx, r):
            a = _reachable(tuple(nums[i] for i in left))
            b = _reachable(tuple(nums[i] for i in idx if i not in left))
            for x in a:
                for y in b:
                    out.update({x + y, x - y, x * y})
                    if y != 0:
                        out.add(x / y)
    return out


@pytest.mark.parametrize("numbers", [[1, 1, 1, 1], [1, 1, 1, 2], [13, 13, 13, 13], [1, 1, 2, 2]])
def test_solver_unsolvable(numbers):
    assert Fraction(24) not in _reachable(tuple(numbers))  # the oracle agrees these are unsolvable
    assert tasks.solve24(numbers) is None


@given(st.lists(st.integers(0, 15), min_size=1, max_size=4), st.integers(-30, 60))
@settings(max_examples=60, deadline=None)
def test_solver_agrees_with_exhaustive_oracle(numbers, target):
    expr = tasks.solve24(numbers, target)
    assert (expr is not None) == (Fraction(target) in _reachable(tuple(numbers)))
    if expr is not None:
        assert _exact(expr) == target


def test_solver_counts_1362_solvable_of_1820_multisets():
    """The known census of the 24 game over 1..13: 1362 of the 1820 multisets are solvable
    (e.g. 4nums.com). Every solution is checked here with exact arithmetic."""
    solvable = 0
    for nums in combinations_with_replacement(range(1, 14), 4):
        expr = tasks.solve24(nums)
        if expr is not None:
            solvable += 1
            assert _exact(expr) == 24 and sorted(map(int, re.findall(r"\d+", expr))) == list(nums)
    assert solvable == 1362


def test_solver_rejects_bad_numbers():
    with pytest.raises(ValueError, match="numbers"):
        tasks.solve24([])
    with pytest.raises(ValueError, match="numbers"):
        tasks.solve24([-1, 5, 5, 5])


def test_game24_examples_are_solvable_and_documented_format():
    t = tasks.get("game24")
    for e in t.examples(50, seed=11):
        nums = e.meta["numbers"]
        assert e.prompt == f"Make 24 from {' '.join(map(str, nums))}:" and nums == sorted(nums)
        assert all(1 <= x <= 13 for x in nums) and len(nums) == 4
        assert _exact(e.answer) == 24
        assert sorted(map(int, re.findall(r"\d+", e.answer))) == nums
        assert t.solution(e).endswith(f". Answer: {e.answer}")


def test_game24_solution_steps_are_true_equations():
    t = tasks.get("game24")
    ex = Example(id="x", prompt="Make 24 from 1 5 5 5:", answer="5*(5-1/5)", meta={"numbers": [1, 5, 5, 5]})
    sol = t.solution(ex)
    steps = sol.split(". Answer: ")[0].split(";")
    assert len(steps) == 3
    for s in steps:
        lhs, rhs = s.split("=")
        assert _exact(lhs) == _exact(rhs), s
    assert _exact(steps[-1].split("=")[1]) == 24


@pytest.mark.parametrize("expr, value, numbers", [
    ("5*(5-1/5)", Fraction(24), [5, 5, 1, 5]),
    ("8/(3-8/3)", Fraction(24), [8, 3, 8, 3]),
    (" 1 + 2 * 3 ", Fraction(7), [1, 2, 3]),
    ("(((4)))", Fraction(4), [4]),
    ("7/2", Fraction(7, 2), [7, 2]),
    ("10-3-2", Fraction(5), [10, 3, 2]),
    ("(" * 99 + "24" + ")" * 99, Fraction(24), [24]),  # deepest nesting within the length limit
    ("1+" * 99 + "1", Fraction(100), [1] * 100),
])
def test_evaluate_expression_values(expr, value, numbers):
    assert tasks.evaluate_expression(expr) == (value, numbers)


@pytest.mark.parametrize("expr", [
    "__import__('os')", "__import__('os').system('true')", "x", "abs(24)", "2**3", "24.0", "0x18", "1_2",
    "-3+27", "+24", "3*8;1", "3 8", "(", "", "3//1", "3%2", "[24]", "'24'", "24 if 1 else 0",
    "lambda: 24", "(" * 300 + "1" + ")" * 300, "1+" * 150 + "1", "08+16", "1/0", "4*(3-3)/0+24",
])
def test_evaluate_expression_rejects_unsafe_or_invalid(expr):
    with pytest.raises(ValueError):
        tasks.evaluate_expression(expr)


def test_evaluate_expression_rejects_non_strings():
    with pytest.raises(ValueError, match="string"):
        tasks.evaluate_expression(24)


@st.composite
def _expr_trees(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return str(draw(st.integers(0, 30)))
    op = draw(st.sampled_from("+-*/"))
    return f"({draw(_expr_trees(depth - 1))}{op}{draw(_expr_trees(depth - 1))})"


@given(_expr_trees())
@settings(max_examples=60, deadline=None)
def test_evaluate_expression_matches_exact_oracle(expr):
    try:
        expected = _exact(expr)
    except ZeroDivisionError:
        with pytest.raises(ValueError, match="division by zero"):
            tasks.evaluate_expression(expr)
        return
    value, nums = tasks.evaluate_expression(expr)
    assert value == expected
    assert nums == [int(x) for x in re.findall(r"\d+", expr)]


@pytest.mark.parametrize("response, correct", [
    ("Answer: 8*(7+4-8)", True),
    ("Answer: (8 + 4 - 7) * 8 / 8 * ...", False),  # '...' ends it after a dangling '*'
    ("Answer: 8*(4+7-8) = 24.", True),
    ("answer:8*(4+7-8)", True),
    ("Answer: 8*(4+7-8)+0", False),  # 0 is not one of the numbers
    ("Answer: 8*3", False),  # numbers not the multiset
    ("Answer: 8*(7+4-8)*1", False),
    ("Answer: 8*(8-7+4)", False),  # right multiset, value 40
    ("Answer: 8/(8-8)*7+4", False),  # division by zero: incorrect, no exception
    ("Answer: __import__('os')", False),
    ("Answer: 2**3*3", False),
    ("Answer: -8*(4-7)+0*8", False),
    ("Answer: 8*(7+4-8) Answer: 24", False),  # the last Answer: counts
    ("8*(7+4-8)", False),  # no marker
])
def test_game24_checker(response, correct):
    t = tasks.get("game24")
    ex = Example(id="x", prompt="Make 24 from 4 7 8 8:", answer="8*(7+4-8)", meta={"numbers": [4, 7, 8, 8]})
    assert t.is_correct(ex, response) is correct


def test_game24_checker_reads_numbers_from_prompt_without_meta():
    t = tasks.get("game24")
    ex = Example(id="x", prompt="Make 24 from 1 5 5 5:", answer="5*(5-1/5)")
    assert t.is_correct(ex, "Answer: (5-1/5)*5")
    assert not t.is_correct(ex, "Answer: (5-1/5)*5*1")


# ------------------------------------------------------------------------------------------------
# JSONL
# ------------------------------------------------------------------------------------------------


def _write(tmp_path: Path, lines: list[str | dict], name: str = "data.jsonl") -> Path:
    f = tmp_path / name
    f.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return f


def test_jsonl_prompt_format(tmp_path):
    f = _write(tmp_path, [{"prompt": "2+2=", "answer": "4"}, "", "   ",
                          {"prompt": "capital of France?", "answer": "Paris", "id": "q2"},
                          {"prompt": "half of 3?", "answer": 1.5, "solution": "3/2=1.5. Answer: 1.5"}])
    t = tasks.load_jsonl(f)
    assert t.format == "prompt" and len(t) == 3
    ex = t.examples(3)
    assert [e.prompt for e in ex] == ["2+2=", "capital of France?", "half of 3?"]
    assert [e.answer for e in ex] == ["4", "paris", "1.5"]
    assert [e.id for e in ex] == ["data/L1", "q2", "data/L5"]
    assert [e.meta["line"] for e in ex] == [1, 4, 5]
    assert t.solution(ex[0]) == "Answer: 4" and t.solution(ex[2]) == "3/2=1.5. Answer: 1.5"
    for e in ex:
        assert t.is_correct(e, t.solution(e))
    assert t.is_correct(ex[0], "Answer: 4.0") and t.is_correct(ex[0], "so #### 4")
    assert t.is_correct(ex[0], "2 plus 2 is 4")  # no marker: the last number
    assert not t.is_correct(ex[0], "Answer: 5") and not t.is_correct(ex[0], "4 or 5")
    assert t.is_correct(ex[1], "Answer: paris.") and t.is_correct(ex[1], "answer:  PARIS")
    assert not t.is_correct(ex[1], "Answer: Lyon") and not t.is_correct(ex[1], "Paris")
    assert t.is_correct(ex[2], "Answer: 1.50") and not t.is_correct(ex[2], "Answer: 1.49")


def test_jsonl_gsm8k_format(tmp_path):
    rows = [{"question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
             "answer": "In May she sold 48/2 = <<48/2=24>>24 clips.\n48+24 = <<48+24=72>>72\n#### 72"},
            {"question": "How many grams in a kilogram?", "answer": "#### 1,000"},
            {"question": "Temperature drop?", "answer": "It fell by 3.50 degrees.\n#### -3.50"}]
    t = tasks.get("jsonl", path=_write(tmp_path, rows, "gsm.jsonl"))
    assert t.format == "gsm8k"
    ex = t.examples(3)
    assert [e.answer for e in ex] == ["72", "1000", "-3.5"]
    assert ex[0].prompt == rows[0]["question"] and t.solution(ex[0]) == rows[0]["answer"]
    assert all(t.is_correct(e, t.solution(e)) for e in ex)
    assert t.is_correct(ex[1], "That is 1000 grams. #### 1,000") and t.is_correct(ex[1], "Answer: 1,000.0")
    assert t.is_correct(ex[1], "Answer: $1,000")
    assert t.is_correct(ex[2], "Answer: -3.5") and not t.is_correct(ex[2], "Answer: 3.5")
    assert not t.is_correct(ex[0], "#### 71")
    assert not t.is_correct(ex[0], "Answer: 72\n#### 70")  # the last marker counts
    assert tasks.load_jsonl(_write(tmp_path, rows, "gsm.jsonl"), format="gsm8k").format == "gsm8k"


def test_jsonl_answers_with_units_and_any_marker_round_trip(tmp_path):
    rows = [{"prompt": "p1", "answer": "5 dollars"}, {"prompt": "p2", "answer": "$1,200"},
            {"prompt": "p3", "answer": " The  Moon. "}, {"prompt": "p4", "answer": 7}, {"prompt": "p5", "answer": -0.25}]
    t = tasks.load_jsonl(_write(tmp_path, rows))
    ex = t.examples(5)
    assert [e.answer for e in ex] == ["5", "1200", "the moon", "7", "-0.25"]
    for e, row in zip(ex, rows):
        for marker in ("Answer: ", "answer:", "#### "):
            assert t.is_correct(e, f"blah 99.\n{marker}{row['answer']}"), (e, marker)
    assert t.is_correct(ex[0], "Answer: $5.") and t.is_correct(ex[0], "the total is 5")
    assert not t.is_correct(ex[2], "Answer: the sun")
    with pytest.raises(ValueError, match=r"line 1: field 'answer' is empty once"):
        tasks.load_jsonl(_write(tmp_path, [{"prompt": "p", "answer": " . "}], "dot.jsonl"))


def test_jsonl_extraction_canonical_forms(tmp_path):
    t = tasks.load_jsonl(_write(tmp_path, [{"prompt": "p", "answer": "1"}]))
    assert t.extract("Answer: 1,234.50 dollars") == "1234.5"
    assert t.extract("#### 42.000") == "42"
    assert t.extract("Answer: -0") == "0"
    assert t.extract("we get 3, then 10-3 = 7 apples") == "7"
    assert t.extract("Answer: The Moon.") == "the moon"
    assert t.extract("nothing numeric") is None
    assert t.extract("Answer: 1,2345") == "1,2345"  # not a number: kept as text
    assert t.extract("Answer: 42, since 6*7") == "42"
    assert t.extract("Answer:\n5") is None  # the answer must be on the marker's line


def test_jsonl_examples_seed_and_n(tmp_path):
    t = tasks.load_jsonl(_write(tmp_path, [{"prompt": f"q{i}", "answer": str(i)} for i in range(20)]))
    assert [e.prompt for e in t.examples(20)] == [f"q{i}" for i in range(20)]  # seed 0: file order
    perm = t.examples(20, seed=5)
    assert perm == t.examples(20, seed=5) and perm[:4] == t.examples(4, seed=5)
    assert sorted(e.id for e in perm) == sorted(e.id for e in t.examples(20))  # ids do not depend on seed
    assert [e.prompt for e in perm] != [e.prompt for e in t.examples(20)]
    with pytest.raises(ValueError, match=r"n must be <= the number of rows \(20\)"):
        t.examples(21)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1"):
        t.examples(0)


def test_jsonl_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        tasks.load_jsonl(missing)
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        tasks.get("jsonl", path=str(missing))


def test_jsonl_path_is_a_directory(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        tasks.load_jsonl(tmp_path)


def test_jsonl_needs_a_path():
    with pytest.raises(ValueError, match="path="):
        tasks.get("jsonl")


def test_jsonl_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="format must be one of auto, prompt, gsm8k"):
        tasks.load_jsonl(_write(tmp_path, [{"prompt": "p", "answer": "1"}]), format="csv")


@pytest.mark.parametrize("lines, fmt, pattern", [
    ([{"prompt": "a", "answer": "1"}, '{"prompt": "b", "answer": '], "auto", r"line 2: not valid JSON"),
    (["", "", "{oops}"], "auto", r"line 3: not valid JSON"),
    ([{"prompt": "a", "answer": "1"}, {"prompt": "b"}], "auto", r"line 2: missing field 'answer'"),
    ([{"prompt": "a", "answer": "1"}, {"answer": "2"}], "auto", r"line 2: missing field 'prompt'"),
    ([{"answer": "2"}], "auto", r"line 1: missing field 'prompt' \(or 'question'"),
    ([{"question": "a", "answer": "#### 1"}, {"prompt": "b", "answer": "2"}], "auto",
     r"line 2: missing field 'question'"),
    ([{"question": "a"}], "auto", r"line 1: missing field 'answer'"),
    ([{"prompt": "a", "answer": "1"}], "gsm8k", r"line 1: missing field 'question'"),
    ([{"question": "a", "answer": "#### 1"}], "prompt", r"line 1: missing field 'prompt'"),
    ([{"prompt": 3, "answer": "1"}], "auto", r"line 1: field 'prompt' must be a string, got int"),
    ([{"prompt": "a", "answer": None}], "auto", r"line 1: field 'answer' must be a string or a number, got NoneType"),
    ([{"prompt": "a", "answer": True}], "auto", r"line 1: field 'answer' must be a string or a number, got bool"),
    ([{"question": "a", "answer": 72}], "auto", r"line 1: field 'answer' must be a string, got int"),
    ([{"prompt": "  ", "answer": "1"}], "auto", r"line 1: field 'prompt' is empty"),
    ([{"prompt": "a", "answer": "1", "solution": 5}], "auto", r"line 1: field 'solution' must be a string"),
    ([{"question": "a", "answer": "72"}], "auto", r"line 1: field 'answer' must contain '####'"),
    ([{"question": "a", "answer": "so ####  "}], "auto", r"line 1: field 'answer' has nothing after '####'"),
    (["[1, 2]"], "auto", r"line 1: expected a JSON object, got list"),
    ([{"prompt": "a", "answer": "1", "id": "x"}, {"prompt": "b", "answer": "2", "id": "x"}], "auto",
     r"line 2: duplicate id 'x' \(first on line 1\)"),
    ([{"prompt": "a", "answer": "1", "id": [1]}], "auto", r"line 1: field 'id' must be a string or an integer"),
    (["", "  "], "auto", r"has no rows"),
])
def test_jsonl_bad_rows_name_line_and_field(tmp_path, lines, fmt, pattern):
    f = _write(tmp_path, lines)
    with pytest.raises(ValueError, match=pattern) as err:
        tasks.load_jsonl(f, format=fmt)
    assert str(f) in str(err.value)
