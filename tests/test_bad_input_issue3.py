"""Bad input for issue 3 (section 7): one test per row, each checking that the error names the
argument and the constraint it broke.

Rows: n < 1; N < 1; stop_level <= 0; ε/δ/ρ outside (0, 1) in the bounds and the engine (and δ, γ
outside [0, 1) in the algorithms); empty or shape-mismatched classes (including a class whose
shape does not match the problem, and n > max_n); unknown method / command names.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from sharpsim import bounds, classes, cli, oracle, problems
from sharpsim.algorithms import adaptive_sft_sharpening, sft_sharpening
from sharpsim.experiments import engine

KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def pr():
    return problems.from_probs([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])


@pytest.fixture(scope="module")
def tab(pr):
    return classes.TabularClass.for_problem(pr)


# =================================================================================== n < 1
@pytest.mark.parametrize("n", [0, -2])
@pytest.mark.parametrize("method", ["exact", "literal"])
def test_n_below_one(pr, tab, n, method):
    with pytest.raises(ValueError, match=rf"`n` must be an integer >= 1; got {n}"):
        sft_sharpening(KEY, pr, tab, n=n, N=2, method=method)
    with pytest.raises(ValueError, match=rf"`n` must be an integer >= 1; got {n}"):
        adaptive_sft_sharpening(KEY, pr, tab, n=n, stop_level=1.0, method=method)


def test_n_not_an_integer(pr, tab):
    with pytest.raises(TypeError, match=r"`n` must be an integer >= 1; got 2\.5"):
        sft_sharpening(KEY, pr, tab, n=2.5, N=2)
    with pytest.raises(TypeError, match=r"`n` must be an integer >= 1"):
        adaptive_sft_sharpening(KEY, pr, tab, n="3", stop_level=1.0)


def test_n_above_max_n_and_bad_max_n(pr, tab):
    # without the check only the first max_n prompts would run and be charged
    with pytest.raises(ValueError, match=r"`n` must be <= `max_n` = 5; got 10"):
        sft_sharpening(KEY, pr, tab, n=10, N=2, max_n=5)
    with pytest.raises(ValueError, match=r"`n` must be <= `max_n` = 5; got 10"):
        adaptive_sft_sharpening(KEY, pr, tab, n=10, stop_level=1.0, max_n=5)
    with pytest.raises(ValueError, match=r"`max_n` must be an integer >= 1; got 0"):
        sft_sharpening(KEY, pr, tab, n=1, N=2, max_n=0)


# =================================================================================== N < 1
@pytest.mark.parametrize("N", [0, -1])
@pytest.mark.parametrize("method", ["exact", "literal"])
def test_N_below_one(pr, tab, N, method):
    with pytest.raises(ValueError, match=rf"`N` must be an integer >= 1; got {N}"):
        sft_sharpening(KEY, pr, tab, n=3, N=N, method=method)
    with pytest.raises(ValueError, match=rf"`N` must be an integer >= 1; got {N}"):
        oracle.best_of_n(KEY, pr, 3, N, method=method)


def test_N_not_an_integer(pr, tab):
    with pytest.raises(TypeError, match=r"`N` must be an integer >= 1; got 1\.5"):
        sft_sharpening(KEY, pr, tab, n=3, N=1.5)
    with pytest.raises(TypeError, match=r"`N` must be an integer >= 1; got 1\.5"):
        sft_sharpening(KEY, pr, tab, n=3, N=1.5, method="literal")


# ========================================================================= stop_level <= 0
@pytest.mark.parametrize("stop_level", [0.0, -1.0])
def test_stop_level_not_positive(pr, tab, stop_level):
    msg = rf"`stop_level` must be > 0; got {stop_level}"
    for method in ("exact", "literal"):
        with pytest.raises(ValueError, match=msg):
            adaptive_sft_sharpening(KEY, pr, tab, n=3, stop_level=stop_level, method=method)
    with pytest.raises(ValueError, match=msg):
        oracle.adaptive_best_exact(KEY, pr, 3, stop_level=stop_level)
    with pytest.raises(ValueError, match=msg):
        bounds.lemma_i1_expected_draws(stop_level, 0.5)
    with pytest.raises(ValueError, match=msg):
        bounds.lemma_i1_miss_probability(stop_level)


def test_stop_level_not_finite(pr, tab):
    with pytest.raises(ValueError, match=r"`stop_level` must be finite; got nan"):
        adaptive_sft_sharpening(KEY, pr, tab, n=3, stop_level=float("nan"))
    with pytest.raises(ValueError, match=r"`stop_level` must be finite; got inf"):
        adaptive_sft_sharpening(KEY, pr, tab, n=3, stop_level=float("inf"))


# ============================================================ ε, δ, ρ outside (0, 1)
OUTSIDE = [0.0, 1.0, -0.1, 1.5]

BOUND_CALLS = {
    # name of the argument -> calls with that argument set to `value`
    "eps": [
        lambda e: bounds.sft_lower_bound(2, 3, e),
        lambda e: bounds.sft_lower_bound(2, 3, e, adaptive=True),
        lambda e: bounds.sft_upper_bound(2, 3, e, delta=0.1, rho=0.1),
        lambda e: bounds.sft_prescription(2, 3, e, delta=0.1, rho=0.1),
        lambda e: bounds.adaptive_sft_upper_bound(2, 3, e, delta=0.1, rho=0.1),
    ],
    "delta": [
        lambda d: bounds.sft_upper_bound(2, 3, 0.1, delta=d, rho=0.1),
        lambda d: bounds.sft_prescription(2, 3, 0.1, delta=d, rho=0.1),
        lambda d: bounds.sft_error_bound(2, 3, n=10, N_star=5, delta=d, rho=0.1),
        lambda d: bounds.adaptive_sft_upper_bound(2, 3, 0.1, delta=d, rho=0.1),
        lambda d: bounds.adaptive_sft_error_bound(3, n=10, delta=d, rho=0.1),
    ],
    "rho": [
        lambda r: bounds.sft_upper_bound(2, 3, 0.1, delta=0.1, rho=r),
        lambda r: bounds.sft_prescription(2, 3, 0.1, delta=0.1, rho=r),
        lambda r: bounds.sft_error_bound(2, 3, n=10, N_star=5, delta=0.1, rho=r),
        lambda r: bounds.adaptive_sft_upper_bound(2, 3, 0.1, delta=0.1, rho=r),
        lambda r: bounds.adaptive_sft_error_bound(3, n=10, delta=0.1, rho=r),
    ],
}


@pytest.mark.parametrize("name", sorted(BOUND_CALLS))
@pytest.mark.parametrize("value", OUTSIDE)
def test_levels_outside_open_unit_interval_in_bounds(name, value):
    for call in BOUND_CALLS[name]:
        with pytest.raises(ValueError, match=rf"`{name}` must lie in \(0, 1\); got {value}"):
            call(value)


@pytest.mark.parametrize("name", ["eps", "rho"])
@pytest.mark.parametrize("value", OUTSIDE)
def test_levels_outside_open_unit_interval_in_engine(name, value):
    kwargs = {"eps": 0.5, "rho": 0.1, name: value}
    with pytest.raises(ValueError, match=rf"`{name}` must lie in \(0, 1\); got {value}"):
        engine.sample_complexity(lambda k, b: (0.0, b), [1], num_seeds=2, progress=False, **kwargs)


@pytest.mark.parametrize("name", ["delta", "gamma"])
@pytest.mark.parametrize("value", [1.0, -0.1, 2.0])
def test_levels_outside_unit_interval_in_algorithms(pr, tab, name, value):
    # δ = 0 and γ = 0 are valid there (δ = 0 asks for all the mass on y*): [0, 1)
    msg = rf"`{name}` must lie in \[0, 1\); got {value}"
    with pytest.raises(ValueError, match=msg):
        sft_sharpening(KEY, pr, tab, n=3, N=2, **{name: value})
    with pytest.raises(ValueError, match=msg):
        adaptive_sft_sharpening(KEY, pr, tab, n=3, stop_level=1.0, **{name: value})


# ================================================ empty or shape-mismatched classes
def test_finite_class_empty_or_wrong_rank():
    with pytest.raises(ValueError, match=r"`probs` must be non-empty; got shape \(0, 2, 3\)"):
        classes.FiniteClass(np.zeros((0, 2, 3)))
    with pytest.raises(ValueError, match=r"`probs` must have 3 dimension\(s\); got shape \(2, 3\)"):
        classes.FiniteClass(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"`log_probs` must have shape \[K >= 1, X, Y\]; got \(0, 2, 3\)"):
        classes.FiniteClass(log_probs=np.zeros((0, 2, 3)))
    with pytest.raises(ValueError, match=r"`log_probs` must have shape \[K >= 1, X, Y\]; got \(2, 3\)"):
        classes.FiniteClass(log_probs=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"each row of `probs` must sum to 1"):
        classes.FiniteClass(np.full((2, 2, 3), 0.5))
    with pytest.raises(TypeError, match=r"pass exactly one of `probs` or `log_probs` to FiniteClass"):
        classes.FiniteClass()


def test_product_class_valid_mismatch_and_empty_prompt():
    cands = np.full((2, 3, 4), 0.25)
    with pytest.raises(ValueError, match=r"`valid` must have shape \[X, K\] = \[2, 3\]; got \(3, 2\)"):
        classes.ProductClass(cands, valid=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match=r"every prompt needs at least one valid candidate in `valid`"):
        classes.ProductClass(cands, valid=[[True, False, False], [False, False, False]])
    with pytest.raises(ValueError, match=r"candidate 0 \(the default for unseen prompts\) must be valid"):
        classes.ProductClass(cands, valid=[[True, False, False], [False, True, False]])
    with pytest.raises(ValueError, match=r"`probs` must be non-empty; got shape \(2, 0, 4\)"):
        classes.ProductClass(np.zeros((2, 0, 4)))
    with pytest.raises(ValueError, match=r"`probs` must have 3 dimension\(s\)"):
        classes.ProductClass(np.full((2, 4), 0.25))
    with pytest.raises(TypeError, match=r"pass exactly one of `probs` or `log_probs` to ProductClass"):
        classes.ProductClass()


def test_tabular_class_bad_sizes():
    with pytest.raises(ValueError, match=r"`num_prompts` must be an integer >= 1; got 0"):
        classes.TabularClass(0, 3)
    with pytest.raises(ValueError, match=r"`num_responses` must be an integer >= 1; got 0"):
        classes.TabularClass(2, 0)
    with pytest.raises(ValueError, match=r"`smoothing` must be >= 0; got -1"):
        classes.TabularClass(2, 3, smoothing=-1.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: classes.TabularClass(3, 3),
        lambda: classes.TabularClass(2, 4),
        lambda: classes.FiniteClass(np.full((2, 3, 3), 1 / 3)),
        lambda: classes.FiniteClass(np.full((2, 2, 4), 1 / 4)),
        lambda: classes.ProductClass(np.full((1, 2, 3), 1 / 3)),
    ],
)
def test_class_shape_must_match_problem(pr, make):
    cls = make()
    msg = (
        rf"`model_class` has \[num_prompts, num_responses\] = \[{cls.num_prompts}, {cls.num_responses}\] "
        r"but the problem has \[2, 3\]"
    )
    with pytest.raises(ValueError, match=msg):
        sft_sharpening(KEY, pr, cls, n=3, N=2)
    with pytest.raises(ValueError, match=msg):
        adaptive_sft_sharpening(KEY, pr, cls, n=3, stop_level=1.0)


# ============================================================= unknown method / command
def test_unknown_method_names(pr, tab):
    msg = r"`method` must be 'exact' or 'literal'; got 'nope'"
    with pytest.raises(ValueError, match=msg):
        sft_sharpening(KEY, pr, tab, n=3, N=2, method="nope")
    with pytest.raises(ValueError, match=msg):
        adaptive_sft_sharpening(KEY, pr, tab, n=3, stop_level=1.0, method="nope")
    with pytest.raises(ValueError, match=msg):
        oracle.best_of_n(KEY, pr, 3, 2, method="nope")
    with pytest.raises(ValueError, match=r"`max_n` is supported with method='exact' only"):
        adaptive_sft_sharpening(KEY, pr, tab, n=3, stop_level=1.0, method="literal", max_n=4)


def test_unknown_cli_command_and_benchmark(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["nope"])
    assert info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert cli.main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'; available:" in capsys.readouterr().err
