"""Property tests for the coverage-controlled constructors (Eq 6).

``with_coverage`` must hit its coverage (relative error <= 1e-6) and margin for every feasible
request and raise ``ValueError`` on infeasible ones; the same for ``planted_autoregressive``.
Coverage, margin and arg-max sets are measured here in NumPy (the autoregressive joint law by
an explicit loop over sequences), and feasibility is decided from the theory: k tied arg-maxes
of total mass 1/c and |Y| - k other responses each at most 1/(k c (1+γ)) must sum to 1, so
c <= 1 + (|Y|-k)/(k(1+γ)).
"""

from __future__ import annotations

import itertools

import jax
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import sharpsim
from sharpsim import TIE_RTOL
from sharpsim import problems as sp
from sharpsim import strategies as sst
from sharpsim.strategies import CoverageRequest, PlantedRequest

COVERAGE_RTOL = 1e-6  # the accuracy the constructors guarantee


# ------------------------------------------------------------------------- measurements
def measure(probs: np.ndarray, mu: np.ndarray) -> dict:
    """Coverage (Eq 6), margin (Assumption 4.2, over the support of μ), |y*(x)|, from a table."""
    top = probs.max(axis=1, keepdims=True)
    mask = probs >= top * (1 - TIE_RTOL)
    mass = np.where(mask, probs, 0.0).sum(axis=1)
    second = np.where(mask, 0.0, probs).max(axis=1)
    with np.errstate(divide="ignore"):
        ratio = np.where(second > 0, top[:, 0] / second - 1.0, np.inf)
    on = mu > 0
    return {
        "coverage": float(mu[on] @ (1.0 / mass[on])),
        "margin": float(ratio[on].min()),
        "num_argmax": mask.sum(axis=1),
    }


def joint_probs(policy) -> np.ndarray:
    """``[num_prompts, V^H]`` by a loop over sequences (first token most significant)."""
    tables = np.exp(np.asarray(policy.log_tables))
    H, X, _, V = tables.shape
    k = policy.context_length
    out = np.ones((X, V**H))
    for j, seq in enumerate(itertools.product(range(V), repeat=H)):
        for h in range(H):
            ctx = 0
            for tok in seq[max(0, h - k) : h]:
                ctx = ctx * V + tok
            out[:, j] *= tables[h, :, ctx, seq[h]]
    return out


def mu_of(problem) -> np.ndarray:
    return np.asarray(problem.prompt_probs)


# ------------------------------------------------------------------------- with_coverage
@given(req=sst.coverage_requests(), seed=sst.seeds())
@example(req=CoverageRequest(1, 1, 0.0, 1.0), seed=0)  # a single response: C_cov = 1 only
@example(req=CoverageRequest(4, 4, 0.5, 1.0), seed=0)  # every response tied
@example(req=CoverageRequest(5, 1, 0.0, 1.0 - 1e-12), seed=0)  # just below 1
@example(req=CoverageRequest(5, 2, 1.0, 1.0 + 3 / (2 * 2.0) * (1 + 1e-9)), seed=0)  # just above max
@example(req=CoverageRequest(6, 1, 0.3, 5.0 / 1.3, 3, 1.0, np.array([0.0, 0.0, 1.0])), seed=1)
def test_with_coverage_meets_feasible_requests_and_rejects_infeasible(req, seed):
    c, c_max = req.coverage, req.max_coverage()
    if c < 1 or c > c_max * (1 + 1e-10):
        # infeasible: the message names the argument (and, above the limit, the feasible range)
        with pytest.raises(ValueError, match="coverage" if c < 1 else "feasible range"):
            req.build(jax.random.key(seed))
        return
    _, hi = sp.coverage_range(req.num_responses, margin=req.margin, num_argmax=req.num_argmax)
    if c > hi * (1 + 1e-12):
        # the sliver between the constructor's documented range and the theoretical limit
        # (its margin is inflated by a relative 1e-9, and at least 1e-6): it raises there,
        # stating its range
        with pytest.raises(ValueError, match="feasible range"):
            req.build(jax.random.key(seed))
        return
    problem = req.build(jax.random.key(seed))
    probs = np.asarray(problem.probs)
    assert probs.shape == (req.num_prompts, req.num_responses)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    mu = mu_of(problem)
    expected_mu = (
        np.full(req.num_prompts, 1 / req.num_prompts) if req.prompt_probs is None else req.prompt_probs
    )
    np.testing.assert_allclose(mu, expected_mu, rtol=1e-15)
    got = measure(probs, mu)
    assert abs(got["coverage"] - c) <= COVERAGE_RTOL * c, (got["coverage"], c)
    assert got["margin"] >= req.margin, (got["margin"], req.margin)
    np.testing.assert_array_equal(got["num_argmax"], req.num_argmax)
    # the library's own coefficients agree with the NumPy measurements
    assert sharpsim.coverage(problem) == pytest.approx(got["coverage"], rel=1e-12)
    assert sharpsim.margin(problem) == pytest.approx(got["margin"], rel=1e-9)


@given(req=sst.coverage_requests(feasible=False), seed=sst.seeds())
@example(req=CoverageRequest(3, 1, 0.0, 0.0), seed=0)
@example(req=CoverageRequest(3, 1, 0.0, 3.0 + 1e-6), seed=0)  # the margin-0 limit is 1 + 2 = 3
def test_with_coverage_raises_on_infeasible_requests(req, seed):
    assert req.coverage < 1 or req.coverage > req.max_coverage()
    with pytest.raises(ValueError, match="coverage" if req.coverage < 1 else "feasible range"):
        req.build(jax.random.key(seed))


@given(num_responses=st.integers(1, 10**5), num_argmax=st.integers(1, 10), margin=st.floats(0.0, 100.0))
def test_coverage_range_is_the_theoretical_range(num_responses, num_argmax, margin):
    k = min(num_argmax, num_responses)
    lo, hi = sp.coverage_range(num_responses, margin=margin, num_argmax=k)
    c_max = CoverageRequest(num_responses, k, margin, 1.0).max_coverage()
    assert lo == 1.0
    assert hi <= c_max  # never promises more than the theory allows
    # and is conservative only by the documented minimum gap (1e-6) and 1e-9 inflation
    assert hi - 1 >= (c_max - 1) * (1 - 2e-6)


@given(
    problem=sst.problems(coverage=(1.5, 4.0), margin=(0.2, 0.5), num_responses=(4, 8), num_argmax=(1, 2)),
)
def test_problems_strategy_respects_its_ranges(problem):
    got = measure(np.asarray(problem.probs), mu_of(problem))
    assert 1.5 * (1 - COVERAGE_RTOL) <= got["coverage"] <= 4.0 * (1 + COVERAGE_RTOL)
    assert got["margin"] >= 0.2
    assert set(got["num_argmax"].tolist()) <= {1, 2}


# ----------------------------------------------------------------- planted_autoregressive
@given(req=sst.planted_requests(), seed=sst.seeds())
@example(req=PlantedRequest(2, 1, 0.0, 1.0), seed=0)
@example(req=PlantedRequest(3, 2, 0.0, 1.0 - 1e-12), seed=0)
@example(req=PlantedRequest(2, 3, 1.0, 1.5**3 * (1 + 1e-6)), seed=0)  # above ((V+γ)/(1+γ))^H
def test_planted_autoregressive_meets_feasible_requests_and_rejects_infeasible(req, seed):
    V, H, c = req.vocab_size, req.horizon, req.coverage
    _, hi = sp.planted_coverage_range(V, H, margin=req.margin)
    # the planted family's range never exceeds what any table over V^H allows
    assert hi <= CoverageRequest(V**H, 1, req.margin, 1.0).max_coverage() * (1 + 1e-12)
    if c < 1 or c > hi * (1 + 1e-10):
        with pytest.raises(ValueError, match="coverage" if c < 1 else "feasible range"):
            req.build(jax.random.key(seed))
        return
    problem = req.build(jax.random.key(seed))
    joint = joint_probs(problem.base)
    np.testing.assert_allclose(joint.sum(axis=1), 1.0, atol=1e-12)
    got = measure(joint, mu_of(problem))
    assert abs(got["coverage"] - c) <= COVERAGE_RTOL * c, (got["coverage"], c)
    assert got["margin"] >= req.margin, (got["margin"], req.margin)
    np.testing.assert_array_equal(got["num_argmax"], 1)  # a unique planted arg-max


# ---------------------------------------------------------------------------- determinism
def _bytes(problem) -> list[bytes]:
    return [np.asarray(leaf).tobytes() for leaf in jax.tree.leaves(problem)]


@given(req=sst.coverage_requests(feasible=True), seed=sst.seeds())
def test_with_coverage_same_key_bitwise_identical(req, seed):
    first = req.build(jax.random.key(seed))
    second = req.build(jax.random.key(seed))
    assert _bytes(first) == _bytes(second)


@given(req=sst.planted_requests(feasible=True), seed=sst.seeds())
def test_planted_autoregressive_same_key_bitwise_identical(req, seed):
    first = req.build(jax.random.key(seed))
    second = req.build(jax.random.key(seed))
    assert _bytes(first) == _bytes(second)


@given(seed=sst.seeds())
def test_with_coverage_different_keys_differ(seed):
    """Positions are a uniform permutation of 6 responses per prompt and the other masses
    are continuous: two keys give the same table with probability 0."""
    a = sp.with_coverage(jax.random.key(seed), 3, 6, 2.0, heterogeneity=0.5)
    b = sp.with_coverage(jax.random.key(seed ^ 1), 3, 6, 2.0, heterogeneity=0.5)
    assert _bytes(a) != _bytes(b)
