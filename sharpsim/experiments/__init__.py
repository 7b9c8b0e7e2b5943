"""Experiments: one module per figure (``Config``, ``CONFIGS``, ``cells``, ``run_cell``), the
resumable sweep runner and the sample-complexity engine."""

from sharpsim.experiments.engine import (
    SampleComplexity,
    fit_slope,
    m_star,
    sample_complexity,
    success_table,
    tables_from_rows,
)

__all__ = ["SampleComplexity", "fit_slope", "m_star", "sample_complexity", "success_table", "tables_from_rows"]
