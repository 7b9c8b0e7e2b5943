"""Experiments: one module per figure, the sample-complexity engine and the resumable sweep runner.

* Figure modules (registered in :mod:`sharpsim.figures`), each following the protocol of
  :mod:`sharpsim.experiments.protocol` (``NAME``, ``DESCRIPTION``, ``THEORY_NOTE``, ``Config``,
  ``CONFIGS``, ``cells``, ``run_cell``, ``instance``, ``draw``; ``BUDGET`` and ``budgets`` for the
  figures that read ``m*`` off a budget sweep): ``bon_inference``, ``sft_coverage``,
  ``lower_bound_eps``, ``lower_bound_size``, ``adaptive_draws``, ``separation``, ``exploration``,
  ``xpo_dimension``, ``rlhf_beta``, ``rlhf_margin``, and beyond the paper ``iterated``,
  ``power_sampling``, ``passk_crossover``, ``amortization``. Their seed axes go through
  :func:`sharpsim.parallel.map_seeds`.
* :mod:`~sharpsim.experiments.engine`: ``m*`` with its Clopper–Pearson interval and the bootstrap
  slope (re-exported here).
* :mod:`~sharpsim.experiments.complexity`: ``sharpsim complexity``'s measurement.
* ``_runner`` (resumable CSV sweeps and manifests), ``_plot`` (plot helpers shared by the
  figures) and ``_lower_bound`` (the sweep shared by the two App H figures) are internal.
"""

from sharpsim.experiments.engine import (
    SampleComplexity,
    fit_slope,
    m_star,
    sample_complexity,
    success_table,
    tables_from_rows,
)

__all__ = ["SampleComplexity", "fit_slope", "m_star", "sample_complexity", "success_table", "tables_from_rows"]
