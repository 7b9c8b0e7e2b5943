"""The exact statements as objects (``sharpsim.theorems``): registry, reports, exact conclusions
checked by hand, and the search for counterexamples (``sharpsim.testing.falsify``).

Every conclusion here is exact; the one Monte Carlo check (``expected_adaptive_draws`` against
the sampled rule) states its false-failure probability.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import sharpsim as ss
from sharpsim import oracle, problems, testing, theorems

EXACT = [t.id for t in theorems.all() if t.kind == "exact"]
FAST = settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------------------- registry
def test_registry_ids_and_lookup():
    assert theorems.ids() == ["Prop 3.1", "Thm 3.1", "Thm 4.1", "Lemma 4.1", "Thm 4.2", "Margin lemma", "Thm 4.3",
                              "Prop C.1", "Thm D.1", "Prop E.2", "Lemma I.1"]
    assert EXACT == ["Prop 3.1", "Lemma 4.1", "Margin lemma", "Prop C.1", "Prop E.2", "Lemma I.1"]
    assert theorems.get("Thm J.2") is theorems.get("Theorem 4.3")
    assert theorems.get("Proposition  3.1") is theorems.get("prop 3.1")
    assert theorems.get("lemma i.1").id == "Lemma I.1"
    assert [t.id for t in theorems.all()] == theorems.ids()
    with pytest.raises(KeyError, match=r"no theorem 'Thm 9.9'; registered: \['Prop 3.1'"):
        theorems.get("Thm 9.9")
    thm = theorems.get("Prop C.1")
    assert "log(1/ρ)" in thm.statement and thm.kind == "exact"
    with pytest.raises(KeyError, match=r"Prop C.1 has no assumption 'nope'; its assumptions: \['enough_draws'\]"):
        thm.assumption("nope")
    assert "enough_draws" in str(thm)


@pytest.mark.parametrize("call, error, match", [
    (lambda: theorems.get("Prop C.1").check("not a problem", N=2), TypeError, "`problem` must be a sharpsim Problem"),
    (lambda: theorems.get("Prop C.1").check(problems.from_probs([[0.5, 0.5]])), ValueError, r"needs the parameter\(s\) \['N'\]"),
    (lambda: theorems.get("Prop C.1").check(problems.from_probs([[0.5, 0.5]]), N=2, beta=1.0), ValueError,
     r"takes the parameters \['N', 'gamma', 'rho'\]; got unknown \['beta'\]"),
    (lambda: theorems.get("Prop C.1").check(problems.from_probs([[0.5, 0.5]]), N=0), ValueError, "`N` must be"),
    (lambda: theorems.get("Margin lemma").check(problems.from_probs([[0.5, 0.5]]), beta=-1.0), ValueError, "`beta`"),
    (lambda: theorems.get("Lemma I.1").verify(problems.from_probs([[0.5, 0.5]]), stop_level=0.0), ValueError,
     "`stop_level`"),
    (lambda: theorems.get("Prop 3.1").check(problems.from_probs([[0.5, 0.5]])), ValueError,
     "must be an AutoregressivePolicy"),
])
def test_bad_input_is_one_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------ exact, by hand
def test_prop_c1_by_hand():
    pr = problems.from_probs([[0.5, 0.3, 0.2]])
    thm = theorems.get("Prop C.1")
    rep = thm.check(pr, N=2, rho=0.25)
    assert not rep.holds  # 2 · 0.5 = 1 < log 4
    (row,) = rep.rows
    assert row["name"] == "enough_draws" and row["value"] == pytest.approx(1.0) and row["threshold"] == pytest.approx(math.log(4))
    assert rep.promise["N needed"] == math.ceil(math.log(4) / 0.5) == 3
    c = thm.verify(pr, N=2, rho=0.25).conclusion
    assert c.value == pytest.approx(1 - 0.5**2, rel=1e-12) and c.holds  # 0.75 >= 0.75: holds even so
    c3 = thm.verify(pr, N=3, rho=0.1).conclusion
    assert c3.value == pytest.approx(1 - 0.5**3, rel=1e-12) and c3.holds is False  # 0.875 < 0.9, N too small


def test_margin_lemma_by_hand():
    # two responses 0.6 / 0.4: γ_margin = 0.5; π*_β(y*) = 1 / (1 + (2/3)^{1 + 1/β})
    pr = problems.from_probs([[0.6, 0.4]])
    thm = theorems.get("Margin lemma")
    thr = 0.5 / (2 * math.log(2 * 2 / 0.1))
    rep = thm.check(pr, beta=0.9 * thr, delta=0.1)
    assert rep.holds and rep.rows[0]["threshold"] == pytest.approx(thr, rel=1e-12)
    for beta in (0.9 * thr, 0.5, 5.0):
        c = thm.verify(pr, beta=beta, delta=0.1).conclusion
        want = 1 / (1 + (2 / 3) ** (1 + 1 / beta))
        assert c.value == pytest.approx(want, rel=1e-12)
        assert c.holds == (want >= 0.95)


def test_lemma41_by_hand_and_with_another_reference():
    pr = problems.from_probs([[0.75, 0.25]])
    thm = theorems.get("Lemma 4.1")
    # β = 1: π* ∝ π² = (9/10, 1/10); C_π* = 0.9·(0.9/0.75) + 0.1·(0.1/0.25) = 1.12 <= C_cov = 4/3;
    # C_(base/π*;1) = 0.75·(0.75/0.9) + 0.25·(0.25/0.1) = 1.25 <= |Y| = 2
    c = thm.verify(pr, beta=1.0).conclusion
    assert c.holds and c.value == pytest.approx(max(1.12 / (4 / 3), 1.25 / 2), rel=1e-12)
    opt = theorems.reference_optimum(pr, 1.0)
    np.testing.assert_allclose(np.asarray(opt.probs), [[0.9, 0.1]], rtol=1e-12)
    # reference (0.1, 0.9): π ∝ ref·π_base = (0.075, 0.225)/0.3 = (1/4, 3/4): C_π = (1/4)(1/3) + (3/4)(3) = 2.333 > 4/3
    other = thm.verify(pr, beta=1.0, reference=np.array([[0.1, 0.9]]))
    assert not other.report.holds and not other.holds
    assert other.conclusion.value == pytest.approx(max((1 / 12 + 9 / 4) / (4 / 3), (0.75 * 3 + 0.25 / 3) / 2), rel=1e-12)


def test_expected_adaptive_draws_by_hand():
    # (0.75, 0.25), μ = 1: stop at k = 2 or 3 once 0.75 was drawn, at k = 4 always:
    # E = 1 + P(N>1) + P(N>2) + P(N>3) = 1 + 1 + 0.25² + 0.25³
    pr = problems.from_probs([[0.75, 0.25], [0.5, 0.5]])
    e = ss.laws.expected_adaptive_draws(pr, 1.0)
    np.testing.assert_allclose(e, [2 + 0.25**2 + 0.25**3, 2.0], rtol=1e-14)
    with pytest.raises(ValueError, match="`stop_level`"):
        ss.laws.expected_adaptive_draws(pr, -1.0)


def test_adaptive_miss_probability_by_hand():
    # (0.75, 0.25), μ = 1: the rule keeps 0.25 only if it drew 0.25 four times (it stops at k = 2 on
    # a draw of 0.75, at k = 4 always): 0.25^4; with (0.5, 0.5) both responses are y*: never a miss
    pr = problems.from_probs([[0.75, 0.25], [0.5, 0.5]])
    np.testing.assert_allclose(ss.laws.adaptive_miss_probability(pr, 1.0), [0.25**4, 0.0], rtol=1e-14, atol=0)
    c = theorems.get("Lemma I.1").verify(pr, stop_level=1.0).conclusion
    assert c.holds and "P[kept ∉ y*(x)]" in c.detail  # 0.25^4 <= e^{-1}, and the E[N_μ] bound


def test_adaptive_miss_probability_matches_the_sampled_rule():
    # the kept response of 400,000 exact draws of the rule misses y* at a rate within 5 standard
    # errors of the exact probability: false-failure probability ~6e-7
    pr = problems.from_probs([[0.4, 0.3, 0.2, 0.1]])
    want = float(ss.laws.adaptive_miss_probability(pr, 3.0)[0])
    kept = np.asarray(oracle.adaptive_best_exact(jax.random.key(1), pr, 400_000, stop_level=3.0).responses)
    rate = float((kept != 0).mean())
    assert abs(rate - want) <= 5 * math.sqrt(want * (1 - want) / kept.size)


def test_expected_adaptive_draws_matches_the_sampled_rule():
    # mean of 200,000 exact draws of the rule (oracle.adaptive_best_exact) within 5 standard
    # errors of the exact expectation: false-failure probability ~6e-7
    pr = problems.from_probs([[0.4, 0.3, 0.2, 0.1]])
    want = float(ss.laws.expected_adaptive_draws(pr, 3.0)[0])
    draws = np.asarray(oracle.adaptive_best_exact(jax.random.key(0), pr, 200_000, stop_level=3.0).num_draws, float)
    assert abs(draws.mean() - want) <= 5 * draws.std() / math.sqrt(draws.size)


def test_prop_e2_on_its_instance_by_hand():
    # n = 3, B = log 3 + 1/2: tokens 0 and 1 share e_1 at step 1, token 2 has e_2, so the best member
    # puts 1/(2 + e^{−B√2}) on token 1 (θ_1 = B(e_1 − e_2)/√2); after token 1, token 0 has e_1 and the
    # others e_2: 1/(1 + 2e^{−B√2}). The product is the supremum (the layers' balls are separate).
    pr, cls, _ = problems.prop_e2_instance(3)
    thm = theorems.get("Prop E.2")
    v = thm.verify(pr, model_class=cls)
    t = math.exp(-(math.log(3) + 0.5) * math.sqrt(2))
    assert v.report.holds and v.holds
    assert v.conclusion.value == pytest.approx(1 / (2 + t) / (1 + 2 * t), rel=1e-6)
    p_star = float(np.exp(np.asarray(pr.tabular().base.max_log_prob()))[0])
    N = math.ceil(math.log(10) / p_star)
    assert thm.promise(pr, model_class=cls)["N (BoN)"] == N and f"BoN_{N} of π_base" in v.conclusion.detail
    # pinned: token 0 moved to e_2 at step 1, so y* = (1, 0) shares no feature at either step; each step's
    # supremum is 1/(1 + 2e^{−B√2}) and their product exceeds 1/2
    f = np.asarray(cls.features).copy()
    f[0, 0, :, 0] = [0.0, 1.0]
    moved = ss.classes.AutoregressiveLinearSoftmaxClass(f, cls.radius, context_length=1)
    B = math.log(3) + 0.5
    pr2 = problems.from_policy(moved.policy(np.array([[B, 0.0], [B, 0.0]])))
    v = thm.verify(pr2, model_class=moved)
    assert [r["name"] for r in v.report.rows if not r["holds"]] == ["shared_feature"]
    assert v.report.rows[0]["value"] == pytest.approx(math.sqrt(2))
    assert not v.holds and v.conclusion.value == pytest.approx(1 / (1 + 2 * t) ** 2, rel=1e-6)


def test_prop31_on_its_tightness_instance():
    thm = theorems.get("Prop 3.1")
    tight = problems.prop31_tightness(p_star=0.4)  # π(y*) = 0.4 < 1/2 and greedy misses y*
    v = thm.verify(tight)
    assert not v.report.holds and v.report.rows[0]["value"] == pytest.approx(0.4, rel=1e-9)
    assert not v.holds and v.conclusion.value == 1


# ------------------------------------------------------------- search: none when kept
@pytest.mark.parametrize("tid", EXACT)
def test_no_counterexample_with_every_assumption_kept(tid):
    thm = theorems.get(tid)

    @FAST
    @given(testing.instances(thm))
    def holds(inst):
        assert thm._report(inst).holds
        assert thm.conclusion_fn(inst).holds

    holds()


# ---------------------------------------------- search: dropping each assumption breaks it
@pytest.mark.parametrize("tid", EXACT)
def test_dropping_each_assumption_yields_a_counterexample(tid):
    thm = theorems.get(tid)
    for a in thm.assumptions:
        ce = testing.falsify(thm, drop=a.name, max_examples=150, seed=1)
        assert ce is not None, f"{tid}: no counterexample found with {a.name} dropped"
        assert not ce.conclusion.holds
        failing = [r["name"] for r in ce.report.rows if not r["holds"]]
        assert failing == [a.name]  # the dropped assumption is the one that fails
        assert tid in str(ce)


# Shrunk counterexamples found by the search, pinned (rounded) and re-derived by hand.
def test_pinned_counterexamples():
    # Prop C.1 without enough draws: one prompt (0.64, 0.36), N = 1, ρ = 0.25: success 0.64 < 0.75
    c = theorems.get("Prop C.1").verify(problems.from_probs([[0.64, 0.36]]), N=1, rho=0.25).conclusion
    assert not c.holds and c.value == pytest.approx(0.64)
    # Margin lemma with β above its threshold: (0.518, 0.482), δ = 1/2, β = 0.0722:
    # π*_β(y*) = 1/(1 + (0.482/0.518)^{1+1/β}) ≈ 0.745 < 0.75
    c = theorems.get("Margin lemma").verify(problems.from_probs([[0.518, 0.482]]), beta=0.0722, delta=0.5).conclusion
    assert not c.holds and c.value == pytest.approx(1 / (1 + (0.482 / 0.518) ** (1 + 1 / 0.0722)), rel=1e-12)
    # Lemma I.1 with a verifier that is not the base: base (0.76, 0.24), verifier (0.26, 0.74), μ = 1:
    # stop at k=2 iff a draw has q >= 1/2 (the 0.24 response), at k=4 always (q >= 1/4 for both)
    pr = problems.from_probs([[0.76, 0.24]])
    e = 1 + 1 + 0.76**2 + 0.76**3
    c = theorems.get("Lemma I.1").verify(pr, stop_level=1.0, verifier=np.array([[0.26, 0.74]])).conclusion
    assert not c.holds and c.value == pytest.approx(e / ((1 + 1) / 0.76), rel=1e-12)


def test_falsify_bad_input():
    with pytest.raises(ValueError, match="`max_examples` must be an integer >= 1"):
        testing.falsify("Prop C.1", max_examples=0)
    with pytest.raises(KeyError, match="has no assumption 'margin'"):
        testing.falsify("Prop C.1", drop="margin")


@pytest.mark.parametrize("call, match", [
    (lambda pr: ss.laws.expected_adaptive_draws(pr, 1.0, tol=0.0), r"`tol` must be in \(0, 1e-6\]"),
    (lambda pr: ss.laws.adaptive_miss_probability(pr, 1.0, tol=1e-3), r"`tol` must be in \(0, 1e-6\]"),
    (lambda pr: ss.laws.adaptive_miss_probability(pr, 0.0), "`stop_level`"),
    (lambda pr: ss.laws.expected_adaptive_draws(pr, 1.0, verifier=np.full((1, 3), 1 / 3)), "`verifier`"),
])
def test_adaptive_laws_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(problems.from_probs([[0.75, 0.25]]))
