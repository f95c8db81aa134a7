"""ICANS: cycles with and without it compared on age and the immune state before the cycle (Supplementary Table
S5's comparison), and when CRS and ICANS began.

The comparison is by cycle, as the paper's is (its oldest non-ICANS age, 212 months, is a patient's age at a
later cycle): a cycle is `icans` with a reported ICANS grade >= 1, `no_icans` with grade 0; a cycle whose ICANS
was not assessed is in neither. Age is core.cycles.age_months_at_start; the immune values are the cycle's
baseline blood sample (the last one by date when several were delivered; `ND` as 0). Medians with ranges,
Mann-Whitney U (docs/statistics.md).
"""

from __future__ import annotations

import duckdb
import polars as pl

from assets.marts import shared
from assets.marts.comparisons import TABLE_SCHEMA, compare, continuous, describe
from assets.marts.safety_table3 import MART

GROUPS = ("icans", "no_icans")
# The CD4/CD8 ratio comes from the absolute counts, else from the percentages of lymphocytes (the same ratio
# when both derive from one lymphocyte count).
IMMUNE_FACTORS = ("cd4_cd8_ratio", "cd19_abs", "cd19_pct")
BASELINE_ANALYTES = ("cd4_abs", "cd8_abs", "cd4_pct", "cd8_pct", "cd19_abs", "cd19_pct")
FACTORS = (continuous("age_months", "age_months_at_start"), *(continuous(name) for name in IMMUNE_FACTORS))
TEST_IDS = {"age_months": "safety.icans_age"}  # the published P-value's id; the others safety.icans.<factor>

SCHEMA = {
    "factor": pl.Utf8, "group": pl.Utf8, "n": pl.Int64, "patients": pl.Int64, "median": pl.Float64,
    "min": pl.Float64, "max": pl.Float64, "n_missing": pl.Int64, "p_value": pl.Float64, "test_id": pl.Utf8,
}
COLUMNS = {
    "factor": "age_months (completed months at the cycle's start), cd4_cd8_ratio, cd19_abs (B cells, x10^9/L) "
              "or cd19_pct (% of lymphocytes) in the blood before the cycle.",
    "group": "icans (cycles with ICANS grade >= 1) or no_icans (grade 0).",
    "n": "Cycles of the group with a known value.",
    "patients": "Distinct patients among those cycles.",
    "median": "Median (mean of the middle two for an even count).",
    "min": "Minimum.",
    "max": "Maximum.",
    "n_missing": "Cycles of the group without the value (not used).",
    "p_value": "Mann-Whitney U, icans vs no_icans (marts.statistical_tests).",
    "test_id": "Key in marts.statistical_tests: safety.icans_age (published) or safety.icans.<factor>.",
}


def cycle_baselines(labs: pl.DataFrame) -> pl.DataFrame:
    """Per cycle (subject_id, cycle_no): the IMMUNE_FACTORS from its baseline blood sample."""
    latest = (
        labs.filter((pl.col("timepoint") == "baseline") & (pl.col("specimen") == "blood")
                    & pl.col("analyte").is_in(BASELINE_ANALYTES))
        .with_columns(value=shared.measured_value())
        .sort("sample_date", "source_file", "source_row", nulls_last=False)
        .group_by("subject_id", "cycle_no", "analyte")
        .agg(pl.col("value").drop_nulls().last())
    )
    wide = (latest.pivot("analyte", index=["subject_id", "cycle_no"], values="value") if latest.height
            else latest.select("subject_id", "cycle_no"))
    value = {name: (pl.col(name) if name in wide.columns else pl.lit(None)).cast(pl.Float64)
             for name in BASELINE_ANALYTES}
    return wide.select(
        "subject_id", "cycle_no",
        cd4_cd8_ratio=pl.coalesce(_ratio(value["cd4_abs"], value["cd8_abs"]),
                                  _ratio(value["cd4_pct"], value["cd8_pct"])),
        cd19_abs=value["cd19_abs"],
        cd19_pct=value["cd19_pct"],
    )


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator)


def icans_cycles(cycles: pl.DataFrame, grades: pl.DataFrame, labs: pl.DataFrame) -> pl.DataFrame:
    """One row per cycle with an ICANS assessment: subject_id, cycle_no, icans_group, age_months_at_start and
    the IMMUNE_FACTORS before the cycle. `grades` is safety_table3.cycle_grades' output."""
    icans = grades.filter((pl.col("term") == "icans") & pl.col("grade").is_not_null()).select(
        "subject_id", "cycle_no",
        icans_group=pl.when(pl.col("grade") >= 1).then(pl.lit("icans")).otherwise(pl.lit("no_icans")),
    )
    return (
        icans.join(cycles.select("subject_id", "cycle_no", "age_months_at_start"), on=["subject_id", "cycle_no"])
        .join(cycle_baselines(labs), on=["subject_id", "cycle_no"], how="left")
        .sort("subject_id", "cycle_no")
    )


def icans_comparison(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The mart (SCHEMA) and its Mann-Whitney tests (rows of marts.statistical_tests), from icans_cycles."""
    # comparisons aggregates in DuckDB: the cycles as a table of an in-memory database
    con = duckdb.connect()
    con.register("frame", con.from_arrow(frame.__arrow_c_stream__()))
    con.execute("CREATE TABLE icans_cycles AS SELECT * FROM frame")
    described = describe(con, con.table("icans_cycles"), "icans_group", GROUPS, FACTORS)
    patients = [
        {"factor": factor.name, "group": group,
         "patients": frame.filter((pl.col("icans_group") == group) & pl.col(factor.column).is_not_null())
         ["subject_id"].n_unique()}
        for factor in FACTORS for group in GROUPS
    ]
    tests, p_values = [], []
    for factor in FACTORS:
        test_id = TEST_IDS.get(factor.name, f"safety.icans.{factor.name}")
        result = compare(con, con.table("icans_cycles"), "icans_group", GROUPS, factor)
        if result is not None:
            description = f"{factor.name} by cycle: cycles with ICANS vs without"
            tests.append(shared.test_row(test_id, MART, description, GROUPS, result))
        p_values.append({"factor": factor.name, "test_id": test_id, "p_value": None if result is None else result.p_value})
    table = (
        described.select([name for name in TABLE_SCHEMA if name in SCHEMA])
        .join(pl.DataFrame(patients), on=["factor", "group"], how="left")
        .join(pl.DataFrame(p_values, schema={"factor": pl.Utf8, "test_id": pl.Utf8, "p_value": pl.Float64}),
              on="factor", how="left")
        .select(list(SCHEMA))
        .cast(SCHEMA)
    )
    return table, shared.tests_frame(tests)
