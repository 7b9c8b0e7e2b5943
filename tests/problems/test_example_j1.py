"""Example J.1 (sphere_separation): the packing, the margin and the coverage."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import problems


@pytest.mark.parametrize("d", [4, 8, 16])
def test_packing_margin_and_coverage(d):
    B = 4.0
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
    # π_base ∝ exp(B <y, y*>): recompute it from the features in the test
    logits = B * f[0] @ f[0, star]
    expected = np.exp(logits - logits.max())
    expected /= expected.sum()
    assert np.allclose(probs, expected, rtol=1e-12, atol=0)
    assert int(np.asarray(problem.base.num_argmax())[0]) == 1
    assert ss.margin(problem) >= math.exp(B / 2) - 1 - 1e-9  # every other response is >= 1/2 away
    coverage = float(np.sum(np.exp(B * (f[0] @ f[0, star] - 1.0))))
    assert ss.coverage(problem) == pytest.approx(coverage, rel=1e-12)


def test_code_grows_with_d_and_coverage_with_it():
    sizes, covs = [], []
    for d in (4, 8, 12, 16):
        problem, features = problems.sphere_separation(jax.random.key(0), d, max_responses=4096)
        sizes.append(features.shape[1])
        covs.append(ss.coverage(problem))
    assert sizes == sorted(sizes) and sizes[-1] >= 8 * sizes[0]
    assert covs[-1] > 4 * covs[0]


def test_bad_input():
    with pytest.raises(ValueError, match="`d`"):
        problems.sphere_separation(jax.random.key(0), 1)
    with pytest.raises(ValueError, match="`radius`"):
        problems.sphere_separation(jax.random.key(0), 4, radius=0.0)
