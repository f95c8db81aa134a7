"""pandera models (polars) of the core tables, one module per table, with what the gate needs to word failures.

Each table has two models: `<Table>` (hard: a failure quarantines the row) and `<Table>Unusual` (soft: the
row passes with a warning). Checks that need other rows or tables live in assets/validation/relations.py.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandera.polars as pa

from schemas import adverse_events, assessments, cycles, events, labs, patients
from schemas.reasons import Label, RowRule

PROVENANCE = ("center_id", "source_file", "source_row")


@dataclass(frozen=True)
class TableSchema:
    """Everything the gate knows about one core table."""

    name: str
    model: type[pa.DataFrameModel]
    unusual: type[pa.DataFrameModel]
    labels: Mapping[str, Label]
    row_rules: Mapping[str, RowRule]
    describe: Callable[[Mapping], str]
    dates: tuple[str, ...]  # delivered dates, none of which may lie in the future
    key: tuple[str, ...] = PROVENANCE  # identifies a delivered row
    column_problems: Mapping[str, Callable[[Mapping], str]] = field(default_factory=dict)


TABLES = {schema.name: schema for schema in (
    TableSchema("patients", patients.Patients, patients.PatientsUnusual, patients.LABELS, patients.ROW_RULES,
                patients.describe, ("diagnosis_date",)),
    TableSchema("cycles", cycles.Cycles, cycles.CyclesUnusual, cycles.LABELS, cycles.ROW_RULES, cycles.describe,
                ("start_date", "end_date", "step_up_date"), column_problems=cycles.COLUMN_PROBLEMS),
    TableSchema("assessments", assessments.Assessments, assessments.AssessmentsUnusual, assessments.LABELS,
                assessments.ROW_RULES, assessments.describe, ("assessment_date",)),
    TableSchema("labs", labs.Labs, labs.LabsUnusual, labs.LABELS, labs.ROW_RULES, labs.describe, ("sample_date",),
                key=(*PROVENANCE, "source_column")),
    TableSchema("adverse_events", adverse_events.AdverseEvents, adverse_events.AdverseEventsUnusual,
                adverse_events.LABELS, adverse_events.ROW_RULES, adverse_events.describe, ("onset_date",)),
    TableSchema("events", events.Events, events.EventsUnusual, events.LABELS, events.ROW_RULES, events.describe,
                ("event_date",)),
)}
