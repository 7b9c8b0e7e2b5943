"""Bad input to SFT-Sharpening and adaptive SFT-Sharpening (and the oracle calls they share): one
test per kind of bad argument, each checking that the error names the argument and the
constraint it broke.

Kinds: n < 1 or n > max_n; N < 1; stop_level <= 0 or not finite; δ, γ outside [0, 1); a class whose
shape does not match the problem; unknown method names.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from sharpsim import bounds, classes, oracle, problems
from sharpsim.algorithms import adaptive_sft_sharpening, sft_sharpening

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
        oracle.sample_best_of_n(KEY, pr, 3, N, method=method)


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


@pytest.mark.parametrize("name", ["delta", "gamma"])
@pytest.mark.parametrize("value", [1.0, -0.1, 2.0])
def test_levels_outside_unit_interval_in_algorithms(pr, tab, name, value):
    # δ = 0 and γ = 0 are valid there (δ = 0 asks for all the mass on y*): [0, 1)
    msg = rf"`{name}` must lie in \[0, 1\); got {value}"
    with pytest.raises(ValueError, match=msg):
        sft_sharpening(KEY, pr, tab, n=3, N=2, **{name: value})
    with pytest.raises(ValueError, match=msg):
        adaptive_sft_sharpening(KEY, pr, tab, n=3, stop_level=1.0, **{name: value})


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
        oracle.sample_best_of_n(KEY, pr, 3, 2, method="nope")
    with pytest.raises(ValueError, match=r"`max_n` is supported with method='exact' only"):
        adaptive_sft_sharpening(KEY, pr, tab, n=3, stop_level=1.0, method="literal", max_n=4)
