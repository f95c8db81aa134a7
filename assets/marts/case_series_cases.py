"""The cases of the three-case series (study `case_series`) and the number the report gives each.

The report numbers its cases 1, 2, 3 and the center's delivery carries that number as the MRN, which staging
drops (core holds pseudonymised subject_ids only). The center's patients file lists the cases in the report's
order, one a row, and core keeps where each row came from: the case number is the row's `source_row` in that file
(header = 0, so the first case is row 1). Unlike a rank over the rows that reached core, it does not shift when a
case is quarantined. It is a number only while the study's patients come from one file: `cases_sql` is the
relation of the cases, and `check_case_numbers` refuses a study whose rows would give two cases one number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

STUDY = "case_series"

# SQL: one row per case of the study bound as $study: subject_id, case_no and the patient columns the marts show.
CASES_SQL = """
    SELECT subject_id, center_id, source_file, source_row AS case_no, age_at_diagnosis_months, sex, cytogenetics,
           cytogenetics_raw, protocol, indication, indication_group, first_infusion_date
    FROM core.patients
    WHERE study = $study
"""
# SQL: the subject_ids of the cases, for a filter on a large core table (evaluated before any join).
IN_CASES_SQL = "subject_id IN (SELECT subject_id FROM core.patients WHERE study = $study)"


def check_case_numbers(con: duckdb.DuckDBPyConnection, study: str = STUDY) -> None:
    """Raise when two cases of `study` would share a case number (patients from several files or centers)."""
    [(cases, numbers, files)] = con.execute(
        f"SELECT count(*), count(DISTINCT case_no), count(DISTINCT (center_id, source_file)) FROM ({CASES_SQL})",
        {"study": study}).fetchall()
    if cases != numbers or files > 1:
        raise ValueError(f"study {study}: {cases} cases from {files} patients files give {numbers} distinct case "
                         "numbers; the case number is the row of the one patients file (case_series_cases.py)")


def case_group(case_no: int) -> str:
    """The reference file's group of a case: `case_1`, ..."""
    return f"case_{case_no}"
