"""ICANS: cycles with and without it compared on age and the immune state before the cycle (Supplementary Table
S5's comparison), and when CRS and ICANS began.

The comparison is by cycle, as the paper's is (its oldest non-ICANS age, 212 months, is a patient's age at a
later cycle): a cycle is `icans` with a reported ICANS grade >= 1, `no_icans` with grade 0; a cycle whose ICANS
was not assessed is in neither. Age is core.cycles.age_months_at_start; the immune values are the cycle's
baseline blood sample (the last one by date when several were delivered; `ND` as 0). Medians with ranges,
Mann-Whitney U (docs/statistics.md), from counts computed in DuckDB over the cycles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from assets.marts import per_center, shared
from assets.marts.comparisons import TABLE_SCHEMA, compare, continuous, describe
from assets.marts.safety_table3 import MART

if TYPE_CHECKING:
    import duckdb

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
# The preview's order (shared.table_metadata): as written, the factors as Supplementary Table S5 prints them,
# each with its groups.
ORDER = shared.AS_WRITTEN


# SQL: per cycle (subject_id, cycle_no), the IMMUNE_FACTORS from its baseline blood sample (the last delivery
# with a value of each analyte, by date, then delivered file and row).
CYCLE_BASELINES_SQL = f"""
    WITH latest AS (
        SELECT subject_id, cycle_no, analyte, {shared.MEASURED_VALUE_SQL} AS value
        FROM core.lab_draws
        WHERE timepoint = 'baseline' AND specimen = 'blood'
          AND analyte IN ({", ".join(map(shared.sql_text, BASELINE_ANALYTES))}) AND {shared.IN_STUDY_SQL}
          AND {per_center.in_centers()}
    ), wide AS (
        SELECT subject_id, cycle_no,
               {", ".join(f"CAST(max(value) FILTER (analyte = '{name}') AS DOUBLE) AS {name}"
                          for name in BASELINE_ANALYTES)}
        FROM latest
        GROUP BY ALL
    )
    SELECT subject_id, cycle_no,
           coalesce(CASE WHEN cd8_abs > 0 THEN cd4_abs / cd8_abs END,
                    CASE WHEN cd8_pct > 0 THEN cd4_pct / cd8_pct END) AS cd4_cd8_ratio,
           cd19_abs, cd19_pct
    FROM wide
"""
# The TEMP view create_icans_cycles gives, and the core tables its rows are computed from.
ICANS_CYCLES = "icans_cycles"
CORE_TABLES = ("patients", "cycles", "adverse_events", "lab_draws")


def create_icans_cycles(con: duckdb.DuckDBPyConnection, grades: str, study: str = shared.MULTICENTER) -> str:
    """TEMP view ICANS_CYCLES (per_center.create), one row per cycle with an ICANS assessment: center_id,
    subject_id, cycle_no, icans_group, age_months_at_start and the IMMUNE_FACTORS before the cycle. `grades` is
    safety_table3.create_cycle_grades' view. Returns its name."""
    select = f"""
        SELECT grades.center_id, grades.subject_id, grades.cycle_no,
               CASE WHEN grades.grade >= 1 THEN 'icans' ELSE 'no_icans' END AS icans_group,
               cycle.age_months_at_start, baselines.cd4_cd8_ratio, baselines.cd19_abs, baselines.cd19_pct
        FROM {grades} AS grades
        JOIN core.cycles AS cycle USING (subject_id, cycle_no)
        LEFT JOIN ({CYCLE_BASELINES_SQL}) AS baselines USING (subject_id, cycle_no)
        WHERE grades.term = 'icans' AND grades.grade IS NOT NULL AND {per_center.in_centers("grades.center_id")}
    """
    return per_center.create(con, ICANS_CYCLES, select, CORE_TABLES, {"study": study}, reads=[grades])


def icans_comparison(con: duckdb.DuckDBPyConnection, cycles: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The mart (SCHEMA) and its Mann-Whitney tests (rows of marts.statistical_tests), from
    create_icans_cycles' table `cycles`."""
    described = describe(con, con.table(cycles), "icans_group", GROUPS, FACTORS)
    distinct = ", ".join(f"count(DISTINCT subject_id) FILTER ({factor.column} IS NOT NULL) AS {factor.name}"
                         for factor in FACTORS)
    by_group = dict((row[0], row[1:]) for row in con.sql(f"SELECT icans_group, {distinct} FROM {cycles} "
                                                         "GROUP BY ALL").fetchall())
    patients = [
        {"factor": factor.name, "group": group, "patients": by_group.get(group, (0,) * len(FACTORS))[i]}
        for i, factor in enumerate(FACTORS) for group in GROUPS
    ]
    tests, p_values = [], []
    for factor in FACTORS:
        test_id = TEST_IDS.get(factor.name, f"safety.icans.{factor.name}")
        result = compare(con, con.table(cycles), "icans_group", GROUPS, factor)
        if result is not None:
            description = f"{factor.name} by cycle: cycles with ICANS vs without"
            tests.append(shared.test_row(test_id, MART, description, GROUPS, result))
        p_values.append({"factor": factor.name, "test_id": test_id,
                         "p_value": None if result is None else result.p_value})
    table = (
        described.select([name for name in TABLE_SCHEMA if name in SCHEMA])
        .join(pl.DataFrame(patients), on=["factor", "group"], how="left")
        .join(pl.DataFrame(p_values, schema={"factor": pl.Utf8, "test_id": pl.Utf8, "p_value": pl.Float64}),
              on="factor", how="left")
        .select(list(SCHEMA))
        .cast(SCHEMA)
    )
    return table, shared.tests_frame(tests)
