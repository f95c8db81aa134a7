"""marts.cohort_characteristics: the paper's Table 1, patient characteristics by status at cycle 1 (all
patients; R/R + CR-MRDpos; CR-MRDneg), with the P-value of each comparison, and the cohort's counts (how
the indications led to the status at cycle 1).
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.landing.assets import POOL
from assets.marts import shared
from assets.marts.comparisons import TABLE_COLUMNS, TABLE_SCHEMA, Factor, compare, continuous, describe, flag
from assets.marts.first_cycle import first_cycles
from orchestration.incremental import skip_when_unchanged
from orchestration.resources import WarehouseResource

MART = "cohort_characteristics"
GROUPS = ("all", "rr_mrdpos", "mrdneg")
COMPARED = ("rr_mrdpos", "mrdneg")
# Table 1's cytogenetic rows (E2A/PBX1 is TCF3-PBX1).
CYTOGENETICS = ("bcr_abl1", "kmt2ar", "tcf3_hlf", "etv6_runx1", "tcf3_pbx1", "znf384r", "pax5r")
FACTORS = (
    Factor("sex", "sex_label", levels=("male", "female")),
    continuous("age_months"),
    *(flag(name) for name in CYTOGENETICS),
)
# Marrow before cycle 1 describes the 51 only: CR-MRDneg patients have no disease to measure.
MARROW = (continuous("bm_blasts_pct", "pre_blasts_pct", compared=False),
          continuous("mrd_pct", "pre_mrd_pct", compared=False))

SCHEMA = {**TABLE_SCHEMA, "p_value": pl.Float64, "test_id": pl.Utf8}
DESCRIPTION = (
    "Table 1: characteristics of the multicenter cohort by disease status before the first blinatumomab "
    "cycle; groups all (every patient), rr_mrdpos (R/R or CR-MRDpos) and mrdneg (CR-MRDneg). One row per "
    "factor, level and group; P-values compare rr_mrdpos with mrdneg (Fisher's exact test, Mann-Whitney U)."
)
COLUMNS = {
    **TABLE_COLUMNS,
    "factor": "patients, sex, age_months (at the first infusion), bm_blasts_pct and mrd_pct (before cycle 1, "
              "rr_mrdpos only), or a cytogenetic lesion.",
    "p_value": "P-value of rr_mrdpos vs mrdneg (NULL for descriptive rows); the test is in "
               "marts.statistical_tests under test_id.",
    "test_id": "Key of the comparison in marts.statistical_tests (the published P-value's id).",
}


def table1_frame(patients: pl.DataFrame, cycles: pl.DataFrame) -> pl.DataFrame:
    """first_cycles with `sex_label` (male / female) for Table 1's sex row."""
    return first_cycles(patients, cycles).with_columns(
        sex_label=pl.col("sex").replace_strict({"M": "male", "F": "female"}, default=None, return_dtype=pl.Utf8)
    )


def table1_tests(frame: pl.DataFrame) -> pl.DataFrame:
    """The comparisons of rr_mrdpos vs mrdneg, as marts.statistical_tests rows (test_id table1.<factor>)."""
    rows = []
    for factor in FACTORS:
        result = compare(frame, "table1_group", COMPARED, factor)
        if result is not None:
            rows.append(shared.test_row(f"table1.{factor.name}", MART, f"Table 1: {factor.name} by status at "
                                        "cycle 1", COMPARED, result))
    return shared.tests_frame(rows)


def table1(frame: pl.DataFrame, tests: pl.DataFrame) -> pl.DataFrame:
    """Table 1 in long form (SCHEMA): patient counts, then each factor by group, with its P-value."""
    counts = pl.DataFrame(
        [{"factor": "patients", "group": group,
          "n": frame.height if group == "all" else frame.filter(pl.col("table1_group") == group).height}
         for group in GROUPS],
        schema=TABLE_SCHEMA,
    )
    described = pl.concat([counts, describe(frame, "table1_group", GROUPS, FACTORS),
                           describe(frame, "table1_group", ("rr_mrdpos",), MARROW)])
    p_values = tests.select(test_id="test_id", p_value="p_value")
    return (
        described.with_columns(test_id=pl.when(pl.col("factor").is_in([f.name for f in FACTORS]))
                               .then(pl.format("table1.{}", "factor")))
        .join(p_values, on="test_id", how="left", maintain_order="left")
        .with_columns(test_id=pl.when(pl.col("p_value").is_not_null()).then("test_id"))
        .select(SCHEMA.keys())
    )


def cohort_counts(patients: pl.DataFrame, cycles: pl.DataFrame) -> pl.DataFrame:
    """The cohort's counts (published_values rows): patients, cycles, centers, age and sex; the indications
    and the paths from indication to status at cycle 1 (bridging chemotherapy); statuses at cycle 1, and the
    cycles given in MRD negativity (core.cycles.table3_group, whose rule gives the paper's 74)."""
    first = table1_frame(patients, cycles)
    rr = first.filter(pl.col("indication_group") == "rr")
    bridged = rr.filter(pl.col("bridging_chemo"))
    ages = first["age_months"].drop_nulls()

    def count(frame: pl.DataFrame, condition: pl.Expr) -> int:
        return frame.filter(condition).height

    rows = [
        ("cohort.patients", None, "n", first.height),
        ("cohort.cycles", None, "n", cycles.height),
        ("cohort.centers", None, "n", first["center_id"].n_unique()),
        ("cohort.age_months", "all", "median", ages.median()),
        ("cohort.age_months", "all", "min", ages.min()),
        ("cohort.age_months", "all", "max", ages.max()),
        ("cohort.male", "all", "n", count(first, pl.col("sex") == "M")),
        ("cohort.female", "all", "n", count(first, pl.col("sex") == "F")),
        ("indication.rr", None, "n", rr.height),
        ("indication.rr_relapse", None, "n", count(rr, pl.col("indication") == "relapse")),
        ("indication.rr_induction_failure", None, "n", count(rr, pl.col("indication") == "induction_failure")),
        ("indication.rr_direct_reinduction", None, "n", count(rr, ~pl.col("bridging_chemo"))),
        ("indication.rr_bridged", None, "n", bridged.height),
        ("indication.rr_bridging_failed", None, "n", count(bridged, pl.col("status") == "rr")),
        ("indication.rr_bridged_to_mrdpos", None, "n", count(bridged, pl.col("status") == "cr_mrdpos")),
        ("indication.rr_bridged_to_mrdneg", None, "n", count(bridged, pl.col("status") == "cr_mrdneg")),
        ("indication.mrdpos", None, "n", count(first, pl.col("indication") == "mrd_positive")),
        ("indication.chemo_delay", None, "n", count(first, pl.col("indication") == "chemo_delay")),
        ("indication.chemo_delay_mrdpos", None, "n",
         count(first, (pl.col("indication") == "chemo_delay") & (pl.col("indication_group") == "cr_mrdpos"))),
        *((f"cycle1_status.{status}", None, "n", count(first, pl.col("status") == status))
          for status in ("rr", "cr_mrdpos", "cr_mrdneg")),
        ("cycle1_status.mrdneg_cycles", None, "n", count(cycles, pl.col("table3_group") == "mrdneg")),
    ]
    return shared.published_frame(rows)


def published_values(patients: pl.DataFrame, cycles: pl.DataFrame) -> pl.DataFrame:
    """The reference rows this mart covers: cohort.*, indication.*, cycle1_status.* and Table 1's
    non-P-value rows (table1.*; its P-values come from marts.statistical_tests)."""
    frame = table1_frame(patients, cycles)
    table = table1(frame, table1_tests(frame))
    statistic = (
        pl.when(pl.col("factor") == "sex").then("level")
        .when(pl.col("level").is_not_null() | (pl.col("factor") == "patients")).then(pl.lit("n"))
    )
    counts = table.filter(pl.col("k").is_not_null() | (pl.col("factor") == "patients")).select(
        id=pl.format("table1.{}", pl.col("factor").replace({"patients": "n"})),
        group="group",
        statistic=statistic,
        computed_value=pl.coalesce("k", "n").cast(pl.Float64),
    )
    summaries = table.filter(pl.col("median").is_not_null()).unpivot(
        ["median", "min", "max"], index=["factor", "group"], variable_name="statistic", value_name="computed_value"
    ).select(id=pl.format("table1.{}", "factor"), group="group", statistic="statistic", computed_value="computed_value")
    return pl.concat([cohort_counts(patients, cycles), counts, summaries]).sort("id", "group", "statistic")


@dg.asset(
    key=[shared.SCHEMA, MART],
    group_name="marts",
    deps=[dg.AssetKey(["core", "patients"]), dg.AssetKey(["core", "cycles"])],
    kinds={"duckdb", "polars"},
    pool=POOL,
    description=DESCRIPTION,
)
@skip_when_unchanged("marts.cohort_characteristics", shared.MARTS_CODE)
def cohort_characteristics_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        core = shared.CoreFrames(con)
        frame = table1_frame(core["patients"], core["cycles"])
        tests = table1_tests(frame)
        table = table1(frame, tests)
        shared.write_mart(con, MART, table, DESCRIPTION, COLUMNS)
        shared.replace_tests(con, MART, tests)
    return dg.MaterializeResult(metadata=shared.mart_metadata(table, tests=tests.height))
