"""Small core.patients / core.cycles / core.events / core.labs frames for the marts' unit tests: only the
columns the marts read, defaults for the rest of a row, so that a test states just what it is about."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from assets.marts.first_cycle import CYCLE_COLUMNS, PATIENT_COLUMNS

START = dt.date(2022, 1, 3)
PATIENT_SCHEMA = {
    "subject_id": pl.Utf8, "center_id": pl.Utf8, "study": pl.Utf8, "sex": pl.Utf8, "age_months": pl.Int64,
    "indication": pl.Utf8, "indication_group": pl.Utf8, "status_at_first_cycle": pl.Utf8, "n_cycles": pl.Int64,
    "first_infusion_date": pl.Date, "bcr_abl1": pl.Boolean, "kmt2ar": pl.Boolean, "tcf3_hlf": pl.Boolean,
    "etv6_runx1": pl.Boolean, "tcf3_pbx1": pl.Boolean, "znf384r": pl.Boolean, "pax5r": pl.Boolean,
    "hypodiploidy": pl.Boolean, "cytogenetic_risk": pl.Utf8,
}
CYCLE_SCHEMA = {
    "subject_id": pl.Utf8, "cycle_no": pl.Int64, "start_date": pl.Date, "end_date": pl.Date, "regimen": pl.Utf8,
    "bridging_chemo": pl.Boolean, "cyclophosphamide": pl.Boolean, "cyclophosphamide_dose_mg_m2": pl.Float64,
    "pre_blasts_pct": pl.Float64, "pre_mrd_pct": pl.Float64, "response_date": pl.Date, "response": pl.Utf8,
    "mrd_negative_after": pl.Boolean, "status_at_start": pl.Utf8, "table3_group": pl.Utf8,
}
EVENT_SCHEMA = {"subject_id": pl.Utf8, "event_type": pl.Utf8, "event_date": pl.Date}
LAB_SCHEMA = {
    "subject_id": pl.Utf8, "cycle_no": pl.Int64, "timepoint": pl.Utf8, "specimen": pl.Utf8, "analyte": pl.Utf8,
    "value": pl.Float64, "below_lod": pl.Boolean, "sample_date": pl.Date, "source_file": pl.Utf8,
    "source_row": pl.Int64,
}
LESIONS = ("bcr_abl1", "kmt2ar", "tcf3_hlf", "etv6_runx1", "tcf3_pbx1", "znf384r", "pax5r", "hypodiploidy")
POOR = ("bcr_abl1", "kmt2ar", "tcf3_hlf", "hypodiploidy")

assert set(PATIENT_COLUMNS) <= set(PATIENT_SCHEMA) and set(CYCLE_COLUMNS) <= set(CYCLE_SCHEMA)


def patient(subject_id: str, status: str = "cr_mrdneg", *, lesion: str | None = None, **values) -> dict:
    """A multicenter patient in `status` at cycle 1 with at most one cytogenetic `lesion` (None: none found)."""
    row = {
        "subject_id": subject_id, "center_id": "sch", "study": "multicenter", "sex": "M", "age_months": 60,
        "indication": "chemo_delay", "indication_group": status, "status_at_first_cycle": status, "n_cycles": 1,
        "first_infusion_date": START, "cytogenetic_risk": "poor" if lesion in POOR else "standard",
        **{name: name == lesion for name in LESIONS},
    }
    return {**row, **values}


def cycle(subject_id: str, cycle_no: int = 1, *, response: str = "cr", days: int = 14, **values) -> dict:
    """A cycle starting on START (cycle 1) with its end-of-cycle assessment the day after its last day."""
    start = START + dt.timedelta(days=42 * (cycle_no - 1))
    end = start + dt.timedelta(days=days - 1)
    row = {
        "subject_id": subject_id, "cycle_no": cycle_no, "start_date": start, "end_date": end,
        "regimen": "14d" if days <= 17 else "21_28d", "bridging_chemo": False, "cyclophosphamide": False,
        "pre_blasts_pct": 0.0, "pre_mrd_pct": 0.5, "response_date": end + dt.timedelta(days=1),
        "response": response, "mrd_negative_after": response == "cr", "status_at_start": "cr_mrdpos",
        "table3_group": "rr_mrdpos" if cycle_no == 1 else "mrdneg",
    }
    return {**row, **values}


def event(subject_id: str, event_type: str, days_after_start: int) -> dict:
    date = START + dt.timedelta(days=days_after_start)
    return {"subject_id": subject_id, "event_type": event_type, "event_date": date}


def frame(rows: Iterable[dict], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=schema)


def patients(rows: Iterable[dict]) -> pl.DataFrame:
    return frame(rows, PATIENT_SCHEMA)


def cycles(rows: Iterable[dict]) -> pl.DataFrame:
    return frame(rows, CYCLE_SCHEMA)


def events(rows: Iterable[dict]) -> pl.DataFrame:
    return frame(rows, EVENT_SCHEMA)


def labs(rows: Iterable[dict]) -> pl.DataFrame:
    return frame(rows, LAB_SCHEMA)


def counts_cohort(groups: dict[str, list[tuple[int, dict]]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Patients and their cycle 1 from counts: status -> [(how many, attributes of the patient and cycle)]."""
    patient_rows, cycle_rows = [], []
    for status, parts in groups.items():
        for how_many, attributes in parts:
            for _ in range(how_many):
                subject_id = f"p{len(patient_rows):03d}"
                patient_attributes = {k: v for k, v in attributes.items() if k in PATIENT_SCHEMA or k == "lesion"}
                cycle_attributes = {k: v for k, v in attributes.items() if k in CYCLE_SCHEMA}
                patient_rows.append(patient(subject_id, status, **patient_attributes))
                cycle_rows.append(cycle(subject_id, **cycle_attributes))
    return patients(patient_rows), cycles(cycle_rows)
