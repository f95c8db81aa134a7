"""core.labs: one row per delivered lab value, in the analyte's canonical unit, detection markers interpreted."""


import pandera.polars as pa

from schemas.limits import (
    COUNT_ANALYTES,
    CYCLE_NO_MAX,
    EARLIEST_DATE,
    IMMUNOGLOBULINS,
    LAB_HARD_LIMITS,
    LAB_SOFT_CEILINGS,
)
from schemas.reasons import ERROR, WARNING, Get, Label, as_python, or_else, shown, subject
from schemas.rules import IDENTITY, RowRule, per_value
from schemas.vocabulary import analytes, codes

LABELS = {
    "subject_id": Label("record number (mrn)"),
    "cycle_no": Label("cycle number"),
    "timepoint": Label("time point"),
    "sample_date": Label("sample date"),
    "specimen": Label("specimen"),
    "analyte": Label("analyte"),
    "value": Label("value"),
}
# The slip a value 1000 (counts) or 100 (immunoglobulins) times above its ceiling points to.
UNIT_SLIPS = {**{analyte: (1000, "cells/uL delivered as x10^9/L") for analyte in COUNT_ANALYTES},
              **{analyte: (100, "mg/dL delivered as g/L") for analyte in IMMUNOGLOBULINS}}
# Per row, its analyte's limits and specimens (NULL for an analyte without them).
HARD_MIN = per_value("analyte", {analyte: low for analyte, (low, _) in LAB_HARD_LIMITS.items()})
HARD_MAX = per_value("analyte", {analyte: high for analyte, (_, high) in LAB_HARD_LIMITS.items()})
SPECIMENS = per_value("analyte", {analyte: row["specimens"].split(";") for analyte, row in analytes().items()})


# What a lab value must satisfy to enter core (an error quarantines it).
COLUMNS = {
    **IDENTITY,
    "cycle_no": pa.Field(ge=1, le=CYCLE_NO_MAX, nullable=False),
    "timepoint": pa.Field(isin=codes("labs", "timepoint"), nullable=False),
    "sample_date": pa.Field(ge=EARLIEST_DATE, nullable=True),
    "specimen": pa.Field(isin=codes("labs", "specimen"), nullable=False),
    "analyte": pa.Field(isin=list(analytes()), nullable=False),
    "value": pa.Field(nullable=True),
}


# Plausible but unusual: the row passes with a warning.
UNUSUAL = {}


def hard_limit_problem(row) -> str:
    low, high = LAB_HARD_LIMITS[row["analyte"]]
    value, unit = row["value"], row.get("unit")
    side = f"below the possible minimum of {low:g}" if value < low else f"above the possible maximum of {high:g}"
    problem = f"{row['analyte']} {shown(value, unit)} is {side} {unit}"
    factor, slip = UNIT_SLIPS.get(row["analyte"], (None, None))
    if factor and value > high and low <= value / factor <= high:
        problem += f": looks like {slip} (declared unit {row.get('unit_raw')})"
    return problem


ROW_RULES = {
    # `ND` is a NULL value below the limit of detection; unparsed text is reported as a parse error.
    "value_delivered": RowRule("value", ERROR, "value IS NOT NULL OR coalesce(below_lod, false)"
                               " OR parse_errors IS NOT NULL", lambda row: "no value was delivered"),
    "value_within_hard_limits": RowRule("value", ERROR, f"value >= {HARD_MIN} AND value <= {HARD_MAX}",
                                        hard_limit_problem),
    "value_within_soft_ceiling": RowRule("value", WARNING, f"value <= {per_value('analyte', LAB_SOFT_CEILINGS)}",
                                         lambda row: (
        f"{row['analyte']} {shown(row['value'], row.get('unit'))} is far above the pediatric range (over "
        f"{LAB_SOFT_CEILINGS[row['analyte']]:g} {row.get('unit')}, twice its upper normal limit)")),
    "specimen_fits_analyte": RowRule("specimen", WARNING, f"list_contains({SPECIMENS}, specimen)", lambda row: (
        f"{row['analyte']} is not measured in {row['specimen']} "
        f"(expected {analytes()[row['analyte']]['specimens'].replace(';', ' or ')})")),
}


def describe(get: Get) -> str:
    return (f"'Lab value ' || {or_else(get('analyte'), '(no analyte)')} || ' (' || {as_python(get('specimen'))}"
            f" || ', cycle ' || {as_python(get('cycle_no'))} || ' ' || {as_python(get('timepoint'))}"
            f" || ') of subject ' || {subject(get)}")
