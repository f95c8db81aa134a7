"""marts.risk_factors: baseline factors of response among the 51 patients R/R or CR-MRDpos at cycle 1.

Two analyses, one table: `table2` compares responders (CR) with non-responders (NR) after cycle 1 (the
paper's Table 2); `s3.mrd_negativity` compares patients MRD-negative at the end of cycle 1 with those still
MRD-positive (Supplementary Table S3). Categorical factors: Fisher's exact test; continuous ones: Mann-Whitney
U. Lymphocyte subsets are cycle 1's baseline blood values (core.labs, timepoint baseline; the last sample when
several were delivered; `ND` counts as 0).
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

MART = "risk_factors"
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
# analysis -> (outcome column of risk_frame, its two groups)
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
    "factor": "sex, age_months, bm_blasts_pct and mrd_pct (before cycle 1), poor_cytogenetics (KMT2Ar, "
              "BCR-ABL1, TCF3-HLF, hypodiploidy), a lesion, or a baseline blood lymphocyte count (x10^9/L) "
              "or percentage of lymphocytes.",
    "p_value": "P-value of the comparison of the analysis' two groups (test in marts.statistical_tests).",
    "test_id": "Key in marts.statistical_tests: <analysis>.<factor>, the published P-value's id.",
}


def baseline_labs(labs: pl.DataFrame) -> pl.DataFrame:
    """One row per patient: subject_id and one column per BASELINE_LABS factor, cycle 1's baseline blood
    value (the last sample by date, then delivered row, when several were delivered)."""
    analyte_factor = {analyte: factor for factor, analyte in BASELINE_LABS.items()}
    latest = (
        labs.filter(
            (pl.col("cycle_no") == 1) & (pl.col("timepoint") == "baseline") & (pl.col("specimen") == "blood")
            & pl.col("analyte").is_in(list(analyte_factor))
        )
        .with_columns(factor=pl.col("analyte").replace_strict(analyte_factor), value=shared.measured_value())
        .sort("sample_date", "source_file", "source_row", nulls_last=False)
        .group_by("subject_id", "factor")
        .agg(pl.col("value").drop_nulls().last())
    )
    wide = latest.pivot("factor", index="subject_id", values="value") if latest.height else latest.select("subject_id")
    return wide.select("subject_id", *(
        (pl.col(factor) if factor in wide.columns else pl.lit(None)).cast(pl.Float64).alias(factor)
        for factor in BASELINE_LABS
    ))


def risk_frame(patients: pl.DataFrame, cycles: pl.DataFrame, labs: pl.DataFrame) -> pl.DataFrame:
    """The 51 (R/R or CR-MRDpos at cycle 1): first_cycles, `sex_label`, `mrd_group` and the baseline labs."""
    return (
        first_cycles(patients, cycles)
        .filter(pl.col("table1_group") == "rr_mrdpos")
        .join(baseline_labs(labs), on="subject_id", how="left", maintain_order="left")
        .with_columns(
            sex_label=pl.col("sex").replace_strict({"M": "male", "F": "female"}, default=None, return_dtype=pl.Utf8),
            mrd_group=pl.when(pl.col("mrd_negative_after")).then(pl.lit("mrd_negative"))
            .when(~pl.col("mrd_negative_after")).then(pl.lit("mrd_positive")),
        )
    )


def risk_tests(frame: pl.DataFrame) -> pl.DataFrame:
    """Every factor compared between each analysis' two groups, as marts.statistical_tests rows."""
    rows = []
    for analysis, (outcome, groups) in ANALYSES.items():
        for factor in FACTORS:
            result = compare(frame, outcome, groups, factor)
            if result is not None:
                rows.append(shared.test_row(f"{analysis}.{factor.name}", MART,
                                            f"{analysis}: {factor.name} by {outcome}", groups, result))
    return shared.tests_frame(rows)


def risk_factors(frame: pl.DataFrame, tests: pl.DataFrame) -> pl.DataFrame:
    """The mart (SCHEMA): each analysis' factors by group, with the comparison's P-value."""
    parts = [
        describe(frame, outcome, groups, FACTORS).select(pl.lit(analysis).alias("analysis"), pl.all())
        for analysis, (outcome, groups) in ANALYSES.items()
    ]
    return (
        pl.concat(parts)
        .with_columns(test_id=pl.format("{}.{}", "analysis", "factor"))
        .join(tests.select("test_id", "p_value"), on="test_id", how="left", maintain_order="left")
        .with_columns(test_id=pl.when(pl.col("p_value").is_not_null()).then("test_id"))
        .select(SCHEMA.keys())
    )


def published_values(patients: pl.DataFrame, cycles: pl.DataFrame, labs: pl.DataFrame) -> pl.DataFrame:
    """Table 2's non-P-value rows (table2.*): group sizes, sex and lesion counts, medians and ranges."""
    frame = risk_frame(patients, cycles, labs)
    table = risk_factors(frame, risk_tests(frame)).filter(pl.col("analysis") == "table2")
    sizes = shared.published_frame([
        *(("table2.n", group, "n", frame.filter(pl.col("response") == group).height) for group in ("cr", "nr")),
        # The reference's info row: Table 2 counts 15 poor-risk patients among the 51.
        ("table2.poor_cytogenetics", None, "note", frame["poor_cytogenetics"].sum()),
    ])
    counts = table.filter(pl.col("k").is_not_null()).select(
        id=pl.format("table2.{}", "factor"),
        group="group",
        statistic=pl.when(pl.col("factor") == "sex").then("level").otherwise(pl.lit("n")),
        computed_value=pl.col("k").cast(pl.Float64),
    )
    summaries = table.filter(pl.col("k").is_null()).unpivot(
        ["median", "min", "max"], index=["factor", "group"], variable_name="statistic", value_name="computed_value"
    ).select(id=pl.format("table2.{}", "factor"), group="group", statistic="statistic", computed_value="computed_value")
    return pl.concat([sizes, counts, summaries]).sort("id", "group", "statistic")


@dg.asset(
    key=[shared.SCHEMA, MART],
    group_name="marts",
    deps=[dg.AssetKey(["core", table]) for table in ("patients", "cycles", "labs")],
    kinds={"duckdb", "polars"},
    pool=POOL,
    description=DESCRIPTION,
)
@skip_when_unchanged("marts.risk_factors", shared.MARTS_CODE)
def risk_factors_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        core = shared.CoreFrames(con)
        frame = risk_frame(core["patients"], core["cycles"], core["labs"])
        tests = risk_tests(frame)
        table = risk_factors(frame, tests)
        shared.write_mart(con, MART, table, DESCRIPTION, COLUMNS)
        shared.replace_tests(con, MART, tests)
    return dg.MaterializeResult(metadata=shared.mart_metadata(table, tests=tests.height))
