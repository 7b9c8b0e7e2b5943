"""Every lecture of the seminar (``docs/seminar/``): its cells follow the tagging conventions,
every registered wrong answer is refused, an answer that raises is reported as wrong (not a
crash), the instructor's notebook runs top to bottom with its solutions accepted, and the
students' version (solutions dropped) runs with the stubs refused.

The notebooks run in this process in strict mode (``_notebook.run_notebook``); lecture 7 needs the
``lm`` extra (torch), which CI installs. Nothing here is statistical.
"""

from __future__ import annotations

import pytest

from seminar._notebook import code_cells, notebook, raises, run_notebook
from sharpsim import seminar

#: Per lecture, the names the solutions define and the exercise each answers.
SOLUTIONS = {
    1: {"my_coverage": "1.1", "my_margin": "1.2", "my_bon_law": "1.3", "min_bon_draws": "1.4"},
    2: {"my_lower_bound": "2.1", "family_coverage": "2.2", "min_draws_hard": "2.3"},
    3: {"bon_error": "3.1", "min_bon_N": "3.2", "expected_sft_error": "3.3", "stopping_time": "3.4"},
    4: {"my_kl_optimum": "4.1", "my_objective": "4.2", "my_largest_beta": "4.3", "my_flip_probability": "4.4"},
    5: {"my_linear_coverage": "5.1", "my_hit_probability": "5.2", "my_offline_pairs": "5.3"},
    6: {"my_greedy": "6.1", "certified": "6.2", "my_max_cut": "6.3", "first_n_above_half": "6.4"},
    7: {"my_bon_pick": "7.1", "my_bon_accuracy": "7.2", "my_pass_at_k": "7.3"},
}
LECTURES = sorted(SOLUTIONS)
EXERCISES = [e for lec in LECTURES for e in seminar.exercises(lec)]


@pytest.mark.parametrize("lecture", LECTURES)
def test_the_cells_are_tagged_as_the_conventions_say(lecture):
    cells = code_cells(notebook(lecture))
    stubs = [(tags, src) for tags, src in cells if "student" in tags]
    solutions = [(tags, src) for tags, src in cells if "solution" in tags]
    assert sorted(SOLUTIONS[lecture].values()) == [e.id for e in seminar.exercises(lecture)]
    assert len(stubs) == len(solutions) == len(SOLUTIONS[lecture])
    assert all(set(tags) == {"student", "remove-cell", "skip-execution"} for tags, _ in stubs)
    for name, ex_id in SOLUTIONS[lecture].items():  # stub and solution define the name; a check cell checks it
        assert any(f"def {name}(" in src or f"{name} =" in src for _, src in stubs), name
        assert any(f"def {name}(" in src or f"{name} =" in src for _, src in solutions), name
        assert any(f'seminar.check("{ex_id}", {name})' in src for _, src in cells), ex_id
    assert any("seminar.interactive(" in src for _, src in cells)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.id)
def test_every_registered_wrong_answer_is_refused(ex, monkeypatch):
    monkeypatch.delenv("SHARPSIM_SEMINAR_STRICT", raising=False)
    assert ex.wrong
    for k, wrong in enumerate(ex.wrong):
        result = seminar.check(ex.id, wrong)
        assert not result.ok, f"wrong answer {k} of exercise {ex.id} was accepted"
        assert result.message


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.id)
def test_an_answer_that_raises_is_wrong_not_a_crash(ex, monkeypatch):
    monkeypatch.delenv("SHARPSIM_SEMINAR_STRICT", raising=False)
    result = seminar.check(ex.id, raises)
    assert not result.ok and "RuntimeError" in result.message


@pytest.mark.parametrize("lecture", LECTURES)
def test_notebook_runs_and_its_solutions_are_accepted(lecture, monkeypatch):
    namespace = run_notebook(notebook(lecture), monkeypatch, needs_torch=(lecture == 7))
    for name, ex_id in SOLUTIONS[lecture].items():
        assert seminar.check(ex_id, namespace[name]).ok


@pytest.mark.parametrize("lecture", [1, 2, 3, 4, 5, 6])
def test_the_students_version_runs_with_the_stubs_refused(lecture, monkeypatch):
    namespace = run_notebook(notebook(lecture), monkeypatch, students=True)
    for name, ex_id in SOLUTIONS[lecture].items():
        assert not seminar.check(ex_id, namespace[name]).ok, f"the stub {name} passes {ex_id}"


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("SHARPSIM_SEMINAR_STRICT", "1")
    with pytest.raises(AssertionError, match=r"wrong \(1.1\)"):
        seminar.check("1.1", raises)
    with pytest.raises(KeyError, match=r"unknown exercise '9\.9'"):
        seminar.check("9.9", 1)


def test_registration_and_controls_bad_input():
    from sharpsim.seminar._core import exercise

    with pytest.raises(ValueError, match=r"`id` must look like 'L\.k'"):
        exercise("one", title="t", wrong=[0])
    with pytest.raises(ValueError, match="at least one deliberately wrong answer"):
        exercise("9.1", title="t", wrong=[])
    with pytest.raises(ValueError, match=r"exercise 1\.1 is registered twice"):
        exercise("1.1", title="t", wrong=[0])(lambda answer: None)
    with pytest.raises(ValueError, match=r"control `N`: default 0 is outside \[1, 10\]"):
        seminar.interactive(lambda N: None, N=(0, 1, 10))
    with pytest.raises(ValueError, match="control `k`: the list of options is empty"):
        seminar.interactive(lambda k: None, k=[])
    with pytest.raises(ValueError, match=r"control `x` must be \(default, low, high\[, step\]\)"):
        seminar.interactive(lambda x: None, x=5)
