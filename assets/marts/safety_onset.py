"""When CRS and ICANS began: the onset day within the cycle, and the dose running that day.

Day 1 is the cycle's first infusion day (core.cycles.start_date), so onset_day = onset_date - start_date + 1.
The dose step at onset: before core.cycles.step_up_date the cycle ran at dose_start (cycle 1: 5 ug/m2/day), from
it on at dose_target (15). A cycle without a step-up date started at its target (later cycles: 15); one that
names a different target but no step-up date leaves the step unknown, as does a missing dose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from assets.marts import shared
from assets.marts.aggregates import fetch

if TYPE_CHECKING:
    import duckdb

TERMS = ("crs", "icans")
PAPER_STEPS = ("5", "15")  # ug/m2/day: always reported, other doses and `unknown` when they occur

SCHEMA = {
    "term": pl.Utf8, "dose_step": pl.Utf8, "events": pl.Int64, "median_day": pl.Float64, "min_day": pl.Float64,
    "max_day": pl.Float64, "without_onset": pl.Int64,
}
COLUMNS = {
    "term": "crs or icans.",
    "dose_step": "The dose running on the onset day, ug/m2/day: 5 (before the step-up), 15, another dose as "
                 "delivered, unknown (no dose, or no step-up date where the target differs), or all.",
    "events": "Cycles with the term at grade >= 1 at that dose step.",
    "median_day": "Median onset day (day 1 = the cycle's first infusion day).",
    "min_day": "Earliest onset day.",
    "max_day": "Latest onset day.",
    "without_onset": "Events without an onset date (dose_step all only: their step is unknown).",
}
# The preview's order (shared.table_metadata): as written, per term, overall and then the dose steps.
ORDER = shared.AS_WRITTEN


# SQL: the dose running on the onset date (NULL: unknown).
DOSE_ON_ONSET_SQL = """
    CASE WHEN cycle.step_up_date IS NOT NULL AND grades.onset_date < cycle.step_up_date THEN cycle.dose_start
         WHEN cycle.step_up_date IS NOT NULL THEN coalesce(cycle.dose_target, cycle.dose_start)
         WHEN cycle.dose_target IS NULL OR cycle.dose_target = cycle.dose_start THEN cycle.dose_start END
"""
# The TEMP table create_onset_events writes: subject_id, cycle_no, term, grade, onset_day, dose_step.
ONSET_EVENTS = "onset_events"


def create_onset_events(con: duckdb.DuckDBPyConnection, grades: str) -> str:
    """TEMP table ONSET_EVENTS, one row per cycle with CRS or ICANS grade >= 1. `grades` is
    safety_table3.create_cycle_grades' table. Returns its name."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {ONSET_EVENTS} AS
        SELECT grades.subject_id, grades.cycle_no, grades.term, grades.grade,
               CAST(date_diff('day', cycle.start_date, grades.onset_date) + 1 AS BIGINT) AS onset_day,
               CASE WHEN grades.onset_date IS NULL THEN NULL
                    WHEN dose IS NULL THEN 'unknown'
                    WHEN dose = round(dose) THEN CAST(CAST(dose AS BIGINT) AS VARCHAR)
                    ELSE CAST(dose AS VARCHAR) END AS dose_step
        FROM {grades} AS grades
        LEFT JOIN core.cycles AS cycle USING (subject_id, cycle_no),
        LATERAL (SELECT CAST({DOSE_ON_ONSET_SQL} AS DOUBLE) AS dose)
        WHERE grades.term IN ({", ".join(f"'{term}'" for term in TERMS)}) AND grades.grade >= 1
        ORDER BY term, subject_id, cycle_no
    """)
    return ONSET_EVENTS


def onset_summary(con: duckdb.DuckDBPyConnection, events: str) -> pl.DataFrame:
    """Onset day per term and dose step (SCHEMA), from create_onset_events' table."""
    summaries = fetch(con, con.table(events), """
        SELECT term, coalesce(dose_step, 'all') AS dose_step, count(*) AS events,
               median(CAST(onset_day AS DOUBLE)) AS median_day, CAST(min(onset_day) AS DOUBLE) AS min_day,
               CAST(max(onset_day) AS DOUBLE) AS max_day, count(*) FILTER (onset_day IS NULL) AS without_onset
        FROM aggregate_input
        GROUP BY GROUPING SETS ((term), (term, dose_step))
        HAVING GROUPING(dose_step) = 1 OR dose_step IS NOT NULL
    """)
    observed = set(summaries["dose_step"]) - {"all"}
    other_doses = sorted(observed - {*PAPER_STEPS, "unknown"}, key=float)
    steps = ("all", *PAPER_STEPS, *other_doses, *({"unknown"} & observed))
    found = {(row["term"], row["dose_step"]): row for row in summaries.iter_rows(named=True)}
    rows = []
    for term in TERMS:
        for step in steps:
            row = found.get((term, step), {"events": 0, "without_onset": 0})
            rows.append({"term": term, "dose_step": step, "events": row["events"], "median_day": row.get("median_day"),
                         "min_day": row.get("min_day"), "max_day": row.get("max_day"),
                         "without_onset": row["without_onset"] if step == "all" else None})
    return pl.DataFrame(rows, schema=SCHEMA)
