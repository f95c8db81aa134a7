"""The demo cohort in canonical form: contract tables (docs/delivery-contract.md) plus the design truth.

`build_cohort(seed)` is deterministic: one numpy generator, drawn in a fixed order. The contract frames carry
the contract's field names and canonical types (dates pl.Date, counts pl.Int64, measures pl.Float64, codes and
Y/N pl.Utf8) plus `center_id`; the writers turn them into each center's files. `design` and `design_cycles`
are the truth the files must carry (see design.py and design_cycles.py); they are never written.
"""
import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from demo_cohort.design import build_design
from demo_cohort.design_cycles import TERMS, build_design_cycles
from demo_cohort.marrow import build_assessments
from demo_cohort.outcomes import build_events

LABS_SCHEMA = {"mrn": pl.Utf8, "center_id": pl.Utf8, "cycle_no": pl.Int64, "timepoint": pl.Utf8,
               "sample_date": pl.Date, "specimen": pl.Utf8, "analyte": pl.Utf8, "value": pl.Float64,
               "marker": pl.Utf8, "unit": pl.Utf8}
DOSE_START_C1, DOSE_TARGET = 5.0, 15.0  # ug/m2/day
STEP_UP_DAY = 7  # days after the start of cycle 1


@dataclass(frozen=True)
class Cohort:
    patients: pl.DataFrame
    cycles: pl.DataFrame
    assessments: pl.DataFrame
    labs: pl.DataFrame
    adverse_events: pl.DataFrame
    events: pl.DataFrame
    design: pl.DataFrame
    design_cycles: pl.DataFrame


def build_cohort(seed: int = 20250301, *, with_labs: bool = True) -> Cohort:
    """The demo cohort for a seed. `with_labs=False` leaves labs empty, skipping the calibrated (slow) lab
    generator, for checks that need no lab values."""
    rng = np.random.default_rng(seed)
    design = build_design(rng)
    design_cycles = build_design_cycles(design, rng)
    events = build_events(design, design_cycles, rng)
    assessments = build_assessments(design, design_cycles, events, rng)
    return Cohort(
        patients=_patients(design),
        cycles=_cycles(design, design_cycles),
        assessments=assessments,
        labs=_labs(design, design_cycles, seed) if with_labs else pl.DataFrame(schema=LABS_SCHEMA),
        adverse_events=_adverse_events(design_cycles),
        events=events,
        design=design,
        design_cycles=design_cycles,
    )


def _patients(design: pl.DataFrame) -> pl.DataFrame:
    return design.select(
        "mrn", "name", "birth_date",
        pl.lit(None, pl.Int64).alias("age_at_diagnosis_months"),  # birth dates are known
        "sex", "diagnosis_date", "indication", "cytogenetics", "protocol", "center_id",
    )


def _yes_no(flag: pl.Expr) -> pl.Expr:
    return pl.when(flag).then(pl.lit("Y")).otherwise(pl.lit("N"))


def _cycles(design: pl.DataFrame, design_cycles: pl.DataFrame) -> pl.DataFrame:
    first = pl.col("cycle_no") == 1
    bridged = first & pl.col("bridging_chemo")
    return design_cycles.join(
        design.select("mrn", "bridging_chemo", "cyclophosphamide_dose_mg_m2"), on="mrn", how="left",
    ).select(
        "mrn", "cycle_no", "start_date", "end_date",
        pl.when(first).then(DOSE_START_C1).otherwise(DOSE_TARGET).alias("dose_start"),
        pl.lit(DOSE_TARGET).alias("dose_target"),
        pl.lit("ug/m2/day").alias("dose_unit"),
        pl.when(first).then(pl.col("start_date") + dt.timedelta(days=STEP_UP_DAY)).alias("step_up_date"),
        "weight_kg", "bsa_m2",
        _yes_no(bridged).alias("bridging_chemo"),
        _yes_no(bridged & pl.col("cyclophosphamide_dose_mg_m2").is_not_null()).alias("cyclophosphamide"),
        pl.when(bridged).then(pl.col("cyclophosphamide_dose_mg_m2")).alias("cyclophosphamide_dose_mg_m2"),
        "center_id",
    )


def _adverse_events(design_cycles: pl.DataFrame) -> pl.DataFrame:
    """One row per cycle and solicited term, in the order of the consortium's toxicity form."""
    per_term = [
        design_cycles.select(
            "mrn", "cycle_no", pl.lit(term).alias("term"),
            pl.col(f"{term}_grade").alias("grade"), pl.col(f"{term}_onset_date").alias("onset_date"),
            pl.lit(None, pl.Utf8).alias("description"), "center_id",
        )
        for term in TERMS
    ]
    return pl.concat(per_term).sort("mrn", "cycle_no", pl.col("term").replace_strict(TERMS, range(len(TERMS))))


def _labs(design: pl.DataFrame, design_cycles: pl.DataFrame, seed: int) -> pl.DataFrame:
    try:
        from demo_cohort.labs import build_labs
    except ImportError as missing:  # the lab generator is written in parallel; until it lands, no labs
        if missing.name != "demo_cohort.labs":
            raise
        return pl.DataFrame(schema=LABS_SCHEMA)
    return build_labs(design, design_cycles, seed)
