"""core.therapy_lines: one row per delivered line (block) of therapy other than blinatumomab, in the patient's order."""


import pandera.polars as pa

from schemas.limits import EARLIEST_DATE, LINE_NO_MAX
from schemas.reasons import ERROR, Get, Label, or_else, subject
from schemas.rules import IDENTITY, RowRule
from schemas.vocabulary import codes

LABELS = {
    "subject_id": Label("record number (mrn)"),
    "line_no": Label("line number"),
    "phase": Label("phase"),
    "start_date": Label("line start date"),
    "end_date": Label("line end date"),
}


# What a therapy line must satisfy to enter core (an error quarantines it). Its dates may be unknown: a published
# case report often gives the blocks of chemotherapy but not when they ran.
COLUMNS = {
    **IDENTITY,
    "line_no": pa.Field(ge=1, le=LINE_NO_MAX, nullable=False),
    "phase": pa.Field(isin=codes("therapy_lines", "phase"), nullable=False),
    "start_date": pa.Field(ge=EARLIEST_DATE, nullable=True),
    "end_date": pa.Field(ge=EARLIEST_DATE, nullable=True),
}


# Plausible but unusual: the row passes with a warning.
UNUSUAL = {}


ROW_RULES = {
    "end_on_or_after_start": RowRule("end_date", ERROR, "end_date >= start_date", lambda row: (
        f"line end date {row['end_date']} is before its start date {row['start_date']}")),
}


def describe(get: Get) -> str:
    return (f"'Therapy line ' || coalesce({get('line_no')}, {get('line_no_raw')}, '(no number)') || ' ('"
            f" || {or_else(get('phase'), '(no phase)')} || ') of subject ' || {subject(get)}")
