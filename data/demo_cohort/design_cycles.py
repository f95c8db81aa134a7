"""Per-cycle truth of the demo cohort (`Cohort.design_cycles`): dates, Table 3 column, toxicity grades.

`table3_group` is the Table 3 column of a cycle: cycle 1 goes by the patient's status at cycle 1 (rr and
cr_mrdpos -> `rr_mrdpos`, cr_mrdneg -> `mrdneg`); every later cycle goes to `mrdneg`, after the paper's "in
patients achieving MRD negativity, a total of 74 cycles". That knowingly counts the three non-responders' second
cycles there: it is the one rule that gives the published 74 / 51.

Columns: mrn, center_id, cycle_no, start_date, end_date, infusion_days, table3_group, status_pre (status before
the cycle: rr / cr_mrdpos / cr_mrdneg), outcome (mrd_cr / cr / nr after the cycle), age_months (completed, at the
start), weight_kg, bsa_m2, then per solicited term `<term>_grade` (null = not assessed) and `<term>_onset_date`
(grade >= 1) for crs, icans, infection, tls, neutropenia, thrombocytopenia.
"""
import datetime as dt
import math

import polars as pl

from demo_cohort import blueprint as bp
from demo_cohort.deal import deal
from demo_cohort.identity import completed_months

DAYS_OFF = 14  # between cycles
LATER_CYCLE_DAYS = [14, 21, 28]
TERMS = ["crs", "icans", "infection", "tls", "neutropenia", "thrombocytopenia"]
BAND_GRADES = {"0": ([0], [1.0]), "1_2": ([1, 2], [0.6, 0.4]), "3_4": ([3, 4], [0.7, 0.3]),
               "1_3": ([1, 2, 3], [0.3, 0.5, 0.2])}

SCHEMA = {
    "mrn": pl.Utf8, "center_id": pl.Utf8, "cycle_no": pl.Int64, "start_date": pl.Date, "end_date": pl.Date,
    "infusion_days": pl.Int64, "table3_group": pl.Utf8, "status_pre": pl.Utf8, "outcome": pl.Utf8,
    "age_months": pl.Int64, "weight_kg": pl.Float64, "bsa_m2": pl.Float64,
    **{f"{term}_{field}": dtype for term in TERMS for field, dtype in (("grade", pl.Int64), ("onset_date", pl.Date))},
}


def build_design_cycles(design: pl.DataFrame, rng) -> pl.DataFrame:
    cycles = [c for patient in design.iter_rows(named=True) for c in _patient_cycles(patient, rng)]
    _deal_toxicity(rng, cycles)
    for cycle in cycles:
        _date_onsets(rng, cycle)
    return pl.DataFrame([{k: c.get(k) for k in SCHEMA} for c in cycles], schema=SCHEMA, orient="row")


def _patient_cycles(patient: dict, rng) -> list[dict]:
    weight, height = _body_size(patient["age_months"], rng)
    cycles, start = [], patient["first_infusion_date"]
    for cycle_no in range(1, patient["n_cycles"] + 1):
        days = patient["infusion_days_c1"] if cycle_no == 1 else int(rng.choice(LATER_CYCLE_DAYS))
        end = start + dt.timedelta(days=days - 1)
        weight_now = round(weight * (1 + rng.normal(0, 0.02)), 1)
        status_pre, outcome = _course(patient, cycle_no)
        cycles.append({
            "mrn": patient["mrn"], "center_id": patient["center_id"], "cycle_no": cycle_no,
            "start_date": start, "end_date": end, "infusion_days": days,
            "table3_group": "rr_mrdpos" if cycle_no == 1 and status_pre != "cr_mrdneg" else "mrdneg",
            "status_pre": status_pre, "outcome": outcome,
            "age_months": completed_months(patient["birth_date"], start),
            "weight_kg": weight_now, "bsa_m2": round(math.sqrt(weight_now * height / 3600), 2),
            "icans_grade": patient["icans_grade_c1"] if cycle_no == 1 and patient["icans_grade_c1"] else 0,
            "tls_grade": 0,
        })
        start = end + dt.timedelta(days=DAYS_OFF + 1)
    return cycles


def _course(patient: dict, cycle_no: int) -> tuple[str, str]:
    """Status before and outcome after a cycle. Later cycles: the non-responders' second cycles (two failed,
    one reached MRD negativity); everyone else continues in MRD negativity."""
    if cycle_no == 1:
        return patient["cycle1_status"], patient["outcome_c1"]
    if patient["role"] in ("nr_blina2_car_t", "nr_blina2_hsct"):
        status = "rr" if patient["cycle1_status"] == "rr" else "cr_mrdpos"
        return status, "nr" if patient["role"] == "nr_blina2_car_t" else "mrd_cr"
    return "cr_mrdneg", "mrd_cr"


def _body_size(age_months: int, rng) -> tuple[float, float]:
    """Weight (kg) and height (cm) around rough pediatric medians for the age."""
    years = age_months / 12
    if years < 1:
        weight, height = 3.5 + 0.55 * age_months, 50 + 2.1 * age_months
    else:
        weight = 2 * years + 8 if years < 10 else 3.3 * years - 5
        height = min(6 * years + 77, 5 * years + 90, 172)
    return weight * math.exp(rng.normal(0, 0.12)), height * (1 + rng.normal(0, 0.03))


def _deal_toxicity(rng, cycles: list[dict]) -> None:
    by_group = {g: [c for c in cycles if c["table3_group"] == g] for g in ("mrdneg", "rr_mrdpos")}
    rr_cycles = [c for c in by_group["rr_mrdpos"] if c["status_pre"] == "rr"]
    for i in rng.choice(len(rr_cycles), bp.TABLE3["crs"]["rr_mrdpos"]["3_4"], replace=False):
        rr_cycles[i]["crs_band"] = "3_4"
    for term in ("crs", "infection", "neutropenia", "thrombocytopenia"):
        for group, members in by_group.items():
            if term == "thrombocytopenia":
                _pin_unassessed_platelets(rng, members, bp.TABLE3[term][group].get(None, 0))
            deal(rng, members, f"{term}_band", bp.TABLE3[term][group])
    for cycle in cycles:
        for term in ("crs", "infection", "neutropenia", "thrombocytopenia"):
            band = cycle.pop(f"{term}_band")
            grades, weights = BAND_GRADES[band] if band else ([None], [1.0])
            cycle[f"{term}_grade"] = grades[rng.choice(len(grades), p=weights)]


def _pin_unassessed_platelets(rng, members: list[dict], count: int) -> None:
    """Cycles without a blood count lack both grades: platelets go unassessed where neutrophils did, if any."""
    without_count = [c for c in members if c["neutropenia_band"] is None]
    if without_count:
        for i in rng.choice(len(without_count), count, replace=False):
            without_count[i]["thrombocytopenia_band"] = None


def _date_onsets(rng, cycle: dict) -> None:
    """Onset days: CRS mostly on days 1-3, ICANS on days 2-10 (mostly during the 5 ug/m2/day week of cycle 1),
    infections and cytopenias any time after the first days."""
    days = cycle["infusion_days"]
    first_days = {
        "crs": int(rng.integers(0, 3)) if rng.random() < 0.8 else int(rng.integers(3, 7)),
        "icans": int(rng.integers(1, 7)) if rng.random() < 0.7 else int(rng.integers(7, 10)),
        "infection": int(rng.integers(2, days)),
        "neutropenia": int(rng.integers(3, days)),
        "thrombocytopenia": int(rng.integers(3, days)),
    }
    for term, offset in first_days.items():
        if cycle[f"{term}_grade"]:
            cycle[f"{term}_onset_date"] = cycle["start_date"] + dt.timedelta(days=offset)
