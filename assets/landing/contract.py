"""The delivery contract's tables and fields (docs/delivery-contract.md), as the landing layer needs them."""

from __future__ import annotations

# table -> contract fields, in the contract's order
TABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "patients": ("mrn", "name", "birth_date", "age_at_diagnosis_months", "sex", "diagnosis_date", "indication",
                 "cytogenetics", "protocol"),
    "cycles": ("mrn", "cycle_no", "start_date", "end_date", "dose_start", "dose_target", "dose_unit",
               "step_up_date", "weight_kg", "bsa_m2", "bridging_chemo", "cyclophosphamide",
               "cyclophosphamide_dose_mg_m2", "infusion_days"),
    "assessments": ("mrn", "cycle_no", "timepoint", "assessment_date", "bm_blasts_pct", "mrd_pct",
                    "fusion_transcript_pct"),
    "labs": ("mrn", "cycle_no", "timepoint", "sample_date", "specimen", "analyte", "value", "unit"),
    "adverse_events": ("mrn", "cycle_no", "term", "grade", "onset_date", "description"),
    "events": ("mrn", "event_type", "event_date", "relapse_site", "cd19_status", "death_cause", "detail"),
    # Optional: the lines (blocks) of therapy other than blinatumomab, in the order the patient received them.
    "therapy_lines": ("mrn", "line_no", "phase", "regimen", "start_date", "end_date", "protocol", "detail"),
}

# table -> fields a person types freely (notes, other-specify), where a name or a record number can turn up:
# core keeps them for the data managers; the analyst snapshot withholds them unless the center's YAML marks
# the field `reviewed_safe` (docs/privacy.md).
FREE_TEXT_FIELDS: dict[str, frozenset[str]] = {
    "adverse_events": frozenset({"description"}),
    "events": frozenset({"death_cause", "detail"}),
    "therapy_lines": frozenset({"detail"}),
}

# table -> fields that must be present as columns (a present column may still hold empty cells)
REQUIRED_FIELDS: dict[str, frozenset[str]] = {
    "patients": frozenset({"mrn", "birth_date", "sex", "indication"}),
    "cycles": frozenset({"mrn", "cycle_no", "start_date", "end_date", "dose_start"}),
    "assessments": frozenset({"mrn", "timepoint"}),
    "labs": frozenset({"mrn", "cycle_no", "timepoint", "specimen", "analyte", "value"}),
    "adverse_events": frozenset({"mrn", "cycle_no", "term"}),
    "events": frozenset({"mrn", "event_type", "event_date"}),
    "therapy_lines": frozenset({"mrn", "line_no", "phase"}),
}

# Wide labs: the fields that identify a row; every other column holds one analyte's values.
WIDE_LAB_ID_FIELDS = ("mrn", "cycle_no", "timepoint", "sample_date", "specimen")

# analyte -> canonical unit
ANALYTE_UNITS: dict[str, str] = {
    **dict.fromkeys(("wbc", "neutrophils", "lymphocytes", "platelets"), "x10^9/L"),
    "hemoglobin": "g/L",
    **dict.fromkeys(("cd3_abs", "cd4_abs", "cd8_abs", "nk_abs", "cd19_abs"), "x10^9/L"),
    **dict.fromkeys(("cd3_pct", "cd4_pct", "cd8_pct", "nk_pct", "cd19_pct"), "%"),
    **dict.fromkeys(("igg", "iga", "igm"), "g/L"),
    **dict.fromkeys(("il1b", "il2", "il4", "il5", "il6", "il8", "il10", "il12p70", "il17", "ifng", "tnfa", "ifna"),
                    "pg/mL"),
    "csf_wbc": "cells/uL",
    "csf_albumin": "mg/L",
}
