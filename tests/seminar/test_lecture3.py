"""Lecture 3's own check: the exact prediction behind exercise 3.3 against SFT-Sharpening runs.

The tests every lecture shares (tags, wrong answers, the notebook run) are in ``test_lectures.py``.
"""

from __future__ import annotations


def test_the_reference_prediction_of_exercise_3_3_matches_sft_sharpening():
    """The checker's exact E[err_δ] of tabular SFT-Sharpening against the mean error of 1000 runs of
    ``algorithms.sft_sharpening`` per instance. Errors lie in [0, 1]; the test fails when the mean is
    more than 5 standard errors from the prediction (false-failure rate about 6e-7 per instance
    under the normal approximation)."""
    import jax
    import numpy as np

    from sharpsim import algorithms, classes
    from sharpsim.seminar import lecture3

    @jax.jit
    def errors(keys, problem, n, N, delta):
        tabular = classes.TabularClass.for_problem(problem)

        def one(key):
            return algorithms.sft_sharpening(key, problem, tabular, n=n, N=N, delta=delta, max_n=64,
                                             return_policy=False).error

        return jax.vmap(one)(keys)

    keys = jax.random.split(jax.random.key(2025), 1000)
    for problem, n, N, delta in lecture3.expected_error_instances()[:3:2]:
        err = np.asarray(errors(keys, problem, n, N, delta))
        predicted = lecture3.expected_tabular_sft_error(problem, n, N, delta)
        assert abs(err.mean() - predicted) <= 5 * err.std() / np.sqrt(err.size) + 1e-12, (n, N, delta)
