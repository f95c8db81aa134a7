"""core.assessments: one row per delivered bone-marrow assessment (percentages may carry `<x` / `ND`)."""


import pandera.polars as pa

from schemas.limits import CYCLE_NO_MAX, EARLIEST_DATE, PERCENT
from schemas.reasons import ERROR, WARNING, Get, Label, or_else, subject
from schemas.rules import IDENTITY, RowRule, listed
from schemas.vocabulary import codes

CYCLE_TIMEPOINTS = ("pre_cycle", "day15", "end_of_cycle")  # meaningless without their cycle
PERCENT_RANGE = {"min_value": PERCENT[0], "max_value": PERCENT[1]}
LABELS = {
    "subject_id": Label("record number (mrn)"),
    "cycle_no": Label("cycle number"),
    "timepoint": Label("time point"),
    "assessment_date": Label("aspiration date"),
    "bm_blasts_pct": Label("marrow blasts", "%"),
    "mrd_pct": Label("MRD", "%"),
    "fusion_transcript_pct": Label("fusion transcript", "%"),
}


# What a marrow assessment must satisfy to enter core (an error quarantines it).
COLUMNS = {
    **IDENTITY,
    "cycle_no": pa.Field(ge=1, le=CYCLE_NO_MAX, nullable=True),
    "timepoint": pa.Field(isin=codes("assessments", "timepoint"), nullable=False),
    "assessment_date": pa.Field(ge=EARLIEST_DATE, nullable=True),
    "bm_blasts_pct": pa.Field(in_range=PERCENT_RANGE, nullable=True),
    "mrd_pct": pa.Field(in_range=PERCENT_RANGE, nullable=True),
    "fusion_transcript_pct": pa.Field(ge=0, nullable=True),  # a qPCR ratio may exceed 100 %
}


# Plausible but unusual: the row passes with a warning.
UNUSUAL = {
    "fusion_transcript_pct": pa.Field(le=PERCENT[1], nullable=True),
}


ROW_RULES = {
    "cycle_timepoint_has_cycle": RowRule(
        "cycle_no", ERROR, f"NOT coalesce(timepoint IN ({listed(CYCLE_TIMEPOINTS)}), false) OR cycle_no IS NOT NULL",
        lambda row: (f"time point '{row['timepoint']}' belongs to a blinatumomab cycle, but no cycle number was"
                     " delivered")),
    "measured": RowRule("mrd_pct", WARNING, " OR ".join(f"{field}_raw IS NOT NULL" for field in (
        "bm_blasts_pct", "mrd_pct", "fusion_transcript_pct")),
        lambda row: "no blast, MRD or transcript value was delivered"),
}


def describe(get: Get) -> str:
    return (f"'Marrow assessment ' || {or_else(get('timepoint'), '(no time point)')}"
            f" || coalesce(', cycle ' || {get('cycle_no')}, '') || ' of subject ' || {subject(get)}")
