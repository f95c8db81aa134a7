"""The validation gate: every candidate core row passes explicit clinical checks or goes to quarantine.

`gate(table, frame, context)` splits one candidate table into the rows that pass, the quarantined rows (one
row each, with every error listed) and the warnings of the rows that pass. `gate_all` runs the six tables
in the order their cross-table checks need: patients, events, cycles, then assessments, labs and adverse
events, each compared only with rows that already passed.
"""

from dataclasses import dataclass
from datetime import date

import polars as pl

from assets.validation import relations
from assets.validation.failures import ROW, model_failures, parse_failures
from schemas import TABLES
from schemas.limits import SUBSET_PCT_SUM_MAX
from schemas.reasons import ERROR, WARNING, sentence

ORDER = ("patients", "events", "cycles", "assessments", "labs", "adverse_events")
FINDING_SCHEMA = {
    "table_name": pl.String, "subject_id": pl.String, "center_id": pl.String, "source_file": pl.String,
    "source_row": pl.Int64, "source_column": pl.String, "check_name": pl.String, "column_name": pl.String,
    "value": pl.String, "severity": pl.String, "n_failures": pl.Int64, "reason": pl.String, "row_json": pl.String,
}
SEPARATOR = "; "


@dataclass(frozen=True)
class Context:
    """The validated rows a table's cross-table checks compare with, and the day of validation."""

    today: date
    patients: pl.DataFrame | None = None
    events: pl.DataFrame | None = None
    cycles: pl.DataFrame | None = None


@dataclass(frozen=True)
class GateResult:
    passed: pl.DataFrame  # the candidate rows that passed, columns unchanged
    quarantine: pl.DataFrame  # FINDING_SCHEMA, one row per refused delivered row, severity error
    warnings: pl.DataFrame  # FINDING_SCHEMA, one row per passing row with warnings, severity warning


def gate(table: str, frame: pl.DataFrame, context: Context) -> GateResult:
    schema = TABLES[table]
    # In delivery order, whatever order the warehouse returned: the same input gives the same bytes.
    numbered = frame.sort(schema.key, nulls_last=True).with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    failures = pl.concat([
        parse_failures(schema, numbered),
        model_failures(schema, numbered, ERROR),
        model_failures(schema, numbered, WARNING),
        *relations.future_dates(schema, numbered, context.today),
        *relations.duplicates(table, numbered),
        *_cross_table(table, numbered, context),
    ])
    failures = _without_redundant_missing(failures)
    refused = failures.filter(pl.col("severity") == ERROR)
    passed = numbered.join(refused.select(ROW).unique(), on=ROW, how="anti")
    return GateResult(
        passed=passed.sort(ROW).drop(ROW),
        quarantine=_findings(table, numbered, refused, ERROR),
        warnings=_findings(table, passed, failures.filter(pl.col("severity") == WARNING), WARNING),
    )


def gate_all(candidates: dict[str, pl.DataFrame], today: date) -> dict[str, GateResult]:
    """Every core table through the gate, in dependency order."""
    results: dict[str, GateResult] = {}
    for table in ORDER:
        context = Context(today, **{name: results[name].passed for name in ("patients", "events", "cycles")
                                    if name in results})
        results[table] = gate(table, candidates[table], context)
    return results


def _cross_table(table: str, frame: pl.DataFrame, context: Context) -> list[pl.DataFrame]:
    checks: list[pl.DataFrame] = []
    if table != "patients" and context.patients is not None:
        checks += relations.missing_patient(table, frame, context.patients)
    date_column = {"cycles": "start_date", "assessments": "assessment_date", "labs": "sample_date",
                   "adverse_events": "onset_date", "events": "event_date"}.get(table)
    label = {"cycles": "infusion start", "assessments": "aspiration date", "labs": "sample date",
             "adverse_events": "onset", "events": "event date"}.get(table)
    if date_column and context.patients is not None:
        checks += relations.before_diagnosis(frame, date_column, label, context.patients)
    deaths_from = _first_pass(frame) if table == "events" else context.events
    if date_column and deaths_from is not None:
        checks += relations.after_death(frame, date_column, label, deaths_from)
    if table == "cycles":
        checks += relations.cycle_order(frame)
    if table in ("assessments", "labs", "adverse_events") and context.cycles is not None:
        checks += relations.missing_cycle(frame, context.cycles)
        baselines = {"assessments": ("pre_cycle",), "labs": ("baseline",), "adverse_events": ()}[table]
        timepoint = None if table == "adverse_events" else "timepoint"
        checks += relations.timing_in_cycle(frame, date_column, label, context.cycles, baselines, timepoint)
    if table == "adverse_events" and context.cycles is not None:
        checks += relations.onset_long_after_cycle(frame, context.cycles)
    if table == "labs":
        checks += relations.subset_percentages(frame, SUBSET_PCT_SUM_MAX)
    return checks


def _first_pass(events: pl.DataFrame) -> pl.DataFrame:
    """Event rows without row-level errors: only their deaths may refuse later events."""
    schema = TABLES["events"]
    errors = pl.concat([parse_failures(schema, events), model_failures(schema, events, ERROR)])
    return events.join(errors.select(ROW), on=ROW, how="anti")


def _without_redundant_missing(failures: pl.DataFrame) -> pl.DataFrame:
    """A value that did not parse is also NULL: report the parse error, not a second 'is missing'."""
    unparsed = failures.filter(pl.col("check").str.starts_with("parses:")).select(ROW, "column")
    missing = failures.filter(pl.col("check") == "not_nullable").join(unparsed, on=[ROW, "column"], how="semi")
    return failures.join(missing, on=failures.columns, how="anti", nulls_equal=True)


def _findings(table: str, frame: pl.DataFrame, failures: pl.DataFrame, severity: str) -> pl.DataFrame:
    """One row per delivered row with failures: every check, column, value and problem listed in order."""
    if failures.is_empty():
        return pl.DataFrame(schema=FINDING_SCHEMA)
    schema = TABLES[table]
    grouped = failures.unique(maintain_order=True).group_by(ROW, maintain_order=True).agg(
        check_name=pl.col("check").str.join(SEPARATOR),
        column_name=pl.col("column").str.join(SEPARATOR),
        value=pl.col("value").fill_null("").str.join(SEPARATOR),
        n_failures=pl.len(),
        problems=pl.col("problem"),
    )
    rows = frame.join(grouped, on=ROW, how="inner").sort(ROW)
    content = [column for column in frame.columns if column != ROW]
    rows = rows.with_columns(row_json=pl.struct(content).struct.json_encode())
    reasons = [sentence(schema.describe(row), row, SEPARATOR.join(row["problems"]))
               for row in rows.select(*schema.key, "subject_id", *_described(rows), "problems").iter_rows(named=True)]
    return rows.with_columns(
        table_name=pl.lit(table),
        source_column=pl.col("source_column") if "source_column" in rows.columns else pl.lit(None, pl.String),
        severity=pl.lit(severity),
        reason=pl.Series(reasons, dtype=pl.String),
    ).select(list(FINDING_SCHEMA)).cast(FINDING_SCHEMA)


def _described(rows: pl.DataFrame) -> list[str]:
    """The columns the row descriptions (schemas.<table>.describe) read."""
    wanted = ("cycle_no", "cycle_no_raw", "timepoint", "analyte", "specimen", "term", "event_type")
    return [column for column in wanted if column in rows.columns]
