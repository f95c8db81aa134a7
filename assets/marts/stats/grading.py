"""CTCAE v5.0 grades of low blood counts (docs/clinical-rules.md), as SQL expressions: the marts grade and count
in DuckDB, so the thresholds are written once, here, and rendered into their queries."""

from __future__ import annotations

# Counts in x10^9/L below which grade 2, 3 and 4 begin ("< 1.5 - 1.0" is grade 2, and so on).
# Grade 1 runs from the lower limit of normal down to the grade-2 bound.
CTCAE_V5_COUNT_DECREASED: dict[str, tuple[float, float, float]] = {
    "neutrophils": (1.5, 1.0, 0.5),  # Neutrophil count decreased
    "platelets": (75.0, 50.0, 25.0),  # Platelet count decreased
    "lymphocytes": (0.8, 0.5, 0.2),  # Lymphocyte count decreased
}


def ctcae_grade(value: str, analyte: str, lln: str | float | None = None) -> str:
    """SQL: grade 0-4 (TINYINT) of a count (the expression `value`, x10^9/L).

    Grades 2-4 need only the count. Telling grade 1 from grade 0 needs the lower limit of normal (`lln`: a
    number, or an SQL expression), which is age-dependent in children: without it (or where it is NULL) such a
    count grades NULL, never a guessed 0. A NULL count grades NULL.
    """
    if analyte not in CTCAE_V5_COUNT_DECREASED:
        raise ValueError(f"no CTCAE count grading for {analyte!r}; known: {sorted(CTCAE_V5_COUNT_DECREASED)}")
    grade2, grade3, grade4 = CTCAE_V5_COUNT_DECREASED[analyte]
    lower_limit = "NULL" if lln is None else repr(float(lln)) if isinstance(lln, (int, float)) else lln
    return (
        f"CAST(CASE WHEN ({value}) IS NULL THEN NULL WHEN ({value}) < {grade4} THEN 4 "
        f"WHEN ({value}) < {grade3} THEN 3 WHEN ({value}) < {grade2} THEN 2 "
        f"WHEN ({lower_limit}) IS NULL THEN NULL WHEN ({value}) < ({lower_limit}) THEN 1 ELSE 0 END AS TINYINT)"
    )


def grade_band(grade: str) -> str:
    """SQL: the paper's Table 3 columns, "g0", "g1_2", "g3_4" (grade 5 counts with 3-4), from the expression
    `grade`; NULL stays NULL."""
    return f"CASE WHEN ({grade}) = 0 THEN 'g0' WHEN ({grade}) <= 2 THEN 'g1_2' WHEN ({grade}) >= 3 THEN 'g3_4' END"
