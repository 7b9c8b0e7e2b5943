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
