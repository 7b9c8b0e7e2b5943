"""Example J.1 (sphere_separation): the packing, the margin and the coverage; all checks exact."""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import problems


@pytest.mark.parametrize("d, B", [(4, 1.0), (8, 4.0), (12, 1.0)])
def test_packing_margin_and_coverage(d, B):
    problem, features = problems.sphere_separation(jax.random.key(d), d, radius=B, max_responses=256)
    f = np.asarray(features)
    assert f.ndim == 3 and f.shape[0] == 1 and f.shape[2] == d
    Y = f.shape[1]
    assert problem.num_responses == Y and problem.num_prompts == 1
    assert np.allclose(np.linalg.norm(f[0], axis=1), 1.0, atol=1e-12)
    gram = f[0] @ f[0].T
    np.fill_diagonal(gram, -np.inf)
    assert gram.max() <= 0.5 + 1e-12  # pairwise inner products at most 1/2: distances >= 1
    probs = np.asarray(problem.probs)[0]
    star = int(np.argmax(probs))
    assert star == 0 and np.array_equal(f[0, 0], np.eye(d)[0])  # y* = e_1, the code's first word
    # π_base ∝ exp(B <y, y*>): recompute it from the features in the test
    logits = B * f[0] @ f[0, star]
    expected = np.exp(logits - logits.max())
    expected /= expected.sum()
    assert np.allclose(probs, expected, rtol=1e-12, atol=0)
    assert int(np.asarray(problem.base.num_argmax())[0]) == 1
    # every other response has inner product <= 1/2 with y*, one exactly 1/2: margin e^{B/2} - 1
    assert ss.margin(problem) == pytest.approx(math.exp(B / 2) - 1, rel=1e-12)
    coverage = float(np.sum(np.exp(B * (f[0] @ f[0, star] - 1.0))))
    assert ss.coverage(problem) == pytest.approx(coverage, rel=1e-12)


def test_default_is_the_separating_regime_with_monotone_code_and_coverage():
    """|Y| and C_cov non-decreasing in d (nested code, y* = e_1 fixed) and strictly growing over
    this range; margin e^{1/2} - 1 (Ω(1)) at the default radius 1, while C_cov grows past 30."""
    ds = [3, 5, 7, 9, 11]
    sizes, covs, margins = [], [], []
    for d in ds:
        problem, features = problems.sphere_separation(jax.random.key(0), d)
        sizes.append(features.shape[1])
        covs.append(ss.coverage(problem))
        margins.append(ss.margin(problem))
    assert all(a < b for a, b in itertools.pairwise(sizes)), sizes
    assert all(a < b for a, b in itertools.pairwise(covs)), covs
    assert min(margins) >= math.exp(0.5) - 1 - 1e-9
    assert covs[-1] >= 10 * covs[0] and covs[-1] > 30


def test_nested_code_contains_the_smaller_codes():
    small = problems.nested_spherical_code(jax.random.key(3), 5, tries=4000)
    big = problems.nested_spherical_code(jax.random.key(3), 7, tries=4000)
    assert big.shape[0] >= small.shape[0]
    np.testing.assert_array_equal(big[: small.shape[0], :5], small)
    np.testing.assert_array_equal(big[: small.shape[0], 5:], 0.0)
    capped = problems.nested_spherical_code(jax.random.key(3), 7, tries=4000, max_responses=10)
    assert capped.shape == (10, 7)
    with pytest.raises(ValueError, match=r"`max_inner` must lie in \[0, 1\)"):
        problems.nested_spherical_code(jax.random.key(0), 4, max_inner=1.0)


def test_bad_input():
    with pytest.raises(ValueError, match="`d`"):
        problems.sphere_separation(jax.random.key(0), 1)
    with pytest.raises(ValueError, match="`radius`"):
        problems.sphere_separation(jax.random.key(0), 4, radius=0.0)
