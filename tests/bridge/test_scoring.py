"""scoring.response_log_probs equals a hand computation, token by token, with padding masked."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from bridge._hand import log_prob_by_hand  # noqa: E402  (tests/ is the import root)
from sharpsim.bridge import scoring  # noqa: E402


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(n_layer=2, n_head=2, n_embd=16, vocab_size=13, n_positions=32,
                                  bos_token_id=0, eos_token_id=1, pad_token_id=2)
    return transformers.GPT2LMHeadModel(cfg).eval()


def test_matches_hand_computation_with_padding(model):
    prompts = [[0, 5, 6], [0], [0, 7, 8, 9, 10]]
    responses = [[3, 4, 1], [11, 12, 3, 5, 6, 1], [4]]
    batch = scoring.pack(prompts, responses, pad_token_id=2)
    with torch.no_grad():
        got = scoring.response_log_probs(model, batch)
    assert got.dtype == torch.float32
    for i, (p, r) in enumerate(zip(prompts, responses)):
        assert math.isclose(float(got[i]), log_prob_by_hand(model, p, r), rel_tol=1e-5, abs_tol=1e-5)


def test_truncate_at_eos_keeps_the_eos():
    assert scoring.truncate_at_eos([3, 4, 1, 5, 1], 1) == ([3, 4, 1], True)
    assert scoring.truncate_at_eos([3, 4], 1) == ([3, 4], False)
    assert scoring.truncate_at_eos([3, 4], None) == ([3, 4], False)


def test_empty_prompt_is_a_clear_error(model):
    batch = scoring.pack([[]], [[3, 4]], pad_token_id=2)
    with pytest.raises(ValueError, match="non-empty prompt"):
        scoring.response_log_probs(model, batch)


def test_pack_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        scoring.pack([[0]], [[1], [2]], pad_token_id=2)
