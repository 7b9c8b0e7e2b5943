"""LMPolicy: loading, the character tokenizer, sampling (seeding, EOS, OOM), greedy, scoring by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from bridge._hand import log_prob_by_hand  # noqa: E402  (tests/ is the import root)
from sharpsim.bridge import tiny  # noqa: E402
from sharpsim.bridge.policy import LMPolicy, Samples  # noqa: E402

PROMPTS = ["12+3=", "a", "hello world\n", "x*y"]


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def _argmax_by_hand(model, prompt, steps, eos):
    ctx, out = list(prompt), []
    for _ in range(steps):
        with torch.no_grad():
            tok = int(model(input_ids=torch.tensor([ctx])).logits[0, -1].argmax())
        out.append(tok)
        ctx.append(tok)
        if tok == eos:
            break
    return out


# ---------------------------------------------------------------- loading and bad paths
def test_from_pretrained_loads_the_saved_tiny_model(policy, model_dir):
    assert policy.path == model_dir
    assert policy.device == torch.device("cpu")
    assert not policy.model.training
    assert next(policy.model.parameters()).dtype == torch.float32
    assert (policy.pad_token_id, policy.eos_token_id) == (0, 2)


def test_missing_model_dir_names_the_path(tmp_path):
    missing = tmp_path / "no_such_model"
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        LMPolicy.from_pretrained(missing)


def test_dir_without_config_is_not_a_causal_lm(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ValueError, match=r"not a causal LM.*config\.json"):
        LMPolicy.from_pretrained(tmp_path)


def test_config_without_a_causal_lm_class_is_rejected(tmp_path):
    transformers.ViTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=16).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"not a causal LM.*'vit'"):
        LMPolicy.from_pretrained(tmp_path)


def test_config_without_weights_is_rejected(tmp_path, model_dir):
    (tmp_path / "config.json").write_text((model_dir / "config.json").read_text())
    with pytest.raises(ValueError, match="not a loadable causal LM"):
        LMPolicy.from_pretrained(tmp_path)


# ---------------------------------------------------------------- tokenizer
def test_char_tokenizer_round_trips_text_exactly(policy):
    texts = ["12+7=19\n  a b  c", "<eos> and <pad> are text here", "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", ""]
    ids = policy.encode_responses(texts)
    for text, row in zip(texts, ids):
        assert row[-1] == policy.eos_token_id
        assert len(row) == len(text) + 1  # one token per character, then EOS
        assert policy.tokenizer.decode(row, skip_special_tokens=True) == text
    assert policy.encode_prompts(["ab", ""]) == [[1, 4 + ord("a") - 32, 4 + ord("b") - 32], [1]]


def test_tokenizer_reloads_with_autotokenizer(model_dir):
    tok = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    assert tok.decode(tok("a\nb c", add_special_tokens=False)["input_ids"]) == "a\nb c"
    assert (tok.pad_token_id, tok.bos_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)


# ---------------------------------------------------------------- scoring
def test_log_prob_equals_hand_computation(policy):
    prompts, responses = ["12+3=", "a", ""], ["15", "bcd\nef", "z"]
    got = policy.log_prob(prompts, responses)
    assert got.shape == (3,)
    for k, (p, r) in enumerate(zip(policy.encode_prompts(prompts), policy.encode_responses(responses))):
        assert math.isclose(got[k], log_prob_by_hand(policy.model, p, r), rel_tol=1e-5, abs_tol=1e-4)


def test_log_prob_ids_drops_tokens_after_eos(policy):
    p = policy.encode_prompts(["q"])
    with_tail = policy.log_prob_ids(p, [[10, 11, 2, 30, 31]])
    without = policy.log_prob_ids(p, [[10, 11, 2]])
    assert with_tail[0] == pytest.approx(without[0], abs=1e-6)
    assert with_tail[0] == pytest.approx(log_prob_by_hand(policy.model, p[0], [10, 11, 2]), abs=1e-4)


def test_log_prob_rejects_mismatched_lengths_and_empty_prompt_ids(policy):
    with pytest.raises(ValueError, match="same length"):
        policy.log_prob(["a", "b"], ["c"])
    with pytest.raises(ValueError, match=r"prompt_ids\[0\] is empty"):
        policy.log_prob_ids([[]], [[5]])


# ---------------------------------------------------------------- sampling
def test_sample_layout_eos_and_scores(policy):
    s = policy.sample(PROMPTS, n=5, max_new_tokens=12, seed=3)
    assert isinstance(s, Samples) and len(s) == 20
    np.testing.assert_array_equal(s.prompt_index, np.repeat(np.arange(4), 5))
    np.testing.assert_array_equal(s.sample_index, np.tile(np.arange(5), 4))
    assert s.settings == {"n": 5, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 12, "seed": 3,
                          "greedy": False, "prompt_ids": [0, 1, 2, 3], "sequences_per_call": 5, "backend": "hf"}
    for toks, length, hit in zip(s.tokens, s.length, s.hit_eos):
        assert len(toks) == length <= 12
        assert (policy.eos_token_id in toks) == hit
        if hit:
            assert toks.index(policy.eos_token_id) == len(toks) - 1  # cut just after the first EOS
        else:
            assert length == 12
    # the stored log-probs are the teacher-forced ones, by hand
    encoded = policy.encode_prompts(PROMPTS)
    for row in (0, 7, 19):
        want = log_prob_by_hand(policy.model, encoded[s.prompt_index[row]], s.tokens[row])
        assert math.isclose(s.log_prob[row], want, rel_tol=1e-5, abs_tol=1e-4)
    # ... and equal log_prob of the decoded text wherever text <-> tokens round-trips
    enc = policy.encode_responses(s.text)
    rows = [r for r in range(len(s)) if enc[r] == s.tokens[r]]
    assert rows, "no draw round-trips (a random model emits specials, but EOS-ended plain draws occur)"
    again = policy.log_prob([PROMPTS[s.prompt_index[r]] for r in rows], [s.text[r] for r in rows])
    np.testing.assert_allclose(again, s.log_prob[rows], rtol=1e-5, atol=1e-4)


def test_sample_is_reproducible_and_seed_dependent(policy):
    a = policy.sample(PROMPTS[:2], n=4, max_new_tokens=10, seed=7)
    b = policy.sample(PROMPTS[:2], n=4, max_new_tokens=10, seed=7)
    c = policy.sample(PROMPTS[:2], n=4, max_new_tokens=10, seed=8)
    assert a.tokens == b.tokens
    np.testing.assert_array_equal(a.log_prob, b.log_prob)
    # 8 draws of up to 10 tokens over a 100-token vocabulary: a collision of all is impossible in practice
    assert a.tokens != c.tokens


def test_sample_leaves_global_rng_alone(policy):
    torch.manual_seed(123)
    want = torch.rand(3)
    torch.manual_seed(123)
    policy.sample(PROMPTS[:1], n=2, max_new_tokens=4, seed=0)
    assert torch.equal(torch.rand(3), want)


def test_resumed_subset_gets_the_same_draws(policy):
    full = policy.sample(PROMPTS, n=3, max_new_tokens=8, seed=11)
    part = policy.sample([PROMPTS[2], PROMPTS[0]], n=3, max_new_tokens=8, seed=11, prompt_ids=[2, 0])
    for k, i in enumerate([2, 0]):
        assert part.tokens[3 * k: 3 * k + 3] == full.tokens[3 * i: 3 * i + 3]
        np.testing.assert_allclose(part.log_prob[3 * k: 3 * k + 3], full.log_prob[3 * i: 3 * i + 3],
                                   atol=1e-5)


def test_top_p_and_temperature_are_recorded_and_applied(policy):
    # top_p tiny keeps only the argmax token: the draws equal greedy decoding
    s = policy.sample(PROMPTS[:2], n=2, top_p=1e-6, temperature=0.7, max_new_tokens=6, seed=0)
    g = policy.greedy(PROMPTS[:2], max_new_tokens=6)
    assert s.settings["top_p"] == 1e-6 and s.settings["temperature"] == 0.7
    assert s.tokens == [g.tokens[0], g.tokens[0], g.tokens[1], g.tokens[1]]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n": 0}, "n must be"),
    ({"max_new_tokens": 0}, "max_new_tokens must be"),
    ({"temperature": 0.0}, "temperature must be .*greedy"),
    ({"temperature": -1.0}, "temperature must be"),
    ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
    ({"prompt_ids": [0]}, "prompt_ids must give one int per prompt"),
    ({"prompt_ids": [1, 1]}, "prompt_ids must be distinct"),
    ({"batch_size": 0}, "batch_size must be"),
])
def test_sample_bad_arguments(policy, kwargs, match):
    args = {"n": 2, "max_new_tokens": 3, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=match):
        policy.sample(["a", "b"], **args)


def test_greedy_bad_arguments_and_prompt_type(policy):
    with pytest.raises(ValueError, match="max_new_tokens must be"):
        policy.greedy(["a"], max_new_tokens=0)
    with pytest.raises(ValueError, match="prompts must be a sequence of strings"):
        policy.greedy("a", max_new_tokens=2)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        policy.greedy(["a"], max_new_tokens=tiny.N_POSITIONS)


def test_oom_halves_sequences_per_call_and_retries(policy, monkeypatch):
    calls = []
    real = LMPolicy._generate

    def flaky(self, input_ids, attention_mask, *, num_return_sequences, **kw):
        calls.append(num_return_sequences)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(self, input_ids, attention_mask, num_return_sequences=num_return_sequences, **kw)

    monkeypatch.setattr(LMPolicy, "_generate", flaky)
    s = policy.sample(PROMPTS[:2], n=8, max_new_tokens=4, seed=0)
    assert len(s) == 16 and calls == [8, 4, 4, 4, 4]
    assert s.settings["sequences_per_call"] == 4
    np.testing.assert_array_equal(s.sample_index, np.tile(np.arange(8), 2))


def test_oom_at_one_sequence_is_reraised(policy, monkeypatch):
    calls = []

    def always(self, input_ids, attention_mask, *, num_return_sequences, **kw):
        calls.append(num_return_sequences)
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr(LMPolicy, "_generate", always)
    with pytest.raises(RuntimeError, match="out of memory"):
        policy.sample(["a"], n=4, max_new_tokens=2, seed=0)
    assert calls == [4, 2, 1]


def test_other_errors_are_not_retried(policy, monkeypatch):
    calls = []

    def broken(self, *a, **kw):
        calls.append(1)
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(LMPolicy, "_generate", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        policy.sample(["a"], n=4, max_new_tokens=2, seed=0)
    assert calls == [1]


# ---------------------------------------------------------------- greedy
def test_greedy_equals_argmax_by_hand_and_batching_does_not_matter(policy):
    batched = policy.greedy(PROMPTS, max_new_tokens=8, batch_size=3)  # left padding, two calls
    encoded = policy.encode_prompts(PROMPTS)
    assert batched.settings["greedy"] and batched.settings["n"] == 1 and len(batched) == len(PROMPTS)
    for i, prompt in enumerate(encoded):
        assert batched.tokens[i] == _argmax_by_hand(policy.model, prompt, 8, policy.eos_token_id)
    single = [policy.greedy([p], max_new_tokens=8).tokens[0] for p in PROMPTS]
    assert batched.tokens == single


# ---------------------------------------------------------------- tokenizers without pad / eos
def _tokenizer_without(*, pad: bool, eos: bool):
    base = tiny.char_tokenizer()
    kwargs = {"bos_token": tiny.BOS, "unk_token": tiny.UNK, "clean_up_tokenization_spaces": False}
    if pad:
        kwargs["pad_token"] = tiny.PAD
    if eos:
        kwargs["eos_token"] = tiny.EOS
    return transformers.PreTrainedTokenizerFast(tokenizer_object=base.backend_tokenizer, **kwargs)


def test_tokenizer_without_pad_uses_eos_as_pad(policy):
    tok = _tokenizer_without(pad=False, eos=True)
    assert tok.pad_token_id is None
    pol = LMPolicy.from_model(policy.model, tok)
    assert pol.pad_token_id == pol.eos_token_id == 2
    s = pol.sample(PROMPTS[:2], n=3, max_new_tokens=10, seed=3)
    ref = policy.sample(PROMPTS[:2], n=3, max_new_tokens=10, seed=3)
    assert s.tokens == ref.tokens  # the pad id changes nothing
    np.testing.assert_allclose(s.log_prob, ref.log_prob, atol=1e-5)


def test_tokenizer_without_pad_or_eos_runs_to_the_cap(policy):
    tok = _tokenizer_without(pad=False, eos=False)
    assert tok.pad_token_id is None and tok.eos_token_id is None
    pol = LMPolicy.from_model(policy.model, tok)
    assert pol.eos_token_id is None and pol.pad_token_id == 1  # BOS stands in as pad
    s = pol.sample(PROMPTS[:2], n=3, max_new_tokens=7, seed=0)
    assert not s.hit_eos.any() and (s.length == 7).all()
    encoded = pol.encode_prompts(PROMPTS[:2])
    want = log_prob_by_hand(policy.model, encoded[s.prompt_index[4]], s.tokens[4])
    assert math.isclose(s.log_prob[4], want, rel_tol=1e-5, abs_tol=1e-4)
    assert pol.encode_responses(["ab"]) == [[4 + 65, 4 + 66]]  # no EOS to append
    assert math.isclose(pol.log_prob(["q"], ["ab"])[0], log_prob_by_hand(policy.model, [1, 4 + 81], [69, 70]),
                        rel_tol=1e-5, abs_tol=1e-4)


def test_empty_prompt_gets_a_start_token(policy):
    no_bos = transformers.PreTrainedTokenizerFast(tokenizer_object=tiny.char_tokenizer().backend_tokenizer,
                                                  eos_token=tiny.EOS, clean_up_tokenization_spaces=False)
    no_bos.backend_tokenizer.post_processor = None
    pol = LMPolicy.from_model(policy.model, no_bos)
    assert pol.encode_prompts([""]) == [[2]]  # EOS when there is no BOS
    assert np.isfinite(pol.log_prob([""], ["a"])).all()


def test_from_model_restores_training_mode(policy):
    policy.model.train()
    try:
        pol = LMPolicy.from_model(policy.model, policy.tokenizer)
        pol.log_prob(["a"], ["b"])
        assert policy.model.training
    finally:
        policy.model.eval()


# ---------------------------------------------------------------- benchmark smoke test
def test_bench_sampling_quick_runs_and_returns_positive_throughputs():
    from sharpsim.bridge import bench

    result = bench.bench_sampling(quick=True, per_core=False)  # the per-core path: tests/test_bench_per_core.py
    assert "per_core" not in result
    for arm in ("batched", "batched_generate_only", "naive"):
        assert result[arm]["tokens"] > 0 and result[arm]["tokens_per_s"] > 0
    assert result["n"] == 50 and result["ratio"] > 0
    # the KS check of the same sampling law fails a correct sampler with probability 1e-3
    assert result["same_law"]["passed"]
    assert "ratio batched/naive" in bench.report(result)
