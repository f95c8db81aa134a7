"""Bone marrow assessments of the demo cohort (contract table `assessments`).

Each cycle has a `pre_cycle` assessment a few days before the start and an `end_of_cycle` one on or just after
the last infusion day; some long cycles also have a `day15` aspirate. The values carry the design: the warehouse
must find each patient's status before a cycle and response after it from these numbers alone (R/R: blasts
>= 5 %; CR-MRDpos: blasts < 5 %, MRD >= 0.01 %; CR-MRDneg: MRD < 0.01 %). Marrow relapses add a `follow_up`
assessment outside any cycle. BCR-ABL1 patients also have a quantitative fusion transcript.
"""
import datetime as dt

import polars as pl

from demo_cohort.design import mrd_negative_value

SCHEMA = {"mrn": pl.Utf8, "cycle_no": pl.Int64, "timepoint": pl.Utf8, "assessment_date": pl.Date,
          "bm_blasts_pct": pl.Float64, "mrd_pct": pl.Float64, "fusion_transcript_pct": pl.Float64,
          "center_id": pl.Utf8}
DAY15_SHARE = 0.3  # of cycles of 21 days or more


def build_assessments(design: pl.DataFrame, design_cycles: pl.DataFrame, events: pl.DataFrame, rng) -> pl.DataFrame:
    patients = {p["mrn"]: p for p in design.iter_rows(named=True)}
    rows, after = [], {}
    for cycle in design_cycles.iter_rows(named=True):
        patient = patients[cycle["mrn"]]
        pre = _pre_values(patient, cycle, after.get(cycle["mrn"]), rng)
        end = _end_values(cycle, pre, rng)
        after[cycle["mrn"]] = end
        start, last = cycle["start_date"], cycle["end_date"]
        rows.append(_row(patient, cycle, "pre_cycle", start - _days(rng, 1, 5), pre, rng))
        if cycle["infusion_days"] >= 21 and rng.random() < DAY15_SHARE:
            rows.append(_row(patient, cycle, "day15", start + dt.timedelta(days=14), _end_values(cycle, pre, rng), rng))
        rows.append(_row(patient, cycle, "end_of_cycle", last + _days(rng, 0, 3), end, rng))
    for relapse in events.filter(event_type="relapse", relapse_site="bone_marrow").iter_rows(named=True):
        blasts = round(float(rng.uniform(30, 85)), 1)
        rows.append(_row(patients[relapse["mrn"]], None, "follow_up", relapse["event_date"],
                         (blasts, round(blasts * float(rng.uniform(0.7, 1.0)), 2)), rng))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def _days(rng, low: int, high: int) -> dt.timedelta:
    return dt.timedelta(days=int(rng.integers(low, high + 1)))


def _pre_values(patient: dict, cycle: dict, previous_end: tuple | None, rng) -> tuple[float, float]:
    if cycle["cycle_no"] == 1:
        return patient["pre_blasts_pct"], patient["pre_mrd_pct"]
    if cycle["status_pre"] == "cr_mrdneg":
        return float(rng.choice([0.0, 0.0, 0.5])), mrd_negative_value(rng)
    # a non-responder's second cycle: the disease the first left, grown a little over the break
    blasts, mrd = previous_end
    growth = float(rng.uniform(1.0, 1.3))
    return round(blasts * growth, 1), round(mrd * growth, 3)  # blasts <= 2.6 stay < 5 %, >= 5.5 stay >= 5 %


def _end_values(cycle: dict, pre: tuple[float, float], rng) -> tuple[float, float]:
    """Blasts and MRD after a cycle, by its outcome and the status it started from."""
    blasts, mrd = pre
    if cycle["outcome"] == "mrd_cr":
        return float(rng.choice([0.0, 0.0, 0.5, 1.0])), mrd_negative_value(rng)
    if cycle["outcome"] == "cr":  # cytological CR, MRD persisting
        return round(float(rng.uniform(0.5, 2.0)), 1), round(float(rng.uniform(0.03, 0.4)), 3)
    if cycle["status_pre"] == "rr":  # no remission: blasts stay >= 5 %
        blasts = max(5.5, round(blasts * float(rng.uniform(0.5, 1.3)), 1))
        return blasts, round(blasts * float(rng.uniform(0.7, 1.0)), 2)
    return round(float(rng.choice([0.0, 0.5, 1.0, 2.0])), 1), max(0.012, round(mrd * float(rng.uniform(0.4, 1.5)), 3))


def _row(patient: dict, cycle: dict | None, timepoint: str, date: dt.date, values: tuple, rng) -> dict:
    blasts, mrd = values
    transcript = None
    if patient["cytogenetics"].startswith("bcr_abl1"):
        transcript = round(mrd * float(rng.uniform(0.5, 2.0)), 4)
    return {"mrn": patient["mrn"], "cycle_no": cycle["cycle_no"] if cycle else None, "timepoint": timepoint,
            "assessment_date": date, "bm_blasts_pct": blasts, "mrd_pct": mrd,
            "fusion_transcript_pct": transcript, "center_id": patient["center_id"]}
