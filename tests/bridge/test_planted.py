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
                            "--sft-epochs", "2"]) == 0
    finally:
        torch.set_num_threads(before)
    out = tmp_path / "run"
    for name in ("planted.csv", "planted.json", "planted.png", "model/train_manifest.json", "bon/lift_vs_n.csv"):
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
