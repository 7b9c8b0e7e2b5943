"""Thm 3.1, Thm D.1, Thm 4.2 and Thm 4.3 as objects: their assumption reports (checked by hand), their
promises, sampled verifications at the promised budget, and the known constructions that refute them
when an assumption is dropped (Prop E.2 for realizability, near ties for the margin).

Each sampled check states its false-failure probability; the refutations are deterministic given the
construction (no run can succeed), which the comments show.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import bounds, classes, problems, testing, theorems


# ------------------------------------------------------------------------------ Thm D.1
def test_thm_d1_report_and_promise(decoys):
    pr, cls = decoys
    thm = theorems.get("Thm D.1")
    rep = thm.check(pr, model_class=cls, eps=0.25, delta=0.2, rho=0.2)
    assert rep.holds and [r["name"] for r in rep.rows] == ["finite_class", "realizable"]
    n = bounds.sft_num_prompts(4 * math.log(3), 0.25, delta=0.2, rho=0.2)
    mu = math.log(2 / 0.2)
    assert rep.promise["n"] == n and rep.promise["stop_level"] == pytest.approx(mu, rel=1e-12)
    draws = float(np.asarray(pr.prompt_probs) @ ss.laws.expected_adaptive_draws(pr, mu))
    assert rep.promise["E[m] (exact, n E_x E[N_mu])"] == pytest.approx(n * draws, rel=1e-12)
    # the class as given holds base rows, not the adaptive law (which is sharper than the base)
    assert not thm.check(pr, model_class=cls, eps=0.25, delta=0.2, rho=0.2, adaptive_closed=False).holds


def test_thm_d1_verify_at_the_prescription(decoys):
    # 200 runs at the constant-1 prescription: the 95 % Clopper–Pearson interval reaches 1 − ρ = 0.8, so
    # a true success rate >= 0.8 fails this with probability at most 2.5 % (measured rate: 1.0)
    pr, cls = decoys
    v = theorems.get("Thm D.1").verify(pr, key=jax.random.key(3), num_seeds=200, model_class=cls, eps=0.25,
                                       delta=0.2, rho=0.2)
    assert not v.exact and v.report.holds and v.holds and v.conclusion.value >= 0.9


# ------------------------------------------------------------------------------ Thm 4.2
def test_thm42_coefficients_by_hand():
    # one prompt, base (0.6, 0.4); a class of two members: π*_β and the base itself
    pr = problems.from_probs([[0.6, 0.4]])
    beta = 0.5
    opt = np.asarray(ss.kl_regularized_optimum(pr, beta).probs)[0]  # ∝ (0.6³, 0.4³)
    np.testing.assert_allclose(opt, np.array([0.216, 0.064]) / 0.28, rtol=1e-12)
    cls = classes.FiniteClass(np.array([[opt], [[0.6, 0.4]]]))
    rep = theorems.get("Thm 4.2").check(pr, model_class=cls, beta=beta, margin=0.5)
    values = {r["name"]: r["value"] for r in rep.rows}
    c_pi = max(float(np.sum(opt**2 / np.array([0.6, 0.4]))), 1.0)  # the base's C_π is 1
    c_loss = max(float(np.sum(np.array([0.6, 0.4]) * (np.array([0.6, 0.4]) / opt) ** beta)), 1.0)
    assert values["bounded_concentrability"]["C_conc"] == pytest.approx(c_pi, rel=1e-12)
    assert values["bounded_concentrability"]["C_loss"] == pytest.approx(c_loss, rel=1e-12)
    assert values["realizable"] == pytest.approx(0.0, abs=1e-12) and values["margin"] == pytest.approx(0.5)
    assert rep.holds
    m = bounds.rlhf_upper_bound(c_pi, c_loss, math.log(2), 0.1, margin=0.5, delta=0.1, rho=0.1)
    assert rep.promise["n"] == math.ceil(m / 2)
    # the base alone does not contain π*_β; a claimed margin above the measured one fails
    base_only = classes.FiniteClass(np.array([[[0.6, 0.4]]]))
    rep = theorems.get("Thm 4.2").check(pr, model_class=base_only, beta=beta, margin=0.6)
    assert [r["name"] for r in rep.rows if not r["holds"]] == ["realizable", "margin"]


def test_thm42_verify_and_its_budget_guard():
    # 100 runs at 1e-4 times the constant-1 budget (which is ~10^7 pairs): the 95 % interval reaches
    # 1 − ρ = 0.8, which a true rate >= 0.8 fails with probability at most 2.5 % (measured rate: 1.0)
    pr = problems.with_coverage(jax.random.key(0), 3, 5, 2.0, heterogeneity=1.0, margin=0.3)
    thm = theorems.get("Thm 4.2")
    beta = bounds.rlhf_beta(ss.margin(pr), eps=0.25, delta=0.2)
    cls = classes.decoy_product_class(jax.random.key(1), pr, 2, around=ss.kl_regularized_optimum(pr, beta))
    v = thm.verify(pr, key=jax.random.key(3), num_seeds=100, model_class=cls, eps=0.25, delta=0.2, rho=0.2,
                   constant=1e-4)
    assert v.report.holds and v.holds and v.conclusion.value >= 0.9
    with pytest.raises(ValueError, match=r"the promised n = \d+ is above 4194304 .* pass a smaller `constant`"):
        thm.verify(pr, model_class=cls, eps=0.25, delta=0.2, rho=0.2)
    with pytest.raises(TypeError, match="`model_class` must be a FiniteClass or ProductClass"):
        thm.check(pr, model_class=classes.TabularClass())


# ------------------------------------------------------------------------------ Thm 4.3
def test_thm43_report_promise_and_verify():
    pr, f = problems.hidden_direction(3, 6, bias=1.0)
    thm = theorems.get("Thm 4.3")
    assert theorems.get("Thm J.2") is thm
    cls = classes.LinearSoftmaxClass(f, 50.0)
    rep = thm.check(pr, model_class=cls, eps=0.25, delta=0.2, rho=0.2, constant=1e-4)
    assert rep.holds
    beta = bounds.xpo_beta(math.e - 1, 6, delta=0.2)
    real = {r["name"]: r["value"] for r in rep.rows}["realizable"]
    # π_base = π_θb with θb = e_d, so π*_β = π_{(1 + 1/β) θb}: norm 1 + 1/β, fitted exactly
    assert real["norm"] == pytest.approx(1 + 1 / beta, rel=1e-9) and real["residual"] < 1e-12
    T = rep.promise["T"]
    m = bounds.xpo_linear_upper_bound(3, 50.0, ss.r_max(pr), 6, 0.25, T=T, margin=math.e - 1, delta=0.2, rho=0.2,
                                      constant=1e-4)
    assert 2 * T >= m and 2 * (T - 1) < bounds.xpo_linear_upper_bound(  # the smallest such T (a fixed point)
        3, 50.0, ss.r_max(pr), 6, 0.25, T=T, margin=math.e - 1, delta=0.2, rho=0.2, constant=1e-4) + 2
    # 20 runs at that T: all succeed here; the 95 % interval of 20/20 is [0.83, 1], and a true rate
    # >= 0.8 would put the whole interval below 0.8 with probability at most 2.5 %
    v = thm.verify(pr, key=jax.random.key(5), num_seeds=20, model_class=cls, eps=0.25, delta=0.2, rho=0.2,
                   constant=1e-4)
    assert v.holds
    # a radius too small for π*_β: realizability fails, naming the norm it needs
    small = thm.check(pr, model_class=classes.LinearSoftmaxClass(f, 2.0), eps=0.25, delta=0.2, rho=0.2)
    assert [r["name"] for r in small.rows if not r["holds"]] == ["realizable"]


# ------------------------------------------------------------------------------ Thm 3.1
def test_thm31_report_by_hand_and_verify():
    fam = problems.lower_bound_family(jax.random.key(0), d=2, C=2.0, eps=0.04)
    thm = theorems.get("Thm 3.1")
    rep = thm.check(fam.problem, model_class=fam.model_class, eps=0.04, C=2.0)
    assert rep.holds
    # every hard candidate puts 1/((1−γ)M) = 2/M on its arg-max, x0 puts 1 on y0: C = (1 − Δ) + Δ M/2
    M, mass = fam.M, fam.mass
    cov = {r["name"]: r["value"] for r in rep.rows}["bounded_coverage"]
    assert cov == pytest.approx((1 - mass) + mass * M / 2, rel=1e-12)
    assert rep.promise["m needed by any algorithm >="] == math.floor(bounds.sft_lower_bound(2.0, fam.log_size, 0.04))
    # at a tenth of the constant-1 bound no split of m succeeds (deterministic given the keys; the
    # conclusion is refuted only by a split whose one-sided Clopper–Pearson limit reaches 0.9)
    v = thm.verify(fam.problem, key=jax.random.key(1), num_seeds=32, model_class=fam.model_class, eps=0.04, C=2.0,
                   constant=0.1)
    assert v.holds and v.conclusion.value < 0.9
    # at 8 times the bound SFT-Sharpening succeeds on every run at some split: the verification can
    # refute a (too large) constant: 64 of 64 runs succeed at some split, and the one-sided limit of
    # 64/64 at the Bonferroni level, (0.0036)^(1/64) = 0.916, reaches 0.9 (32 runs would not: 0.84).
    v = thm.verify(fam.problem, key=jax.random.key(1), num_seeds=64, model_class=fam.model_class, eps=0.04, C=2.0,
                   constant=8.0)
    assert not v.holds and v.conclusion.value == 1.0


# ------------------------------------------------------- falsify: the known constructions
@pytest.mark.parametrize("tid, drop", [("Thm 4.1", "realizable"), ("Thm 4.2", "margin")])
def test_known_constructions_refute_a_statistical_statement(tid, drop):
    # Prop E.2 (realizability): every member puts <= 1/2 on y*, so err_δ = 1 on every run; near ties
    # (margin): the prescription's β, from a claimed margin 0.5, leaves π*_β(y*) ≈ 1/2 < 1 − δ. Both fail
    # on every run (rate 0), so the 99.9 % interval of 0/30 ([0, 0.2]) lies below 1 − ρ.
    ce = testing.falsify(tid, drop=drop, max_examples=2, num_seeds=30)
    assert ce is not None and ce.conclusion.value == 0.0
    assert [r["name"] for r in ce.report.rows if not r["holds"]] == [drop]
    assert f"counterexample to {tid}" in str(ce)


@pytest.mark.slow
@pytest.mark.parametrize("tid, drop", [("Thm D.1", "realizable"), ("Thm 4.3", "margin")])
def test_known_constructions_refute_the_others(tid, drop):
    ce = testing.falsify(tid, drop=drop, max_examples=2, num_seeds=30)
    assert ce is not None and ce.conclusion.value == 0.0
    assert [r["name"] for r in ce.report.rows if not r["holds"]] == [drop]


def test_no_counterexample_with_every_assumption_kept_thm41():
    # 3 instances drawn with every assumption kept, each verified with 30 runs at a 99.9 % interval: a
    # true rate >= 1 − ρ yields a false counterexample with probability <= 0.05 % per instance
    assert testing.falsify("Thm 4.1", max_examples=3, num_seeds=30) is None


@pytest.mark.slow
@pytest.mark.parametrize("tid", ["Thm D.1", "Thm 4.2", "Thm 4.3", "Thm 3.1"])
def test_no_counterexample_with_every_assumption_kept_slow(tid):
    # as above, <= 0.05 % per instance; Thm 4.2 and 4.3 at their strategies' constant 1e-4, Thm 3.1 at 0.1
    assert testing.falsify(tid, max_examples=3, num_seeds=30) is None


def test_statistical_falsify_bad_input():
    with pytest.raises(NotImplementedError, match=r"no construction that drops 'finite_class' from Thm 4\.1"):
        testing.instances("Thm 4.1", drop="finite_class")
    with pytest.raises(ValueError, match="`num_seeds` must be an integer >= 1"):
        testing.falsify("Thm 4.1", drop="realizable", num_seeds=0)
    with pytest.raises(ValueError, match=r"`confidence` must be in \(0, 1\)"):
        theorems.get("Thm 4.1").verify(problems.from_probs([[0.5, 0.5]]), model_class=classes.TabularClass(),
                                       confidence=1.0)
