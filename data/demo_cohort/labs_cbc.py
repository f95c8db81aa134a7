"""Blood counts (CBC) of every cycle: nadirs consistent with the reported CTCAE cytopenia grades but a few.

A baseline every cycle; on-treatment draws (day14, day21/28) only where the grades were assessed. A handful of
cycles get a nadir two grades off on purpose, for the data managers' discrepancy report.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from demo_cohort.labs_rows import on_treatment_draws, row

# CTCAE v5.0 bands (x10^9/L) for the nadir of a graded cycle; grade 1 needs a lower limit of normal, taken as
# 2.0 (neutrophils) and 150 (platelets) for these children.
ANC_BANDS = {0: (2.0, 5.5), 1: (1.5, 2.0), 2: (1.0, 1.5), 3: (0.5, 1.0), 4: (0.05, 0.5)}
PLT_BANDS = {0: (150, 380), 1: (75, 150), 2: (50, 75), 3: (25, 50), 4: (4, 25)}
N_CBC_DISCREPANCIES = 2  # per term: cycles whose nadir contradicts the reported grade, for the DM report


def _in_band(rng: np.random.Generator, band: tuple[float, float], decimals: int) -> float:
    """A value well inside [lo, hi) after rounding."""
    lo, hi = band
    margin = (hi - lo) * 0.1
    return round(rng.uniform(lo + margin, hi - margin), decimals)


def _discrepant(grade: int) -> int:
    """A grade two steps away from the reported one: unmistakable whatever the lower limit of normal."""
    return grade + 2 if grade <= 2 else grade - 2


def blood_counts(cycles: pl.DataFrame, rng: np.random.Generator, lymphocytes: dict) -> list[dict]:
    """CBC rows: a baseline every cycle; on-treatment draws where the cytopenia grades were assessed, their
    nadir in the reported grade's band except for a few deliberate discrepancies."""
    graded = cycles.filter(pl.col("neutropenia_grade").is_not_null() & pl.col("thrombocytopenia_grade").is_not_null())
    picks = rng.choice(graded.height, 2 * N_CBC_DISCREPANCIES, replace=False)
    off = {"neutrophils": set(graded[picks[:N_CBC_DISCREPANCIES]].select("mrn", "cycle_no").iter_rows()),
           "platelets": set(graded[picks[N_CBC_DISCREPANCIES:]].select("mrn", "cycle_no").iter_rows())}
    rows = []
    for c in cycles.iter_rows(named=True):
        key = (c["mrn"], c["cycle_no"])
        draws = [("baseline", -1)] + on_treatment_draws(c["infusion_days"])
        nadir_at = rng.integers(1, len(draws)) if len(draws) > 1 else 0
        values: dict[str, list] = {}
        for analyte, term, bands, decimals in [("neutrophils", "neutropenia_grade", ANC_BANDS, 2),
                                               ("platelets", "thrombocytopenia_grade", PLT_BANDS, 0)]:
            grade = c[term]
            if grade is None:  # not assessed: only the baseline count exists
                values[analyte] = [_in_band(rng, bands[0], decimals)] + [None] * (len(draws) - 1)
                continue
            if key in off[analyte]:
                grade = _discrepant(grade)
            nadir = _in_band(rng, bands[grade], decimals)
            top = bands[0][1]
            values[analyte] = [nadir if i == nadir_at else round(rng.uniform(nadir, max(top, nadir)), decimals)
                               for i in range(len(draws))]
        for i, (timepoint, offset) in enumerate(draws):
            anc, plt = values["neutrophils"][i], values["platelets"][i]
            if i and anc is None and plt is None:
                continue
            lym = lymphocytes.get((*key, timepoint))  # drawn with the subsets: reported there
            measured = {"lymphocytes": None if lym else round(float(np.exp(rng.normal(0, 0.5))), 2),
                        "hemoglobin": float(round(rng.normal(100, 14))), "platelets": plt}
            lym = lym or measured["lymphocytes"]
            if anc is not None:
                measured |= {"neutrophils": anc, "wbc": round(anc + lym + rng.uniform(0.1, 0.8), 2)}
            date = c["start_date"] + dt.timedelta(days=offset)
            rows += [row(c["mrn"], c["cycle_no"], timepoint, date, "blood", a, v) for a, v in measured.items()
                     if v is not None]
    return rows
