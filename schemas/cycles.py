"""core.cycles: one row per delivered blinatumomab cycle, doses in ug/m2/day (flat doses stay in ug/day)."""


import pandera.polars as pa

from schemas.limits import (
    BSA_M2_MAX,
    CYCLE_NO_MAX,
    CYCLOPHOSPHAMIDE_MG_M2_MAX,
    DOSES_UG_M2_DAY,
    EARLIEST_DATE,
    FLAT_DOSE_CAP_UG_DAY,
    FLAT_DOSE_WEIGHT_KG,
    INFUSION_DAYS_MAX,
    INFUSION_DAYS_SOFT,
    WEIGHT_KG_MAX,
)
from schemas.reasons import ERROR, WARNING, Get, Label, shown, subject
from schemas.rules import IDENTITY, RowRule

FLAT_UNIT = "ug/day"  # the adult flat dose: staging has no per-m2 conversion for it, the gate reads it raw
LABELS = {
    "subject_id": Label("record number (mrn)"),
    "cycle_no": Label("cycle number"),
    "start_date": Label("infusion start date"),
    "end_date": Label("infusion end date"),
    "infusion_days": Label("infusion length", "days"),
    "dose_start": Label("starting dose", "ug/m2/day"),
    "dose_target": Label("target dose", "ug/m2/day"),
    "step_up_date": Label("step-up date"),
    "weight_kg": Label("body weight", "kg"),
    "bsa_m2": Label("body surface area", "m2"),
    "cyclophosphamide_dose_mg_m2": Label("cyclophosphamide dose", "mg/m2"),
}


def _flat_dose(field: str) -> str:
    """A flat ug/day dose as delivered (NULL for per-m2 doses)."""
    return f"(CASE WHEN dose_unit_raw = '{FLAT_UNIT}' THEN TRY_CAST({field}_raw AS DOUBLE) END)"


def _flat_within_cap(field: str) -> str:
    return f"coalesce({_flat_dose(field)} > 0 AND {_flat_dose(field)} <= {FLAT_DOSE_CAP_UG_DAY}, true)"


# What a cycle row must satisfy to enter core (an error quarantines it).
COLUMNS = {
    **IDENTITY,
    "cycle_no": pa.Field(ge=1, le=CYCLE_NO_MAX, nullable=False),
    "start_date": pa.Field(ge=EARLIEST_DATE, nullable=True),
    "end_date": pa.Field(ge=EARLIEST_DATE, nullable=True),
    "infusion_days": pa.Field(le=INFUSION_DAYS_MAX, nullable=True),
    "dose_start": pa.Field(isin=DOSES_UG_M2_DAY, nullable=True),
    "dose_target": pa.Field(isin=DOSES_UG_M2_DAY, nullable=True),
    "step_up_date": pa.Field(nullable=True),
    "weight_kg": pa.Field(gt=0, le=WEIGHT_KG_MAX, nullable=True),
    "bsa_m2": pa.Field(gt=0, le=BSA_M2_MAX, nullable=True),
    "cyclophosphamide_dose_mg_m2": pa.Field(gt=0, le=CYCLOPHOSPHAMIDE_MG_M2_MAX, nullable=True),
}


# Plausible but unusual: the row passes with a warning.
UNUSUAL = {
    "start_date": pa.Field(nullable=False),
    "end_date": pa.Field(nullable=False),
    "infusion_days": pa.Field(in_range={"min_value": INFUSION_DAYS_SOFT[0], "max_value": INFUSION_DAYS_SOFT[1]},
                              nullable=True),
}


def _dose_text(row, field: str) -> str:
    delivered = (f" (delivered as {row[f'{field}_raw']} {row['dose_unit_raw']})"
                 if row.get("dose_unit_raw") != "ug/m2/day" else "")
    return f"{shown(row[field], 'ug/m2/day')}{delivered}"


HEAVY = f"weight_kg >= {FLAT_DOSE_WEIGHT_KG}"
ROW_RULES = {
    "end_on_or_after_start": RowRule("end_date", ERROR, "end_date >= start_date", lambda row: (
        f"infusion end date {row['end_date']} is before its start date {row['start_date']}")),
    "step_up_within_cycle": RowRule(
        "step_up_date", ERROR,
        "coalesce(step_up_date >= start_date, true) AND coalesce(step_up_date <= end_date, true)", lambda row: (
            f"step-up date {row['step_up_date']} is outside the infusion {row['start_date']} to {row['end_date']}")),
    "flat_dose_cap": RowRule(
        "dose_start", ERROR, f"{_flat_within_cap('dose_start')} AND {_flat_within_cap('dose_target')}", lambda row: (
            f"flat dose {row['dose_start_raw']} / {row['dose_target_raw']} ug/day is above the adult cap of "
            f"{FLAT_DOSE_CAP_UG_DAY:g} ug/day")),
    "dose_recorded": RowRule("dose_start", WARNING, f"dose_start IS NOT NULL OR {_flat_dose('dose_start')} IS NOT NULL",
                             lambda row: "the blinatumomab dose was not delivered"),
    # Cycle 1 starts at 5 ug/m2/day, later cycles at 15 (clinical-rules.md, Dosing).
    "dose_step_follows_protocol": RowRule(
        "dose_start", WARNING,
        f"dose_start = CASE WHEN cycle_no = 1 THEN {DOSES_UG_M2_DAY[0]} ELSE {DOSES_UG_M2_DAY[1]} END", lambda row: (
            f"cycle {row['cycle_no']} starts at {_dose_text(row, 'dose_start')}; the protocol starts cycle 1 at 5 "
            "and later cycles at 15 ug/m2/day")),
    # Flat dosing is for >= 45 kg; per-m2 dosing there is capped at the flat dose.
    "flat_dose_above_weight": RowRule(
        "dose_start", WARNING,
        f"coalesce(NOT (dose_unit_raw = '{FLAT_UNIT}' AND NOT ({HEAVY})), true) AND coalesce(NOT ({HEAVY} AND"
        f" coalesce(dose_target, dose_start) * bsa_m2 > {FLAT_DOSE_CAP_UG_DAY}), true)", lambda row: (
        f"the dose does not fit the weight {shown(row['weight_kg'], 'kg')}: flat ug/day dosing is for "
        f"{FLAT_DOSE_WEIGHT_KG:g} kg and over, where a per-m2 dose is capped at {FLAT_DOSE_CAP_UG_DAY:g} ug/day")),
}


def dose_problem(row, field: str) -> str:
    """Why a per-m2 dose outside 5 / 15 is refused, naming a 1000-fold unit slip (15 mg/m2 for 15 ug/m2)."""
    dose = row[field]
    problem = f"{LABELS[field].name} {_dose_text(row, field)} is not a blinatumomab dose (5 or 15 ug/m2/day)"
    if dose and any(abs(dose / 1000 - allowed) < 1e-9 for allowed in DOSES_UG_M2_DAY):
        problem += f": 1000 times {dose / 1000:g}, which looks like mg written for ug"
    return problem


def describe(get: Get) -> str:
    return (f"'Cycle ' || coalesce({get('cycle_no')}, {get('cycle_no_raw')}, '(no number)') || ' of subject '"
            f" || {subject(get)}")


# Column checks whose generic sentence is not enough: the dose names the unit slip.
COLUMN_PROBLEMS = {field: (lambda row, field=field: dose_problem(row, field))
                   for field in ("dose_start", "dose_target")}
