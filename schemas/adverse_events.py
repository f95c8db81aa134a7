"""core.adverse_events: the toxicity form, one row per cycle and solicited term; grade NULL = not assessed."""

from datetime import date

import pandera.polars as pa
import polars as pl

from schemas.limits import CYCLE_NO_MAX, EARLIEST_DATE
from schemas.reasons import Label, RowRule, subject
from schemas.vocabulary import codes

GRADES = {"min_value": 0, "max_value": 5}  # CTCAE v5.0 and ASTCT consensus both stop at 5 (death)
LABELS = {
    "subject_id": Label("record number (mrn)"),
    "cycle_no": Label("cycle number"),
    "term": Label("adverse-event term"),
    "grade": Label("grade"),
    "onset_date": Label("onset date"),
}


class AdverseEvents(pa.DataFrameModel):
    """What a toxicity row must satisfy to enter core (an error quarantines it)."""

    subject_id: str = pa.Field(nullable=False)
    center_id: str = pa.Field(nullable=False)
    source_file: str = pa.Field(nullable=False)
    source_row: int = pa.Field(nullable=False)
    cycle_no: int = pa.Field(ge=1, le=CYCLE_NO_MAX, nullable=False)
    term: str = pa.Field(isin=codes("adverse_events", "term"), nullable=False)
    grade: int = pa.Field(in_range=GRADES, nullable=True)
    onset_date: date = pa.Field(ge=EARLIEST_DATE, nullable=True)

    class Config:
        coerce = True
        strict = False


class AdverseEventsUnusual(pa.DataFrameModel):
    """Plausible but unusual: the row passes with a warning."""

    @pa.dataframe_check(name="onset_dated")
    def onset_dated(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(~(pl.col("grade") >= 1).fill_null(False) | pl.col("onset_date").is_not_null())

    class Config:
        coerce = True
        strict = False


ROW_RULES = {
    "onset_dated": RowRule("onset_date", lambda row: f"grade {row['grade']} {row['term']} has no onset date"),
}


def describe(row) -> str:
    return (f"Adverse event {row.get('term') or '(no term)'} in cycle {row.get('cycle_no')} "
            f"of subject {subject(row)}")
