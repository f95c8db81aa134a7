"""marts.cohort_characteristics: the paper's Table 1, patient characteristics by status at cycle 1 (all
patients; R/R + CR-MRDpos; CR-MRDneg), with the P-value of each comparison; marts.cohort_counts: the cohort's
counts (how the indications led to the status at cycle 1). Both aggregate first_cycle's relation in DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from assets.marts import shared
from assets.marts.comparisons import TABLE_COLUMNS, TABLE_SCHEMA, Factor, compare, continuous, describe, flag
from assets.marts.first_cycle import FIRST_CYCLES, create_first_cycles
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    import duckdb

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
# The preview's order (shared.table_metadata): as written, Table 1's factors and levels as the paper prints them.
ORDER = shared.AS_WRITTEN

COUNTS_MART = "cohort_counts"
COUNTS_SCHEMA = {"measure": pl.Utf8, "group": pl.Utf8, "statistic": pl.Utf8, "value": pl.Float64}
COUNTS_DESCRIPTION = (
    "The multicenter cohort's counts: patients, cycles, centers, age and sex (cohort.*); the indications and "
    "the paths from indication to status at cycle 1 through bridging chemotherapy (indication.*); statuses at "
    "cycle 1 and the cycles given in MRD negativity (cycle1_status.*). Measures are named as the paper's "
    "reference file (seeds.published_results) names them."
)
COUNTS_COLUMNS = {
    "measure": "What is counted, e.g. indication.rr_bridged_to_mrdneg (docs/marts.md, Cohort characteristics).",
    "group": "all for the whole cohort's age and sex; NULL elsewhere.",
    "statistic": "n (a count), or median, min, max (age in months at the first infusion).",
    "value": "The count or the figure.",
}
# The preview's order (shared.table_metadata): as written, the measures in the order COUNTS lists them.
COUNTS_ORDER = shared.AS_WRITTEN
# (measure, group, statistic, SQL aggregate over first_cycle's relation)
COUNTS = (
    ("cohort.patients", None, "n", "count(*)"),
    ("cohort.cycles", None, "n",
     f"(SELECT count(*) FROM core.cycles WHERE subject_id IN (SELECT subject_id FROM {FIRST_CYCLES}))"),
    ("cohort.centers", None, "n", "count(DISTINCT center_id)"),
    *(("cohort.age_months", "all", statistic, f"{statistic}(age_months)") for statistic in ("median", "min", "max")),
    ("cohort.male", "all", "n", "count(*) FILTER (sex = 'M')"),
    ("cohort.female", "all", "n", "count(*) FILTER (sex = 'F')"),
    ("indication.rr", None, "n", "count(*) FILTER (indication_group = 'rr')"),
    ("indication.rr_relapse", None, "n", "count(*) FILTER (indication_group = 'rr' AND indication = 'relapse')"),
    ("indication.rr_induction_failure", None, "n",
     "count(*) FILTER (indication_group = 'rr' AND indication = 'induction_failure')"),
    ("indication.rr_direct_reinduction", None, "n", "count(*) FILTER (indication_group = 'rr' AND NOT bridging_chemo)"),
    ("indication.rr_bridged", None, "n", "count(*) FILTER (indication_group = 'rr' AND bridging_chemo)"),
    *((f"indication.rr_{path}", None, "n",
       f"count(*) FILTER (indication_group = 'rr' AND bridging_chemo AND status = '{status}')")
      for path, status in (("bridging_failed", "rr"), ("bridged_to_mrdpos", "cr_mrdpos"),
                           ("bridged_to_mrdneg", "cr_mrdneg"))),
    ("indication.mrdpos", None, "n", "count(*) FILTER (indication = 'mrd_positive')"),
    ("indication.chemo_delay", None, "n", "count(*) FILTER (indication = 'chemo_delay')"),
    ("indication.chemo_delay_mrdpos", None, "n",
     "count(*) FILTER (indication = 'chemo_delay' AND indication_group = 'cr_mrdpos')"),
    *((f"cycle1_status.{status}", None, "n", f"count(*) FILTER (status = '{status}')")
      for status in ("rr", "cr_mrdpos", "cr_mrdneg")),
    ("cycle1_status.mrdneg_cycles", None, "n",
     f"(SELECT count(*) FROM core.cycles WHERE table3_group = 'mrdneg' "
     f"AND subject_id IN (SELECT subject_id FROM {FIRST_CYCLES}))"),
)


def table1_tests(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The comparisons of rr_mrdpos vs mrdneg over first_cycle's relation, as marts.statistical_tests rows
    (test_id table1.<factor>)."""
    rows = []
    for factor in FACTORS:
        result = compare(con, con.table(FIRST_CYCLES), "table1_group", COMPARED, factor)
        if result is not None:
            rows.append(shared.test_row(f"table1.{factor.name}", MART, f"Table 1: {factor.name} by status at "
                                        "cycle 1", COMPARED, result))
    return shared.tests_frame(rows)


def table1(con: duckdb.DuckDBPyConnection, tests: pl.DataFrame) -> pl.DataFrame:
    """Table 1 in long form (SCHEMA): patient counts, then each factor by group, with its P-value."""
    sizes = dict(con.execute(f"SELECT table1_group, count(*) FROM {FIRST_CYCLES} GROUP BY ALL").fetchall())
    counts = pl.DataFrame(
        [{"factor": "patients", "group": group, "n": sum(sizes.values()) if group == "all" else sizes.get(group, 0)}
         for group in GROUPS],
        schema=TABLE_SCHEMA,
    )
    patients = con.table(FIRST_CYCLES)
    described = pl.concat([counts, describe(con, patients, "table1_group", GROUPS, FACTORS),
                           describe(con, patients, "table1_group", ("rr_mrdpos",), MARROW)])
    p_values = tests.select(test_id="test_id", p_value="p_value")
    return (
        described.with_columns(test_id=pl.when(pl.col("factor").is_in([f.name for f in FACTORS]))
                               .then(pl.format("table1.{}", "factor")))
        .join(p_values, on="test_id", how="left", maintain_order="left")
        .with_columns(test_id=pl.when(pl.col("p_value").is_not_null()).then("test_id"))
        .select(SCHEMA.keys())
    )


def cohort_counts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """marts.cohort_counts (COUNTS_SCHEMA): COUNTS in one pass over first_cycle's relation. The cycles given
    in MRD negativity are core.cycles.table3_group's mrdneg (the rule that gives the paper's 74)."""
    [values] = con.execute(f"SELECT {', '.join(sql for *_, sql in COUNTS)} FROM {FIRST_CYCLES}").fetchall()
    rows = [(measure, group, statistic, value) for (measure, group, statistic, _), value in zip(COUNTS, values)]
    return pl.DataFrame(rows, schema=COUNTS_SCHEMA, orient="row")


def published_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The reference rows this mart covers, read from marts.cohort_counts (cohort.*, indication.*,
    cycle1_status.*) and marts.cohort_characteristics (Table 1's non-P-value rows, table1.*; its P-values
    come from marts.statistical_tests)."""
    counts = shared.read_relation(con, f"{shared.SCHEMA}.{COUNTS_MART}").select(
        id="measure", group="group", statistic="statistic", computed_value="value")
    table = shared.read_relation(con, f"{shared.SCHEMA}.{MART}")
    statistic = (
        pl.when(pl.col("factor") == "sex").then("level")
        .when(pl.col("level").is_not_null() | (pl.col("factor") == "patients")).then(pl.lit("n"))
    )
    table_counts = table.filter(pl.col("k").is_not_null() | (pl.col("factor") == "patients")).select(
        id=pl.format("table1.{}", pl.col("factor").replace({"patients": "n"})),
        group="group",
        statistic=statistic,
        computed_value=pl.coalesce("k", "n").cast(pl.Float64),
    )
    summaries = table.filter(pl.col("median").is_not_null()).unpivot(
        ["median", "min", "max"], index=["factor", "group"], variable_name="statistic", value_name="computed_value"
    ).select(id=pl.format("table1.{}", "factor"), group="group", statistic="statistic", computed_value="computed_value")
    return pl.concat([counts, table_counts, summaries]).sort("id", "group", "statistic")


@shared.mart_asset(MART, DESCRIPTION, ("patients", "cycles"))
def cohort_characteristics_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        create_first_cycles(con)
        tests = table1_tests(con)
        table = table1(con, tests)
        shared.write_mart(con, MART, table, DESCRIPTION, COLUMNS)
        shared.replace_tests(con, MART, tests)
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{MART}", ORDER, tests=tests.height)
    return dg.MaterializeResult(metadata=metadata)


@shared.mart_asset(COUNTS_MART, COUNTS_DESCRIPTION, ("patients", "cycles"))
def cohort_counts_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        create_first_cycles(con)
        counts = cohort_counts(con)
        shared.write_mart(con, COUNTS_MART, counts, COUNTS_DESCRIPTION, COUNTS_COLUMNS)
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{COUNTS_MART}", COUNTS_ORDER)
    return dg.MaterializeResult(metadata=metadata)
