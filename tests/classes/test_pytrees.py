"""The exact-oracle model classes are pytrees: their learning oracles jit and vmap over seeds and over
data batches, and match single runs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from classes._reference import NDATA, K, X, Y, random_data, random_tables
from sharpsim import classes, problems
from sharpsim.algorithms import sft_sharpening


# ============================================================ jit and vmap over seeds
@pytest.mark.parametrize("kind", ["finite", "product", "tabular"])
def test_classes_jit_and_vmap_over_seeds_match_single_runs(kind):
    rng = np.random.default_rng(11)
    base = random_tables(rng, (2, 4), zero_frac=0.0)
    pr = problems.from_probs(base, [0.3, 0.7])
    if kind == "finite":
        cls = classes.bon_closure(classes.FiniteClass(np.stack([base, base[::-1], random_tables(rng, (2, 4))])), 3)
    elif kind == "product":
        cls = classes.bon_closure(classes.ProductClass(np.stack([base, base[::-1]], axis=1)), 3)
    else:
        cls = classes.TabularClass.for_problem(pr)
    def one(k, c):
        res = sft_sharpening(k, pr, c, n=6, N=3)
        return res.policy.log_probs, res.responses

    run = jax.jit(one)
    keys = jax.random.split(jax.random.key(2), 8)
    fits, picks = (np.asarray(a) for a in jax.vmap(run, in_axes=(0, None))(keys, cls))
    assert fits.shape == (8, 2, 4) and picks.shape == (8, 6)
    for i in range(8):
        fit_i, picks_i = run(keys[i], cls)
        np.testing.assert_array_equal(fits[i], np.asarray(fit_i))
        np.testing.assert_array_equal(picks[i], np.asarray(picks_i))
    # the seeds are not all the same run (the data differ)
    assert len({picks[i].tobytes() for i in range(8)}) > 1


def test_mle_vmaps_over_data_batches():
    rng = np.random.default_rng(12)
    cls = classes.FiniteClass(random_tables(rng, (K, X, Y)))
    data = [random_data(rng, NDATA, X, Y) for _ in range(5)]
    P = jnp.asarray(np.stack([d[0] for d in data]))
    R = jnp.asarray(np.stack([d[1] for d in data]))
    idx = np.asarray(jax.vmap(cls.mle_index)(P, R))
    for i, (p, r) in enumerate(data):
        assert idx[i] == int(cls.mle_index(jnp.asarray(p), jnp.asarray(r)))
