"""The safety marts: Table 3 of the multicenter paper and its safety results (docs/marts.md, Safety).

| table | pure functions |
| --- | --- |
| marts.safety_adverse_events | safety_table3: grade bands per cycle, reported and lab-derived; Table 3's tests |
| marts.safety_cytopenia_grades, marts.safety_grade_discrepancies | safety_lab_grades: CTCAE grades of the nadirs |
| marts.safety_icans | safety_icans: ICANS vs no ICANS by cycle (age, CD4/CD8, B cells) |
| marts.safety_onset | safety_onset: CRS and ICANS onset day, by dose step |

Tests go to marts.statistical_tests under mart `safety`. Cycles are graded in DuckDB (TEMP tables of the asset's
connection); the per-cycle tables are written from SQL, Python sees the counts and summaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import duckdb
import polars as pl

from assets.landing.assets import POOL
from assets.marts import shared
from assets.marts.safety_icans import COLUMNS as ICANS_COLUMNS
from assets.marts.safety_icans import ORDER as ICANS_ORDER
from assets.marts.safety_icans import create_icans_cycles, icans_comparison
from assets.marts.safety_lab_grades import COLUMNS as CYTOPENIA_COLUMNS
from assets.marts.safety_lab_grades import DISCREPANCIES_COLUMNS, create_cytopenia_grades, discrepancies, lab_grades
from assets.marts.safety_lab_grades import ORDER as CYTOPENIA_ORDER
from assets.marts.safety_lab_grades import rows as cytopenia_rows
from assets.marts.safety_onset import COLUMNS as ONSET_COLUMNS
from assets.marts.safety_onset import ORDER as ONSET_ORDER
from assets.marts.safety_onset import create_onset_events, onset_summary
from assets.marts.safety_plots import table3_figure
from assets.marts.safety_table3 import (
    BAND_COLUMNS,
    BAND_ORDER,
    MART,
    band_counts,
    create_cycle_grades,
    reported_grades,
    table3_published,
    table3_tests,
)
from orchestration.jobs import SIDE_BY_SIDE
from orchestration.metadata import png_markdown
from orchestration.resources import WarehouseResource

# table -> (description, column descriptions, natural order: its preview's, shared.table_metadata)
TABLES = {
    "safety_adverse_events": (
        "Table 3: adverse events per blinatumomab cycle by grade band, for all cycles and by Table 3 column "
        "(core.cycles.table3_group), with the denominator of assessed cycles and the cycles not assessed counted "
        "apart. Reported grades for every term; neutropenia and thrombocytopenia also graded from the blood-count "
        "nadir (source lab_nadir). Tests in marts.statistical_tests (mart safety, test_id table3.<term>).",
        BAND_COLUMNS, BAND_ORDER),
    "safety_cytopenia_grades": (
        "Per cycle: neutropenia and thrombocytopenia as the toxicity form reports them and as CTCAE v5.0 grades "
        "the cycle's on-treatment blood-count nadir, side by side.",
        CYTOPENIA_COLUMNS, CYTOPENIA_ORDER),
    "safety_grade_discrepancies": (
        "For data managers: the cycles whose reported cytopenia grade the blood counts contradict (grade 0 vs 1 "
        "excepted: that boundary rests on the lower limit of normal), or whose counts were never graded.",
        DISCREPANCIES_COLUMNS, CYTOPENIA_ORDER),
    "safety_icans": (
        "Cycles with ICANS vs without: age at the cycle's start and the CD4/CD8 ratio and B cells before the "
        "cycle (Supplementary Table S5), median (range), Mann-Whitney U.",
        ICANS_COLUMNS, ICANS_ORDER),
    "safety_onset": (
        "CRS and ICANS onset day within the cycle (day 1 = first infusion day), overall and by the dose running "
        "on that day (5 or 15 ug/m2/day).",
        ONSET_COLUMNS, ONSET_ORDER),
}


@dataclass(frozen=True)
class SafetyMarts:
    tables: dict[str, pl.DataFrame]  # the tables of counts and summaries
    queries: dict[str, str]  # the per-cycle tables, as SQL over the connection's TEMP tables
    tests: pl.DataFrame


def safety_marts(con: duckdb.DuckDBPyConnection) -> SafetyMarts:
    """Every safety table (TABLES) and the tests, from core on `con`."""
    grades = create_cycle_grades(con)
    cytopenia = create_cytopenia_grades(con, grades)
    counts = pl.concat([band_counts(con, reported_grades(), "reported"),
                        band_counts(con, lab_grades(cytopenia), "lab_nadir")])
    icans, icans_tests = icans_comparison(con, create_icans_cycles(con, grades))
    tables = {
        "safety_adverse_events": counts,
        "safety_icans": icans,
        "safety_onset": onset_summary(con, create_onset_events(con, grades)),
    }
    queries = {"safety_cytopenia_grades": cytopenia_rows(cytopenia),
               "safety_grade_discrepancies": discrepancies(cytopenia)}
    return SafetyMarts(tables, queries, pl.concat([table3_tests(counts), icans_tests]).sort("test_id"))


def published_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The reference rows this mart covers, read from marts.safety_adverse_events (table3.* counts and
    denominators, and safety.icans_patients: patients with an ICANS of any grade) and marts.safety_icans
    (safety.icans_age_months); P-values come from marts.statistical_tests."""
    counts = shared.read_relation(con, f"{shared.SCHEMA}.safety_adverse_events")
    rows = table3_published(counts)
    ages = shared.read_relation(con, f"{shared.SCHEMA}.safety_icans", "factor = 'age_months'")
    for row in ages.iter_rows(named=True):
        rows += [("safety.icans_age_months", row["group"], statistic, row[statistic])
                 for statistic in ("median", "min", "max")]
    patients = int(counts.filter((pl.col("term") == "icans") & (pl.col("source") == "reported")
                                 & (pl.col("group") == "all") & (pl.col("band") == "any"))["patients"].sum())
    rows.append(("safety.icans_patients", None, "n", patients))
    return shared.published_frame(rows).sort("id", "group", "statistic", nulls_last=True)


FIGURE = "table3_adverse_events.png"
KEYS = {table: dg.AssetKey([shared.SCHEMA, table]) for table in TABLES}
CORE_TABLES = ("patients", "cycles", "adverse_events", "labs", "lab_draws")


@dg.multi_asset(
    specs=[dg.AssetSpec(key, deps=shared.core_deps(CORE_TABLES), group_name="marts", kinds={"duckdb", "polars"},
                        description=TABLES[table][0]) for table, key in KEYS.items()],
    pool=POOL, op_tags=SIDE_BY_SIDE,
)
@shared.skip_while_inputs_unchanged("marts.safety", CORE_TABLES)
def safety_assets(warehouse: WarehouseResource):
    with warehouse.connect() as con:
        marts = safety_marts(con)
        for table, frame in marts.tables.items():
            shared.write_mart(con, table, frame, *TABLES[table][:2])
        for table, query in marts.queries.items():
            shared.write_query(con, table, query, *TABLES[table][:2])
        shared.replace_tests(con, MART, marts.tests)
        metadata = {table: shared.table_metadata(con, f"{shared.SCHEMA}.{table}", order)
                    for table, (_, _, order) in TABLES.items()}
    png = table3_figure(marts.tables["safety_adverse_events"])
    shared.save_figures(warehouse.path, {FIGURE: png})
    metadata["safety_adverse_events"]["figure"] = dg.MetadataValue.md(png_markdown({FIGURE: png}))
    for table in TABLES:
        yield dg.MaterializeResult(asset_key=KEYS[table], metadata=metadata[table])
