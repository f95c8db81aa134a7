"""core.events: one row per follow-up event (relapse, death, HSCT, CAR-T, second cancer, last contact)."""

from datetime import date

import pandera.polars as pa

from schemas.limits import EARLIEST_DATE
from schemas.reasons import WARNING, Get, Label, or_else, subject
from schemas.rules import RowRule
from schemas.vocabulary import codes

LABELS = {
    "subject_id": Label("record number (mrn)"),
    "event_type": Label("event type"),
    "event_date": Label("event date"),
    "relapse_site": Label("relapse site"),
    "cd19_status": Label("CD19 status"),
}


class Events(pa.DataFrameModel):
    """What a follow-up event must satisfy to enter core (an error quarantines it)."""

    subject_id: str = pa.Field(nullable=False)
    center_id: str = pa.Field(nullable=False)
    source_file: str = pa.Field(nullable=False)
    source_row: int = pa.Field(nullable=False)
    event_type: str = pa.Field(isin=codes("events", "event_type"), nullable=False)
    event_date: date = pa.Field(ge=EARLIEST_DATE, nullable=False)  # an undated event cannot be analysed
    relapse_site: str = pa.Field(isin=codes("events", "relapse_site"), nullable=True)
    cd19_status: str = pa.Field(isin=codes("events", "cd19_status"), nullable=True)

    class Config:
        coerce = True
        strict = False


class EventsUnusual(pa.DataFrameModel):
    """Plausible but unusual: the row passes with a warning."""

    class Config:
        coerce = True
        strict = False


ROW_RULES = {
    "relapse_details_on_relapse_only": RowRule(
        "relapse_site", WARNING,
        "coalesce(event_type = 'relapse', false) OR NOT (relapse_site IS NOT NULL OR cd19_status IS NOT NULL)",
        lambda row: (f"a {row['event_type']} event carries a relapse site or CD19 status, which only a relapse has")),
}


def describe(get: Get) -> str:
    return f"'Follow-up event ' || {or_else(get('event_type'), '(no type)')} || ' of subject ' || {subject(get)}"
