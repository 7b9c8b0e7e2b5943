"""Bounded compilation of eager loops over budgets (the default ``bucketed=True`` path).

An eager call of ``sft_sharpening`` / ``adaptive_sft_sharpening`` / ``best_of_n`` /
``rlhf_sharpening`` pads ``n`` to a
power-of-two bucket (masked, as with ``max_n``) and traces ``N``; one of ``xpo`` pads ``T`` the
same way (``max_T``: rounds past ``T`` are inert); these tests check that the result
is identical to the unbucketed call with the same key, and that a loop over many distinct
``(n, N)`` compiles at most once per bucket touched. Memory is measured by the benchmark
(``sharpsim bench memory``), not asserted here. No test here is statistical.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import bench, classes, problems
from sharpsim.algorithms import adaptive_sft_sharpening, best_of_n, rlhf_sharpening, sft_sharpening, xpo
from sharpsim.algorithms._buckets import MIN_BUCKET, bucket

BASE = np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.3, 0.4], [0.35, 0.35, 0.2, 0.1]])
MU = np.array([0.2, 0.5, 0.3])


@pytest.fixture(scope="module")
def pr():
    return problems.from_probs(BASE, MU)


def assert_same(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert x.shape == y.shape and x.dtype == y.dtype, (x.shape, y.shape, x.dtype, y.dtype)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_bucket_sizes():
    assert [bucket(n) for n in (1, 2, 15, 16, 17, 32, 33, 1000, 1024, 1025)] == [
        16, 16, 16, 16, 32, 32, 64, 1024, 1024, 2048]
    assert MIN_BUCKET == 16
    with pytest.raises(ValueError, match=r"`n` must be an integer >= 1; got 0"):
        bucket(0)


@pytest.mark.parametrize("n", [17])
def test_bucketed_sft_equals_unbucketed(pr, n):
    tab = classes.TabularClass()
    key = jax.random.key(n)
    for N in (1, 3, 10**9, np.array([2, 5, 1])):
        assert_same(sft_sharpening(key, pr, tab, n=n, N=N), sft_sharpening(key, pr, tab, n=n, N=N, bucketed=False))
    per_prompt = np.array([2, 5, 1])
    r = sft_sharpening(key, pr, tab, n=n, N=per_prompt)  # each sampled prompt x_i drew N[x_i]
    np.testing.assert_array_equal(np.asarray(r.num_draws), per_prompt[np.asarray(r.prompts)])
    assert int(r.num_queries) == np.asarray(r.num_draws).sum()
    a = sft_sharpening(key, pr, tab, n=n, N=4, method="literal", return_policy=False, delta=0.3)
    assert_same(a, sft_sharpening(key, pr, tab, n=n, N=4, method="literal", return_policy=False, delta=0.3,
                                  bucketed=False))
    assert np.asarray(a.prompts).shape == (n,) and int(a.num_queries) == 4 * n


@pytest.mark.parametrize("n", [1])
def test_bucketed_adaptive_and_bon_equal_unbucketed(pr, n):
    tab = classes.TabularClass()
    key = jax.random.key(100 + n)
    assert_same(adaptive_sft_sharpening(key, pr, tab, n=n, stop_level=3.0),
                adaptive_sft_sharpening(key, pr, tab, n=n, stop_level=3.0, bucketed=False))
    for method, N in (("exact", 7), ("exact", 10**6), ("literal", 3)):
        assert_same(best_of_n(key, pr, n=n, N=N, method=method, gamma=0.2),
                    best_of_n(key, pr, n=n, N=N, method=method, gamma=0.2, bucketed=False))


def assert_close(a, b, rtol):
    """Same shapes, dtypes and data; floats within ``rtol`` (the regression's linear algebra may
    differ in the last bits between the padded jitted and the unpadded eager computation)."""
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert x.shape == y.shape and x.dtype == y.dtype, (x.shape, y.shape, x.dtype, y.dtype)
        if np.issubdtype(x.dtype, np.floating):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=1e-13)
        else:
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("n", [1, 17])
def test_bucketed_rlhf_equals_unbucketed(pr, n):
    from classes._reference import linear_problem

    key = jax.random.key(200 + n)
    lin_problem, feats, _ = linear_problem()
    for problem, cls in ((pr, classes.TabularClass()), (lin_problem, classes.LinearSoftmaxClass(feats, 10.0))):
        for sigma in (0.0, 0.5):
            a = rlhf_sharpening(key, problem, cls, n=n, beta=0.4, gamma=0.3, reward_noise=sigma)
            b = rlhf_sharpening(key, problem, cls, n=n, beta=0.4, gamma=0.3, reward_noise=sigma, bucketed=False)
            assert np.asarray(a.prompts).shape == (n,) and np.asarray(a.responses).shape == (n, 2)
            assert int(a.num_queries) == 2 * n
            np.testing.assert_array_equal(np.asarray(a.num_draws), 2)
            assert_close(a, b, rtol=1e-10)


def test_rlhf_max_n_masks_and_charges_the_active_prompts(pr):
    tab = classes.TabularClass()
    key = jax.random.key(7)
    r = jax.jit(lambda n: rlhf_sharpening(key, pr, tab, n=n, beta=0.5, max_n=16))(5)
    assert int(r.num_queries) == 10 and np.asarray(r.prompts).shape == (16,)
    np.testing.assert_array_equal(np.asarray(r.num_draws), [2] * 5 + [0] * 11)
    np.testing.assert_array_equal(np.asarray(r.responses)[5:], -1)
    plain = rlhf_sharpening(key, pr, tab, n=5, beta=0.5, bucketed=False)
    np.testing.assert_array_equal(np.asarray(r.responses)[:5], np.asarray(plain.responses))
    np.testing.assert_allclose(np.asarray(r.policy.probs), np.asarray(plain.policy.probs), rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match=r"`n` must be <= `max_n` = 4; got 5"):
        rlhf_sharpening(key, pr, tab, n=5, beta=0.5, max_n=4)
    with pytest.raises(ValueError, match=r"`beta` must be"):
        rlhf_sharpening(key, pr, tab, n=5, beta=0.0)


def test_bucketed_path_validates_like_the_eager_one(pr):
    tab = classes.TabularClass()
    with pytest.raises(ValueError, match=r"`N` must be an integer >= 1; got 0"):
        sft_sharpening(jax.random.key(0), pr, tab, n=3, N=0)
    with pytest.raises(TypeError, match=r"`N` must be an integer >= 1; got 2.5"):
        sft_sharpening(jax.random.key(0), pr, tab, n=3, N=2.5)
    with pytest.raises(ValueError, match=r"`method` must be 'exact' or 'literal'; got 'nope'"):
        best_of_n(jax.random.key(0), pr, n=3, N=2, method="nope")
    other = ss.bon_sampler(problems.from_probs(np.full((2, 4), 0.25), np.full(2, 0.5)))
    with pytest.raises(ValueError, match=r"`sampler` has shape \(2, 4\) but the problem has"):
        sft_sharpening(jax.random.key(0), pr, tab, n=3, N=2, sampler=other)


def test_memory_benchmark_quick_compile_bound():
    # 60 eager calls per loop with distinct (n, N) (sft, best_of_n), (n, stop_level) (adaptive) or
    # (n, beta) (rlhf) or (T, alpha) (xpo),
    # n, T in 1..32 (buckets 16, 32) on one App H problem: at most one compilation per bucket
    result = bench.bench_memory(quick=True, baseline=False)
    assert result["config"]["calls"] == 60
    for name in ("sft", "adaptive_sft", "best_of_n", "rlhf", "xpo"):
        assert result[name]["buckets_touched"] == 2
        assert result[name]["compile_bound_holds"], result[name]
    assert "benchmark memory" in bench.report(result)


@pytest.fixture(scope="module")
def lin():
    problem, feats = problems.hidden_direction(3, 8, bias=1.0)
    return problem, classes.LinearSoftmaxClass(feats, 3.0)


@pytest.mark.parametrize("T, select, kw", [(3, "best", {}), (5, "heldout", {"fresh_data_only": True, "batch": 2}),
                                         (4, "last", {"anchor": "iterate"})])
def test_bucketed_xpo_equals_unbucketed(lin, T, select, kw):
    """``T`` padded to its bucket (16) with rounds ``t >= T`` inert: the same draws, iterates and
    selection as the plain ``T``-round run (floats to rounding: the sums run over padded data)."""
    problem, cls = lin
    a = xpo(jax.random.key(T), problem, cls, T=T, beta=0.5, alpha=0.1, inner_steps=10, select=select,
            heldout_samples=8, **kw)
    b = xpo(jax.random.key(T), problem, cls, T=T, beta=0.5, alpha=0.1, inner_steps=10, select=select,
            heldout_samples=8, bucketed=False, **kw)
    assert np.asarray(a.thetas).shape == (T + 1, 3) and np.asarray(a.objectives).shape == (T + 1,)
    assert int(a.selected) == int(b.selected) and int(a.num_queries) == int(b.num_queries)
    assert_close(a, b, rtol=1e-9)


def test_xpo_max_T_under_jit_is_the_shorter_run(lin):
    problem, cls = lin
    key = jax.random.key(3)
    r = jax.jit(lambda T: xpo(key, problem, cls, T=T, beta=0.5, alpha=0.1, inner_steps=10, max_T=8,
                              select="last"))(3)
    plain = xpo(key, problem, cls, T=3, beta=0.5, alpha=0.1, inner_steps=10, select="last", bucketed=False)
    assert np.asarray(r.thetas).shape == (9, 3) and int(r.selected) == 3 and int(r.num_queries) == 6
    np.testing.assert_allclose(np.asarray(r.thetas)[:4], np.asarray(plain.thetas), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(r.thetas)[4:], np.asarray(r.thetas)[3:4].repeat(5, 0))  # inert rounds
    with pytest.raises(ValueError, match=r"`T` must be <= `max_T` = 2; got 3"):
        xpo(key, problem, cls, T=3, beta=0.5, alpha=0.1, max_T=2)


def test_an_xpo_loop_over_many_T_compiles_once_per_bucket(lin):
    from sharpsim.algorithms._buckets import compile_count

    problem, cls = lin
    Ts = [1, 7, 2, 16, 9, 17, 30, 12, 25]  # buckets 16 and 32
    xpo(jax.random.key(0), problem, cls, T=20, beta=0.4, alpha=0.0, inner_steps=3, theta_init="uniform")  # warm
    xpo(jax.random.key(0), problem, cls, T=3, beta=0.4, alpha=0.0, inner_steps=3, theta_init="uniform")
    before = compile_count()
    for i, T in enumerate(Ts):
        r = xpo(jax.random.key(i), problem, cls, T=T, beta=0.4 + i / 100, alpha=i / 50, inner_steps=3,
                theta_init="uniform")
        assert np.asarray(r.thetas).shape == (T + 1, 3)
    assert compile_count() - before == 0
