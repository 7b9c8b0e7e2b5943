"""The JSONL loader for user data (:mod:`sharpsim.bridge.tasks.jsonl`): the prompt and GSM8K formats,
canonical answers with units and any marker, seeds and ``n``, and bad files and rows ("JSONL rows
missing fields") named by line and field. All tests are deterministic (no statistical assertions,
false-failure probability 0).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sharpsim.bridge import tasks

pytestmark = pytest.mark.no_torch  # pure Python: runs without the lm extra


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

