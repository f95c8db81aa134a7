"""Checks that need other rows or other tables, as polars joins feeding the gate's failure rows.

Each function takes the candidate frame (with its `_row` position) and returns failure rows (failures.py).
`patients`, `cycles` and `events` are the rows of those tables that already passed the gate, so a row is
only ever compared with validated rows: the gate runs patients, events, cycles, then everything else.
"""

from datetime import date

import polars as pl

from assets.validation.failures import FAILURE_SCHEMA, ROW
from schemas import TableSchema
from schemas.reasons import ERROR, WARNING

ADVERSE_EVENT_WINDOW_DAYS = 30  # treatment-emergent: up to 30 days after the last infusion (admiral)
ONE_PER_PATIENT = ("death", "last_contact")
# Rows with the same key are the same fact delivered twice. Exact copies double-count it (the later copies are
# quarantined); copies that disagree are quarantined together where no one value can be trusted (ERROR) and
# kept as repeated measurements where several are legitimate (WARNING).
DUPLICATE_KEYS = {
    "patients": (("subject_id",), ERROR),
    "cycles": (("subject_id", "cycle_no"), ERROR),
    "adverse_events": (("subject_id", "cycle_no", "term"), ERROR),
    "events": (("subject_id", "event_type", "event_day"), ERROR),
    "assessments": (("subject_id", "cycle_no", "timepoint", "assessment_date"), WARNING),
    "labs": (("subject_id", "cycle_no", "timepoint", "specimen", "analyte", "sample_date"), WARNING),
}
NOT_CONTENT = ("source_file", "source_row", "source_column", ROW)


def _failures(frame: pl.DataFrame, check: str, column: str, severity: str, problem: pl.Expr) -> pl.DataFrame:
    """Failure rows for every row of `frame` (already filtered to the failing ones)."""
    return frame.select(
        pl.col(ROW), pl.lit(check).alias("check"), pl.lit(column).alias("column"),
        pl.col(column).cast(pl.String).alias("value"), pl.lit(severity).alias("severity"), problem.alias("problem"),
    ).cast(FAILURE_SCHEMA)


def future_dates(schema: TableSchema, frame: pl.DataFrame, today: date) -> list[pl.DataFrame]:
    return [_failures(frame.filter(pl.col(column) > today), "not_in_future", column, ERROR,
                      pl.format(f"{schema.labels[column].name} {{}} is in the future (validated on {today})",
                                pl.col(column)))
            for column in schema.dates]


def duplicates(table: str, frame: pl.DataFrame) -> list[pl.DataFrame]:
    if table not in DUPLICATE_KEYS:
        return []
    key, conflict_severity = DUPLICATE_KEYS[table]
    content = [column for column in frame.columns if column not in NOT_CONTENT]
    keyed = frame
    if table == "events":  # one death and one last contact per patient, whatever their dates
        keyed = frame.with_columns(event_day=pl.when(pl.col("event_type").is_in(ONE_PER_PATIENT))
                                   .then(None).otherwise(pl.col("event_date")))
    by = [*key]
    keyed = keyed.filter(pl.col("subject_id").is_not_null()).sort("source_file", "source_row").with_columns(
        first_file=pl.col("source_file").first().over(by),
        first_row=pl.col("source_row").first().over(by),
        is_first=pl.col(ROW) == pl.col(ROW).first().over(by),
        copies=pl.len().over(by),
        versions=pl.struct(content).hash().n_unique().over(by),
    ).filter(pl.col("copies") > 1)
    first = pl.format("{} row {}", pl.col("first_file"), pl.col("first_row"))
    copies = keyed.filter((pl.col("versions") == 1) & ~pl.col("is_first"))
    conflicts = keyed.filter(pl.col("versions") > 1)
    return [
        _failures(copies, "no_duplicate", key[-1] if table != "events" else "event_type", ERROR,
                  pl.format("repeats {} exactly; the first copy is kept", first)),
        _failures(conflicts, "no_conflicting_duplicate", key[-1] if table != "events" else "event_type",
                  conflict_severity,
                  pl.format("delivered {} times with different values (first at {}); "
                            + ("none is kept until the center corrects them" if conflict_severity == ERROR
                               else "all are kept as repeated measurements"), pl.col("copies"), first)),
    ]


def missing_patient(table: str, frame: pl.DataFrame, patients: pl.DataFrame) -> list[pl.DataFrame]:
    """A row of a subject without a validated patient row: its patient was quarantined or never delivered."""
    orphans = frame.filter(pl.col("subject_id").is_not_null()).join(
        patients.select("subject_id"), on="subject_id", how="anti")
    return [_failures(orphans, "patient_in_core", "subject_id", ERROR, pl.lit(
        "its patient is not in core (quarantined, see quarantine.patients, or never delivered)"))]


def missing_cycle(frame: pl.DataFrame, cycles: pl.DataFrame) -> list[pl.DataFrame]:
    """A row of a cycle that is not in core: the cycle was quarantined or never delivered."""
    orphans = frame.filter(pl.col("cycle_no").is_not_null() & pl.col("subject_id").is_not_null()).join(
        cycles.select("subject_id", "cycle_no"), on=["subject_id", "cycle_no"], how="anti")
    return [_failures(orphans, "cycle_in_core", "cycle_no", ERROR, pl.format(
        "cycle {} of this subject is not in core (quarantined, see quarantine.cycles, or never delivered)",
        pl.col("cycle_no")))]


def before_diagnosis(frame: pl.DataFrame, column: str, label: str, patients: pl.DataFrame) -> list[pl.DataFrame]:
    dated = frame.join(patients.select("subject_id", "diagnosis_date"), on="subject_id", how="inner")
    early = dated.filter(pl.col(column) < pl.col("diagnosis_date"))
    return [_failures(early, "after_diagnosis", column, ERROR,
                      pl.format(f"{label} {{}} is before the diagnosis on {{}}", pl.col(column), pl.col("diagnosis_date")))]


def deaths(events: pl.DataFrame) -> pl.DataFrame:
    """subject_id, death_date: the first recorded death of each subject."""
    return (events.filter(pl.col("event_type") == "death").group_by("subject_id")
            .agg(death_date=pl.col("event_date").min()))


def after_death(frame: pl.DataFrame, column: str, label: str, events: pl.DataFrame) -> list[pl.DataFrame]:
    """Death comes last: nothing is dated after it (a last contact on the day of death is allowed)."""
    late = frame.join(deaths(events), on="subject_id", how="inner").filter(pl.col(column) > pl.col("death_date"))
    return [_failures(late, "death_last", column, ERROR,
                      pl.format(f"{label} {{}} is after the subject's death on {{}}", pl.col(column), pl.col("death_date")))]


def cycle_order(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """Cycles follow one another: a cycle starts after the previous one (by number) ended."""
    ordered = frame.filter(pl.col("subject_id").is_not_null() & pl.col("cycle_no").is_not_null()).sort(
        "subject_id", "cycle_no").with_columns(
        previous_end=pl.col("end_date").shift(1).over("subject_id"),
        previous_no=pl.col("cycle_no").shift(1).over("subject_id"),
    )
    overlapping = ordered.filter(pl.col("start_date") <= pl.col("previous_end"))
    return [_failures(overlapping, "cycles_in_order", "start_date", ERROR, pl.format(
        "cycle {} starts on {}, before cycle {} ended on {}", pl.col("cycle_no"), pl.col("start_date"),
        pl.col("previous_no"), pl.col("previous_end")))]


def timing_in_cycle(frame: pl.DataFrame, column: str, label: str, cycles: pl.DataFrame, before_start_ok: tuple[str, ...],
                    timepoint: str | None = "timepoint") -> list[pl.DataFrame]:
    """Rows that follow a cycle cannot be dated before it started; baselines cannot be after it ended."""
    windows = cycles.select("subject_id", "cycle_no", cycle_start="start_date", cycle_end="end_date")
    dated = frame.join(windows, on=["subject_id", "cycle_no"], how="inner")
    is_baseline = pl.col(timepoint).is_in(before_start_ok) if timepoint else pl.lit(False)
    early = dated.filter(~is_baseline & (pl.col(column) < pl.col("cycle_start")))
    late_baseline = dated.filter(is_baseline & (pl.col(column) > pl.col("cycle_end")))
    return [
        _failures(early, "after_cycle_start", column, ERROR, pl.format(
            f"{label} {{}} is before cycle {{}} started on {{}}", pl.col(column), pl.col("cycle_no"),
            pl.col("cycle_start"))),
        _failures(late_baseline, "baseline_before_cycle_end", column, ERROR, pl.format(
            f"baseline {label} {{}} is after cycle {{}} ended on {{}}", pl.col(column), pl.col("cycle_no"),
            pl.col("cycle_end"))),
    ]


def onset_long_after_cycle(frame: pl.DataFrame, cycles: pl.DataFrame) -> list[pl.DataFrame]:
    windows = cycles.select("subject_id", "cycle_no", cycle_end="end_date")
    late = frame.join(windows, on=["subject_id", "cycle_no"], how="inner").filter(
        pl.col("onset_date") > pl.col("cycle_end") + pl.duration(days=ADVERSE_EVENT_WINDOW_DAYS))
    return [_failures(late, "treatment_emergent", "onset_date", WARNING, pl.format(
        f"onset {{}} is more than {ADVERSE_EVENT_WINDOW_DAYS} days after cycle {{}} ended on {{}}",
        pl.col("onset_date"), pl.col("cycle_no"), pl.col("cycle_end")))]


def subset_percentages(frame: pl.DataFrame, ceiling: float) -> list[pl.DataFrame]:
    """T (CD3), B (CD19) and NK cells share the lymphocytes: their percentages of one sample cannot sum far
    above 100 %. Every percentage of such a sample is refused: which one is wrong cannot be told."""
    panel = ["subject_id", "cycle_no", "timepoint", "specimen", "sample_date"]
    shares = frame.filter(pl.col("analyte").is_in(["cd3_pct", "cd19_pct", "nk_pct"]) & pl.col("value").is_not_null())
    totals = shares.group_by(panel, maintain_order=True).agg(lineage_total=pl.col("value").sum())
    over = shares.join(totals.filter(pl.col("lineage_total") > ceiling), on=panel, how="inner", nulls_equal=True)
    return [_failures(over, "subset_percentages_sum", "value", ERROR, pl.format(
        f"CD3 + CD19 + NK percentages of this sample sum to {{}} %, above the possible {ceiling:g} %",
        pl.col("lineage_total").round(1)))]
