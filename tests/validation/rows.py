"""Candidate core rows for the gate's tests: one clean patient with one cycle and its records, built with the
column types dbt gives the core tables, and overridable field by field.

Dates follow the protocol (clinical-rules.md): diagnosis, then cycle 1 from 2021-03-01 for 28 days at 5 then 15
ug/m2/day, marrow before and after it, labs during it, one fever, last contact a year later.
"""

from datetime import date

import polars as pl

SUBJECT = "a" * 64
TODAY = date(2024, 1, 1)

DTYPES = {
    "patients": {"subject_id": pl.String, "center_id": pl.String, "source_file": pl.String, "source_row": pl.Int32,
                 "study": pl.String, "sex": pl.String, "age_months": pl.Int64, "age_at_diagnosis_months": pl.Float64,
                 "diagnosis_date": pl.Date, "diagnosis_date_raw": pl.String, "indication": pl.String,
                 "first_infusion_date": pl.Date, "n_cycles": pl.Int64, "cytogenetics": pl.String,
                 "parse_errors": pl.String},
    "cycles": {"subject_id": pl.String, "center_id": pl.String, "source_file": pl.String, "source_row": pl.Int32,
               "cycle_no": pl.Int32, "cycle_no_raw": pl.String, "start_date": pl.Date, "start_date_raw": pl.String,
               "end_date": pl.Date, "end_date_raw": pl.String, "infusion_days": pl.Int64, "dose_start": pl.Float64,
               "dose_start_raw": pl.String, "dose_target": pl.Float64, "dose_target_raw": pl.String,
               "dose_unit": pl.String, "dose_unit_raw": pl.String, "step_up_date": pl.Date,
               "step_up_date_raw": pl.String, "weight_kg": pl.Float64, "weight_kg_raw": pl.String,
               "bsa_m2": pl.Float64, "cyclophosphamide_dose_mg_m2": pl.Float64, "parse_errors": pl.String},
    "assessments": {"subject_id": pl.String, "center_id": pl.String, "source_file": pl.String,
                    "source_row": pl.Int32, "cycle_no": pl.Int32, "timepoint": pl.String,
                    "assessment_date": pl.Date, "assessment_date_raw": pl.String, "bm_blasts_pct": pl.Float64,
                    "bm_blasts_pct_raw": pl.String, "mrd_pct": pl.Float64, "mrd_pct_raw": pl.String,
                    "mrd_pct_below_lod": pl.Boolean, "fusion_transcript_pct": pl.Float64,
                    "fusion_transcript_pct_raw": pl.String, "parse_errors": pl.String},
    "labs": {"subject_id": pl.String, "center_id": pl.String, "source_file": pl.String, "source_row": pl.Int32,
             "source_column": pl.String, "cycle_no": pl.Int32, "timepoint": pl.String, "sample_date": pl.Date,
             "specimen": pl.String, "analyte": pl.String, "value": pl.Float64, "unit": pl.String,
             "value_raw": pl.String, "unit_raw": pl.String, "below_lod": pl.Boolean, "parse_errors": pl.String},
    "adverse_events": {"subject_id": pl.String, "center_id": pl.String, "source_file": pl.String,
                       "source_row": pl.Int32, "cycle_no": pl.Int32, "term": pl.String, "grade": pl.Int32,
                       "grade_raw": pl.String, "onset_date": pl.Date, "parse_errors": pl.String},
    "events": {"subject_id": pl.String, "center_id": pl.String, "source_file": pl.String, "source_row": pl.Int32,
               "event_type": pl.String, "event_date": pl.Date, "event_date_raw": pl.String,
               "relapse_site": pl.String, "cd19_status": pl.String, "parse_errors": pl.String},
    "therapy_lines": {"subject_id": pl.String, "center_id": pl.String, "source_file": pl.String,
                      "source_row": pl.Int32, "line_no": pl.Int32, "line_no_raw": pl.String, "phase": pl.String,
                      "regimen": pl.String, "start_date": pl.Date, "start_date_raw": pl.String,
                      "end_date": pl.Date, "end_date_raw": pl.String, "protocol": pl.String,
                      "detail": pl.String, "parse_errors": pl.String},
}

_WHO = {"subject_id": SUBJECT, "center_id": "aaa"}
CLEAN = {
    "patients": [{**_WHO, "source_file": "patients.csv", "source_row": 1, "study": "multicenter", "sex": "F",
                  "age_months": 80, "age_at_diagnosis_months": 60.0, "diagnosis_date": date(2019, 5, 2),
                  "indication": "relapse", "first_infusion_date": date(2021, 3, 1), "n_cycles": 1,
                  "cytogenetics": "etv6_runx1;ikzf1_deletion"}],
    "cycles": [{**_WHO, "source_file": "cycles.csv", "source_row": 1, "cycle_no": 1, "start_date": date(2021, 3, 1),
                "end_date": date(2021, 3, 28), "infusion_days": 28, "dose_start": 5.0, "dose_start_raw": "5",
                "dose_target": 15.0, "dose_target_raw": "15", "dose_unit": "ug/m2/day",
                "dose_unit_raw": "ug/m2/day", "step_up_date": date(2021, 3, 8), "weight_kg": 22.0,
                "bsa_m2": 0.86}],
    "assessments": [
        {**_WHO, "source_file": "marrow.csv", "source_row": 1, "cycle_no": 1, "timepoint": "pre_cycle",
         "assessment_date": date(2021, 2, 26), "bm_blasts_pct": 12.0, "bm_blasts_pct_raw": "12", "mrd_pct": 9.5,
         "mrd_pct_raw": "9.5", "mrd_pct_below_lod": False},
        {**_WHO, "source_file": "marrow.csv", "source_row": 2, "cycle_no": 1, "timepoint": "end_of_cycle",
         "assessment_date": date(2021, 3, 29), "bm_blasts_pct": 1.0, "bm_blasts_pct_raw": "1", "mrd_pct": 0.01,
         "mrd_pct_raw": "<0.01", "mrd_pct_below_lod": True},
    ],
    "labs": [
        {**_WHO, "source_file": "labs.csv", "source_row": row, "cycle_no": 1, "timepoint": timepoint,
         "sample_date": sampled, "specimen": specimen, "analyte": analyte, "value": value, "unit": unit,
         "value_raw": raw, "unit_raw": unit, "below_lod": below_lod}
        for row, (timepoint, sampled, specimen, analyte, value, unit, raw, below_lod) in enumerate([
            ("baseline", date(2021, 2, 28), "blood", "neutrophils", 1.2, "x10^9/L", "1.2", False),
            ("baseline", date(2021, 2, 28), "blood", "cd3_pct", 70.0, "%", "70", False),
            ("baseline", date(2021, 2, 28), "blood", "cd19_pct", 15.0, "%", "15", False),
            ("baseline", date(2021, 2, 28), "blood", "nk_pct", 12.0, "%", "12", False),
            ("day14", date(2021, 3, 14), "blood", "cd3_abs", 1.8, "x10^9/L", "1.8", False),
            ("day14", date(2021, 3, 14), "blood", "cd19_abs", None, "x10^9/L", "ND", True),
            ("day14", date(2021, 3, 14), "serum", "il6", 2.44, "pg/mL", "2.44", True),
            ("day14", date(2021, 3, 14), "serum", "igg", 6.1, "g/L", "6.1", False),
        ], start=1)],
    "adverse_events": [
        {**_WHO, "source_file": "ae.csv", "source_row": 1, "cycle_no": 1, "term": "crs", "grade": 0, "grade_raw": "0"},
        {**_WHO, "source_file": "ae.csv", "source_row": 2, "cycle_no": 1, "term": "fever", "grade": 1,
         "grade_raw": "1", "onset_date": date(2021, 3, 2)},
        {**_WHO, "source_file": "ae.csv", "source_row": 3, "cycle_no": 1, "term": "neutropenia", "grade": None},
    ],
    "events": [{**_WHO, "source_file": "follow_up.csv", "source_row": 1, "event_type": "last_contact",
                "event_date": date(2022, 3, 1)}],
    # Frontline induction and consolidation before the relapse; the reinduction undated, as case reports have it.
    "therapy_lines": [
        {**_WHO, "source_file": "therapy.csv", "source_row": 1, "line_no": 1, "phase": "frontline_induction",
         "regimen": "VDLD", "start_date": date(2019, 5, 6), "end_date": date(2019, 6, 20),
         "protocol": "CCCG-ALL-2015"},
        {**_WHO, "source_file": "therapy.csv", "source_row": 2, "line_no": 2, "phase": "consolidation",
         "regimen": "HDMTX", "start_date": date(2019, 7, 1), "end_date": date(2019, 9, 1),
         "protocol": "CCCG-ALL-2015"},
        {**_WHO, "source_file": "therapy.csv", "source_row": 3, "line_no": 3, "phase": "reinduction",
         "regimen": "DEAL"},
    ],
}


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=DTYPES[table], orient="row") if rows else pl.DataFrame(schema=DTYPES[table])


def clean(table: str) -> list[dict]:
    return [dict(row) for row in CLEAN[table]]


def candidates(**changes: list[dict]) -> dict[str, pl.DataFrame]:
    """The clean candidate tables, with the tables named in `changes` replaced by those rows."""
    return {table: frame(table, changes.get(table, clean(table))) for table in CLEAN}


def changed(table: str, index: int = 0, **fields) -> list[dict]:
    """The clean rows of `table`, with row `index` changed."""
    rows = clean(table)
    rows[index] = {**rows[index], **fields}
    return rows
