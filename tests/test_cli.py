"""The ``sharpsim`` command line."""

from __future__ import annotations

import re

import pytest

from sharpsim import cli


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "figures" in out and "describe" in out


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "usage" in capsys.readouterr().out


def test_describe_prints_the_requested_coefficients(capsys):
    rc = cli.main(["describe", "--prompts", "50", "--responses", "100", "--coverage", "20", "--margin", "0.3"])
    assert rc == 0
    out = capsys.readouterr().out
    cov = float(re.search(r"coverage C_cov \(Eq 6\)\s+(\S+)", out).group(1))
    margin = float(re.search(r"margin γ_margin \(Assumption 4.2\)\s+(\S+)", out).group(1))
    assert abs(cov - 20) <= 1e-6 * 20
    assert margin >= 0.3


def test_describe_infeasible_is_a_clean_error(capsys):
    rc = cli.main(["describe", "--responses", "100", "--coverage", "1000"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "`coverage`" in err and "feasible range" in err


def test_figures_list_and_testing_run(tmp_path, capsys):
    assert cli.main(["figures", "--list"]) == 0
    assert "bon_inference" in capsys.readouterr().out
    rc = cli.main(["figures", "--testing", "--out", str(tmp_path), "--only", "bon_inference", "--no-progress"])
    assert rc == 0
    assert (tmp_path / "bon_inference.png").exists()


def test_figures_bad_name_and_modes(tmp_path, capsys):
    assert cli.main(["figures", "--only", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown figure" in capsys.readouterr().err
    assert cli.main(["figures", "--quick", "--full", "--out", str(tmp_path)]) == 2


def test_complexity_reports_m_star_and_resumes(tmp_path, capsys):
    out = tmp_path / "rows.csv"
    args = ["complexity", "--algorithm", "adaptive", "--prompts", "5", "--responses", "16", "--coverage", "4",
            "--seeds", "16", "--out", str(out)]
    assert cli.main(args) == 0
    first = capsys.readouterr().out
    assert "m* = " in first
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 13 * 16  # header + 13 budgets x 16 seeds, written as they finished
    assert cli.main(args) == 0  # a rerun reads the finished budgets back and adds nothing
    assert capsys.readouterr().out == first
    assert out.read_text().splitlines() == lines


def test_complexity_unknown_algorithm_is_a_clean_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["complexity", "--algorithm", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_unknown_cli_command_and_benchmark(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["nope"])
    assert info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert cli.main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'; available:" in capsys.readouterr().err


def test_theorems_command(capsys):
    from sharpsim import cli

    assert cli.main(["theorems"]) == 0
    assert "Prop C.1" in capsys.readouterr().out
    assert cli.main(["theorems", "show", "lemma i.1"]) == 0
    assert "verifier_is_base" in capsys.readouterr().out
    # 20 prompts at C_cov = 8 (homogeneous: π(y*) = 1/8 everywhere): N = 8 gives N·π(y*) = 1 < log 10
    assert cli.main(["theorems", "check", "Prop C.1", "--coverage", "8", "--param", "N=8"]) == 0
    out = capsys.readouterr().out
    assert "FAILS  enough_draws: 1 (threshold 2.30259)" in out and "N needed: 19" in out
    assert cli.main(["theorems", "verify", "Margin lemma", "--margin", "0.2", "--param", "beta=0.01"]) == 0
    out = capsys.readouterr().out
    assert "every assumption holds" in out and "the conclusion holds" in out
    assert cli.main(["theorems", "falsify", "Prop C.1", "--drop", "enough_draws", "--max-examples", "40"]) == 0
    assert "counterexample to Prop C.1" in capsys.readouterr().out
    assert cli.main(["theorems", "check", "Thm 4.1", "--prompts", "4", "--responses", "6", "--coverage", "2",
                     "--decoys", "2", "--param", "eps=0.25"]) == 0
    out = capsys.readouterr().out
    assert "2 decoys per prompt" in out and "holds  realizable" in out and "m = n N:" in out
    # the other statements' instances: the App H family, the hidden direction, Prop E.2's, π*_β's decoys
    assert cli.main(["theorems", "check", "Thm 3.1", "--hard-prompts", "2", "--coverage", "2"]) == 0
    out = capsys.readouterr().out
    assert "App H family (d = 2, M = 51" in out and "holds  bounded_coverage" in out
    assert cli.main(["theorems", "check", "Thm 4.3", "--responses", "6", "--param", "constant=1e-4"]) == 0
    out = capsys.readouterr().out
    assert "hidden_direction(d = 3, |Y| = 6" in out and "every assumption holds" in out and "T: " in out
    assert cli.main(["theorems", "check", "Prop E.2"]) == 0
    assert "prop_e2_instance(n = 3)" in capsys.readouterr().out
    assert cli.main(["theorems", "check", "Thm 4.2", "--prompts", "3", "--responses", "5", "--coverage", "2",
                     "--margin", "0.3", "--decoys", "2"]) == 0
    out = capsys.readouterr().out
    assert "as a finite class" in out and "holds  realizable" in out
    assert cli.main(["theorems", "falsify", "Thm 4.1", "--drop", "finite_class"]) == 2
    assert "no construction that drops 'finite_class'" in capsys.readouterr().err
    assert cli.main(["theorems", "show", "Thm 9"]) == 2
    assert "no theorem 'Thm 9'" in capsys.readouterr().err
    assert cli.main(["theorems", "check", "Prop C.1", "--param", "N"]) == 2
    assert "--param must look like NAME=VALUE" in capsys.readouterr().err
