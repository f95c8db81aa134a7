"""The clinical rules of the core tables, one module per table, with what the gate needs to word failures.

Each table has two sets of pandera column checks, `COLUMNS` (hard: a failure quarantines the row) and
`UNUSUAL` (soft: the row passes with a warning), and `ROW_RULES`, the checks that read several columns of a
row, each stated once in SQL (rules.py). `TableSchema.model` and `.unusual` are the pandera schemas of both
together, each column typed as core's dbt YAML declares it (column_types.py); the gate runs the same checks in
DuckDB (assets/validation/failures.py). Checks that need other rows or tables live in
assets/validation/relations.py.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandera.polars as pa

from schemas import adverse_events, assessments, cycles, events, labs, patients, therapy_lines
from schemas.column_types import core_types
from schemas.reasons import ERROR, WARNING, Get, Label
from schemas.rules import RowRule, pandera_schema

PROVENANCE = ("center_id", "source_file", "source_row")


@dataclass(frozen=True)
class TableSchema:
    """Everything the gate knows about one core table."""

    name: str
    columns: Mapping[str, Any]  # column -> pa.Field: hard column checks
    unusual_columns: Mapping[str, Any]  # column -> pa.Field: soft column checks
    labels: Mapping[str, Label]
    row_rules: Mapping[str, RowRule]
    describe: Callable[[Get], str]  # SQL: what the row is, e.g. "Cycle 2 of subject 3fa2c01b…"
    dates: tuple[str, ...]  # delivered dates, none of which may lie in the future
    key: tuple[str, ...] = PROVENANCE  # identifies a delivered row
    column_problems: Mapping[str, Callable[[Mapping], str]] = field(default_factory=dict)

    @cached_property
    def model(self) -> pa.DataFrameSchema:
        """What a row must satisfy to enter core: the hard column checks, then the hard row rules."""
        return pandera_schema(self.name, self.columns, core_types(self.name), self.row_rules, ERROR)

    @cached_property
    def unusual(self) -> pa.DataFrameSchema:
        """What a row is warned about: the soft column checks, then the soft row rules."""
        return pandera_schema(f"{self.name} (unusual)", self.unusual_columns, core_types(self.name), self.row_rules,
                              WARNING)


TABLES = {schema.name: schema for schema in (
    TableSchema("patients", patients.COLUMNS, patients.UNUSUAL, patients.LABELS, patients.ROW_RULES,
                patients.describe, ("diagnosis_date",)),
    TableSchema("cycles", cycles.COLUMNS, cycles.UNUSUAL, cycles.LABELS, cycles.ROW_RULES, cycles.describe,
                ("start_date", "end_date", "step_up_date"), column_problems=cycles.COLUMN_PROBLEMS),
    TableSchema("assessments", assessments.COLUMNS, assessments.UNUSUAL, assessments.LABELS,
                assessments.ROW_RULES, assessments.describe, ("assessment_date",)),
    TableSchema("labs", labs.COLUMNS, labs.UNUSUAL, labs.LABELS, labs.ROW_RULES, labs.describe, ("sample_date",),
                key=(*PROVENANCE, "source_column")),
    TableSchema("adverse_events", adverse_events.COLUMNS, adverse_events.UNUSUAL,
                adverse_events.LABELS, adverse_events.ROW_RULES, adverse_events.describe, ("onset_date",)),
    TableSchema("events", events.COLUMNS, events.UNUSUAL, events.LABELS, events.ROW_RULES, events.describe,
                ("event_date",)),
    TableSchema("therapy_lines", therapy_lines.COLUMNS, therapy_lines.UNUSUAL, therapy_lines.LABELS,
                therapy_lines.ROW_RULES, therapy_lines.describe, ("start_date", "end_date")),
)}
