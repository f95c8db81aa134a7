"""core.adverse_events: the toxicity form, one row per cycle and solicited term; grade NULL = not assessed."""


import pandera.polars as pa

from schemas.limits import CYCLE_NO_MAX, EARLIEST_DATE
from schemas.reasons import WARNING, Get, Label, as_python, or_else, subject
from schemas.rules import IDENTITY, RowRule
from schemas.vocabulary import codes

GRADES = {"min_value": 0, "max_value": 5}  # CTCAE v5.0 and ASTCT consensus both stop at 5 (death)
LABELS = {
    "subject_id": Label("record number (mrn)"),
    "cycle_no": Label("cycle number"),
    "term": Label("adverse-event term"),
    "grade": Label("grade"),
    "onset_date": Label("onset date"),
}


# What a toxicity row must satisfy to enter core (an error quarantines it).
COLUMNS = {
    **IDENTITY,
    "cycle_no": pa.Field(ge=1, le=CYCLE_NO_MAX, nullable=False),
    "term": pa.Field(isin=codes("adverse_events", "term"), nullable=False),
    "grade": pa.Field(in_range=GRADES, nullable=True),
    "onset_date": pa.Field(ge=EARLIEST_DATE, nullable=True),
}


# Plausible but unusual: the row passes with a warning.
UNUSUAL = {}


ROW_RULES = {
    "onset_dated": RowRule("onset_date", WARNING, "NOT coalesce(grade >= 1, false) OR onset_date IS NOT NULL",
                           lambda row: f"grade {row['grade']} {row['term']} has no onset date"),
}


def describe(get: Get) -> str:
    return (f"'Adverse event ' || {or_else(get('term'), '(no term)')} || ' in cycle ' || {as_python(get('cycle_no'))}"
            f" || ' of subject ' || {subject(get)}")
