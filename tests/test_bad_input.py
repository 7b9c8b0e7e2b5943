"""Bad input to the top-level modules (policies, laws, coefficients, oracle, bounds): every invalid
argument raises ValueError or TypeError whose message names the argument and the constraint it
broke; valid edge inputs never give NaN.

One test per kind of bad argument (parametrised over the public entry points that take it), plus
a no-NaN sweep over valid edge cases.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import algorithms, bounds, oracle, problems
from sharpsim.coefficients import argmax_mass
from sharpsim.policies import AutoregressivePolicy, TabularPolicy

KEY = jax.random.key(0)
GOOD = [[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]]


@pytest.fixture(scope="module")
def pr():
    return problems.from_probs(GOOD)


@pytest.fixture(scope="module")
def big_markov():
    """A Markov autoregressive problem with 2**30 sequences: fine to sample, too big to enumerate."""
    tables = np.full((30, 1, 2, 2), 0.5)
    return problems.from_policy(AutoregressivePolicy.from_conditionals(tables, context_length=1))


# ========================================================= probabilities: sign, NaN, sum
BAD_ROWS = [
    ([[0.5, -0.3, 0.8]], r"must be non-negative; smallest entry is -0\.3"),
    ([[0.5, np.nan, 0.5]], r"must contain only finite numbers \(found NaN or inf\)"),
    ([[0.5, np.inf, 0.5]], r"must contain only finite numbers \(found NaN or inf\)"),
    ([[0.5, 0.6, 0.0]], r"must sum to 1 \(tolerance 1e-06\); row \(0,\) sums to 1\.1"),
    ([[0.5, 0.5 - 2e-6, 0.0]], r"must sum to 1 \(tolerance 1e-06\)"),
]


@pytest.mark.parametrize("table,msg", BAD_ROWS)
def test_bad_probability_tables_raise_naming_the_argument(table, msg):
    with pytest.raises(ValueError, match=r"`base_probs` " + msg):
        problems.from_probs(table)
    with pytest.raises(ValueError, match=r"`probs` " + msg):
        TabularPolicy.from_probs(table)
    one = problems.from_probs([[0.5, 0.3, 0.2]])
    with pytest.raises(ValueError, match=r"`policy` " + msg):
        ss.coverage(one, policy=table)
    with pytest.raises(ValueError, match=r"`policy` " + msg):
        ss.sharpening_error(one, table, delta=0.1)
    with pytest.raises(ValueError, match=r"`policy` " + msg):
        ss.concentrability(one, table)
    with pytest.raises(ValueError, match=r"`reference` " + msg):
        ss.power_concentrability(one, [[1 / 3] * 3], table, beta=1.0)
    # the same bad row as a one-step conditional table of an autoregressive policy
    with pytest.raises(ValueError, match=r"`probs` "):
        AutoregressivePolicy.from_conditionals(np.asarray(table, dtype=float)[None, :, None, :])


@pytest.mark.parametrize(
    "mu,msg",
    [
        ([0.5, -0.5, 1.0], r"`prompt_probs` must be non-negative"),
        ([0.5, np.nan, 0.5], r"`prompt_probs` must contain only finite numbers"),
        ([0.5, 0.6, 0.0], r"each row of `prompt_probs` must sum to 1 \(tolerance 1e-06\)"),
    ],
)
def test_bad_prompt_probs_raise(mu, msg):
    table = [[1.0, 0.0]] * 3
    with pytest.raises(ValueError, match=msg):
        problems.from_probs(table, mu)
    with pytest.raises(ValueError, match=msg):
        problems.with_coverage(KEY, 3, 4, 2.0, prompt_probs=mu)


def test_bad_logits_and_log_probs_raise():
    with pytest.raises(ValueError, match=r"`logits` must not contain NaN or \+inf"):
        TabularPolicy.from_logits([[np.nan, 0.0]])
    with pytest.raises(ValueError, match=r"`logits` must not contain NaN or \+inf"):
        TabularPolicy.from_logits([[np.inf, 0.0]])
    with pytest.raises(ValueError, match=r"every row of `logits` needs at least one finite logit"):
        TabularPolicy.from_logits([[-np.inf, -np.inf]])
    with pytest.raises(ValueError, match=r"each row of `log_probs` must sum to 1 \(tolerance 1e-06\)"):
        TabularPolicy.from_log_probs([[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"`logits` must not contain NaN or \+inf"):
        AutoregressivePolicy.from_logits(np.full((2, 1, 2, 2), np.nan))


def test_non_numeric_and_empty_tables_raise():
    with pytest.raises(TypeError, match=r"`base_probs` must be an array of real numbers"):
        problems.from_probs("abc")
    with pytest.raises(ValueError, match=r"`base_probs` must have 2 dimension\(s\); got shape \(3,\)"):
        problems.from_probs([0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"`probs` must be non-empty"):
        TabularPolicy.from_probs(np.zeros((2, 0)))


WRONG_SHAPES = [
    ([[0.5, 0.3, 0.1, 0.1], [0.25] * 4], r"\(2, 4\)"),  # too many responses
    ([[0.5, 0.3, 0.2]], r"\(1, 3\)"),  # too few prompts
]


@pytest.mark.parametrize("policy,shape", WRONG_SHAPES)
def test_policy_array_of_wrong_shape_raises(pr, policy, shape):
    expected = (
        r"`policy` has shape " + shape + r" but the problem has \[num_prompts, num_responses\] = \[2, 3\]"
    )
    with pytest.raises(ValueError, match=expected):
        ss.sharpening_error(pr, policy, delta=0.1)
    with pytest.raises(ValueError, match=expected):
        ss.coverage(pr, policy=policy)
    with pytest.raises(ValueError, match=expected):
        ss.concentrability(pr, policy)
    with pytest.raises(ValueError, match=expected):
        ss.sharpening_error(pr, TabularPolicy.from_probs(policy), delta=0.1)
    with pytest.raises(ValueError, match=expected.replace("`policy`", "`reference`")):
        ss.power_concentrability(pr, GOOD, policy, beta=0.5)


def test_per_prompt_n_of_wrong_length_raises(pr):
    with pytest.raises(
        ValueError, match=r"`N` must be a scalar or have shape \[num_prompts\] = \[2\]; got \(3,\)"
    ):
        ss.bon_law(pr, np.array([1, 2, 3]))


def test_autoregressive_table_shape_errors():
    with pytest.raises(
        ValueError, match=r"third axis of the conditional tables must be vocab_size\*\*context_length"
    ):
        AutoregressivePolicy.from_conditionals(np.full((2, 1, 3, 2), 0.5))
    with pytest.raises(ValueError, match=r"`context_length` must be <= horizon - 1 = 1; got 2"):
        AutoregressivePolicy.from_conditionals(np.full((2, 1, 4, 2), 0.5))
    with pytest.raises(ValueError, match=r"`probs` must have 4 dimension\(s\)"):
        AutoregressivePolicy.from_conditionals(np.full((2, 2, 2), 0.5))


# ================================================================ N < 1, non-integer N
@pytest.mark.parametrize(
    "N,exc,msg",
    [
        (0, ValueError, r"`N` must be an integer >= 1; got 0"),
        (-3, ValueError, r"`N` must be an integer >= 1; got -3"),
        (0.0, ValueError, r"`N` must be an integer >= 1; got 0"),
        (2.5, TypeError, r"`N` must be an integer >= 1; got 2\.5"),
        (float("nan"), TypeError, r"`N` must be an integer >= 1; got nan"),
        (float("inf"), TypeError, r"`N` must be an integer >= 1; got inf"),
        (True, TypeError, r"`N` must be an integer >= 1; got True"),
    ],
)
def test_bad_n_for_bon_law(pr, N, exc, msg):
    with pytest.raises(exc, match=msg):
        ss.bon_law(pr, N)
    with pytest.raises(exc, match=msg):
        ss.bon_success_probability(pr, N)


@pytest.mark.parametrize(
    "N,exc,msg",
    [
        (np.array([0, 2]), ValueError, r"`N` must hold integers >= 1; smallest entry is 0"),
        (np.array([1.5, 2.0]), TypeError, r"`N` must hold integers >= 1"),
        (np.array([np.nan, 2.0]), TypeError, r"`N` must hold integers >= 1"),
    ],
)
def test_bad_per_prompt_n_for_bon_law(pr, N, exc, msg):
    with pytest.raises(exc, match=msg):
        ss.bon_law(pr, N)


@pytest.mark.parametrize("method", ["exact", "literal"])
@pytest.mark.parametrize(
    "N,exc,msg",
    [
        (0, ValueError, r"`N` must be an integer >= 1; got 0"),
        (-1, ValueError, r"`N` must be an integer >= 1; got -1"),
        (2.5, TypeError, r"`N` must be an integer >= 1; got 2\.5"),
    ],
)
def test_bad_n_for_best_of_n(pr, method, N, exc, msg):
    with pytest.raises(exc, match=msg):
        oracle.sample_best_of_n(KEY, pr, 3, N, method=method)
    with pytest.raises(exc, match=msg):
        algorithms.best_of_n(KEY, pr, n=3, N=N, method=method)


def test_bad_sizes_for_the_oracle(pr):
    with pytest.raises(ValueError, match=r"`N` must be an integer >= 1; got 0"):
        oracle.sample_and_evaluate(KEY, pr, 3, 0)
    with pytest.raises(ValueError, match=r"`n` must be an integer >= 1; got 0"):
        oracle.sample_and_evaluate(KEY, pr, 0, 3)
    with pytest.raises(TypeError, match=r"`n` must be an integer >= 1; got 1\.5"):
        oracle.sample_best_of_n(KEY, pr, 1.5, 3)
    with pytest.raises(ValueError, match=r"`max_draws` must be an integer >= 1; got 0"):
        oracle.sample_and_evaluate_adaptive(KEY, pr, 2, stop=lambda k, b: k > 1, max_draws=0)
    with pytest.raises(ValueError, match=r"`method` must be 'exact' or 'literal'; got 'fast'"):
        oracle.sample_best_of_n(KEY, pr, 2, 2, method="fast")
    with pytest.raises(ValueError, match=r"`N` must be >= 1; got 0\.5"):
        bounds.bon_inference_guarantee(pr, 0.5)


# ===================================================================== β ≤ 0, NaN, inf
@pytest.mark.parametrize(
    "beta,msg",
    [
        (0.0, r"`beta` must be > 0; got 0\.0"),
        (-1.0, r"`beta` must be > 0; got -1\.0"),
        (float("nan"), r"`beta` must be finite; got nan"),
        (float("inf"), r"`beta` must be finite; got inf"),
    ],
)
def test_bad_beta(pr, beta, msg):
    with pytest.raises(ValueError, match=msg):
        ss.kl_regularized_optimum(pr, beta)
    with pytest.raises(ValueError, match=msg):
        ss.power_concentrability(pr, GOOD, GOOD, beta=beta)


def test_non_numeric_beta_is_a_type_error(pr):
    with pytest.raises(TypeError, match=r"`beta` must be a real number"):
        ss.kl_regularized_optimum(pr, "small")


# ================================================================= δ, γ outside [0, 1)
LEVELS = [
    (-0.1, r"must lie in \[0, 1\); got -0\.1"),
    (1.0, r"must lie in \[0, 1\); got 1\.0"),
    (1.5, r"must lie in \[0, 1\); got 1\.5"),
    (float("nan"), r"must be finite; got nan"),
]


@pytest.mark.parametrize("value,msg", LEVELS)
def test_bad_delta(pr, value, msg):
    with pytest.raises(ValueError, match=r"`delta` " + msg):
        ss.sharpening_error(pr, GOOD, delta=value)


@pytest.mark.parametrize("value,msg", LEVELS)
def test_bad_gamma(pr, value, msg):
    m = r"`gamma` " + msg
    with pytest.raises(ValueError, match=m):
        ss.sharpening_error(pr, GOOD, delta=0.1, gamma=value)
    with pytest.raises(ValueError, match=m):
        ss.coverage(pr, gamma=value)
    with pytest.raises(ValueError, match=m):
        pr.base.argmax_set(value)
    with pytest.raises(ValueError, match=m):
        argmax_mass(pr, gamma=value)
    with pytest.raises(ValueError, match=m):
        ss.bon_success_probability(pr, 2, gamma=value)
    with pytest.raises(ValueError, match=m):
        bounds.bon_inference(pr, rho=0.1, gamma=value)
    with pytest.raises(ValueError, match=m):
        algorithms.best_of_n(KEY, pr, n=2, N=2, gamma=value)


def test_non_numeric_level_is_a_type_error(pr):
    with pytest.raises(TypeError, match=r"`gamma` must be a real number"):
        ss.coverage(pr, gamma="a")
    with pytest.raises(TypeError, match=r"`delta` must be a scalar"):
        ss.sharpening_error(pr, GOOD, delta=[0.1, 0.2])


# ================================================================== enumeration limit
def test_enumeration_beyond_the_limit_raises_naming_limit(big_markov):
    msg = r"1 \* 2\*\*30 = 1073741824 entries, above `limit` = 16777216"
    with pytest.raises(ValueError, match=msg):
        big_markov.base.joint_log_probs()
    with pytest.raises(ValueError, match=msg):
        big_markov.tabular()
    with pytest.raises(ValueError, match=msg):
        ss.coverage(big_markov)
    with pytest.raises(ValueError, match=msg):
        ss.bon_law(big_markov, 2)
    with pytest.raises(ValueError, match=msg):
        ss.kl_regularized_optimum(big_markov, 1.0)
    with pytest.raises(ValueError, match=msg):
        oracle.sample_best_of_n(KEY, big_markov, 2, 2, method="exact")
    # sampling does not enumerate, so the literal oracle still works
    batch = oracle.sample_and_evaluate(KEY, big_markov, 2, 3)
    assert batch.responses.shape == (2, 3, 30)
    np.testing.assert_allclose(np.asarray(batch.log_probs), np.full((2, 3), 30 * math.log(0.5)), rtol=1e-14)


def test_explicit_small_limit_raises():
    pol = AutoregressivePolicy.from_conditionals(np.full((3, 2, 4, 2), 0.5))  # 2 * 2**3 = 16 entries
    with pytest.raises(ValueError, match=r"above `limit` = 15"):
        pol.joint_log_probs(limit=15)


# ================================================================ p < 1, ρ outside (0, 1)
@pytest.mark.parametrize(
    "p,msg",
    [(0.5, r"`p` must be >= 1; got 0\.5"), (0.0, r"`p` must be >= 1"), (float("nan"), r"`p` must be finite")],
)
def test_bad_p(pr, p, msg):
    with pytest.raises(ValueError, match=msg):
        ss.coverage(pr, p=p)


@pytest.mark.parametrize(
    "rho,msg",
    [
        (0.0, r"`rho` must lie in \(0, 1\); got 0\.0"),
        (1.0, r"`rho` must lie in \(0, 1\); got 1\.0"),
        (-0.5, r"`rho` must lie in \(0, 1\); got -0\.5"),
        (1.5, r"`rho` must lie in \(0, 1\); got 1\.5"),
        (float("nan"), r"`rho` must be finite; got nan"),
    ],
)
def test_bad_rho(pr, rho, msg):
    with pytest.raises(ValueError, match=msg):
        bounds.bon_inference(pr, rho=rho)


def test_not_a_problem_is_a_type_error():
    with pytest.raises(TypeError, match=r"`problem` must be a sharpsim Problem; got str"):
        ss.coverage("not a problem")
    with pytest.raises(TypeError, match=r"`policy` must be a TabularPolicy or AutoregressivePolicy"):
        problems.from_policy(np.eye(2))


# ==================================================== valid edge inputs never give NaN
EDGE_ROWS = {
    "one_hot": [[1.0, 0.0, 0.0, 0.0]],
    "one_hot_last": [[0.0, 0.0, 0.0, 1.0]],
    "all_tied": [[0.25, 0.25, 0.25, 0.25]],
    "tied_with_zeros": [[0.0, 0.5, 0.0, 0.5]],
    "zeros_and_levels": [[0.0, 0.6, 0.2, 0.2]],
    "tiny": [[1 - 3e-300, 1e-300, 1e-300, 1e-300]],
}


@pytest.mark.parametrize("name", list(EDGE_ROWS))
def test_valid_edge_inputs_never_give_nan(name):
    row = EDGE_ROWS[name]
    pr = problems.from_probs(row)
    uniform = [[0.25] * 4]
    scalars = {
        "coverage": ss.coverage(pr),
        "coverage_gamma_p": ss.coverage(pr, gamma=0.9, p=3),
        "adaptive_coverage": ss.adaptive_coverage(pr),
        "margin": ss.margin(pr),
        "r_max": ss.r_max(pr),
        "concentrability": ss.concentrability(pr, row),
        "power_concentrability": ss.power_concentrability(pr, row, uniform, beta=0.5),
        "sharpening_error": ss.sharpening_error(pr, row, delta=0.5),
        "success": ss.bon_success_probability(pr, 10**15),
        "guarantee": bounds.bon_inference_guarantee(pr, 10**15),
    }
    for key, value in scalars.items():
        assert not math.isnan(value), key
    arrays = (
        {f"bon_law_{N}": np.asarray(ss.bon_law(pr, N).probs) for N in (1, 2, 10**15)}
        | {f"kl_{b}": np.asarray(ss.kl_regularized_optimum(pr, b).probs) for b in (1e-300, 1.0, 1e300)}
        | {"bon_inference": bounds.bon_inference(pr, rho=0.5)}
    )
    for key, value in arrays.items():
        assert not np.isnan(value).any(), key
    # and the results are right: the row's own arg-max set carries everything
    top = max(row[0])
    assert scalars["coverage"] == pytest.approx(
        1 / sum(p for p in row[0] if p >= top * (1 - 1e-9)), rel=1e-12
    )
    assert scalars["concentrability"] == pytest.approx(1.0, rel=1e-12)
    assert scalars["sharpening_error"] == 0.0  # π̂ = π_base puts ≥ 0.6 on y* in every edge row
    for N in (1, 2, 10**15):
        np.testing.assert_allclose(arrays[f"bon_law_{N}"].sum(), 1.0, rtol=1e-12)
    assert scalars["success"] == pytest.approx(1.0, rel=1e-12)


def test_evaluate_rejects_out_of_range_prompts_and_responses():
    problem = problems.from_probs([[0.5, 0.5], [0.9, 0.1]])
    good = oracle.evaluate(problem, np.array([0, 1]), np.array([[1], [0]]))
    assert good.num_queries == 2
    with pytest.raises(ValueError, match=r"`prompts` must lie in \[0, 2\)"):
        oracle.evaluate(problem, np.array([5]), np.array([0]))
    with pytest.raises(ValueError, match=r"`responses` must lie in \[0, 2\)"):
        oracle.evaluate(problem, np.array([0]), np.array([7]))
    with pytest.raises(TypeError, match="`responses` must hold integer indices"):
        oracle.evaluate(problem, np.array([0]), np.array([0.5]))


def test_evaluate_checks_sequence_shape_and_tokens():
    problem = problems.prop31_tightness()  # V = 2, H = 2
    assert oracle.evaluate(problem, np.array([0]), np.array([[1, 0]])).num_queries == 1
    with pytest.raises(ValueError, match="horizon = 2"):
        oracle.evaluate(problem, np.array([0]), np.array([[1, 0, 0]]))
    with pytest.raises(ValueError, match=r"`responses` must lie in \[0, 2\)"):
        oracle.evaluate(problem, np.array([0]), np.array([[3, 0]]))
