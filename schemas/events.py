"""core.events: one row per follow-up event (relapse, death, HSCT, CAR-T, second cancer, last contact)."""


import pandera.polars as pa

from schemas.limits import EARLIEST_DATE
from schemas.reasons import WARNING, Get, Label, or_else, subject
from schemas.rules import IDENTITY, RowRule
from schemas.vocabulary import codes

LABELS = {
    "subject_id": Label("record number (mrn)"),
    "event_type": Label("event type"),
    "event_date": Label("event date"),
    "relapse_site": Label("relapse site"),
    "cd19_status": Label("CD19 status"),
}


# What a follow-up event must satisfy to enter core (an error quarantines it).
COLUMNS = {
    **IDENTITY,
    "event_type": pa.Field(isin=codes("events", "event_type"), nullable=False),
    "event_date": pa.Field(ge=EARLIEST_DATE, nullable=False),  # an undated event cannot be analysed
    "relapse_site": pa.Field(isin=codes("events", "relapse_site"), nullable=True),
    "cd19_status": pa.Field(isin=codes("events", "cd19_status"), nullable=True),
}


# Plausible but unusual: the row passes with a warning.
UNUSUAL = {}


ROW_RULES = {
    "relapse_details_on_relapse_only": RowRule(
        "relapse_site", WARNING,
        "coalesce(event_type = 'relapse', false) OR NOT (relapse_site IS NOT NULL OR cd19_status IS NOT NULL)",
        lambda row: (f"a {row['event_type']} event carries a relapse site or CD19 status, which only a relapse has")),
}


def describe(get: Get) -> str:
    return f"'Follow-up event ' || {or_else(get('event_type'), '(no type)')} || ' of subject ' || {subject(get)}"
