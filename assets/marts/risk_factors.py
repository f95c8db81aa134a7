"""marts.risk_factors: baseline factors of response among the 51 patients R/R or CR-MRDpos at cycle 1.

Two analyses, one table: `table2` compares responders (CR) with non-responders (NR) after cycle 1 (the
paper's Table 2); `s3.mrd_negativity` compares patients MRD-negative at the end of cycle 1 with those still
MRD-positive (Supplementary Table S3). Categorical factors: Fisher's exact test; continuous ones: Mann-Whitney
U. Lymphocyte subsets are cycle 1's baseline blood values (core.lab_draws, timepoint baseline: the last sample
when several were delivered; `ND` counts as 0). Counts, medians and rank frequencies come from DuckDB.
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

MART = "risk_factors"
# The TEMP table of the 51 the analyses compare (create_risk_patients).
RISK_PATIENTS = "risk_patients"
# factor name (the reference id's) -> core.labs analyte
BASELINE_LABS = {
    "lymphocytes_abs": "lymphocytes", "cd3_abs": "cd3_abs", "cd3_pct": "cd3_pct", "cd4_abs": "cd4_abs",
    "cd4_pct": "cd4_pct", "cd8_abs": "cd8_abs", "cd8_pct": "cd8_pct", "cd19_abs": "cd19_abs", "cd19_pct": "cd19_pct",
}
FACTORS = (
    Factor("sex", "sex_label", levels=("female", "male")),
    continuous("age_months"),
    continuous("bm_blasts_pct", "pre_blasts_pct"),
    continuous("mrd_pct", "pre_mrd_pct"),
    flag("poor_cytogenetics"),
    flag("kmt2ar"),
    flag("etv6_runx1"),
    flag("bcr_abl1"),
    *(continuous(name) for name in BASELINE_LABS),
)
# analysis -> (outcome column of RISK_PATIENTS, its two groups)
ANALYSES = {"table2": ("response", ("cr", "nr")), "s3.mrd_negativity": ("mrd_group", ("mrd_negative", "mrd_positive"))}

SCHEMA = {"analysis": pl.Utf8, **TABLE_SCHEMA, "p_value": pl.Float64, "test_id": pl.Utf8}
DESCRIPTION = (
    "Baseline factors of response among the patients R/R or CR-MRDpos at cycle 1: analysis table2 compares "
    "CR with NR after cycle 1 (Table 2), s3.mrd_negativity MRD-negative with MRD-positive at the end of cycle "
    "1 (Supplementary Table S3). Fisher's exact test for categorical factors, Mann-Whitney U for continuous ones."
)
COLUMNS = {
    "analysis": "table2 (groups cr / nr) or s3.mrd_negativity (groups mrd_negative / mrd_positive).",
    **TABLE_COLUMNS,
    "factor": "patients (the group's size), sex, age_months, bm_blasts_pct and mrd_pct (before cycle 1), "
              "poor_cytogenetics (KMT2Ar, BCR-ABL1, TCF3-HLF, hypodiploidy), a lesion, or a baseline blood "
              "lymphocyte count (x10^9/L) or percentage of lymphocytes.",
    "p_value": "P-value of the comparison of the analysis' two groups (test in marts.statistical_tests).",
    "test_id": "Key in marts.statistical_tests: <analysis>.<factor>, the published P-value's id.",
}
# The preview's order (shared.table_metadata): as written, per analysis, the factors and levels as the paper
# prints them.
ORDER = shared.AS_WRITTEN


def _baseline_labs_sql() -> str:
    analytes = ", ".join(shared.sql_text(analyte) for analyte in BASELINE_LABS.values())
    pivoted = ", ".join(f"any_value(value) FILTER (analyte = {shared.sql_text(analyte)}) AS {factor}"
                        for factor, analyte in BASELINE_LABS.items())
    return f"""
        WITH latest AS (
            SELECT subject_id, analyte, {shared.MEASURED_VALUE_SQL} AS value
            FROM core.lab_draws
            WHERE cycle_no = 1 AND timepoint = 'baseline' AND specimen = 'blood' AND analyte IN ({analytes})
        )
        SELECT subject_id, {pivoted}
        FROM latest
        GROUP BY subject_id
    """


# One row per patient with a baseline lab: subject_id and one column per BASELINE_LABS factor, cycle 1's
# baseline blood value (core.lab_draws: the last sample by date, then delivered row, with a value).
BASELINE_LABS_SQL = _baseline_labs_sql()


def create_risk_patients(con: duckdb.DuckDBPyConnection) -> str:
    """TEMP table RISK_PATIENTS, the 51 (R/R or CR-MRDpos at cycle 1): first_cycle's relation (created
    first), `mrd_group` and the baseline labs. Returns its name."""
    create_first_cycles(con)
    factors = ", ".join(f"labs.{factor}" for factor in BASELINE_LABS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {RISK_PATIENTS} AS
        SELECT patient.*,
               CASE WHEN patient.mrd_negative_after THEN 'mrd_negative'
                    WHEN NOT patient.mrd_negative_after THEN 'mrd_positive' END AS mrd_group,
               {factors}
        FROM {FIRST_CYCLES} AS patient
        LEFT JOIN ({BASELINE_LABS_SQL}) AS labs USING (subject_id)
        WHERE patient.table1_group = 'rr_mrdpos'
    """)
    return RISK_PATIENTS


def risk_tests(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every factor compared between each analysis' two groups (over RISK_PATIENTS), as
    marts.statistical_tests rows."""
    rows = []
    for analysis, (outcome, groups) in ANALYSES.items():
        for factor in FACTORS:
            result = compare(con, con.table(RISK_PATIENTS), outcome, groups, factor)
            if result is not None:
                rows.append(shared.test_row(f"{analysis}.{factor.name}", MART,
                                            f"{analysis}: {factor.name} by {outcome}", groups, result))
    return shared.tests_frame(rows)


def risk_factors(con: duckdb.DuckDBPyConnection, tests: pl.DataFrame) -> pl.DataFrame:
    """The mart (SCHEMA): each analysis' patients and factors by group (over RISK_PATIENTS), with the
    comparison's P-value."""
    parts = [
        pl.concat([_group_sizes(con, outcome, groups), describe(con, con.table(RISK_PATIENTS), outcome, groups,
                                                                FACTORS)])
        .select(pl.lit(analysis).alias("analysis"), pl.all())
        for analysis, (outcome, groups) in ANALYSES.items()
    ]
    return (
        pl.concat(parts)
        .with_columns(test_id=pl.format("{}.{}", "analysis", "factor"))
        .join(tests.select("test_id", "p_value"), on="test_id", how="left", maintain_order="left")
        .with_columns(test_id=pl.when(pl.col("p_value").is_not_null()).then("test_id"))
        .select(SCHEMA.keys())
    )


def _group_sizes(con: duckdb.DuckDBPyConnection, outcome: str, groups: tuple[str, str]) -> pl.DataFrame:
    """Factor `patients`: the patients of each group (TABLE_SCHEMA rows)."""
    sizes = dict(con.execute(f"SELECT {outcome}, count(*) FROM {RISK_PATIENTS} GROUP BY ALL").fetchall())
    return pl.DataFrame([{"factor": "patients", "group": group, "n": sizes.get(group, 0)} for group in groups],
                        schema=TABLE_SCHEMA)


def published_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Table 2's non-P-value rows (table2.*), read from marts.risk_factors: group sizes, sex and lesion
    counts, medians and ranges."""
    table = shared.read_relation(con, f"{shared.SCHEMA}.{MART}", "analysis = 'table2'")
    sizes = table.filter(pl.col("factor") == "patients").select(
        id=pl.lit("table2.n"), group="group", statistic=pl.lit("n"), computed_value=pl.col("n").cast(pl.Float64))
    # The reference's info row: Table 2 counts 15 poor-risk patients among the 51 (its CR and NR columns).
    poor = table.filter(pl.col("factor") == "poor_cytogenetics").select(
        id=pl.lit("table2.poor_cytogenetics"), group=pl.lit(None, pl.Utf8), statistic=pl.lit("note"),
        computed_value=pl.col("k").sum().cast(pl.Float64))
    counts = table.filter(pl.col("k").is_not_null()).select(
        id=pl.format("table2.{}", "factor"),
        group="group",
        statistic=pl.when(pl.col("factor") == "sex").then("level").otherwise(pl.lit("n")),
        computed_value=pl.col("k").cast(pl.Float64),
    )
    summaries = table.filter(pl.col("median").is_not_null()).unpivot(
        ["median", "min", "max"], index=["factor", "group"], variable_name="statistic", value_name="computed_value"
    ).select(id=pl.format("table2.{}", "factor"), group="group", statistic="statistic", computed_value="computed_value")
    return pl.concat([sizes, poor, counts, summaries]).sort("id", "group", "statistic")


@shared.mart_asset(MART, DESCRIPTION, ("patients", "cycles", "lab_draws"))
def risk_factors_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        create_risk_patients(con)
        tests = risk_tests(con)
        table = risk_factors(con, tests)
        shared.write_mart(con, MART, table, DESCRIPTION, COLUMNS)
        shared.replace_tests(con, MART, tests)
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{MART}", ORDER, tests=tests.height)
    return dg.MaterializeResult(metadata=metadata)
