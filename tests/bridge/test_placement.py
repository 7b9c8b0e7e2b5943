"""Placing a model larger than one device: ``tensor_parallel`` (vLLM's ``tensor_parallel_size`` and the
Hugging Face model over GPUs ``0..K-1``) and ``device_map`` (accelerate), on a tiny random GPT-2 (CPU).

vLLM is the stand-in of ``test_vllm_backend.py`` (no real engine runs here). The GPU placement is
checked through the keywords ``from_pretrained`` receives, with the CUDA device count and free
memory faked; accelerate's own placement runs for real on the CPU: ``device_map="auto"`` (one
device: the plain load) and a memory cap that offloads the layers to disk (accelerate's dispatch
hooks then load each layer's weights for its forward pass). The same float32 weights go through
the same CPU kernels either way, so the scores are equal; the stated bound, 1e-6 nats, only allows
for a different blocking of the same sums. Nothing here is statistical.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from bridge.test_vllm_backend import _LLM, _Params  # noqa: E402
from sharpsim import cli as top_cli  # noqa: E402
from sharpsim.bridge import scoring  # noqa: E402
from sharpsim.bridge.policy import LMPolicy  # noqa: E402

PROMPTS = ["1+2=", "3*4=", "7-5="]
RESPONSES = ["3", "12", "2"]
#: scores of the same weights placed differently on the CPU agree to this (nats; see the module doc)
SCORE_ATOL = 1e-6


@pytest.fixture
def fake_vllm(monkeypatch):
    _LLM.instances.clear()
    monkeypatch.setitem(sys.modules, "vllm", SimpleNamespace(LLM=_LLM, SamplingParams=_Params))
    return _LLM


@pytest.fixture
def fake_gpus(monkeypatch):
    """Pretend 4 CUDA devices with 10, 20, 30, 40 GB free, and record ``from_pretrained``'s placement
    keywords (the load itself runs on the CPU without them)."""
    seen: list[dict] = []
    original = transformers.AutoModelForCausalLM.from_pretrained

    def recording(path, *args, **kw):
        seen.append({k: kw.pop(k) for k in ("device_map", "max_memory", "offload_folder") if k in kw})
        kw["dtype"] = torch.float32
        return original(path, *args, **kw)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: ((i + 1) * 10 * 2**30, 80 * 2**30))
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", recording)
    return seen


def test_vllm_engine_receives_tensor_parallel_size(policy, fake_vllm):
    sharded = LMPolicy(policy.model, policy.tokenizer, device=policy.device, path=policy.path, tensor_parallel=4)
    out = sharded.sample(PROMPTS[:2], n=2, max_new_tokens=3, seed=0, backend="vllm")
    assert out.settings["backend"] == "vllm"
    assert fake_vllm.instances[0].kw["tensor_parallel_size"] == 4
    LMPolicy.from_pretrained(policy.path, device="cpu").sample(PROMPTS[:1], n=1, max_new_tokens=2, seed=0,
                                                               backend="vllm")
    assert fake_vllm.instances[1].kw["tensor_parallel_size"] == 1  # the default: one GPU


def test_auto_backend_never_picks_vllm_inside_a_multi_process_job(policy, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real(name, *a))
    on_gpu = LMPolicy(policy.model, policy.tokenizer, device=torch.device("cuda"), path=policy.path)  # no move
    assert on_gpu._vllm_usable()  # one process: vLLM when it is installed and the model is on a GPU
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda *a: 2)
    assert not on_gpu._vllm_usable()


def test_tensor_parallel_places_the_hf_model_over_k_gpus(model_dir, fake_gpus, fake_vllm):
    pol = LMPolicy.from_pretrained(model_dir, tensor_parallel=2)
    assert fake_gpus[-1] == {"device_map": "auto", "max_memory": {0: 10 * 2**30, 1: 20 * 2**30}}  # GPUs 0, 1 only
    assert pol.tensor_parallel == 2
    pol.sample(PROMPTS[:1], n=1, max_new_tokens=2, seed=0, backend="vllm")
    assert fake_vllm.instances[-1].kw["tensor_parallel_size"] == 2
    LMPolicy.from_pretrained(model_dir, device_map="auto", tensor_parallel=3)
    assert fake_gpus[-1] == {"device_map": "auto"}  # device_map given: accelerate uses every GPU
    LMPolicy.from_pretrained(model_dir, device="cpu")
    assert fake_gpus[-1] == {}  # one device: no placement keywords


def test_device_map_auto_on_cpu_scores_equal_the_plain_load(model_dir, policy):
    want = policy.log_prob(PROMPTS, RESPONSES)
    auto = LMPolicy.from_pretrained(model_dir, device_map="auto")
    assert auto.device == torch.device("cpu")
    np.testing.assert_allclose(auto.log_prob(PROMPTS, RESPONSES), want, rtol=0, atol=SCORE_ATOL)
    a = auto.sample(PROMPTS[:2], n=2, max_new_tokens=4, seed=3)
    b = policy.sample(PROMPTS[:2], n=2, max_new_tokens=4, seed=3)
    assert a.tokens == b.tokens
    np.testing.assert_allclose(a.log_prob, b.log_prob, rtol=0, atol=SCORE_ATOL)


def test_accelerate_dispatch_with_disk_offload_scores_equal_the_plain_load(model_dir, policy, tmp_path):
    # a 60 kB cap is below the model's size: accelerate offloads layers to disk and hooks them
    off = LMPolicy.from_pretrained(model_dir, device_map="auto", max_memory={"cpu": 60_000},
                                   offload_folder=tmp_path / "offload")
    assert "disk" in set(off.model.hf_device_map.values())
    assert off.device == torch.device("cpu") == scoring.input_device(off.model)  # the hook's execution device
    np.testing.assert_allclose(off.log_prob(PROMPTS, RESPONSES), policy.log_prob(PROMPTS, RESPONSES), rtol=0,
                               atol=SCORE_ATOL)


@pytest.mark.parametrize("kwargs, match", [
    (dict(tensor_parallel=0), "tensor_parallel must be an integer >= 1, got 0"),
    (dict(tensor_parallel=1.5), "tensor_parallel must be an integer >= 1"),
    (dict(tensor_parallel=True), "tensor_parallel must be an integer >= 1"),
    (dict(tensor_parallel=2), "tensor_parallel=2 needs 2 CUDA devices, found 0"),
    (dict(tensor_parallel=2, device="cpu"), "device must be None or 'cuda'"),
    (dict(device_map="balanced"), "device_map must be None, 'auto' or a dict"),
    (dict(device_map="auto", device="cpu"), "give device or device_map, not both"),
    (dict(max_memory={"cpu": 10}), "max_memory and offload_folder need device_map"),
    (dict(device_map="auto", max_memory=10), "max_memory must be a dict"),
])
def test_bad_placement_is_one_clear_error(model_dir, monkeypatch, kwargs, match):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without CUDA
    with pytest.raises(ValueError, match=match):
        LMPolicy.from_pretrained(model_dir, **kwargs)


def _bon(model_dir, out, *flags) -> list:
    return ["lm", "bon", "--model", model_dir, "--task", "arithmetic", "--n-prompts", 2, "--N", 2,
            "--max-new-tokens", 4, "--n-boot", 10, "--rewards", "loglik", "--no-progress", "--out", out, *flags]


@pytest.mark.parametrize("flags, match", [
    (["--tensor-parallel", 0], "--tensor-parallel must be an integer >= 1, got 0"),
    (["--tensor-parallel", 2], "--tensor-parallel 2 needs 2 CUDA devices, found 0; use --device-map auto"),
    (["--tensor-parallel", 2, "--device", "cpu"], "--tensor-parallel 2 spans GPUs 0..1"),
    (["--device-map", "auto", "--device", "cpu"], "--device-map auto places the model itself"),
])
def test_cli_bad_placement_flags(model_dir, tmp_path, capsys, monkeypatch, flags, match):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without CUDA
    assert top_cli.main([str(a) for a in _bon(model_dir, tmp_path / "o", *flags)]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before the run directory is made


def test_cli_device_map_auto_draws_what_the_plain_load_draws(model_dir, tmp_path, one_thread):
    assert top_cli.main([str(a) for a in _bon(model_dir, tmp_path / "plain")]) == 0
    assert top_cli.main([str(a) for a in _bon(model_dir, tmp_path / "auto", "--device-map", "auto")]) == 0
    rows = [[json.loads(line) for line in (tmp_path / d / "samples.jsonl").open()] for d in ("plain", "auto")]
    assert [r["tokens"] for r in rows[0]] == [r["tokens"] for r in rows[1]]
    np.testing.assert_allclose([r["log_prob"] for r in rows[0]], [r["log_prob"] for r in rows[1]], rtol=0,
                               atol=SCORE_ATOL)
    summary = json.loads((tmp_path / "auto" / "summary.json").read_text())
    assert summary["placement"] == {"world_size": 1, "tensor_parallel": 1, "device_map": "auto"}
    # placement does not change results, so it is not part of the run's config: a resume may change it
    assert "device_map" not in json.loads((tmp_path / "auto" / "manifest.json").read_text())["config"]
    assert top_cli.main([str(a) for a in _bon(model_dir, tmp_path / "auto")]) == 0
