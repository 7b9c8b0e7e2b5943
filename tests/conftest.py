"""Shared pytest configuration: hypothesis profiles and the ``--runslow`` flag.

Hypothesis profiles (pick one with ``HYPOTHESIS_PROFILE=name``; otherwise ``ci`` when the
environment variable ``CI`` is ``true``/``1``, else ``dev``):

* ``ci``: derandomized (the same examples on every run, so CI is reproducible), no deadline
  (JAX compiles on first use), 30 examples per test, and failing examples printed with a
  reproduction blob;
* ``dev``: random examples (the local database replays past failures), no deadline, 50
  examples per test;
* ``thorough``: 500 examples per test, for a long local run.

Tests marked ``@pytest.mark.slow`` (the marker is declared in ``pyproject.toml``) are skipped
unless pytest is run with ``--runslow``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import sharpsim  # noqa: F401  (sets sharpsim's floating-point policy before any test runs)

# JAX compiles on first use of every array shape, so the first draws of a strategy that builds
# problems (or the first calls of a test) can take a second: no deadline, and no "too slow"
# health check.
_jax_friendly = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", derandomize=True, max_examples=30, print_blob=True, **_jax_friendly)
settings.register_profile("dev", max_examples=50, **_jax_friendly)
settings.register_profile("thorough", max_examples=500, **_jax_friendly)

_default_profile = "ci" if os.environ.get("CI", "").lower() in ("true", "1") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default_profile))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="module")
def eq8_setup():
    """A tabular problem (3 prompts, 5 responses, C_cov = 2.5) and 60 Eq 8 triples drawn from it:
    ``(problem, triples, m)``."""
    import jax

    from sharpsim import oracle, problems

    problem = problems.with_coverage(jax.random.key(0), 3, 5, 2.5)
    triples, m = oracle.sample_triples(jax.random.key(1), problem, 60)
    return problem, triples, int(m)
