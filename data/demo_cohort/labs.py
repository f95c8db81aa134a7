"""The demo cohort's laboratory values, calibrated to the multicenter paper's published numbers.

Composes the lymphocyte-subset panels (labs_subsets), the serum and CSF values (labs_serum) and the blood counts
(labs_cbc) into the canonical long labs frame. Targets (medians, ranges, P-value sides, Table 4) are read from the
published-results seed (labs_targets), so no published number is typed in the generator.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from demo_cohort.labs_cbc import N_CBC_DISCREPANCIES, blood_counts
from demo_cohort.labs_rows import SCHEMA, end_of_infusion
from demo_cohort.labs_serum import serum_rows
from demo_cohort.labs_subsets import subset_panels

__all__ = ["build_labs", "N_CBC_DISCREPANCIES"]  # the safety mart's tests count the deliberate discrepancies


def build_labs(design: pl.DataFrame, design_cycles: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The canonical long labs frame of the demo cohort, deterministic for a seed: one random stream per part."""
    rng = {part: np.random.default_rng([seed, k]) for k, part in enumerate(
        ("subsets", "igs", "cytokines", "table4", "cbc"))}
    rows = subset_panels(design, design_cycles, rng["subsets"])
    lymphocytes = {(r["mrn"], 1, r["timepoint"]): r["value"] for r in rows if r["analyte"] == "lymphocytes"}
    subset_pairs = sorted({r["mrn"] for r in rows if r["timepoint"] != "baseline"})

    first = design_cycles.filter(pl.col("cycle_no") == 1).join(design.select("mrn", "regimen_c1"), on="mrn")
    pre_date, end = {}, {}
    for mrn, start, days, regimen in first.select("mrn", "start_date", "infusion_days", "regimen_c1").iter_rows():
        timepoint, offset = end_of_infusion(regimen, days)
        pre_date[mrn], end[mrn] = start - dt.timedelta(days=1), (timepoint, start + dt.timedelta(days=offset))
    rows += serum_rows(design, design_cycles, subset_pairs, pre_date, end, rng)
    rows += blood_counts(design_cycles.sort("mrn", "cycle_no"), rng["cbc"], lymphocytes)
    return (pl.DataFrame(rows, schema={k: v for k, v in SCHEMA.items() if k != "center_id"})
            .join(design.select("mrn", "center_id"), on="mrn", how="left").select(list(SCHEMA))
            .sort("mrn", "cycle_no", "sample_date", "timepoint", "specimen", "analyte", maintain_order=True))
