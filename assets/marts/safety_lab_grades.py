"""Neutropenia and thrombocytopenia graded from the blood counts of each cycle (CTCAE v5.0), beside the grade the
toxicity form reports, and the cycles where the two disagree, for the data managers.

The lab grade is the CTCAE grade of the cycle's nadir: the lowest count among its on-treatment blood samples
(ON_TREATMENT time points; the `baseline` sample precedes the first infusion, so a low count there is not a
toxicity of the cycle). `ND` counts as 0 and `<x` as x (shared.measured_value).

Grade 1 needs the lower limit of normal (LLN), which is age-dependent in children and not delivered with the
counts. LOWER_LIMIT_OF_NORMAL is the warehouse's one documented choice: the soft normal ranges of
docs/clinical-rules.md (*unverified*: neutrophils ~1.5, platelets ~150 x10^9/L). With an LLN of 1.5 the
neutrophil grade 1 band (< LLN to 1.5) is empty: a neutrophil nadir grades 0 or 2-4. Because the grade-0 / grade-1
boundary rests on that choice, a 0-vs-1 difference is never a discrepancy: only grades 2, 3 and 4 are decided
by the count alone.
"""

from __future__ import annotations

import polars as pl

from assets.marts import shared
from assets.marts.stats import ctcae_grade

# term on the toxicity form -> the blood count graded for it
CYTOPENIA_ANALYTES = {"neutropenia": "neutrophils", "thrombocytopenia": "platelets"}
LOWER_LIMIT_OF_NORMAL = {"neutrophils": 1.5, "platelets": 150.0}  # x10^9/L; see the module docstring
ON_TREATMENT = ("day14", "day21", "day28", "crs_onset", "icans_onset")

SCHEMA = {
    "subject_id": pl.Utf8, "cycle_no": pl.Int64, "table3_group": pl.Utf8, "term": pl.Utf8, "analyte": pl.Utf8,
    "on_treatment_samples": pl.Int64, "nadir": pl.Float64, "nadir_date": pl.Date, "nadir_timepoint": pl.Utf8,
    "lln": pl.Float64, "lab_grade": pl.Int8, "reported_grade": pl.Int64, "agrees": pl.Boolean,
    "discrepancy": pl.Utf8, "lab_source_file": pl.Utf8, "lab_source_row": pl.Int64, "lab_source_column": pl.Utf8,
}
COLUMNS = {
    "subject_id": "Pseudonymous patient key.",
    "cycle_no": "The blinatumomab cycle.",
    "table3_group": "The cycle's Table 3 column (core.cycles.table3_group).",
    "term": "neutropenia or thrombocytopenia (the toxicity form's term).",
    "analyte": "The count graded: neutrophils or platelets, x10^9/L.",
    "on_treatment_samples": "Blood samples of the count at on-treatment time points (day14, day21, day28, "
                            "crs_onset, icans_onset); the baseline is before the first infusion and not used.",
    "nadir": "The lowest on-treatment count (ND as 0, <x as x); NULL without an on-treatment sample.",
    "nadir_date": "Sampling date of the nadir.",
    "nadir_timepoint": "Time point of the nadir sample.",
    "lln": "Lower limit of normal used for grade 1 (a documented choice, not age-specific: docs/marts.md).",
    "lab_grade": "CTCAE v5.0 grade of the nadir; NULL without an on-treatment sample.",
    "reported_grade": "The toxicity form's grade (core.adverse_events); NULL = not assessed.",
    "agrees": "The two grades agree, grades 0 and 1 taken as one (their boundary rests on the LLN choice); "
              "NULL when either is missing.",
    "discrepancy": "grade_differs (both known, disagreeing) or counts_not_graded (on-treatment counts delivered "
                   "but the form says not assessed); NULL otherwise.",
    "lab_source_file": "Delivered file of the nadir sample (to find it at the center).",
    "lab_source_row": "Data row of the nadir sample in that file.",
    "lab_source_column": "Wide lab deliveries only: the column of the nadir value.",
}
DISCREPANCIES_COLUMNS = {name: COLUMNS[name] for name in SCHEMA}


def nadirs(labs: pl.DataFrame) -> pl.DataFrame:
    """Per cycle and graded count: the number of on-treatment samples and the lowest one with its provenance
    (ties: the earliest sample, then the delivered file and row)."""
    samples = labs.filter(
        (pl.col("specimen") == "blood") & pl.col("analyte").is_in(list(CYTOPENIA_ANALYTES.values()))
        & pl.col("timepoint").is_in(ON_TREATMENT)
    ).with_columns(value=shared.measured_value()).filter(pl.col("value").is_not_null())
    return (
        samples.sort("value", "sample_date", "source_file", "source_row", nulls_last=True)
        .group_by("subject_id", "cycle_no", "analyte", maintain_order=True)
        .agg(
            on_treatment_samples=pl.len(),
            nadir=pl.col("value").first(),
            nadir_date=pl.col("sample_date").first(),
            nadir_timepoint=pl.col("timepoint").first(),
            lab_source_file=pl.col("source_file").first(),
            lab_source_row=pl.col("source_row").first(),
            lab_source_column=pl.col("source_column").first(),
        )
    )


def _lab_grade() -> pl.Expr:
    by_analyte = pl.lit(None, dtype=pl.Int8)
    for analyte, lln in LOWER_LIMIT_OF_NORMAL.items():
        grade = ctcae_grade(pl.col("nadir"), analyte, lln)
        by_analyte = pl.when(pl.col("analyte") == analyte).then(grade).otherwise(by_analyte)
    return by_analyte


def _discrepancy() -> pl.Expr:
    return (
        pl.when(pl.col("agrees").not_()).then(pl.lit("grade_differs"))
        .when(pl.col("reported_grade").is_null() & pl.col("nadir").is_not_null()).then(pl.lit("counts_not_graded"))
    )


def cytopenia_grades(grades: pl.DataFrame, labs: pl.DataFrame) -> pl.DataFrame:
    """One row per cycle and cytopenia term (SCHEMA): the lab grade beside the reported one. `grades` is
    safety_table3.cycle_grades' output."""
    terms = pl.DataFrame({"term": list(CYTOPENIA_ANALYTES), "analyte": list(CYTOPENIA_ANALYTES.values())})
    return (
        grades.join(terms, on="term", how="inner")
        .rename({"grade": "reported_grade"})
        .join(nadirs(labs), on=["subject_id", "cycle_no", "analyte"], how="left", nulls_equal=True)
        .with_columns(
            on_treatment_samples=pl.col("on_treatment_samples").fill_null(0),
            lln=pl.col("analyte").replace_strict(LOWER_LIMIT_OF_NORMAL, return_dtype=pl.Float64),
            lab_grade=_lab_grade(),
        )
        .with_columns(
            # grades 0 and 1 as one: their boundary is the LLN choice
            agrees=pl.when(pl.col("reported_grade").is_not_null() & pl.col("lab_grade").is_not_null())
            .then(pl.max_horizontal("reported_grade", 1) == pl.max_horizontal("lab_grade", 1)),
        )
        .with_columns(discrepancy=_discrepancy())
        .select(list(SCHEMA))
        .cast(SCHEMA)
        .sort("term", "subject_id", "cycle_no")
    )


def discrepancies(cytopenia: pl.DataFrame) -> pl.DataFrame:
    """The cycles a data manager should look at: a reported grade the counts contradict, or counts without a
    grade."""
    return cytopenia.filter(pl.col("discrepancy").is_not_null())


def lab_grades(cytopenia: pl.DataFrame) -> pl.DataFrame:
    """cytopenia_grades as (subject_id, cycle_no, table3_group, term, grade) rows for band counting."""
    return cytopenia.select("subject_id", "cycle_no", "table3_group", "term", grade="lab_grade")
