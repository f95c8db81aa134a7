"""Lymphocyte-subset panels of cycle 1: blood lymphocytes, five percentages and five absolute counts per sample.

Who is sampled and the forced pairs come from labs_layout; absolute counts (labs_counts) and percentages
(labs_percentages) are calibrated separately, as the lead decided: the paper's Table 2 is not consistent between
them (NR median CD3 count 0.24 above the NR median lymphocyte count 0.19), so a panel's counts are not its
percentages times its lymphocytes. Baseline panels the day before cycle 1, post panels at the end of the infusion,
and, in 21-28-day infusions, panels halfway between on the earlier draw days.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from demo_cohort.labs_counts import COUNT_MARKERS, calibrate_counts
from demo_cohort.labs_layout import subset_layout
from demo_cohort.labs_percentages import SUBSETS, calibrate_percentages
from demo_cohort.labs_rows import end_of_infusion, on_treatment_draws, row


def subset_panels(design: pl.DataFrame, design_cycles: pl.DataFrame, rng: np.random.Generator) -> list[dict]:
    """Rows of every subset panel (specimen blood, cycle 1)."""
    layout = subset_layout(design, rng)
    counts = calibrate_counts(layout, rng)
    pct_pre, pct_post = calibrate_percentages(layout, rng)
    pre = np.column_stack([counts[a][0] for a in COUNT_MARKERS] + [pct_pre])
    post = np.column_stack([counts[a][1] for a in COUNT_MARKERS] + [pct_post])
    analytes = (*COUNT_MARKERS, *SUBSETS)
    decimals = np.array([m.decimals for m in COUNT_MARKERS.values()] + [2] * len(SUBSETS))
    first = design_cycles.filter(pl.col("cycle_no") == 1)
    schedule = {m: (s, d) for m, s, d in first.select("mrn", "start_date", "infusion_days").iter_rows()}
    post_of = dict(zip(layout.paired, range(len(layout.paired))))
    rows = []
    for i, mrn in enumerate(layout.mrn):
        start, days = schedule[mrn]
        panels = [("baseline", -1, pre[i])]
        if i in post_of:
            end = end_of_infusion(layout.regimen[i], days)
            # draws on the way: the mean of both panels keeps every linear plausibility limit
            panels += [(tp, offset, np.floor((pre[i] + post[post_of[i]]) / 2 * 10 ** decimals) / 10 ** decimals)
                       for tp, offset in on_treatment_draws(days) if offset < end[1]]
            panels.append((*end, post[post_of[i]]))
        for timepoint, offset, values in panels:
            date = start + dt.timedelta(days=offset)
            rows += [row(mrn, 1, timepoint, date, "blood", a, round(float(v), int(k)))
                     for a, v, k in zip(analytes, values, decimals)]
    return rows
