"""Per-patient truth of the demo cohort (`Cohort.design`): the blueprint dealt out to 105 patients.

Every published count holds by construction: patients are created pathway by pathway and outcome by outcome,
roles pin the attributes their story needs, and every other attribute is dealt from a fixed pool per Table
column, so any seed gives the same tables and only the unpublished details move. Within a Table 2 cell the
dealt MRD values are then ranked by cytogenetic risk (`_rank_mrd_by_risk`) for the paper's Cox model.

Columns: mrn, center_id, name, role, pathway, indication, indication_group (rr / cr_mrdpos / cr_mrdneg),
cycle1_status (rr / cr_mrdpos / cr_mrdneg), outcome_c1 (mrd_cr / cr / nr), response_c1 (cr / nr),
mrd_response_c1 (MRD < 0.01 % after cycle 1), table_column (cr / nr: the 51 by response; mrdneg: the 54),
regimen_c1 (14d / 21_28d), infusion_days_c1, n_cycles, age_months (completed, at the first infusion), sex,
cytogenetics, poor_cytogenetics, bridging_chemo, cyclophosphamide_dose_mg_m2, pre_blasts_pct, pre_mrd_pct
(marrow before cycle 1), icans_grade_c1, icans_case (1-4: Table 4's cytokine cases), first_infusion_date,
birth_date, diagnosis_date, protocol.
"""
import datetime as dt

import polars as pl

from assets.landing.center_config import load_centers
from demo_cohort import blueprint as bp
from demo_cohort import identity
from demo_cohort.deal import deal
from demo_cohort.kits import ICANS_CASE_FLOOR, kit_centers

MRD_SENSITIVITY_PCT = 0.01  # flow MRD; below it a marrow is MRD-negative
FIRST_INFUSION_WINDOW = (dt.date(2021, 9, 1), dt.date(2024, 2, 29))
# Patients whose story runs well past a year start early enough for follow-up to reach it by 2025-03-31.
LONG_STORY_ROLES = {"early_relapse", "early_relapse_salvaged", "late_relapse", "cns_relapse", "nr_hsct",
                    "rr_cr_mrd_persisting"}
LONG_STORY_LATEST_START = dt.date(2023, 6, 30)

SCHEMA = {
    "mrn": pl.Utf8, "center_id": pl.Utf8, "name": pl.Utf8, "role": pl.Utf8, "pathway": pl.Utf8,
    "indication": pl.Utf8, "indication_group": pl.Utf8, "cycle1_status": pl.Utf8, "outcome_c1": pl.Utf8,
    "response_c1": pl.Utf8, "mrd_response_c1": pl.Boolean, "table_column": pl.Utf8, "regimen_c1": pl.Utf8,
    "infusion_days_c1": pl.Int64, "n_cycles": pl.Int64, "age_months": pl.Int64, "sex": pl.Utf8,
    "cytogenetics": pl.Utf8, "poor_cytogenetics": pl.Boolean, "bridging_chemo": pl.Boolean,
    "cyclophosphamide_dose_mg_m2": pl.Float64, "pre_blasts_pct": pl.Float64, "pre_mrd_pct": pl.Float64,
    "icans_grade_c1": pl.Int64, "icans_case": pl.Int64, "first_infusion_date": pl.Date, "birth_date": pl.Date,
    "diagnosis_date": pl.Date, "protocol": pl.Utf8,
}


def build_design(rng) -> pl.DataFrame:
    patients = _create_patients()
    for field, pools in (("age_months", bp.AGES), ("sex", bp.SEXES), ("cytogenetics", bp.CYTOGENETICS),
                         ("regimen_c1", bp.REGIMENS)):
        for column, pool in pools.items():
            deal(rng, _where(patients, table_column=column), field, pool)
    for patient in patients:
        patient["poor_cytogenetics"] = patient["cytogenetics"] in bp.POOR_CYTOGENETICS
    _deal_mrdneg_regimens(rng, patients)
    _deal_infusion_days(rng, patients)
    _deal_marrow(rng, patients)
    _deal_indications(rng, patients)
    _deal_cyclophosphamide(rng, patients)
    _deal_icans(rng, patients)
    patients = [patients[i] for i in rng.permutation(len(patients))]
    _assign_centers(patients)
    mrns = set()
    cases = sum(1 for patient in patients if patient.get("icans_case"))
    for patient in patients:
        _identify(rng, patient, mrns, cases)
    return pl.DataFrame([{k: p.get(k) for k in SCHEMA} for p in patients], schema=SCHEMA, orient="row")


def _create_patients() -> list[dict]:
    patients = []
    for pathway, outcome, count in bp.OUTCOMES:
        indication_group, cycle1_status, bridged = bp.PATHWAYS[pathway]
        for _ in range(count):
            patients.append({
                "pathway": pathway, "indication_group": indication_group, "cycle1_status": cycle1_status,
                "bridging_chemo": bridged, "outcome_c1": outcome,
                "response_c1": "nr" if outcome == "nr" else "cr", "mrd_response_c1": outcome == "mrd_cr",
                "table_column": "mrdneg" if cycle1_status == "cr_mrdneg" else ("nr" if outcome == "nr" else "cr"),
                "role": None, "n_cycles": 1,
            })
    for role, pathway, outcome, pinned in bp.ROLES:
        patient = next(p for p in _where(patients, pathway=pathway, outcome_c1=outcome) if p["role"] is None)
        patient.update(role=role, **pinned)
    return patients


def _where(patients: list[dict], **values) -> list[dict]:
    return [p for p in patients if all(p[k] == v for k, v in values.items())]


def _deal_mrdneg_regimens(rng, patients: list[dict]) -> None:
    for patient in _where(patients, table_column="mrdneg"):
        patient.setdefault("regimen_c1", "14d" if rng.random() < 0.5 else "21_28d")


def _deal_infusion_days(rng, patients: list[dict]) -> None:
    for patient in patients:
        if "infusion_days_c1" not in patient:
            long_days = 21 if rng.random() < 0.5 else 28
            patient["infusion_days_c1"] = 14 if patient["regimen_c1"] == "14d" else long_days


def _deal_marrow(rng, patients: list[dict]) -> None:
    for column in ("cr", "nr"):
        rr = _where(patients, cycle1_status="rr", table_column=column)
        deal(rng, rr, "pre_marrow", bp.RR_MARROW[column])
        mrdpos = _where(patients, cycle1_status="cr_mrdpos", table_column=column)
        deal(rng, mrdpos, "pre_blasts_pct", bp.MRDPOS_BLASTS[column])
        deal(rng, mrdpos, "pre_mrd_pct", bp.MRDPOS_MRD[column])
        _rank_mrd_by_risk(rr, "pre_marrow", column, mrd=lambda pair: pair[1])
        _rank_mrd_by_risk(mrdpos, "pre_mrd_pct", column)
        for patient in rr:
            patient["pre_blasts_pct"], patient["pre_mrd_pct"] = patient.pop("pre_marrow")
    for patient in _where(patients, table_column="mrdneg"):
        patient["pre_blasts_pct"] = float(rng.choice([0.0, 0.0, 0.5, 1.0]))
        patient["pre_mrd_pct"] = mrd_negative_value(rng)


def _rank_mrd_by_risk(members: list[dict], field: str, column: str, mrd=lambda value: value) -> None:
    """Rearrange the dealt MRD values of one Table 2 cell so that, given cytogenetics, MRD predicts the failure
    of cycle 1 (the paper's Cox model: MRD, BCR-ABL1 and poor cytogenetics all matter). Non-responders: lowest
    MRD to poor-risk lesions other than BCR-ABL1, then BCR-ABL1, highest to standard risk; responders: lowest MRD
    to poor risk. A permutation within the cell, drawing nothing: Table 2's medians, ranges and P-values stay,
    and patients of the same risk keep the random order the deal gave them."""
    values = sorted((m[field] for m in members), key=mrd)
    risk = _non_responder_risk if column == "nr" else _responder_risk
    ranked = sorted(members, key=lambda m: (risk(m), mrd(m[field])))
    for member, value in zip(ranked, values, strict=True):
        member[field] = value


def _non_responder_risk(patient: dict) -> int:
    """0 poor-risk lesion other than BCR-ABL1, 1 BCR-ABL1, 2 standard risk: the order of rising MRD."""
    return 2 if not patient["poor_cytogenetics"] else int(patient["cytogenetics"] == "bcr_abl1")


def _responder_risk(patient: dict) -> int:
    return int(not patient["poor_cytogenetics"])


def mrd_negative_value(rng) -> float:
    """Flow MRD below the 0.01 % sensitivity: reported as 0 or as a sub-threshold number."""
    return 0.0 if rng.random() < 0.5 else round(float(rng.uniform(0.001, 0.009)), 3)


def _deal_indications(rng, patients: list[dict]) -> None:
    for group, pool in bp.INDICATIONS.items():
        members = _where(patients, indication_group=group)
        for patient in members:
            if group == "rr" and patient["age_months"] < bp.MIN_RELAPSE_AGE_MONTHS:
                patient["indication"] = "induction_failure"
        deal(rng, members, "indication", pool)


def _deal_cyclophosphamide(rng, patients: list[dict]) -> None:
    responders = [p for p in _where(patients, bridging_chemo=True) if p["response_c1"] == "cr"]
    for i in rng.choice(len(responders), bp.CYCLOPHOSPHAMIDE_RESPONDERS, replace=False):
        responders[i]["cyclophosphamide"] = True
    exposed = [p for p in patients if p.get("cyclophosphamide")]
    deal(rng, exposed, "cyclophosphamide_dose_mg_m2", [float(d) for d in bp.CYCLOPHOSPHAMIDE_DOSES_MG_M2])


def _deal_icans(rng, patients: list[dict]) -> None:
    mrdneg_cases = [p for p in patients if p["role"] in ("icans", "icans_oldest") and p["table_column"] == "mrdneg"]
    deal(rng, mrdneg_cases, "icans_band", bp.ICANS_MRDNEG_BANDS)
    severe = [p for p in mrdneg_cases if p["icans_band"] == "3_4"]
    for case, i in enumerate(rng.permutation(len(severe)), start=1):
        severe[i]["icans_case"] = case
    for patient in patients:
        if "icans_band" in patient:
            low, high = (1, 2) if patient.pop("icans_band") == "1_2" else (3, 4)
            patient["icans_grade_c1"] = int(rng.integers(low, high + 1))


def _assign_centers(patients: list[dict]) -> None:
    centers = [c for c, n in bp.CENTERS.items() for _ in range(n)]
    for patient, center in zip(patients, centers, strict=True):
        patient["center_id"] = center
    for case in (p for p in patients if p.get("icans_case")):
        _move_to_kit(case, patients)
    _deliver_discordant_marrow(patients)


def _move_to_kit(case: dict, patients: list[dict]) -> None:
    """Table 4's cytokine values sit on a kit's floor (cases 1-2: 2.44 pg/mL, 3-4: 0.32 pg/mL): swap the case's
    center with that of the first patient, not itself a case, at a center using the case's kit."""
    centers = kit_centers(ICANS_CASE_FLOOR[case["icans_case"]])
    if case["center_id"] in centers:
        return
    other = next(p for p in patients if not p.get("icans_case") and p["center_id"] in centers)
    case["center_id"], other["center_id"] = other["center_id"], case["center_id"]


def _deliver_discordant_marrow(patients: list[dict]) -> None:
    """Table 2's CR minimum MRD, 0.004 %, is an R/R responder's (blasts >= 5 %): a center that prints MRD under
    the sensitivity as "<0.01" would hide it. Such a patient swaps marrow with an R/R responder elsewhere, one of
    the same cytogenetic risk if there is one (so that `_rank_mrd_by_risk` still holds)."""
    censoring = {center for center, config in load_centers().items()
                 if "mrd_pct" in config.table("assessments").render.below_limit}
    responders = _where(patients, cycle1_status="rr", response_c1="cr")
    for case in [p for p in responders if p["pre_mrd_pct"] < MRD_SENSITIVITY_PCT and p["center_id"] in censoring]:
        other = min((p for p in responders if p["center_id"] not in censoring),
                    key=lambda p: _responder_risk(p) != _responder_risk(case))
        for field in ("pre_blasts_pct", "pre_mrd_pct"):
            case[field], other[field] = other[field], case[field]


def _identify(rng, patient: dict, mrns: set[str], cases: int) -> None:
    first = _first_infusion(rng, patient["role"], patient.get("icans_case"), cases)
    born = identity.birth_date(first, patient["age_months"], rng, first_of_month=patient["role"] == "icans_oldest")
    diagnosed = identity.diagnosis_date(first, born, patient["indication"], rng)
    patient.update(first_infusion_date=first, birth_date=born, diagnosis_date=diagnosed,
                   protocol=identity.frontline_protocol(diagnosed), name=identity.chinese_name(rng))
    if patient["cytogenetics"] == "bcr_abl1" and rng.random() < 0.5:
        patient["cytogenetics"] += ";ikzf1_deletion"  # a second, not a defining, lesion
    while (mrn := identity.medical_record_number(patient["center_id"], diagnosed.year, rng)) in mrns:
        pass  # record numbers are unique within the cohort
    mrns.add(mrn)
    patient["mrn"] = mrn


def _first_infusion(rng, role: str | None, icans_case: int | None = None, cases: int = 0) -> dt.date:
    """A day of the window; Table 4's case k (of `cases`) starts in the k-th of as many equal parts of it, so
    that the paper's case k is the k-th ICANS episode by onset, as the mart numbers them (the random day is
    still drawn, so that every other patient stays as it was)."""
    start, end = FIRST_INFUSION_WINDOW
    if role in LONG_STORY_ROLES:
        end = LONG_STORY_LATEST_START
    day = start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))
    if icans_case:
        day = start + dt.timedelta(days=(end - start).days * (2 * icans_case - 1) // (2 * cases))
    if role == "icans_oldest":  # late in the month: cycle 2, 42 days on, is two birthdays-in-months later
        day = day.replace(day=28)
    return day
