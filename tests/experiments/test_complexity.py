"""``sharpsim complexity``'s measurement (``experiments.complexity``): the CLI prints :func:`report`
of :func:`measure`, and bad input names the argument."""

from __future__ import annotations

import pytest

from sharpsim import cli
from sharpsim.experiments import complexity


def test_cli_prints_the_report_of_measure(capsys):
    measured = complexity.measure("sft", num_prompts=3, num_responses=8, coverage=2.0, num_seeds=8, n=6)
    text = complexity.report(measured)
    assert cli.main(["complexity", "--algorithm", "sft", "--prompts", "3", "--responses", "8", "--coverage", "2",
                     "--seeds", "8", "--n", "6"]) == 0
    assert capsys.readouterr().out == text + "\n"
    # the SFT grid is round(C · 2^{k/2}), k = -4..8, floored at 1 and deduplicated: C = 2 gives ten budgets
    assert list(measured.result.budgets) == [1, 2, 3, 4, 6, 8, 11, 16, 23, 32]
    assert measured.budget_label == "N (draws per prompt; n = 6)"
    assert measured.result.errors.shape == (10, 8)


def test_adaptive_uses_thm_d1_stop_level():
    measured = complexity.measure("adaptive", num_prompts=2, num_responses=8, coverage=2.0, num_seeds=4, delta=0.1)
    assert "mu = ln(2/delta) = 3" in measured.budget_label  # ln 20 = 2.996
    # the n grid is round(|X| · 2^{k/2}), k = 0..12: |X| = 2 gives 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128
    assert list(measured.result.budgets) == [2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128]


def test_unknown_algorithm_names_the_argument():
    with pytest.raises(ValueError, match="`algorithm`"):
        complexity.measure("nope", num_prompts=2, num_responses=8, coverage=2.0)
