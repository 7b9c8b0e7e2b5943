"""The neural autoregressive class (an MLP over the full prefix): protocol (XPO runs over it), exact
law, MLE, Eq 8, SFT/RLHF-Sharpening, jit/vmap over seeds, bad input.

Every test is seeded and deterministic (no false-failure probability): the thresholds were set with
a margin over the values measured at these seeds."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import classes, oracle, problems
from sharpsim.algorithms import rlhf_sharpening, sft_sharpening, xpo
from sharpsim.classes.neural import _regression_info
from sharpsim.laws import sharpening_error

Neural = classes.NeuralAutoregressiveClass
X, V, H = 2, 2, 3


@pytest.fixture(scope="module")
def problem():
    return problems.planted_autoregressive(jax.random.key(0), X, V, H, 2.0)


@pytest.fixture(scope="module")
def cls(problem):
    return Neural.for_problem(problem, key=jax.random.key(1), width=16, steps=200, batch_size=32)


def test_protocol_membership_and_xpo_runs(cls, problem):
    assert classes.supports(cls, classes.ModelClass)
    assert classes.supports(cls, classes.RegressionClass)
    assert classes.supports(cls, classes.PytreeParametricClass)
    assert not classes.supports(cls, classes.ParametricClass)
    assert cls.log_size == float("inf") and cls.sizes == (X, V**H)
    assert classes.bind(cls, problem) is cls
    assert cls.num_params == sum(int(a.size) for a in jax.tree_util.tree_leaves(cls.params))
    # XPO (Alg 1) runs over the class (unconstrained Adam over the params pytree); the details are
    # tested in tests/algorithms/test_xpo_neural.py
    result = xpo(jax.random.key(0), problem, cls, T=1, beta=0.5, alpha=0.0, inner_steps=5, theta_init=cls.params)
    assert int(result.num_queries) == 2
    assert result.objectives.shape == (2,) and result.thetas["out"].shape == (2, *cls.params["out"].shape)
    assert float(result.error) == float(sharpening_error(problem, result.policy, delta=0.1))


def test_enumerated_law_sums_to_one_and_matches_sequence_log_probs():
    # a larger random network (two hidden layers) so that the law is far from uniform
    c = Neural(3, 3, 3, key=jax.random.key(7), width=8, depth=2, init_scale=3.0)
    lp = np.asarray(c.log_probs())
    assert lp.shape == (3, 27)
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-12)
    assert np.exp(lp).max() > 2.0 / 27  # not the uniform law
    seqs = np.asarray(list(itertools.product(range(3), repeat=3)))  # index order: first token most significant
    for x in range(3):
        direct = np.asarray(c.sequence_log_probs(c.params, jnp.full((27,), x), seqs))
        np.testing.assert_allclose(direct, lp[x], atol=1e-12)
    # the table's conditionals are those of the direct evaluation: a step-by-step hand product
    tables = np.asarray(c.log_tables(c.params))
    y = (2, 0, 1)
    by_hand = tables[0, 1, 0, y[0]] + tables[1, 1, y[0], y[1]] + tables[2, 1, y[0] * 3 + y[1], y[2]]
    assert abs(by_hand - lp[1, 2 * 9 + 0 * 3 + 1]) < 1e-12


def _empirical_log_lik(x, idx, log_probs):
    return float(np.mean(np.asarray(log_probs)[np.asarray(x), np.asarray(idx)]))


def test_mle_moves_the_exact_law_toward_the_data(cls, problem):
    x = jax.random.randint(jax.random.key(5), (400,), 0, X)
    y = problem.base.sample(jax.random.key(6), x)
    idx = problem.base.sequence_to_index(y)
    emp = np.zeros((X, V**H))
    np.add.at(emp, (np.asarray(x), np.asarray(idx)), 1.0)
    best = _empirical_log_lik(x, idx, np.log(np.maximum(emp, 1e-300) / emp.sum(1, keepdims=True)))
    start = _empirical_log_lik(x, idx, cls.log_probs())
    fit, info = cls.mle_with_info(x, y)
    fitted = _empirical_log_lik(x, idx, fit.joint_log_probs())
    # measured: start -2.42, best -1.574, fitted -1.580
    assert fitted > start + 0.3
    assert best - 0.03 < fitted <= best + 1e-12  # the empirical law is the global maximiser
    assert abs(float(info.loss) + fitted) < 1e-9  # info.loss is the exact mean NLL of the fit
    # the KL projection of the base law (the infinite-data fit) comes close to it
    base_lp = np.asarray(problem.tabular().base.log_probs)
    mu = np.asarray(problem.prompt_probs)

    def kl(lp):
        return float(np.sum(mu * np.sum(np.exp(base_lp) * (base_lp - np.asarray(lp)), axis=1)))

    projected = cls.policy(cls.fit_law(cls.params, base_lp, mu)).joint_log_probs()
    assert kl(projected) < 0.1 * kl(cls.log_probs())  # measured: 8e-5 from 0.76
    # masked rows (negative tokens) are ignored
    y_pad = jnp.concatenate([y, -jnp.ones((50, H), y.dtype)])
    x_pad = jnp.concatenate([x, jnp.zeros((50,), x.dtype)])
    np.testing.assert_allclose(np.asarray(cls.mle(x_pad, y_pad).joint_log_probs()),
                               np.asarray(fit.joint_log_probs()), atol=1e-9)


def test_sft_and_rlhf_sharpening_run_and_return_exact_errors(cls, problem):
    sft = sft_sharpening(jax.random.key(3), problem, cls, n=64, N=8, delta=0.1)
    assert float(sft.error) == float(sharpening_error(problem, sft.policy, delta=0.1))
    cheap = sft_sharpening(jax.random.key(3), problem, cls, n=64, N=8, delta=0.1, return_policy=False)
    assert float(cheap.error) == float(sft.error)  # through mle_mass
    # the fitted model puts most of its mass on y* (measured: 0.99 and more per prompt)
    assert float(sft.error) == 0.0
    rl = rlhf_sharpening(jax.random.key(4), problem, cls, n=64, beta=0.2, delta=0.1)
    assert float(rl.error) == float(sharpening_error(problem, rl.policy, delta=0.1))
    assert rl.responses.shape == (64, 2, H)
    triples, beta = _triples(problem)
    _, info = cls.regress_with_info(triples, beta, steps=300)
    start = float(_regression_info(cls, cls.params, triples, beta, 1e-3).loss)  # the loss at the initial params
    assert float(info.loss) < 0.05 * start  # measured: 2.75 at the start, 0.030 after 300 steps


def _triples(problem):
    triples, _ = oracle.sample_triples(jax.random.key(8), problem, 64)
    return triples, 0.2


def test_jit_and_vmap_over_seeds_match_a_loop(cls, problem):
    def one(key):
        k_data, k_cls = jax.random.split(key)
        res = sft_sharpening(k_data, problem, cls.with_key(k_cls), n=16, N=4, return_policy=True)
        return res.policy.log_tables, res.error

    keys = jax.random.split(jax.random.key(11), 4)
    tables, errs = jax.vmap(jax.jit(one))(keys)
    for i in range(4):
        t_i, e_i = jax.jit(one)(keys[i])
        np.testing.assert_allclose(np.asarray(tables[i]), np.asarray(t_i), rtol=0, atol=1e-10)
        assert float(errs[i]) == float(e_i)
        # the eager call (bucketed: n padded to 16 and masked) draws the same data and fits the same law
        k_data, k_cls = jax.random.split(keys[i])
        eager = sft_sharpening(k_data, problem, cls.with_key(k_cls), n=16, N=4)
        np.testing.assert_allclose(np.asarray(eager.policy.log_tables), np.asarray(t_i), rtol=0, atol=1e-10)
    assert not np.allclose(np.asarray(tables[0]), np.asarray(tables[1]))  # the seeds differ


def test_bad_input_names_the_argument(cls, problem):
    with pytest.raises(ValueError, match="`width`"):
        Neural(2, 2, 3, key=jax.random.key(0), width=0)
    with pytest.raises(TypeError, match="`depth`"):
        Neural(2, 2, 3, key=jax.random.key(0), depth=1.5)
    with pytest.raises(ValueError, match="`vocab_size`"):
        Neural(2, 1, 3, key=jax.random.key(0))
    with pytest.raises(ValueError, match="response_limit"):
        Neural(2, 4, 9, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`learning_rate`"):
        Neural(2, 2, 3, key=jax.random.key(0), learning_rate=-1.0)
    with pytest.raises(TypeError, match="`key`"):
        Neural(2, 2, 3, key=0)
    with pytest.raises(TypeError, match="`problem`"):
        Neural.for_problem(problems.from_probs(np.full((2, 8), 1 / 8)), key=jax.random.key(0))
    other = problems.planted_autoregressive(jax.random.key(0), 3, V, H, 2.0)
    with pytest.raises(ValueError, match="model_class"):
        sft_sharpening(jax.random.key(0), other, cls, n=4, N=2)
    with pytest.raises(ValueError, match="`sequences`"):
        cls.mle(jnp.zeros(4, int), jnp.zeros((4, H + 1), int))
    with pytest.raises(ValueError, match="`sequences` must hold tokens < vocab_size"):
        cls.mle(jnp.zeros(4, int), jnp.full((4, H), V, int))
    with pytest.raises(ValueError, match="`log_probs`"):
        cls.fit_law(cls.params, jnp.zeros((X, V)), jnp.full((X,), 1 / X))
    with pytest.raises(ValueError, match="`beta`"):
        cls.regress(_triples(problem)[0], 0.0)
    with pytest.raises(ValueError, match="`params`"):
        cls.with_params({"prompt": jnp.zeros((X, 16))})
