"""Bridge tests need the 'lm' extra. They skip without it locally, but CI (CI=true) installs the
extra, so there a missing torch is an error rather than a silent skip."""

from __future__ import annotations

import importlib.util
import os

import pytest

_HAVE_LM = all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "peft"))

if not _HAVE_LM and os.environ.get("CI", "").lower() == "true":  # pragma: no cover
    raise RuntimeError("CI=true but the 'lm' extra (torch, transformers, peft) is not installed; "
                       ".ci/run must install it")


def pytest_collection_modifyitems(config, items):
    if _HAVE_LM:
        return
    skip = pytest.mark.skip(reason="needs the 'lm' extra: pip install torch==2.13.0 'sharpsim[lm]'")
    for item in items:
        if "tests/bridge/" in str(item.fspath).replace(os.sep, "/") and "no_torch" not in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def one_thread():
    """One intra-op torch thread for the test (tests share 2 cores with other jobs; one thread is
    several times faster under load); the previous setting is restored."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A random tiny GPT-2 (seed 0, :func:`sharpsim.bridge.tiny.save_random_tiny`), saved once per
    pytest run; the tests only read it."""
    from sharpsim.bridge import tiny

    return tiny.save_random_tiny(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def policy(model_dir):
    """The random tiny model as an ``LMPolicy`` on CPU, one per test module."""
    from sharpsim.bridge.policy import LMPolicy

    return LMPolicy.from_pretrained(model_dir, device="cpu")


@pytest.fixture(scope="session")
def sft_result(model_dir):
    """One SFT-Sharpening run (N = 3, LoRA rank 4, 4 epochs) on the tiny model; the tests only read it."""
    from bridge._tiny_runs import EXAMPLES, MAX_NEW, TASK, fresh_policy
    from sharpsim.bridge import sft

    config = sft.SFTConfig(N=3, lora_rank=4, lr=1e-2, epochs=4, max_new_tokens=MAX_NEW, seed=0, eval_samples=2)
    return sft.sft_sharpen(fresh_policy(model_dir), EXAMPLES, TASK, config)
