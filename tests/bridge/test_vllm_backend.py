"""The optional vLLM sampling backend, checked against a stand-in ``vllm`` module.

vLLM is not installed here (it needs a CUDA build of torch) and no GPU is lent, so these tests
check our side of the contract — the requests and SamplingParams we build, how outputs become
``Samples`` (EOS put back, teacher-forced scores) and the dispatch rules — against a fake module
with vLLM's documented interface (``LLM(...)``, ``LLM.generate(requests, params, use_tqdm=)`` →
outputs with ``.outputs[j].token_ids``, ``.finish_reason``, ``.stop_reason``). It has not been run
against a real vLLM engine.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest

pytest.importorskip("torch")

from sharpsim.bridge.policy import LMPolicy


class _Params:
    def __init__(self, **kw):
        self.kw = kw


class _LLM:
    instances: ClassVar[list] = []

    def __init__(self, **kw):
        self.kw = kw
        self.calls = []
        _LLM.instances.append(self)

    def generate(self, requests, params, use_tqdm=False):
        self.calls.append((requests, params))
        outs = []
        for p in params:
            comps = []
            for j in range(p.kw["n"]):
                if j % 2 == 0:  # stopped on EOS, EOS left out of token_ids: must be put back
                    comps.append(SimpleNamespace(token_ids=[5, 6], finish_reason="stop", stop_reason=None))
                else:
                    comps.append(SimpleNamespace(token_ids=[7] * p.kw["max_tokens"], finish_reason="length",
                                                 stop_reason=None))
            outs.append(SimpleNamespace(outputs=comps))
        return outs


def test_vllm_backend_builds_requests_and_samples(policy, monkeypatch):
    _LLM.instances.clear()
    monkeypatch.setitem(sys.modules, "vllm", SimpleNamespace(LLM=_LLM, SamplingParams=_Params))
    prompts = ["1+2=", "3*4="]
    out = policy.sample(prompts, n=3, temperature=0.7, top_p=0.9, max_new_tokens=4, seed=11, prompt_ids=[5, 9],
                        backend="vllm")
    assert out.settings["backend"] == "vllm" and len(_LLM.instances) == 1
    engine = _LLM.instances[0]
    assert engine.kw["model"] == str(policy.path) and engine.kw["trust_remote_code"] is False
    requests, params = engine.calls[0]
    assert [r["prompt_token_ids"] for r in requests] == policy.encode_prompts(prompts)
    for p in params:
        assert (p.kw["n"], p.kw["temperature"], p.kw["top_p"], p.kw["max_tokens"], p.kw["top_k"]) == (3, 0.7, 0.9, 4, -1)
        assert p.kw["stop_token_ids"] == [policy.eos_token_id]
    assert params[0].kw["seed"] != params[1].kw["seed"]  # seeded per prompt identity
    eos = policy.eos_token_id
    assert out.tokens[0] == [5, 6, eos] and bool(out.hit_eos[0])
    assert out.tokens[1] == [7, 7, 7, 7] and not bool(out.hit_eos[1])
    np.testing.assert_array_equal(out.prompt_index, [0, 0, 0, 1, 1, 1])
    enc = policy.encode_prompts(prompts)
    expect = policy.log_prob_ids([enc[i] for i in out.prompt_index], out.tokens)
    np.testing.assert_allclose(out.log_prob, expect, rtol=0, atol=0)
    # the engine is built once and reused
    policy.sample(prompts, n=1, max_new_tokens=2, seed=0, backend="vllm")
    assert len(_LLM.instances) == 1


def test_auto_uses_hf_on_cpu_even_with_vllm_importable(policy, monkeypatch):
    _LLM.instances.clear()
    monkeypatch.setitem(sys.modules, "vllm", SimpleNamespace(LLM=_LLM, SamplingParams=_Params))
    out = policy.sample(["1+2="], n=2, max_new_tokens=3, seed=0)
    assert out.settings["backend"] == "hf" and _LLM.instances == []


def test_vllm_backend_errors(policy, monkeypatch, tmp_path):
    fresh = LMPolicy.from_pretrained(policy.path, device="cpu")
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(ImportError, match="pip install vllm"):
        fresh.sample(["1+2="], n=1, max_new_tokens=2, seed=0, backend="vllm")
    with pytest.raises(ValueError, match="backend"):
        fresh.sample(["1+2="], n=1, max_new_tokens=2, seed=0, backend="jax")
    monkeypatch.setitem(sys.modules, "vllm", SimpleNamespace(LLM=_LLM, SamplingParams=_Params))
    in_memory = LMPolicy.from_model(fresh.model, fresh.tokenizer)
    with pytest.raises(ValueError, match="from_pretrained"):
        in_memory.sample(["1+2="], n=1, max_new_tokens=2, seed=0, backend="vllm")
