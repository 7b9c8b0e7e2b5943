"""The ``rlhf_margin`` and ``rlhf_beta`` figures: nested budgets are RLHF-Sharpening on the first n
pairs, the fitted rates, and both figures on their testing settings."""

from __future__ import annotations

import dataclasses

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import classes, oracle
from sharpsim.experiments import rlhf_beta, rlhf_margin


def test_nested_budgets_are_the_algorithm_on_the_first_n_pairs():
    """Each budget's error equals the exact error of TabularClass.regress on the first n triples of
    the stream alone (σ = 0.5), bit for bit up to eigh rounding."""
    config = rlhf_margin.CONFIGS["testing"]
    problem = rlhf_margin.instance(config, {"margin": 0.2}).problem
    keys = jax.random.split(jax.random.key(4), 2)
    ns = np.array([5, 40, 300])
    beta = 0.02
    got = np.asarray(rlhf_margin.nested_errors(keys, problem, ns, 300, beta, 0.1, 0.5))
    cls = classes.TabularClass.for_problem(problem)
    for s, k in enumerate(keys):
        stream, _ = oracle.sample_triples(k, problem, 300, reward_noise=0.5)
        for b, n in enumerate(ns):
            first = jax.tree.map(lambda a, n=n: a[:n], stream)
            err = ss.sharpening_error(problem, cls.regress(first, beta), delta=0.1)
            assert got[s, b] == pytest.approx(float(err), abs=1e-12)


def test_rlhf_margin_testing_sweep_and_drawing():
    config = rlhf_margin.CONFIGS["testing"]
    cells = rlhf_margin.cells(config)
    assert {c["reward_noise"] for c in cells} == set(config.noises)
    rows = []
    for c in cells:
        rows += [dict(c) | r for r in rlhf_margin.run_cell(config, c)]
    for r in rows:  # the planted margin is the measured one
        assert abs(r["measured_margin"] - r["margin"]) <= 1e-9
        assert r["queries"] == 2 * r["n"]
    rates = rlhf_margin.rates(rows, config)
    assert len(rates) == 2 * len(config.noises)
    assert all(r.theory == -2.0 and r.figure == "rlhf_margin" for r in rates)
    assert [r.quantity for r in rates][:2] == ["RLHF m* vs log(1+γ), σ = 0 (control)", "RLHF m* vs γ, σ = 0 (control)"]
    fig = rlhf_margin.draw(rows, config)
    assert fig.axes
    plt.close(fig)


def test_rlhf_beta_has_a_noisy_panel():
    config = dataclasses.replace(rlhf_beta.CONFIGS["testing"], seeds=2)
    cells = rlhf_beta.cells(config)
    noisy = [c for c in cells if c["reward_noise"] > 0]
    assert len(noisy) == len(config.betas) * len(config.noise_ns)
    rows = []
    for c in cells:
        rows += [dict(c) | r for r in rlhf_beta.run_cell(config, c)]
    assert all(0.0 <= r["error"] <= 1.0 for r in rows)
    fig = rlhf_beta.draw(rows, config)
    assert len(fig.axes) == 2
    plt.close(fig)
