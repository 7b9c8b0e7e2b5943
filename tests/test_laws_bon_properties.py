"""Property tests for the best-of-N law, its samplers and Prop C.1.

Expected values come from slow NumPy references written here (enumeration of all |Y|^N
draws), from the theorems themselves (Prop C.1's ``1 - ρ``), or from Monte Carlo draws of
the literal procedure; never from the formula under test.

Statistical tests use fixed seeds and exact tests (binomial, Fisher) with a Bonferroni
correction over cells; each states its false-failure probability, i.e. the probability that a
correct implementation fails for a seed chosen at random.
"""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

import sharpsim
from sharpsim import TIE_RTOL, bounds, oracle
from sharpsim import problems as sp
from sharpsim import strategies as sst
from sharpsim.algorithms import bon as bon_algorithm

#: Total false-failure probability allowed to one statistical test case (Bonferroni over cells).
ALPHA = 1e-6

#: The table shapes most property tests draw. JAX compiles eager code op by op for every new
#: array shape (about 1 s for the BoN law), so the tests keep to a few shapes.
SMALL = dict(num_prompts=(1, 2), num_responses=(1, 5))
#: Fewer shapes still for the tests that call the laws eagerly (as users do).
EAGER = dict(num_prompts=(1, 2), num_responses=(1, 4))

#: The BoN law under ``jit``: one fused compilation per shape instead of op-by-op eager
#: compilation. Same code as the eager path; ``test_bon_law_matches_literal_enumeration``
#: checks both paths against the NumPy reference.
bon_law_probs = jax.jit(lambda problem, N: sharpsim.bon_law(problem, N).probs)


# --------------------------------------------------------------------- NumPy references
def argmax_mask(log_probs, gamma: float = 0.0) -> np.ndarray:
    """``y*_γ(x)`` with the documented tie tolerance: ``π(y) >= (1-γ)(1-TIE_RTOL) max π``."""
    lp = np.asarray(log_probs)
    return lp >= lp.max(axis=1, keepdims=True) + np.log1p(-gamma) + np.log1p(-TIE_RTOL)


def literal_bon_law(probs_row: np.ndarray, N: int) -> np.ndarray:
    """The law of the best of N i.i.d. draws, by summing over all ``|Y|^N`` draw tuples.

    Each tuple has probability ``Π_i π(y_i)``; its pick is the first draw of largest
    probability (the literal procedure: ties go to the earlier draw, which by symmetry splits
    them evenly). Drawn tables have exact ties or well-separated values, so exact comparison
    is the documented tie rule.
    """
    p = np.asarray(probs_row, dtype=np.float64)
    law = np.zeros_like(p)
    for draws in itertools.product(range(p.size), repeat=N):
        vals = [p[y] for y in draws]
        weight = math.prod(vals)
        if weight == 0.0:
            continue
        best = max(vals)
        law[draws[vals.index(best)]] += weight
    return law


def cell_counts(prompts, responses, shape) -> np.ndarray:
    counts = np.zeros(shape, dtype=np.int64)
    np.add.at(counts, (np.asarray(prompts), np.asarray(responses)), 1)
    return counts


def binomial_cells_ok(counts: np.ndarray, probs: np.ndarray, alpha: float) -> tuple[bool, float]:
    """Exact two-sided binomial test of every cell of ``counts`` (total n) against ``probs``.

    Bonferroni over cells: a correct ``probs`` fails with probability at most ``alpha``.
    Returns (ok, smallest p-value). Cells with probability 0 must be empty.
    """
    n = int(counts.sum())
    cells = counts.size
    smallest = 1.0
    for c, p in zip(counts.ravel(), probs.ravel()):
        if p == 0.0:
            if c != 0:
                return False, 0.0
            continue
        pv = stats.binomtest(int(c), n, min(float(p), 1.0)).pvalue
        smallest = min(smallest, pv)
    return smallest >= alpha / cells, smallest


def fisher_cells_ok(counts_a: np.ndarray, counts_b: np.ndarray, alpha: float) -> tuple[bool, float]:
    """Two-sample test that two multinomial samples share one law.

    For each cell, Fisher's exact test on the 2x2 table (in cell / not in cell) x (sample a /
    sample b); Bonferroni over cells, so two samples from one law fail with probability at most
    ``alpha``. Returns (ok, smallest p-value).
    """
    na, nb = int(counts_a.sum()), int(counts_b.sum())
    cells = [(a, b) for a, b in zip(counts_a.ravel(), counts_b.ravel()) if a + b > 0]
    smallest = 1.0
    for a, b in cells:
        pv = stats.fisher_exact([[a, na - a], [b, nb - b]]).pvalue
        smallest = min(smallest, pv)
    return smallest >= alpha / max(len(cells), 1), smallest


# ------------------------------------------------------------------ the law is a law
@given(
    problem=sst.tabular_problems(**SMALL),
    N=st.one_of(st.integers(1, 8), st.integers(1, 10**6), st.just(10**15)),
    data=st.data(),
)
def test_bon_law_is_a_distribution(problem, N, data):
    law = np.asarray(bon_law_probs(problem, N))
    base = np.asarray(problem.probs)
    assert law.shape == base.shape
    assert np.all(np.isfinite(law)) and np.all(law >= 0.0)
    np.testing.assert_allclose(law.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(law[base == 0.0] == 0.0)  # BoN never picks a response π_base cannot draw
    # per-prompt N (a [num_prompts] array) gives each row the law of its own N
    Ns = np.asarray(data.draw(st.lists(st.integers(1, 50), min_size=base.shape[0], max_size=base.shape[0])))
    rows = np.asarray(bon_law_probs(problem, Ns))
    for x, n_x in enumerate(Ns):
        np.testing.assert_allclose(
            rows[x], np.asarray(bon_law_probs(problem, int(n_x)))[x], rtol=1e-13, atol=0
        )


@given(problem=sst.tabular_problems(**SMALL))
def test_bon_law_with_one_draw_is_the_base(problem):
    law = np.asarray(bon_law_probs(problem, 1))
    np.testing.assert_allclose(law, np.asarray(problem.probs), rtol=1e-12, atol=1e-15)


@given(problem=sst.tabular_problems(**SMALL))
def test_bon_mass_on_argmax_is_non_decreasing_in_N(problem):
    Ns = [1, 2, 3, 4, 5, 8, 16, 50, 100, 10**3, 10**6, 10**9, 10**12]
    mask = argmax_mask(problem.base.log_probs)
    mass = np.stack([np.asarray(bon_law_probs(problem, N))[mask.nonzero()] for N in Ns])
    per_prompt = np.stack([np.bincount(mask.nonzero()[0], weights=m, minlength=mask.shape[0]) for m in mass])
    # non-decreasing up to float64 rounding (4 ulps of 1)
    assert np.all(np.diff(per_prompt, axis=0) >= -1e-15 * 4), per_prompt
    # and BoN_N mass on y* is exactly 1 - (1 - π(y*))^N (theory/bon_law.md, at the top level)
    base_mass = np.where(mask, np.asarray(problem.probs), 0.0).sum(axis=1)
    for N, row in zip(Ns[:6], per_prompt[:6]):
        np.testing.assert_allclose(row, 1.0 - (1.0 - base_mass) ** N, rtol=1e-12, atol=1e-14)


@given(problem=sst.tabular_problems(**EAGER), N=st.integers(1, 4))
@example(problem=sp.from_probs([[0.25, 0.25, 0.25, 0.25]]), N=4)  # everything tied
@example(problem=sp.from_probs([[0.4, 0.4, 0.2, 0.0]]), N=3)  # tied arg-max, a zero
@example(problem=sp.from_probs([[1 - 3e-12, 1e-12, 1e-12, 1e-12]]), N=4)  # tiny entries
@example(problem=sp.from_probs([[0.3, 0.2, 0.2, 0.3]], prompt_probs=None), N=2)
def test_bon_law_matches_literal_enumeration(problem, N):
    """Differential test: the O(|Y| log |Y|) law, eager and jitted, against the sum over all
    |Y|^N draw tuples."""
    ref = np.stack([literal_bon_law(row, N) for row in np.asarray(problem.probs)])
    np.testing.assert_allclose(np.asarray(sharpsim.bon_law(problem, N).probs), ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(bon_law_probs(problem, N)), ref, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------- Monte Carlo agreement
MC_CASES = ["ties", "zeros_tiny", "with_coverage", "large_N", "autoregressive"]


def _mc_problems():
    """Fixed problems for the Monte Carlo tests: ties, zeros, tiny entries, non-uniform μ,
    a coverage-controlled table and an enumerated autoregressive base."""
    return {
        "ties": (sp.from_probs([[0.3, 0.3, 0.25, 0.15], [0.05, 0.6, 0.05, 0.3]], [0.7, 0.3]), 3),
        "zeros_tiny": (sp.from_probs([[0.0, 0.5, 0.5, 0.0], [1 - 3e-3, 1e-3, 1e-3, 1e-3]]), 5),
        "with_coverage": (
            sp.with_coverage(jax.random.key(7), 3, 6, 3.0, margin=0.2, heterogeneity=0.5),
            4,
        ),
        "large_N": (sp.with_coverage(jax.random.key(8), 2, 8, 6.0), 50),
        "autoregressive": (sp.planted_autoregressive(jax.random.key(3), 2, 2, 3, 4.0), 3),
    }


def _as_index(problem, responses):
    responses = jnp.asarray(responses)
    if responses.ndim == 2:  # autoregressive sequences [n, H]
        return problem.base.sequence_to_index(responses)
    return responses


@pytest.mark.parametrize("name", MC_CASES)
def test_bon_law_matches_literal_monte_carlo(name):
    """Frequencies of 20000 literal BoN picks against ``μ(x) π^BoN_N(y|x)``.

    Exact two-sided binomial test per (x, y) cell, Bonferroni over cells: a correct law fails
    with probability at most ALPHA = 1e-6 per case (5e-6 for the five cases).
    """
    problem, N = _mc_problems()[name]
    n = 20_000
    batch = oracle.sample_best_of_n(jax.random.key(2024), problem, n, N, method="literal")
    assert int(batch.num_queries) == n * N
    tab = problem.tabular()
    law = np.asarray(sharpsim.bon_law(tab, N).probs)
    joint = np.asarray(problem.prompt_probs)[:, None] * law
    counts = cell_counts(batch.prompts, _as_index(problem, batch.responses), law.shape)
    ok, pmin = binomial_cells_ok(counts, joint, ALPHA)
    assert ok, f"smallest Bonferroni p-value {pmin:.3g} below {ALPHA / law.size:.3g}"
    # the revealed log-probabilities are the base's
    np.testing.assert_allclose(
        np.asarray(batch.log_probs),
        np.asarray(tab.base.log_probs)[
            np.asarray(batch.prompts), np.asarray(_as_index(problem, batch.responses))
        ],
        rtol=1e-12,
    )


@pytest.mark.parametrize("name", MC_CASES)
def test_exact_draw_has_the_law_of_literal_draws(name):
    """Two-sample test: 20000 exact O(log |Y|) picks against 20000 literal N-draw picks.

    Fisher's exact test per (x, y) cell, Bonferroni over cells: two samples of one law fail
    with probability at most ALPHA = 1e-6 per case. Both paths must charge m = n N.
    """
    problem, N = _mc_problems()[name]
    n = 20_000
    lit = oracle.sample_best_of_n(jax.random.key(11), problem, n, N, method="literal")
    ex = oracle.sample_best_of_n(jax.random.key(12), problem, n, N, method="exact")
    assert int(lit.num_queries) == int(ex.num_queries) == n * N
    shape = (problem.num_prompts, problem.tabular().num_responses)
    a = cell_counts(lit.prompts, _as_index(problem, lit.responses), shape)
    b = cell_counts(ex.prompts, _as_index(problem, ex.responses), shape)
    ok, pmin = fisher_cells_ok(a, b, ALPHA)
    assert ok, f"smallest Bonferroni p-value {pmin:.3g}"


def test_exact_draw_with_per_prompt_N_matches_the_law():
    """The exact oracle path with a ``[num_prompts]`` array of N against ``bon_law`` with the
    same array, and the charge ``Σ_i N[x_i]``.

    Exact binomial test per (x, y) cell, Bonferroni over cells: false-failure probability at
    most ALPHA = 1e-6.
    """
    problem = sp.from_probs([[0.3, 0.3, 0.25, 0.15], [0.05, 0.6, 0.05, 0.3], [0.1, 0.2, 0.3, 0.4]])
    N = np.array([1, 7, 3])
    n = 20_000
    batch = oracle.sample_best_of_n(jax.random.key(21), problem, n, N, method="exact")
    assert int(batch.num_queries) == int(N[np.asarray(batch.prompts)].sum())
    law = np.asarray(sharpsim.bon_law(problem, N).probs)
    ok, pmin = binomial_cells_ok(cell_counts(batch.prompts, batch.responses, law.shape), law / 3, ALPHA)
    assert ok, pmin


def test_bon_sampler_at_huge_N_splits_the_tied_argmax_evenly():
    """At N = 10^15 (far beyond any literal run) BoN picks y* surely, uniformly over ties.

    Row 0 has two tied arg-maxes: 10000 picks; the count on the first is Binomial(10000, 1/2)
    under a correct sampler, and the exact two-sided binomial test at level ALPHA = 1e-6 fails
    by chance with probability at most 1e-6. Row 1 (tiny entries) must pick its arg-max always.
    """
    problem = sp.from_probs([[0.3, 0.2, 0.3, 0.2], [1e-14, 1e-14, 1 - 4e-14, 2e-14]])
    N = 10**15
    law = np.asarray(sharpsim.bon_law(problem, N).probs)
    np.testing.assert_allclose(law, [[0.5, 0.0, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0]], rtol=1e-12, atol=1e-300)
    picks = np.asarray(
        sharpsim.bon_sampler(problem).sample(jax.random.key(5), jnp.repeat(jnp.arange(2), 10_000), N)
    )
    row0, row1 = picks[:10_000], picks[10_000:]
    assert set(row0.tolist()) == {0, 2} and np.all(row1 == 2)
    assert stats.binomtest(int(np.sum(row0 == 0)), 10_000, 0.5).pvalue >= ALPHA


@pytest.mark.slow
@settings(max_examples=25)
@given(problem=sst.tabular_problems(num_responses=(1, 5)), N=st.integers(1, 6), seed=sst.seeds())
def test_bon_law_matches_literal_monte_carlo_on_drawn_problems(problem, N, seed):
    """As above on hypothesis-drawn problems; per example false-failure <= ALPHA = 1e-6
    (<= 2.5e-5 for the 25 examples)."""
    n = 5_000
    batch = oracle.sample_best_of_n(jax.random.key(seed), problem, n, N, method="literal")
    law = np.asarray(sharpsim.bon_law(problem, N).probs)
    joint = np.asarray(problem.prompt_probs)[:, None] * law
    ok, pmin = binomial_cells_ok(cell_counts(batch.prompts, batch.responses, law.shape), joint, ALPHA)
    assert ok, pmin


# ------------------------------------------------------------------------- Prop C.1
@given(
    problem=st.one_of(sst.tabular_problems(**SMALL), sst.problems(**SMALL)),
    rho=st.floats(-12.0, -0.001).map(lambda e: 10.0**e),  # log-uniform in [1e-12, 0.998]
    gamma=st.one_of(st.just(0.0), st.floats(0.0, 0.9)),
)
@example(problem=sp.from_probs([[1e-12] * 5 + [1 - 5e-12]]), rho=1e-12, gamma=0.0)
@example(problem=sp.from_probs([[0.3, 0.25, 0.25, 0.2]]), rho=1e-6, gamma=0.0)
@example(problem=sp.from_probs([[0.3, 0.25, 0.25, 0.2]]), rho=1e-3, gamma=0.2)
def test_prop_c1_bon_inference_suffices(problem, rho, gamma):
    """Prop C.1: with N(x) = ceil(log(1/ρ)/π_base(y*_γ(x)|x)) draws, BoN misses y*_γ(x) with
    probability at most ρ, for every prompt (computed exactly from the BoN law)."""
    bound = bounds.bon_inference(problem, rho=rho, gamma=gamma)
    mask = argmax_mask(problem.base.log_probs, gamma)
    np.testing.assert_allclose(
        bound, np.log(1 / rho) / np.where(mask, problem.probs, 0.0).sum(axis=1), rtol=1e-12
    )
    N = np.ceil(bound).astype(np.int64)
    assert N.shape == (problem.num_prompts,) and np.all(N >= 1)
    law = np.asarray(bon_law_probs(problem, N))
    miss = np.where(mask, 0.0, law).sum(axis=1)
    assert np.all(miss <= rho * (1 + 1e-9)), (miss, rho)


@given(
    problem=st.one_of(sst.tabular_problems(**EAGER), sst.problems(**EAGER)),
    N=st.one_of(st.integers(1, 10), st.integers(1, 10**9)),
    gamma=st.one_of(st.just(0.0), st.floats(0.0, 0.9)),
)
@example(problem=sp.from_probs([[0.5, 0.3, 0.2]]), N=2, gamma=0.5)  # y*_γ larger than y*
def test_bon_success_probability_at_least_the_guarantee(problem, N, gamma):
    success = sharpsim.bon_success_probability(problem, N, gamma=gamma)
    guarantee = bounds.bon_inference_guarantee(problem, N, gamma=gamma)
    assert 0.0 <= guarantee <= success * (1 + 1e-12) and success <= 1.0 + 1e-12
    # success is the μ-average of the BoN law's mass on y*_γ
    law = np.asarray(bon_law_probs(problem, N))
    hit = np.where(argmax_mask(problem.base.log_probs, gamma), law, 0.0).sum(axis=1)
    assert success == pytest.approx(float(np.asarray(problem.prompt_probs) @ hit), rel=1e-12, abs=1e-15)


# ------------------------------------------------------------ determinism and jit
@functools.cache
def det_problem():
    """Three prompts, five responses, two tied arg-maxes per prompt."""
    return sp.with_coverage(jax.random.key(0), 3, 5, 2.0, margin=0.1, num_argmax=2)


def _leaves_bytes(tree):
    return [np.asarray(leaf).tobytes() for leaf in jax.tree.leaves(tree)]


@functools.cache
def oracle_calls():
    """Every randomised entry point on ``det_problem()``, each as a jitted ``key -> output``
    (jitted so that the determinism test compiles each once, not op by op)."""
    problem = det_problem()
    sampler = sharpsim.bon_sampler(problem)
    calls = {
        "sample_and_evaluate": lambda k: oracle.sample_and_evaluate(k, problem, 16, 4),
        "best_of_n_literal": lambda k: oracle.sample_best_of_n(k, problem, 16, 4, method="literal"),
        "best_of_n_exact": lambda k: oracle.sample_best_of_n(k, problem, 16, 4, method="exact"),
        "adaptive": lambda k: oracle.sample_and_evaluate_adaptive(
            k, problem, 16, stop=lambda n, best: n * jnp.exp(best) >= 3.0, max_draws=32
        ),
        "bon_sampler": lambda k: sampler.sample(k, jnp.arange(3), 7),
        "algorithm": lambda k: bon_algorithm.best_of_n(k, problem, n=16, N=4),
    }
    return {name: jax.jit(call) for name, call in calls.items()}


@settings(max_examples=10)
@given(seed=sst.seeds())
def test_same_key_gives_bitwise_identical_oracle_outputs(seed):
    key = jax.random.key(seed)
    for name, call in oracle_calls().items():
        first, second = call(key), call(key)
        assert _leaves_bytes(first) == _leaves_bytes(second), name
        if name != "bon_sampler":
            # a different key gives different outputs: each holds 16 prompts drawn uniformly
            # from 3, which alone coincide with probability 3^-16 < 1e-7
            other = call(jax.random.key(seed ^ 1))
            assert _leaves_bytes(other) != _leaves_bytes(first), name


def test_jitted_oracle_does_not_recompile_across_seeds():
    problem = det_problem()
    fns = {
        "exact": jax.jit(lambda k: oracle.sample_best_of_n(k, problem, 8, 5)),
        "literal": jax.jit(lambda k: oracle.sample_best_of_n(k, problem, 8, 5, method="literal")),
        "sample_and_evaluate": jax.jit(lambda k: oracle.sample_and_evaluate(k, problem, 8, 5)),
        "algorithm": jax.jit(lambda k: bon_algorithm.best_of_n(k, problem, n=8, N=5).hit),
        "vmapped_seeds": jax.jit(jax.vmap(lambda k: oracle.sample_best_of_n(k, problem, 8, 5).responses)),
    }
    for name, f in fns.items():
        for seed in range(4):
            arg = (
                jax.random.split(jax.random.key(seed), 3) if name == "vmapped_seeds" else jax.random.key(seed)
            )
            jax.block_until_ready(f(arg))
        assert f._cache_size() == 1, name


def test_exact_path_does_not_recompile_across_N():
    problem = det_problem()
    f = jax.jit(lambda k, N: oracle.sample_best_of_n(k, problem, 8, N))
    law = jax.jit(lambda N: sharpsim.bon_law(problem, N).log_probs)
    per_prompt = jax.jit(lambda p, N: sharpsim.bon_law(p, N).log_probs)
    for i, N in enumerate([1, 5, 100, 10**6, 10**12]):
        batch = f(jax.random.key(i), jnp.asarray(N))
        assert int(batch.num_queries) == 8 * N  # the charge follows the traced N
        law(jnp.asarray(N))
        per_prompt(problem, jnp.full((3,), N))
        f(jax.random.key(i), jnp.asarray([N, 2 * N, 3 * N]))  # per-prompt N: one more shape
    assert f._cache_size() == 2
    assert law._cache_size() == 1
    assert per_prompt._cache_size() == 1


def test_jit_over_problems_does_not_recompile():
    """Problems are pytrees: new problems of one shape reuse the compiled function."""
    f = jax.jit(lambda k, p, N: oracle.sample_best_of_n(k, p, 8, N).responses)
    for seed in range(4):
        p = sp.with_coverage(jax.random.key(seed), 3, 5, 1.0 + seed, margin=0.05 * seed)
        f(jax.random.key(seed), p, jnp.asarray(seed + 1))
    assert f._cache_size() == 1
