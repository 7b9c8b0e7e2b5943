"""Bad input to the sample-complexity engine: every invalid argument raises an error naming the
argument and the constraint it broke."""

from __future__ import annotations

import pytest

from sharpsim.experiments import engine

OUTSIDE = [0.0, 1.0, -0.1, 1.5]


@pytest.mark.parametrize("name", ["eps", "rho"])
@pytest.mark.parametrize("value", OUTSIDE)
def test_levels_outside_open_unit_interval_in_engine(name, value):
    kwargs = {"eps": 0.5, "rho": 0.1, name: value}
    with pytest.raises(ValueError, match=rf"`{name}` must lie in \(0, 1\); got {value}"):
        engine.sample_complexity(lambda k, b: (0.0, b), [1], num_seeds=2, progress=False, **kwargs)
