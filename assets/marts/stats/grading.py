"""CTCAE v5.0 grades of low blood counts (docs/clinical-rules.md), as polars expressions."""

from __future__ import annotations

import polars as pl

# Counts in x10^9/L below which grade 2, 3 and 4 begin ("< 1.5 - 1.0" is grade 2, and so on).
# Grade 1 runs from the lower limit of normal down to the grade-2 bound.
CTCAE_V5_COUNT_DECREASED: dict[str, tuple[float, float, float]] = {
    "neutrophils": (1.5, 1.0, 0.5),  # Neutrophil count decreased
    "platelets": (75.0, 50.0, 25.0),  # Platelet count decreased
    "lymphocytes": (0.8, 0.5, 0.2),  # Lymphocyte count decreased
}


def ctcae_grade(value: pl.Expr, analyte: str, lln: pl.Expr | float | None = None) -> pl.Expr:
    """Grade 0-4 of a count (x10^9/L), as Int8.

    Grades 2-4 need only the count. Telling grade 1 from grade 0 needs the lower limit of normal,
    which is age-dependent in children: without `lln` (or where it is null) such a count grades
    null, never a guessed 0. A null count grades null.
    """
    if analyte not in CTCAE_V5_COUNT_DECREASED:
        raise ValueError(f"no CTCAE count grading for {analyte!r}; known: {sorted(CTCAE_V5_COUNT_DECREASED)}")
    grade2, grade3, grade4 = CTCAE_V5_COUNT_DECREASED[analyte]
    lower_limit = lln if isinstance(lln, pl.Expr) else pl.lit(lln, dtype=pl.Float64)
    return (
        pl.when(value.is_null()).then(None)
        .when(value < grade4).then(4)
        .when(value < grade3).then(3)
        .when(value < grade2).then(2)
        .when(lower_limit.is_null()).then(None)
        .when(value < lower_limit).then(1)
        .otherwise(0)
        .cast(pl.Int8)
    )


def grade_band(grade: pl.Expr) -> pl.Expr:
    """The paper's Table 3 columns: "g0", "g1_2", "g3_4" (grade 5 counts with 3-4); null stays null."""
    return (
        pl.when(grade == 0).then(pl.lit("g0"))
        .when(grade <= 2).then(pl.lit("g1_2"))
        .when(grade >= 3).then(pl.lit("g3_4"))
    )
