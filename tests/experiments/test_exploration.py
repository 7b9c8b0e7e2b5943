"""The hidden-direction figure (``experiments.exploration``): the offline success reference is the
probability of drawing y* at least once."""

from __future__ import annotations

import math

import sharpsim as ss
from sharpsim.experiments import exploration


def test_offline_success_reference_is_the_draw_probability():
    config = exploration.Config()
    c = float(ss.coverage(exploration.instance(config, {"size": 64}).problem))
    assert math.isclose(exploration.offline_success_probability(config, 64, 10), 1 - (1 - 1 / c) ** 20, rel_tol=1e-12)
