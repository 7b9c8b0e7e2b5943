"""Data-parallel LoRA training (:mod:`sharpsim.bridge.distributed`): ``sharpsim lm sft`` in two gloo
processes on localhost against the same command in one process, on a tiny random GPT-2 (CPU).

Two processes and one process train on the same data (the draws are seeded per prompt, whichever
rank draws them) with the same global minibatches (the same seeded shuffle) and the same seed, so
the adapters agree up to float32 rounding: one process takes the gradient of a minibatch mean in one
backward pass, two processes take their shards' weighted gradients and sum them (gloo's sum of two
numbers does not depend on their order; the difference is the split of the minibatch, a few float32
ulps per step, carried through 4 AdamW steps). The bound 1e-5 on the adapter weights (largest
entries about 0.2) leaves a wide margin over the difference measured here (7e-8), while a missed
all-reduce (each rank training on its own shard) moved them by 4e-2 when that fault was tried; a
gradient averaged over the ranks instead of weighted by shard size would halve the reported
gradient norm of the steps with an empty shard (asserted to 1e-4), even where clipping hides it
from the weights. Nothing here is statistical.
"""

from __future__ import annotations

import csv
import json
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from bridge._tiny_runs import MAX_NEW  # noqa: E402
from sharpsim import cli as top_cli  # noqa: E402
from sharpsim.bridge import distributed  # noqa: E402
from sharpsim.bridge.runs import RunDir  # noqa: E402

#: the bound on |adapter weight (2 processes) - adapter weight (1 process)| (see the module doc)
ADAPTER_ATOL = 1e-5


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _sft_argv(model_dir, out) -> list:
    # 3 prompts in minibatches of 2: per epoch a minibatch of 2 (shards of 1 and 1) and one of 1
    # (shards of 1 and 0: an empty shard still takes part in the all-reduce, and weights are 1 and 0)
    return ["lm", "sft", "--model", model_dir, "--task", "arithmetic", "--n-prompts", 3, "--max-new-tokens",
            MAX_NEW, "--N", 2, "--epochs", 2, "--batch-size", 2, "--lora-rank", 2, "--lr", 1e-2,
            "--eval-samples", 1, "--no-progress", "--out", out]


def _adapter(out) -> dict:
    from safetensors.torch import load_file

    return load_file(str(out / "adapter" / "adapter_model.safetensors"))


def test_single_process_helpers_are_the_identity():
    assert distributed.world() == (0, 1)
    assert distributed.shard([5, 6, 7]) == [5, 6, 7]
    assert distributed.shard([5, 6, 7, 8, 9], 1, 2) == [6, 8] and distributed.shard([5], 1, 2) == []
    assert list(distributed.my_chunks([[0, 1], [2]])) == [[0, 1], [2]]
    assert distributed.gather_rows([{"a": 1}]) == [{"a": 1}]
    assert distributed.broadcast_object({"x": 2}) == {"x": 2}
    p = torch.nn.Parameter(torch.ones(2))
    assert distributed.all_reduce_gradients([p], 0.25) == 0.25 and p.grad is None  # untouched
    ctx = distributed.setup("cpu")
    assert (ctx.rank, ctx.world_size, ctx.backend, ctx.is_main) == (0, 1, None, True)


def test_non_writer_rundir_reads_and_checks_but_writes_nothing(tmp_path):
    out = tmp_path / "run"
    view = RunDir(out, command="sft", config={"N": 2}, writer=False)
    assert not out.exists()  # not created
    main = RunDir(out, command="sft", config={"N": 2})
    main.append("samples", [{"example_id": "a"}])
    before = sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir())
    view = RunDir(out, command="sft", config={"N": 2}, overwrite=True, writer=False)
    assert view.resumed and view.done("samples") == {"a"}
    view.append("samples", [{"example_id": "b"}])
    view.write_csv("train_curve", [{"step": 1}])
    view.write_json("extra", {"x": 1})
    view.finish({"done": True})
    assert sorted((p.name, p.stat().st_mtime_ns) for p in out.iterdir()) == before  # nothing written or deleted
    with pytest.raises(ValueError, match="config differs in N"):
        RunDir(out, command="sft", config={"N": 3}, writer=False)


def test_xpo_and_placement_flags_are_refused_under_torchrun(model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    common = ["--model", model_dir, "--task", "arithmetic", "--n-prompts", 2, "--out", tmp_path / "o"]
    assert top_cli.main(["lm", "xpo", *map(str, common)]) == 2
    assert "runs in one process" in capsys.readouterr().err
    assert top_cli.main(["lm", "sft", *map(str, common), "--device-map", "auto"]) == 2
    assert "--tensor-parallel/--device-map in a 2-process" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _bon_argv(model_dir, out, *flags) -> list:
    return ["lm", "bon", "--model", model_dir, "--task", "arithmetic", "--n-prompts", 3, "--max-new-tokens",
            MAX_NEW, "--N", 2, "--n-boot", 10, "--rewards", "loglik", "--no-progress", "--out", out, *flags]


def _jsonl(path) -> list:
    return [json.loads(line) for line in path.open()]


def test_two_gloo_processes_draw_and_train_what_one_process_does(model_dir, tmp_path, one_thread):
    import torch.multiprocessing as mp

    from bridge._ddp_worker import run_rank

    single, runs, report = tmp_path / "single", tmp_path / "runs", tmp_path / "report"
    report.mkdir()
    assert top_cli.main([str(a) for a in _bon_argv(model_dir, single / "bon")]) == 0
    assert top_cli.main([str(a) for a in _sft_argv(model_dir, single / "sft")]) == 0
    # in 2 processes: bon (a chunk of 1 prompt per rank), then sft twice (the second resumes), its
    # sampling chunks of 1 prompt so that both ranks draw
    bon = [str(a) for a in _bon_argv(model_dir, runs / "bon", "--chunk-prompts", 1)]
    sft = [str(a) for a in _sft_argv(model_dir, runs / "sft")]
    mp.spawn(run_rank, args=(2, _free_ports(3), [bon, sft, sft], str(runs), str(report), 1), nprocs=2, join=True)
    ranks = [json.loads((report / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["codes"] for r in ranks] == [[0, 0, 0], [0, 0, 0]]
    assert ranks[1]["writes"] == []  # rank 1 wrote nothing under the run directories ...
    for name in ("bon/summary.json", "bon/lift_vs_n.png", "sft/summary.json", "sft/train_curve.png"):
        assert (runs / name).is_file(), name  # ... rank 0 wrote them

    # bon: the same draws and greedy responses, in the same order
    for table in ("samples", "greedy", "prompts"):
        one, two = _jsonl(single / "bon" / f"{table}.jsonl"), _jsonl(runs / "bon" / f"{table}.jsonl")
        assert [r["example_id"] for r in one] == [r["example_id"] for r in two]
        if table != "prompts":
            assert [r["tokens"] for r in one] == [r["tokens"] for r in two]
            np.testing.assert_allclose([r["log_prob"] for r in one], [r["log_prob"] for r in two], rtol=0, atol=1e-5)
    # sft: the same draws (each prompt drawn by one rank, seeded by its identity) ...
    one, two = _jsonl(single / "sft" / "samples.jsonl"), _jsonl(runs / "sft" / "samples.jsonl")
    assert len(two) == 3  # the resumed invocation appended nothing
    for a, b in zip(one, two):
        assert a["example_id"] == b["example_id"] and a["tokens"] == b["tokens"] and a["pick"] == b["pick"]
        np.testing.assert_allclose(a["log_prob"], b["log_prob"], rtol=0, atol=1e-5)
    # ... the same optimiser steps (global minibatch loss, gradient norm and learning rate per step) ...
    one, two = ([row for row in csv.DictReader((d / "sft" / "train_curve.csv").open())] for d in (single, runs))
    assert len(one) == len(two) == 4  # 2 epochs x 2 minibatches
    for a, b in zip(one, two):
        assert (a["step"], a["epoch"], float(a["lr"])) == (b["step"], b["epoch"], float(b["lr"]))
        assert float(b["loss"]) == pytest.approx(float(a["loss"]), rel=1e-5)
        assert float(b["grad_norm"]) == pytest.approx(float(a["grad_norm"]), rel=1e-4)
    # ... and the same adapter
    w1, w2 = _adapter(single / "sft"), _adapter(runs / "sft")
    assert sorted(w1) == sorted(w2)
    diff = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
    assert diff <= ADAPTER_ATOL
    assert max(float(w.abs().max()) for w in w1.values()) > 1e-3  # the adapter was trained
    manifest = json.loads((runs / "sft" / "manifest.json").read_text())
    assert len(manifest["invocations"]) == 2 and manifest["finished"]
    summary = json.loads((runs / "sft" / "summary.json").read_text())
    assert summary["placement"] == {"world_size": 2, "tensor_parallel": 1, "device_map": None}
