"""sharpsim.bridge.planted: the core's exact predictions read off an LM's own log-probs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sharpsim.bridge import planted
from sharpsim.bridge.tasks.planted import Planted

TASK = Planted(prompts=3, p_mode=0.4, margin=0.1, wrong=3, ambiguous=1)


@pytest.fixture(scope="module")
def preds(policy):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return planted.core_predictions(policy, TASK, Ns=(1, 2, 64), ks=(1, 3))
    finally:
        torch.set_num_threads(before)


def test_answer_law_is_the_models_log_probs(policy, one_thread):
    law = planted.answer_law(policy, TASK)
    assert law["probs"].shape == (3, 4)
    direct = np.exp(policy.log_prob([TASK.prompt(1)], [TASK.candidates(1)[2]]))[0]
    assert math.isclose(law["probs"][1, 2], direct, rel_tol=1e-6)
    assert np.allclose(law["outside_mass"], 1 - law["probs"].sum(axis=1))
    assert np.all(law["outside_mass"] > 0)  # a random model spreads mass over every string


def test_predictions_are_consistent(preds):
    law = np.asarray(preds["law"])
    assert np.allclose(law.sum(axis=1), 1.0)
    # one draw: BoN at N = 1 and pass@1 are the mean probability of the correct answer
    assert math.isclose(preds["sample_accuracy"], law[:, 0].mean(), rel_tol=1e-9)
    assert math.isclose(preds["bon_accuracy"][1], preds["sample_accuracy"], rel_tol=1e-9)
    assert math.isclose(preds["pass_at_k"][1], preds["sample_accuracy"], rel_tol=1e-9)
    assert math.isclose(preds["pass_at_k"][3], np.mean(1 - (1 - law[:, 0]) ** 3), rel_tol=1e-9)
    # BoN at large N picks the model's own mode: accuracy -> fraction of prompts whose mode is correct
    assert math.isclose(preds["bon_accuracy"][64], preds["mode_correct"], abs_tol=1e-3)
    assert preds["bon_mode"][64] > 0.999
    assert math.isclose(preds["coverage"], np.mean(1 / law.max(axis=1)), rel_tol=1e-6)
    for k, (row, m) in enumerate(zip(preds["prompts"], law.argmax(axis=1))):
        assert row["prompt"] == TASK.prompt(k) and row["mode"] == TASK.candidates(k)[m]
        assert row["mode_is_correct"] == (m == 0)
        assert row["greedy_is_mode"] == (row["greedy"] == row["mode"])


def test_planted_law_predictions_match_closed_forms():
    p = planted.planted_predictions(TASK, Ns=(1, 2), ks=(2,))
    q = TASK.law  # (0.4, 0.3, 0.15, 0.15)
    assert math.isclose(p["sample_accuracy"], 0.4, rel_tol=1e-9)
    assert math.isclose(p["coverage"], 1 / 0.4, rel_tol=1e-9)
    assert math.isclose(p["margin"], 0.4 / 0.3 - 1, rel_tol=1e-9)
    # BoN at N = 2 under r = log π: correct iff some draw is correct (it is the unique mode)
    assert math.isclose(p["bon_accuracy"][2], 1 - (1 - q[0]) ** 2, rel_tol=1e-9)
    assert math.isclose(p["pass_at_k"][2], 1 - (1 - q[0]) ** 2, rel_tol=1e-9)
    assert p["mode_correct"] == 1.0


def test_bad_input_is_refused(policy):
    with pytest.raises(ValueError, match="task must be a Planted task"):
        planted.answer_law(policy, object())
    with pytest.raises(ValueError, match="Ns must be"):
        planted.planted_predictions(TASK, Ns=(0,))
    with pytest.raises(ValueError, match="column 0"):
        planted.predictions_from_law(np.array([[0.0, 1.0]]))


def _brute_crossover(p_base, p_other, k_max):
    """First k with 1 - mean (1 - p_base)^k > 1 - mean (1 - p_other)^k, directly in float64."""
    for k in range(1, k_max + 1):
        if np.mean((1 - p_other) ** k) > np.mean((1 - p_base) ** k):
            return k
    return None


def test_exact_crossover_equals_brute_force():
    # base: correct mass 0.4 or 0.3; sharpened: 0.95 on three prompts, 0.02 on the fourth (arg-max wrong)
    base = np.array([[0.4, 0.6], [0.4, 0.6], [0.3, 0.7], [0.3, 0.7]])
    other = np.array([[0.95, 0.05], [0.95, 0.05], [0.95, 0.05], [0.02, 0.98]])
    out = planted.exact_crossover(base, other, k_max=200)
    assert out == {"k_star": _brute_crossover(base[:, 0], other[:, 0], 200), "k_max": 200, "dominated": False}
    assert out["k_star"] == 4  # 1 - mean(0.6^4, 0.6^4, 0.7^4, 0.7^4) = 0.815 > 0.7625; at k = 3: 0.72 < 0.7618
    # rows are renormalised: scaling a row does not move k*
    assert planted.exact_crossover(base * 0.5, other, k_max=200)["k_star"] == 4
    # the sharpened law has at least the base's correct mass on every prompt: never crossed, at any k
    dom = planted.exact_crossover(base, np.array([[0.9, 0.1]] * 4), k_max=1 << 16)
    assert dom == {"k_star": None, "k_max": 1 << 16, "dominated": True}
    # a crossing too far out for k_max is reported as none
    assert planted.exact_crossover(base, other, k_max=3)["k_star"] is None


def test_with_outside_mass_counts_the_outside_as_wrong():
    raw = np.array([[0.3, 0.5], [0.6, 0.2]])  # 0.2 outside the candidates on both prompts
    full = planted.with_outside_mass(raw)
    assert np.allclose(full, [[0.3, 0.5, 0.2], [0.6, 0.2, 0.2]])
    p = planted.predictions_from_law(full, Ns=(1,), ks=(1, 3))
    assert math.isclose(p["pass_at_k"][3], 1 - np.mean((1 - raw[:, 0]) ** 3), rel_tol=1e-9)
    renorm = planted.predictions_from_law(raw, Ns=(1,), ks=(1,))
    assert math.isclose(renorm["pass_at_k"][1], np.mean(raw[:, 0] / raw.sum(axis=1)), rel_tol=1e-9)
    assert p["pass_at_k"][1] < renorm["pass_at_k"][1]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: planted.exact_crossover([[0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]]), "one shape"),
        (lambda: planted.exact_crossover([[0.0, 1.0]], [[0.5, 0.5]]), "base_probs must be"),
        (lambda: planted.exact_crossover([[0.5, 0.5]], [[0.5, -0.5]]), "other_probs must be"),
        (lambda: planted.exact_crossover([[0.5, 0.5]], [[0.5, 0.5]], k_max=0), "k_max must be an integer >= 1"),
        (lambda: planted.with_outside_mass([[0.7, 0.6]]), "sum to at most 1"),
        (lambda: planted.with_outside_mass([0.5, 0.5]), "finite non-negative"),
    ],
)
def test_crossover_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_paper_repro_planted_script_micro(tmp_path):
    """``paper_repro/lm/planted.py`` end to end on a micro setting (30 training steps, N = 4, 8 prompts;
    SFT-Sharpening with N = 2 on 8 prompts for 2 epochs): the comparison table is written, its exact and
    measured columns agree where they must, and the SFT step's accuracies are present and finite."""
    import csv
    import importlib.util
    import json
    from pathlib import Path

    import torch

    path = Path(__file__).resolve().parents[2] / "paper_repro" / "lm" / "planted.py"
    spec = importlib.util.spec_from_file_location("paper_repro_lm_planted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    before = torch.get_num_threads()
    try:
        assert module.main(["--out", str(tmp_path / "run"), "--steps", "30", "--examples", "200",
                            "--n-prompts", "8", "--N", "4", "--sft-N", "2", "--sft-prompts", "8",
                            "--sft-epochs", "2", "--passk-N", "4", "--passk-prompts", "8", "--flawed-prompts", "2"]) == 0
    finally:
        torch.set_num_threads(before)
    out = tmp_path / "run"
    for name in ("planted.csv", "planted.json", "planted.png", "model/train_manifest.json", "bon/lift_vs_n.csv",
                 "planted_passk.csv", "planted_passk.png", "passk_base/passk.csv", "passk_sft/passk.csv",
                 "sft/adapter/adapter_config.json"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "model" / "train_manifest.json").read_text())
    assert manifest["task"]["name"] == "planted" and manifest["n_pairs"] == 200
    rows = list(csv.DictReader(open(out / "planted.csv")))
    assert [int(r["N"]) for r in rows] == [1, 2, 4]
    for r in rows:
        # the correct answer is the planted law's unique mode: BoN under log pi is pass@N there
        assert math.isclose(float(r["bon_exact_planted_law"]), 1 - 0.6 ** int(r["N"]), rel_tol=1e-9)
        assert 0 <= float(r["bon_low"]) <= float(r["bon_measured"]) <= float(r["bon_high"]) <= 1
    assert math.isclose(float(rows[0]["bon_measured"]), float(rows[0]["pass_measured"]), rel_tol=1e-9)
    assert math.isclose(float(rows[0]["bon_exact_model_law"]), float(rows[0]["pass_exact_model_law"]), rel_tol=1e-9)
    summary = json.loads((out / "planted.json").read_text())
    assert len(summary["model_law"]["prompts"]) == 8
    sft = summary["sft"]
    assert sft["N"] == 2 and sft["epochs"] == 2
    for key in ("base_exact", "bon_exact_base_law", "tuned_exact", "tuned_greedy", "picks_correct"):
        assert 0 <= sft[key] <= 1 and math.isfinite(sft[key]), key
        if key != "picks_correct":
            assert all(float(r[f"sft_{key}"]) == sft[key] for r in rows), key
    # the base's exact accuracy and its pi^BoN_2 are the model-law columns at N = 1 and N = 2
    assert math.isclose(sft["base_exact"], float(rows[0]["bon_exact_model_law"]), rel_tol=1e-9)
    assert math.isclose(sft["bon_exact_base_law"], float(rows[1]["bon_exact_model_law"]), rel_tol=1e-9)
    assert np.allclose(np.asarray(sft["tuned_law"]).sum(axis=1), 1.0)
    # step 5: pass@k of the base and the SFT model, measured (every k up to n) next to exact
    pk = list(csv.DictReader(open(out / "planted_passk.csv")))
    assert {(r["verifier"], r["model"]) for r in pk} == {(v, m) for v in ("planted", "flawed") for m in ("base", "sft")}
    assert sorted({int(r["k"]) for r in pk}) == [1, 2, 3, 4]
    got = summary["passk"]
    assert got["N"] == 4 and got["prompts"] == 8
    # the adapter the pass@k run loaded is the model SFT trained: the same answer law
    assert got["sft_reload_max_abs_diff"] < 1e-5
    for r in pk:
        assert 0 <= float(r["pass_low"]) <= float(r["pass_measured"]) <= float(r["pass_high"]) <= 1
        if r["verifier"] == "planted" and r["model"] == "base":
            # the base's exact pass@k is the model-law column of step 3, less the mass outside the candidates
            assert float(r["pass_exact"]) <= float(r["pass_exact_candidates"]) + 1e-12
    base_k1 = next(r for r in pk if r["verifier"] == "planted" and r["model"] == "base" and r["k"] == "1")
    assert math.isclose(float(base_k1["pass_exact_candidates"]), float(rows[0]["pass_exact_model_law"]), rel_tol=1e-9)
    for reading in (got["crossover"], got["flawed"]["crossover"]):
        m = reading["measured"]
        assert m["k_max"] == 4 and (m["k_star"] is None or 1 <= m["k_star"] <= 4)
        assert reading["exact"]["k_max"] == 1 << 16
    assert got["flawed"]["prompts"] == ["Q0=", "Q1="]
