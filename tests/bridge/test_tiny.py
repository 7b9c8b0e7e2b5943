"""tiny.train_tiny: the loss falls, the saved model reloads and has learned."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from sharpsim.bridge import tiny  # noqa: E402
from sharpsim.bridge.policy import LMPolicy  # noqa: E402

COPY = [(d, d) for d in "0123456789"]  # copy one digit: the response is the prompt


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture(scope="module")
def copy_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("copy")
    torch.set_num_threads(1)
    return tiny.train_tiny(COPY, out, size="tiny", steps=150, seed=0, batch_size=16, lr=1e-2)


def test_copy_task_loss_falls_and_model_reloads(copy_model):
    manifest = json.loads((copy_model / "train_manifest.json").read_text())
    assert manifest["steps"] == 150 and manifest["size"] == "tiny" and manifest["seconds"] > 0
    assert manifest["model_config"] == {"n_layer": 2, "n_embd": 64, "n_head": 2, "vocab_size": 100,
                                        "n_positions": tiny.N_POSITIONS}
    # A random init starts near ln(100) = 4.6 nats/token; a learned copy needs ~0. Factor stated: 20x.
    assert manifest["initial_loss"] > 2.0
    assert manifest["final_loss"] < manifest["initial_loss"] / 20
    policy = LMPolicy.from_pretrained(copy_model, device="cpu")
    greedy = policy.greedy([p for p, _ in COPY], max_new_tokens=4)
    assert greedy.text == [r for _, r in COPY]
    assert greedy.hit_eos.all() and (greedy.length == 2).all()  # digit, then EOS
    # the trained model puts most of its mass on the right response: log pi(y|x) > log 0.5
    assert (policy.log_prob([p for p, _ in COPY], [r for _, r in COPY]) > np.log(0.5)).all()


def test_training_encodes_pairs_exactly_as_the_policy_does(copy_model):
    policy = LMPolicy.from_pretrained(copy_model, device="cpu")
    pairs = [("12+3=", "15. Answer: 15"), ("", "x")]
    prompts, responses = tiny._encode_pairs(policy.tokenizer, pairs)
    assert prompts == policy.encode_prompts([p for p, _ in pairs])
    assert responses == policy.encode_responses([r for _, r in pairs])


def test_same_seed_same_training(tmp_path):
    a = tiny.train_tiny(COPY, tmp_path / "a", steps=3, seed=5, batch_size=4)
    b = tiny.train_tiny(COPY, tmp_path / "b", steps=3, seed=5, batch_size=4)
    la = json.loads((a / "train_manifest.json").read_text())["loss_history"]
    lb = json.loads((b / "train_manifest.json").read_text())["loss_history"]
    assert la == lb
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"size": "huge"}, "size must be one of"),
    ({"steps": 0}, "steps must be"),
    ({"batch_size": 0}, "batch_size must be"),
    ({"lr": 0.0}, "lr must be"),
    ({"seed": -1}, "seed must be"),
    ({"pairs": []}, "pairs must be a non-empty"),
    ({"pairs": [("a", 3)]}, r"pairs\[0\] must be a \(prompt, response\) pair"),
    ({"pairs": [("a", "b" * 300)]}, r"pairs\[0\] is 303 tokens long"),
])
def test_train_tiny_bad_arguments(tmp_path, kwargs, match):
    args = {"pairs": COPY, "steps": 1, "seed": 0} | kwargs
    pairs = args.pop("pairs")
    with pytest.raises(ValueError, match=match):
        tiny.train_tiny(pairs, tmp_path / "m", **args)


def test_save_random_tiny_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="n_embd must be divisible by n_head"):
        tiny.save_random_tiny(tmp_path, n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="n_layer must be"):
        tiny.save_random_tiny(tmp_path, n_layer=0)
