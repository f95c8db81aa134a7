"""When CRS and ICANS began: the onset day within the cycle, and the dose running that day.

Day 1 is the cycle's first infusion day (core.cycles.start_date), so onset_day = onset_date - start_date + 1.
The dose step at onset: before core.cycles.step_up_date the cycle ran at dose_start (cycle 1: 5 ug/m2/day), from
it on at dose_target (15). A cycle without a step-up date started at its target (later cycles: 15); one that
names a different target but no step-up date leaves the step unknown, as does a missing dose.
"""

from __future__ import annotations

import polars as pl

from assets.marts.stats import median_range

TERMS = ("crs", "icans")
PAPER_STEPS = ("5", "15")  # ug/m2/day: always reported, other doses and `unknown` when they occur

EVENT_SCHEMA = {
    "subject_id": pl.Utf8, "cycle_no": pl.Int64, "term": pl.Utf8, "grade": pl.Int64, "onset_day": pl.Int64,
    "dose_step": pl.Utf8,
}
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


def _dose_on(onset: pl.Expr) -> pl.Expr:
    start, target, step_up = pl.col("dose_start"), pl.col("dose_target"), pl.col("step_up_date")
    return (
        pl.when(step_up.is_not_null() & (onset < step_up)).then(start)
        .when(step_up.is_not_null()).then(pl.coalesce(target, start))
        .when(target.is_null() | (target == start)).then(start)
    )


def onset_events(cycles: pl.DataFrame, grades: pl.DataFrame) -> pl.DataFrame:
    """One row per cycle with CRS or ICANS grade >= 1 (EVENT_SCHEMA). `grades` is safety_table3.cycle_grades'
    output."""
    dose = _dose_on(pl.col("onset_date"))
    return (
        grades.filter(pl.col("term").is_in(TERMS) & (pl.col("grade") >= 1))
        .join(cycles.select("subject_id", "cycle_no", "start_date", "dose_start", "dose_target", "step_up_date"),
              on=["subject_id", "cycle_no"], how="left")
        .with_columns(
            onset_day=(pl.col("onset_date") - pl.col("start_date")).dt.total_days() + 1,
            dose_step=pl.when(pl.col("onset_date").is_null()).then(None)
            .when(dose.is_null()).then(pl.lit("unknown"))
            .when(dose == dose.round()).then(dose.cast(pl.Int64).cast(pl.Utf8))
            .otherwise(dose.cast(pl.Utf8)),
        )
        .select(list(EVENT_SCHEMA))
        .cast(EVENT_SCHEMA)
        .sort("term", "subject_id", "cycle_no")
    )


def onset_summary(events: pl.DataFrame) -> pl.DataFrame:
    """Onset day per term and dose step (SCHEMA)."""
    observed = set(events["dose_step"].drop_nulls().to_list())
    other_doses = sorted(observed - {*PAPER_STEPS, "unknown"}, key=float)
    steps = ("all", *PAPER_STEPS, *other_doses, *({"unknown"} & observed))
    rows = []
    for term in TERMS:
        of_term = events.filter(pl.col("term") == term)
        for step in steps:
            part = of_term if step == "all" else of_term.filter(pl.col("dose_step") == step)
            days = median_range(part["onset_day"].drop_nulls().cast(pl.Float64).to_list())
            rows.append({"term": term, "dose_step": step, "events": part.height, "median_day": days.median,
                         "min_day": days.min, "max_day": days.max,
                         "without_onset": part["onset_day"].null_count() if step == "all" else None})
    return pl.DataFrame(rows, schema=SCHEMA)
