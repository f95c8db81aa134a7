"""One laboratory measurement as a row of the canonical long labs frame, and when cycle samples are drawn."""

from __future__ import annotations

import datetime as dt

import polars as pl

from demo_cohort.kits import CYTOKINES

UNITS = {"hemoglobin": "g/L", "igg": "g/L", "iga": "g/L", "igm": "g/L", "csf_wbc": "cells/uL", "csf_albumin": "mg/L",
         **{c: "pg/mL" for c in CYTOKINES}, **{f"{s}_pct": "%" for s in ("cd3", "cd4", "cd8", "nk", "cd19")}}
SCHEMA = {"mrn": pl.String, "center_id": pl.String, "cycle_no": pl.Int64, "timepoint": pl.String,
          "sample_date": pl.Date, "specimen": pl.String, "analyte": pl.String, "value": pl.Float64,
          "marker": pl.String, "unit": pl.String}


def row(mrn: str, cycle_no: int, timepoint: str, date: dt.date, specimen: str, analyte: str, value: float,
        floor: float | None = None) -> dict:
    """One measurement (no center: joined last); a cytokine at or under its kit's floor is reported as the floor
    with marker "<"."""
    below = floor is not None and value <= floor
    return {"mrn": mrn, "cycle_no": cycle_no, "timepoint": timepoint, "sample_date": date, "specimen": specimen,
            "analyte": analyte, "value": floor if below else float(value), "marker": "<" if below else None,
            "unit": UNITS.get(analyte, "x10^9/L")}


def on_treatment_draws(infusion_days: int) -> list[tuple[str, int]]:
    """Draws inside the infusion: (timepoint, day offset from the start)."""
    return [(tp, day - 1) for tp, day in (("day14", 14), ("day21", 21), ("day28", 28)) if day <= infusion_days]


def end_of_infusion(regimen: str, infusion_days: int) -> tuple[str, int]:
    """The "post" draw: day14 for 14-day cycles, the last of day21/day28 inside a 21-28-day infusion."""
    draws = on_treatment_draws(infusion_days)
    return draws[0] if regimen == "14d" else draws[-1]
