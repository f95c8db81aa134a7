"""A small core for the case-series marts: three cases of study case_series (case 1 without its cycle, as the
validation gate leaves it while its end date is invalid; case 2 bridged, relapsed after its cycle; case 3 with
a day-15 marrow and dated assessments) and one multicenter patient whose rows must never show."""

from __future__ import annotations

import datetime as dt

import polars as pl

from tests.marts.core_db import core_database

D = dt.date
PATIENTS = pl.DataFrame(
    [("s1", "szch", "szch_patients.csv", 1, "case_series", 67.0, "M", None, None, "CCCG-ALL-2015", "relapse", "rr",
      D(2022, 2, 14)),
     ("s2", "szch", "szch_patients.csv", 2, "case_series", 13.0, "F", "kmt2ar", "KMT2A-AFF1", "CCCG-ALL-2020",
      "mrd_positive", "cr_mrdpos", D(2022, 2, 1)),
     ("s3", "szch", "szch_patients.csv", 3, "case_series", 61.0, "F", "etv6_runx1", "ETV6-RUNX1", "CCCG-ALL-2020",
      "mrd_positive", "cr_mrdpos", D(2021, 12, 8)),
     ("m1", "sch", "sch_patients.csv", 1, "multicenter", 50.0, "M", None, None, "CCCG-ALL-2015", "relapse", "rr",
      D(2021, 1, 1))],
    schema={"subject_id": pl.Utf8, "center_id": pl.Utf8, "source_file": pl.Utf8, "source_row": pl.Int32,
            "study": pl.Utf8, "age_at_diagnosis_months": pl.Float64, "sex": pl.Utf8, "cytogenetics": pl.Utf8,
            "cytogenetics_raw": pl.Utf8, "protocol": pl.Utf8, "indication": pl.Utf8, "indication_group": pl.Utf8,
            "first_infusion_date": pl.Date},
    orient="row",
)
CYCLES = pl.DataFrame(
    [("s2", 1, D(2022, 2, 1), D(2022, 2, 28), 28, 5.0, 15.0, True, True, "cr", True),
     ("s2", 2, D(2022, 4, 1), D(2022, 4, 28), 28, 15.0, None, False, False, "cr", True),
     ("s3", 1, D(2021, 12, 8), D(2021, 12, 23), 16, None, None, None, None, "cr", True),
     ("m1", 1, D(2021, 1, 1), D(2021, 1, 28), 28, 15.0, None, True, True, "nr", False)],
    schema={"subject_id": pl.Utf8, "cycle_no": pl.Int32, "start_date": pl.Date, "end_date": pl.Date,
            "infusion_days": pl.Int64, "dose_start": pl.Float64, "dose_target": pl.Float64,
            "bridging_chemo": pl.Boolean, "cyclophosphamide": pl.Boolean, "response": pl.Utf8,
            "mrd_negative_after": pl.Boolean},
    orient="row",
)
# (subject, source_row, cycle, timepoint, date, mrd, mrd raw, below, transcript, transcript raw, below)
ASSESSMENTS = pl.DataFrame(
    [("s1", 1, None, "induction_d19", None, 0.01, "<0.01", True, None, None, None),
     # delivered out of course order: the relapse before day 46
     ("s1", 2, None, "follow_up", None, 1.5, "1.5", False, None, None, None),
     ("s1", 3, None, "induction_d46", None, 0.01, "<0.01", True, None, None, None),
     ("s2", 4, None, "maintenance", None, 0.4, "0.4", False, 1.53, "1.53", False),
     ("s2", 5, 1, "pre_cycle", None, 0.72, "0.72", False, 2.31, "2.31", False),
     ("s2", 6, 1, "end_of_cycle", None, 0.01, "<0.01", True, None, "ND", True),
     ("s3", 7, 1, "pre_cycle", D(2021, 12, 6), 0.12, "0.12", False, None, None, None),
     ("s3", 8, 1, "day15", D(2021, 12, 22), 0.05, "<0.05", True, None, None, None),
     ("s3", 9, 1, "end_of_cycle", D(2021, 12, 24), 0.01, "<0.01", True, None, "ND", True),
     ("s3", 10, 1, "follow_up", D(2022, 2, 1), 0.01, "<0.01", True, None, None, None),
     ("m1", 1, 1, "pre_cycle", None, 5.0, "5", False, 3.0, "3", False)],
    schema={"subject_id": pl.Utf8, "source_row": pl.Int32, "cycle_no": pl.Int32, "timepoint": pl.Utf8,
            "assessment_date": pl.Date, "mrd_pct": pl.Float64, "mrd_pct_raw": pl.Utf8, "mrd_pct_below_lod": pl.Boolean,
            "fusion_transcript_pct": pl.Float64, "fusion_transcript_pct_raw": pl.Utf8,
            "fusion_transcript_pct_below_lod": pl.Boolean},
    orient="row",
)
ADVERSE_EVENTS = pl.DataFrame(
    [("s2", 1, "fever", 1), ("s2", 2, "fever", 2), ("s2", 1, "crs", 0), ("s2", 1, "icans", 0),
     ("s3", 1, "fever", 1), ("s3", 1, "crs", 0), ("s3", 1, "icans", 0), ("m1", 1, "crs", 3)],
    schema={"subject_id": pl.Utf8, "cycle_no": pl.Int32, "term": pl.Utf8, "grade": pl.Int32}, orient="row",
)
EVENTS = pl.DataFrame(
    [("s1", "hsct", D(2022, 3, 22), "mother, HLA 5/10"), ("s1", "last_contact", D(2022, 5, 15), None),
     ("s2", "hsct", D(2022, 3, 21), None), ("s2", "relapse", D(2022, 5, 1), None),
     ("s2", "last_contact", D(2022, 5, 15), None),
     ("s3", "hsct", D(2022, 1, 11), "brother"), ("s3", "last_contact", D(2022, 4, 1), None),
     ("s3", "last_contact", D(2022, 5, 15), None),
     ("m1", "hsct", D(2021, 6, 1), None), ("m1", "death", D(2021, 7, 1), None)],
    schema={"subject_id": pl.Utf8, "event_type": pl.Utf8, "event_date": pl.Date, "detail": pl.Utf8}, orient="row",
)
FRAMES = {"patients": PATIENTS, "cycles": CYCLES, "assessments": ASSESSMENTS, "adverse_events": ADVERSE_EVENTS,
          "events": EVENTS}


def case_series_core(*tables: str, **replaced: pl.DataFrame):
    """core_database with the named tables of FRAMES (every one when none is named), `replaced` ones swapped."""
    names = tables or tuple(FRAMES)
    return core_database(**{name: replaced.get(name, FRAMES[name]) for name in names})
