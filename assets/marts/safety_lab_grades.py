"""Neutropenia and thrombocytopenia graded from the blood counts of each cycle (CTCAE v5.0), beside the grade the
toxicity form reports, and the cycles where the two disagree, for the data managers.

The lab grade is the CTCAE grade of the cycle's nadir: the lowest count among its on-treatment blood samples
(ON_TREATMENT time points; the `baseline` sample precedes the first infusion, so a low count there is not a
toxicity of the cycle). `ND` counts as 0 and `<x` as x (shared.MEASURED_VALUE_SQL).

Grade 1 needs the lower limit of normal (LLN), which is age-dependent in children and not delivered with the
counts. LOWER_LIMIT_OF_NORMAL is the warehouse's one documented choice: the soft normal ranges of
docs/clinical-rules.md (*unverified*: neutrophils ~1.5, platelets ~150 x10^9/L). With an LLN of 1.5 the
neutrophil grade 1 band (< LLN to 1.5) is empty: a neutrophil nadir grades 0 or 2-4. Because the grade-0 / grade-1
boundary rests on that choice, a 0-vs-1 difference is never a discrepancy: only grades 2, 3 and 4 are decided
by the count alone. Graded in DuckDB: the tables, one row per cycle and term, are written from SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assets.marts import per_center, shared
from assets.marts.stats import ctcae_grade

if TYPE_CHECKING:
    import duckdb

# term on the toxicity form -> the blood count graded for it
CYTOPENIA_ANALYTES = {"neutropenia": "neutrophils", "thrombocytopenia": "platelets"}
LOWER_LIMIT_OF_NORMAL = {"neutrophils": 1.5, "platelets": 150.0}  # x10^9/L; see the module docstring
ON_TREATMENT = ("day14", "day21", "day28", "crs_onset", "icans_onset")

# The TEMP view create_cytopenia_grades gives (center_id and the columns of COLUMNS), and the core tables its
# rows are computed from.
CYTOPENIA_GRADES = "cytopenia_grades"
CORE_TABLES = ("patients", "cycles", "adverse_events", "labs")
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
# The preview's order (shared.table_metadata), and the one to read the tables in: per term, patient by
# patient, cycle by cycle. The tables are not stored sorted (the analyst snapshot's copies are unordered
# anyway): at 1,000,000 patients sorting the 2.3 M cycle grades took 4.1-5.2 s to write, 1.4-1.6 s unsorted.
ORDER = ("term", "subject_id", "cycle_no")
DISCREPANCIES_COLUMNS = COLUMNS



def _values(rows) -> str:
    return ", ".join("(" + ", ".join(map(shared.sql_text, row)) + ")" for row in rows)


# SQL: per cycle and graded count, the number of on-treatment samples and the lowest one with its provenance
# (ties: the earliest sample, then the delivered file and row).
NADIRS_SQL = f"""
    SELECT subject_id, cycle_no, analyte, count(*) OVER cycle AS on_treatment_samples, value AS nadir,
           sample_date AS nadir_date, timepoint AS nadir_timepoint, source_file AS lab_source_file,
           CAST(source_row AS BIGINT) AS lab_source_row, source_column AS lab_source_column
    FROM (SELECT * REPLACE ({shared.MEASURED_VALUE_SQL} AS value) FROM core.labs
          WHERE specimen = 'blood' AND analyte IN ({", ".join(map(shared.sql_text, CYTOPENIA_ANALYTES.values()))})
            AND timepoint IN ({", ".join(map(shared.sql_text, ON_TREATMENT))}) AND {shared.IN_STUDY_SQL}
            AND {per_center.in_centers()})
    WHERE value IS NOT NULL
    WINDOW cycle AS (PARTITION BY subject_id, cycle_no, analyte)
    QUALIFY row_number() OVER (cycle ORDER BY value, sample_date NULLS LAST, source_file NULLS LAST,
                                             source_row NULLS LAST) = 1
"""
LAB_GRADE_SQL = "CASE " + " ".join(
    f"WHEN analyte = {shared.sql_text(analyte)} THEN {ctcae_grade('nadir', analyte, lln)}"
    for analyte, lln in LOWER_LIMIT_OF_NORMAL.items()) + " END"


def create_cytopenia_grades(con: duckdb.DuckDBPyConnection, grades: str, study: str = shared.MULTICENTER) -> str:
    """TEMP view CYTOPENIA_GRADES (per_center.create), one row per cycle and cytopenia term (center_id and
    COLUMNS): the lab grade beside the reported one. `grades` is safety_table3.create_cycle_grades' view.
    Returns its name."""
    terms = _values((term, analyte, repr(LOWER_LIMIT_OF_NORMAL[analyte]))
                    for term, analyte in CYTOPENIA_ANALYTES.items())
    select = f"""
        WITH graded AS (
            SELECT grades.center_id, grades.subject_id, grades.cycle_no, grades.table3_group, grades.term,
                   terms.analyte,
                   coalesce(nadirs.on_treatment_samples, 0) AS on_treatment_samples, nadirs.nadir,
                   nadirs.nadir_date, nadirs.nadir_timepoint, CAST(terms.lln AS DOUBLE) AS lln,
                   grades.grade AS reported_grade, nadirs.lab_source_file, nadirs.lab_source_row,
                   nadirs.lab_source_column
            FROM {grades} AS grades
            JOIN (VALUES {terms}) AS terms(term, analyte, lln) USING (term)
            LEFT JOIN ({NADIRS_SQL}) AS nadirs
                ON nadirs.subject_id IS NOT DISTINCT FROM grades.subject_id
               AND nadirs.cycle_no IS NOT DISTINCT FROM grades.cycle_no AND nadirs.analyte = terms.analyte
            WHERE {per_center.in_centers("grades.center_id")}
        ), with_grade AS (
            SELECT *, {LAB_GRADE_SQL} AS lab_grade FROM graded
        ), compared AS (
            -- grades 0 and 1 as one: their boundary is the LLN choice
            SELECT *, CASE WHEN reported_grade IS NOT NULL AND lab_grade IS NOT NULL
                           THEN greatest(reported_grade, 1) = greatest(lab_grade, 1) END AS agrees
            FROM with_grade
        )
        SELECT center_id, {", ".join(COLUMNS)}
        FROM (SELECT *, CASE WHEN NOT agrees THEN 'grade_differs'
                             WHEN reported_grade IS NULL AND nadir IS NOT NULL THEN 'counts_not_graded' END
                            AS discrepancy
              FROM compared)
    """
    return per_center.create(con, CYTOPENIA_GRADES, select, CORE_TABLES, {"study": study}, reads=[grades])


def rows(cytopenia: str, where: str = "true") -> str:
    """SQL: create_cytopenia_grades' rows (COLUMNS) matching `where`."""
    return f"SELECT {', '.join(COLUMNS)} FROM {cytopenia} WHERE {where}"


def discrepancies(cytopenia: str) -> str:
    """SQL: the cycles a data manager should look at, a reported grade the counts contradict or counts without
    a grade, from create_cytopenia_grades' table."""
    return rows(cytopenia, "discrepancy IS NOT NULL")


def lab_grades(cytopenia: str) -> tuple[str, str]:
    """safety_table3.band_counts' `grades`: create_cytopenia_grades' view, its lab grade column."""
    return cytopenia, "lab_grade"
