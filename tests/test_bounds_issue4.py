"""Bound functions of Thm 4.2, 4.3 / J.2 and J.3: hand-computed values, scaling, errors."""

from __future__ import annotations

import math

import pytest

from sharpsim import bounds


def test_rlhf_upper_bound_by_hand():
    # C_conc = 4, C_loss = 10, log|Π| = 3, ε = 0.1, γ = 0.5, δ = 0.2, ρ = 0.05
    log_term = math.log(10) + 3 + math.log(20)
    expected = 4 * log_term**3 / (0.5**2 * 0.2**2 * 0.1**2)
    got = bounds.rlhf_upper_bound(4, 10, 3, 0.1, margin=0.5, delta=0.2, rho=0.05)
    assert got == pytest.approx(expected, rel=1e-12)
    assert bounds.rlhf_upper_bound(4, 10, 3, 0.1, margin=0.5, delta=0.2, rho=0.05, constant=3) == pytest.approx(3 * expected)
    # halving ε quadruples m; halving γ quadruples m
    assert bounds.rlhf_upper_bound(4, 10, 3, 0.05, margin=0.5, delta=0.2, rho=0.05) == pytest.approx(4 * expected)
    assert bounds.rlhf_upper_bound(4, 10, 3, 0.1, margin=0.25, delta=0.2, rho=0.05) == pytest.approx(4 * expected)


def test_rlhf_error_bound_by_hand():
    log_term = math.log(2) + 1 + math.log(10)
    inner = math.sqrt(3 * log_term**3 / 100) + 0.01 * math.log(3) + 0.4
    got = bounds.rlhf_error_bound(3, 2, 1, n=100, beta=0.01, margin=0.4, delta=0.5, rho=0.1)
    assert got == pytest.approx(inner / (0.4 * 0.5), rel=1e-12)


def test_betas():
    assert bounds.rlhf_beta(0.5, eps=0.1, delta=0.2) == pytest.approx(0.01)
    assert bounds.xpo_beta(0.5, 100, delta=0.1) == pytest.approx(0.5 / (2 * math.log(2000)))


def test_xpo_bounds_by_hand_and_no_coverage():
    got = bounds.xpo_upper_bound(5.0, 7.0, 11.0, 1000, 0.1, margin=0.5, delta=0.2, rho=0.05)
    expected = 25 * 7 * (11 + math.log(20)) * math.log(1000 / 0.2) ** 2 / (0.25 * 0.01 * 0.04)
    assert got == pytest.approx(expected, rel=1e-12)
    lin = bounds.xpo_linear_upper_bound(8, 2.0, 5.0, 1000, 0.1, T=99, margin=0.5, delta=0.2, rho=0.05, eps_disc=0.01)
    sec, log_cov = 8 * math.log(100), 8 * math.log(6 * 2.0 / 0.01)
    assert lin == pytest.approx(bounds.xpo_upper_bound(5.0, sec, log_cov, 1000, 0.1, margin=0.5, delta=0.2, rho=0.05))
    # polynomial in d: doubling d at most quadruples the bound (SEC and log N are both linear in d)
    lin2 = bounds.xpo_linear_upper_bound(16, 2.0, 5.0, 1000, 0.1, T=99, margin=0.5, delta=0.2, rho=0.05, eps_disc=0.01)
    assert lin2 <= 4 * lin * (1 + 1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: bounds.rlhf_upper_bound(0.5, 1, 1, 0.1, margin=0.5, delta=0.1, rho=0.1), "`C_conc`"),
        (lambda: bounds.rlhf_upper_bound(1, 1, 1, 0.1, margin=0.0, delta=0.1, rho=0.1), "`margin`"),
        (lambda: bounds.rlhf_error_bound(1, 1, 1, n=10, beta=0.0, margin=0.5, delta=0.1, rho=0.1), "`beta`"),
        (lambda: bounds.xpo_upper_bound(1, 1, 1, 10, 1.5, margin=0.5, delta=0.1, rho=0.1), "`eps`"),
        (lambda: bounds.xpo_beta(0.5, 0, delta=0.1), "`num_responses`"),
        (lambda: bounds.xpo_linear_upper_bound(0, 1, 1, 10, 0.1, T=1, margin=0.5, delta=0.1, rho=0.1), "`dim`"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
