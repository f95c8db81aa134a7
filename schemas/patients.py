"""core.patients: one row per delivered patient (pseudonymised, ages computed, birth dates dropped)."""


import pandera.polars as pa

from schemas.limits import AGE_MONTHS_MAX, EARLIEST_DATE
from schemas.reasons import ERROR, Get, Label, shown, subject
from schemas.rules import IDENTITY, RowRule, literal
from schemas.vocabulary import codes

LABELS = {
    "subject_id": Label("record number (mrn)"),
    "sex": Label("sex"),
    "indication": Label("indication"),
    "age_months": Label("age at first infusion", "months"),
    "age_at_diagnosis_months": Label("age at diagnosis", "months"),
    "diagnosis_date": Label("diagnosis date"),
    "n_cycles": Label("number of blinatumomab cycles"),
}


# What a patient row must satisfy to enter core (an error quarantines it).
COLUMNS = {
    **IDENTITY,
    "sex": pa.Field(isin=codes("patients", "sex"), nullable=True),
    "indication": pa.Field(isin=codes("patients", "indication"), nullable=True),
    "age_months": pa.Field(ge=0, le=AGE_MONTHS_MAX, nullable=True),
    # Negative when the diagnosis date precedes the birth date.
    "age_at_diagnosis_months": pa.Field(ge=0, le=AGE_MONTHS_MAX, nullable=True, required=False),
    "diagnosis_date": pa.Field(ge=EARLIEST_DATE, nullable=True),
    "first_infusion_date": pa.Field(nullable=True),
    "cytogenetics": pa.Field(nullable=True),
}


# Plausible but unusual: the row passes with a warning.
UNUSUAL = {
    "sex": pa.Field(nullable=False),
    "indication": pa.Field(nullable=False),
    "age_months": pa.Field(nullable=False),
    "n_cycles": pa.Field(ge=1, nullable=True),
}


ROW_RULES = {
    "diagnosis_before_first_infusion": RowRule(
        "diagnosis_date", ERROR, "diagnosis_date <= first_infusion_date", lambda row: (
            f"diagnosis date {row['diagnosis_date']} is after the first blinatumomab infusion "
            f"{row['first_infusion_date']}")),
    # ';'-separated codes, each from the contract list.
    "cytogenetics_codes": RowRule(
        "cytogenetics", ERROR, f"list_has_all({literal(codes('patients', 'cytogenetics'))},"
                               " string_split(cytogenetics, ';'))", lambda row: (
        f"cytogenetics {shown(row['cytogenetics'])} holds a code outside the contract list "
        f"({', '.join(codes('patients', 'cytogenetics'))})")),
}


def describe(get: Get) -> str:
    return f"'Patient ' || {subject(get)}"
