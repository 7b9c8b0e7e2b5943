"""Parity of the LM bridge with the JAX core on a one-token LM.

A tiny random GPT-2 is a one-token LM when responses are single vocabulary tokens (H = 1): its
next-token distribution after each of X prompts is a table ``[X, V]``. We read that table with a
plain forward pass (logits cast to float64, log-softmax in float64), build the core's
``TabularPolicy``/``Problem`` from it, and check that on the same inputs

* the bridge's BoN selection (``rewards.pick("loglik", ...)``, what ``sft_sharpen`` uses, on scores
  from ``scoring.response_log_probs``) picks what ``oracle.sample_best_of_n(method="literal")`` picks
  from the same N draws;
* ``sft_loss`` equals ``−FiniteClass.log_likelihoods`` (the core's MLE objective);
* ``eq8_loss`` equals ``FiniteClass.regression_losses`` on sampled triples and
  ``objectives.regression_loss`` as a population loss (all pairs weighted by μ π_base π_base);
* ``xpo_loss`` equals XPO's objective ``α Σ log π(y'|x) + Σ (...)²``, assembled from the same core
  functions (``log_likelihoods`` + ``regression_losses``; the core's XPO keeps its loss inside
  ``xpo()``), with y drawn from the trained policy and y' from the base, as in Alg 1;
* k1 and k3 weighted by ``μ(x) π(y|x)`` equal ``objectives.kl_divergence`` (both are unbiased).

For Eq 8 / XPO / KL the trained policy is the LoRA'd model (adapter weights randomised so that it
differs from the base) and the reference is the same model with the adapter disabled; its table
is read off the same way. Everything here is deterministic (fixed seeds, no statistical claim).

Tolerances: the bridge scores in float32; the core works on the float64 table. A float32
log-softmax of O(1) logits is accurate to a few ulps of ~2.5 (≈1e-6), and the batched forward of
``scoring`` may round differently from the single-sequence forward behind the table by about the
same. We check ``|Δ log π| <= 2e-5`` per entry (a >25× margin over the largest error measured here, 7.2e-7),
then losses to a relative 1e-4 (+ 1e-4 absolute): a sum of n squared residuals, each off by at most
(2β + 2)·2e-5, is off by a relative ~1e-5 or less for these sizes.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")

import jax  # noqa: E402

from sharpsim import classes, objectives, oracle, problems  # noqa: E402
from sharpsim.bridge import losses, rewards, scoring  # noqa: E402
from sharpsim.bridge.lora import add_lora  # noqa: E402
from sharpsim.policies import TabularPolicy  # noqa: E402

PROMPTS = [[0, 5, 6], [0, 7], [0, 3, 4, 8, 9], [0, 11], [0, 12, 12, 4]]
V = 13
PAD = 2
LOGP_ATOL = 2e-5
RTOL, ATOL = 1e-4, 1e-4


def _tiny_gpt2(seed=0):
    torch.manual_seed(seed)
    cfg = transformers.GPT2Config(n_layer=2, n_head=2, n_embd=16, vocab_size=V, n_positions=32,
                                  initializer_range=0.2, bos_token_id=0, eos_token_id=1, pad_token_id=PAD)
    return transformers.GPT2LMHeadModel(cfg).eval()


def _table(model) -> np.ndarray:
    """``[X, V]`` float64 log π(y|x): one unpadded forward per prompt, last position's logits."""
    rows = []
    with torch.no_grad():
        for p in PROMPTS:
            logits = model(input_ids=torch.tensor([p])).logits[0, -1].double()
            rows.append(torch.log_softmax(logits, -1).numpy())
    return np.stack(rows)


def _score(model, xs, ys) -> torch.Tensor:
    """The bridge's ``[B]`` log π(y|x) of one-token responses ``ys`` after prompts ``xs`` (indices)."""
    batch = scoring.pack([PROMPTS[int(x)] for x in xs], [[int(y)] for y in ys], pad_token_id=PAD)
    with torch.no_grad():
        return scoring.response_log_probs(model, batch)


@pytest.fixture(scope="module")
def base():
    model = _tiny_gpt2()
    table = _table(model)
    problem = problems.from_policy(TabularPolicy.from_log_probs(table))
    return model, table, problem


@pytest.fixture(scope="module")
def lora():
    """A LoRA'd copy of the base with random adapter weights: π (adapter on) ≠ π_base (adapter off)."""
    model = _tiny_gpt2()
    plain = _table(model)
    pm = add_lora(copy.deepcopy(model), rank=2)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in pm.named_parameters():
            if "lora_B" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
    pi = _table(pm)
    with pm.disable_adapter():
        ref = _table(pm)
    return pm, pi, ref, plain


def test_table_is_a_one_token_lm_with_distinct_levels(base):
    _, table, _ = base
    assert table.shape == (len(PROMPTS), V)
    np.testing.assert_allclose(np.exp(table).sum(1), 1.0, atol=1e-12)
    # distinct tokens are well separated, so fp32 vs fp64 cannot reorder a BoN comparison
    gaps = np.diff(np.sort(table, axis=1), axis=1)
    assert gaps.min() > 100 * LOGP_ATOL


def test_bridge_scores_equal_the_table(base):
    model, table, _ = base
    xs, ys = np.repeat(np.arange(len(PROMPTS)), V), np.tile(np.arange(V), len(PROMPTS))
    got = _score(model, xs, ys).double().numpy()
    assert np.abs(got - table[xs, ys]).max() <= LOGP_ATOL


def test_bon_selection_equals_core_literal_bon(base):
    model, _, problem = base
    n, N = 40, 6
    key = jax.random.key(3)
    draws = oracle.sample_and_evaluate(key, problem, n, N)  # the draws literal BoN makes with this key
    core = oracle.sample_best_of_n(key, problem, n, N, method="literal")
    xs = np.asarray(draws.prompts)
    ys = np.asarray(draws.responses)  # [n, N]
    scores = _score(model, np.repeat(xs, N), ys.ravel()).double().numpy().reshape(n, N)
    np.testing.assert_allclose(scores, np.asarray(draws.log_probs), rtol=0, atol=LOGP_ATOL)
    index = np.array([rewards.pick("loglik", s, np.ones(N, int), [None] * N) for s in scores])
    np.testing.assert_array_equal(ys[np.arange(n), index], np.asarray(core.responses))
    np.testing.assert_array_equal(xs, np.asarray(core.prompts))
    # not a trivial case: the pick is not always the first draw
    assert (index != 0).sum() >= n // 4


def test_sft_loss_equals_core_mle_objective(base):
    model, table, problem = base
    n, N = 32, 4
    batch = oracle.sample_best_of_n(jax.random.key(7), problem, n, N, method="literal")
    xs, ys = np.asarray(batch.prompts), np.asarray(batch.responses)
    core_ll = float(classes.FiniteClass(log_probs=table[None]).log_likelihoods(xs, ys)[0])
    lp = _score(model, xs, ys)
    got_sum = float(losses.sft_loss(lp, reduction="sum"))
    assert got_sum == pytest.approx(-core_ll, rel=RTOL, abs=ATOL)
    assert float(losses.sft_loss(lp)) == pytest.approx(-core_ll / n, rel=RTOL, abs=ATOL / n)


def test_lora_reference_is_the_plain_model(lora):
    _, pi, ref, plain = lora
    np.testing.assert_array_equal(ref, plain)  # adapter disabled: bit-identical
    assert np.abs(pi - ref).max() > 0.1  # the adapter really changes the policy


@pytest.mark.parametrize("beta", [0.1, 1.0, 4.0])
def test_eq8_loss_equals_core_regression_losses(lora, beta):
    pm, pi, ref, _ = lora
    problem = problems.from_policy(TabularPolicy.from_log_probs(ref))
    triples, m = oracle.sample_triples(jax.random.key(11), problem, 48)
    assert int(m) == 96
    core = float(classes.FiniteClass(log_probs=pi[None]).regression_losses(triples, beta)[0])
    xs = np.asarray(triples.prompts)
    y, yp = np.asarray(triples.responses), np.asarray(triples.other_responses)
    lp_y, lp_yp = _score(pm, xs, y), _score(pm, xs, yp)
    with pm.disable_adapter():
        ref_y, ref_yp = _score(pm, xs, y), _score(pm, xs, yp)
    np.testing.assert_allclose(ref_y.double().numpy(), np.asarray(triples.base_log_probs), atol=LOGP_ATOL, rtol=0)
    got = float(losses.eq8_loss(lp_y, lp_yp, ref_y, ref_yp, ref_y, ref_yp, beta, reduction="sum"))
    assert core > 1.0  # a non-trivial value to compare
    assert got == pytest.approx(core, rel=RTOL, abs=ATOL)


def _all_pairs(pm):
    X = len(PROMPTS)
    xs, ys = np.repeat(np.arange(X), V), np.tile(np.arange(V), X)
    lp = _score(pm, xs, ys).reshape(X, V)
    with pm.disable_adapter():
        rf = _score(pm, xs, ys).reshape(X, V)
    return lp, rf


def test_eq8_population_loss_equals_core_regression_loss(lora):
    pm, pi, ref, _ = lora
    beta = 0.5
    problem = problems.from_policy(TabularPolicy.from_log_probs(ref))
    core = objectives.regression_loss(problem, TabularPolicy(pi), beta)
    lp, rf = _all_pairs(pm)
    X = len(PROMPTS)
    # every (x, y, y') with weight μ(x) π_base(y|x) π_base(y'|x)
    lp_y, lp_yp = lp[:, :, None].expand(X, V, V).reshape(-1), lp[:, None, :].expand(X, V, V).reshape(-1)
    rf_y, rf_yp = rf[:, :, None].expand(X, V, V).reshape(-1), rf[:, None, :].expand(X, V, V).reshape(-1)
    w = (torch.exp(rf_y.double()) * torch.exp(rf_yp.double()) / X).float()
    got = float(losses.eq8_loss(lp_y, lp_yp, rf_y, rf_yp, rf_y, rf_yp, beta, weights=w, reduction="sum"))
    assert core > 0.1
    assert got == pytest.approx(core, rel=RTOL, abs=ATOL)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 2.0])
def test_xpo_loss_equals_core_xpo_objective(lora, alpha):
    pm, pi, ref, _ = lora
    beta = 0.7
    problem = problems.from_policy(TabularPolicy.from_log_probs(ref))
    n = 40
    kx, ky, kz = jax.random.split(jax.random.key(5), 3)
    xs = oracle.sample_prompts(kx, problem, n)
    y = TabularPolicy(pi).sample(ky, xs)  # y ~ π^(t) (the LoRA'd model)
    yp = problem.base.sample(kz, xs)  # y' ~ π_base
    ly = oracle.evaluate(problem, xs, y).log_probs
    lz = oracle.evaluate(problem, xs, yp).log_probs
    triples = oracle.Triples(xs, y, yp, ly, lz, ly, lz)
    member = classes.FiniteClass(log_probs=pi[None])
    core = float(alpha * member.log_likelihoods(xs, yp)[0] + member.regression_losses(triples, beta)[0])
    xs, y, yp = np.asarray(xs), np.asarray(y), np.asarray(yp)
    lp_y, lp_yp = _score(pm, xs, y), _score(pm, xs, yp)
    with pm.disable_adapter():
        ref_y, ref_yp = _score(pm, xs, y), _score(pm, xs, yp)
    got = float(losses.xpo_loss(lp_y, lp_yp, ref_y, ref_yp, ref_y, ref_yp, beta, alpha, reduction="sum"))
    assert got == pytest.approx(core, rel=RTOL, abs=ATOL)
    mean = float(losses.xpo_loss(lp_y, lp_yp, ref_y, ref_yp, ref_y, ref_yp, beta, alpha))
    assert mean == pytest.approx(core / n, rel=RTOL, abs=ATOL / n)


def test_kl_estimators_weighted_by_pi_equal_core_kl(lora):
    pm, pi, ref, _ = lora
    problem = problems.from_policy(TabularPolicy.from_log_probs(ref))
    core = objectives.kl_divergence(problem, TabularPolicy(pi), problem.base)
    X = len(PROMPTS)
    xs, ys = np.repeat(np.arange(X), V), np.tile(np.arange(V), X)
    batch = scoring.pack([PROMPTS[int(x)] for x in xs], [[int(y)] for y in ys], pad_token_id=PAD)
    with torch.no_grad():
        lt = scoring.token_log_probs(pm, batch)
        with pm.disable_adapter():
            rt = scoring.token_log_probs(pm, batch)
    k1, k3 = losses.kl_estimates(lt, rt, batch.response_mask)
    assert bool((k3 >= 0).all())
    w = torch.exp(lt.sum(-1).double()) / X  # μ(x) π(y|x)
    assert core > 0.05
    assert float((w * k1.double()).sum()) == pytest.approx(core, rel=RTOL, abs=ATOL)
    assert float((w * k3.double()).sum()) == pytest.approx(core, rel=RTOL, abs=ATOL)
