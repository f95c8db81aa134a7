"""core.labs: one row per delivered lab value, in the analyte's canonical unit, detection markers interpreted."""

from datetime import date

import pandera.polars as pa
import polars as pl

from schemas.limits import COUNT_ANALYTES, CYCLE_NO_MAX, EARLIEST_DATE, IMMUNOGLOBULINS, LAB_HARD_LIMITS, LAB_SOFT_CEILINGS
from schemas.reasons import Label, RowRule, shown, subject
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


def _per_analyte(limit: dict[str, float]) -> pl.Expr:
    """The row's analyte's limit (NULL for an analyte without one)."""
    return pl.col("analyte").replace_strict(limit, default=None, return_dtype=pl.Float64)


HARD_MIN = {analyte: low for analyte, (low, _) in LAB_HARD_LIMITS.items()}
HARD_MAX = {analyte: high for analyte, (_, high) in LAB_HARD_LIMITS.items()}


class Labs(pa.DataFrameModel):
    """What a lab value must satisfy to enter core (an error quarantines it)."""

    subject_id: str = pa.Field(nullable=False)
    center_id: str = pa.Field(nullable=False)
    source_file: str = pa.Field(nullable=False)
    source_row: int = pa.Field(nullable=False)
    cycle_no: int = pa.Field(ge=1, le=CYCLE_NO_MAX, nullable=False)
    timepoint: str = pa.Field(isin=codes("labs", "timepoint"), nullable=False)
    sample_date: date = pa.Field(ge=EARLIEST_DATE, nullable=True)
    specimen: str = pa.Field(isin=codes("labs", "specimen"), nullable=False)
    analyte: str = pa.Field(isin=list(analytes()), nullable=False)
    value: float = pa.Field(nullable=True)

    @pa.dataframe_check(name="value_delivered")
    def value_delivered(cls, data) -> pl.LazyFrame:
        # `ND` is a NULL value below the limit of detection; unparsed text is reported as a parse error.
        return data.lazyframe.select(pl.col("value").is_not_null() | pl.col("below_lod").fill_null(False)
                                     | pl.col("parse_errors").is_not_null())

    @pa.dataframe_check(name="value_within_hard_limits")
    def value_within_hard_limits(cls, data) -> pl.LazyFrame:
        value = pl.col("value")
        return data.lazyframe.select(
            ((value >= _per_analyte(HARD_MIN)) & (value <= _per_analyte(HARD_MAX))).fill_null(True))

    class Config:
        coerce = True
        strict = False


class LabsUnusual(pa.DataFrameModel):
    """Plausible but unusual: the row passes with a warning."""

    @pa.dataframe_check(name="value_within_soft_ceiling")
    def value_within_soft_ceiling(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("value") <= _per_analyte(LAB_SOFT_CEILINGS)).fill_null(True))

    @pa.dataframe_check(name="specimen_fits_analyte")
    def specimen_fits_analyte(cls, data) -> pl.LazyFrame:
        allowed = pl.col("analyte").replace_strict(
            {analyte: row["specimens"].split(";") for analyte, row in analytes().items()},
            default=None, return_dtype=pl.List(pl.String))
        return data.lazyframe.select(allowed.list.contains(pl.col("specimen")).fill_null(True))

    class Config:
        coerce = True
        strict = False


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
    "value_delivered": RowRule("value", lambda row: "no value was delivered"),
    "value_within_hard_limits": RowRule("value", hard_limit_problem),
    "value_within_soft_ceiling": RowRule("value", lambda row: (
        f"{row['analyte']} {shown(row['value'], row.get('unit'))} is far above the pediatric range (over "
        f"{LAB_SOFT_CEILINGS[row['analyte']]:g} {row.get('unit')}, twice its upper normal limit)")),
    "specimen_fits_analyte": RowRule("specimen", lambda row: (
        f"{row['analyte']} is not measured in {row['specimen']} "
        f"(expected {analytes()[row['analyte']]['specimens'].replace(';', ' or ')})")),
}


def describe(row) -> str:
    return (f"Lab value {row.get('analyte') or '(no analyte)'} ({row.get('specimen')}, cycle {row.get('cycle_no')} "
            f"{row.get('timepoint')}) of subject {subject(row)}")
