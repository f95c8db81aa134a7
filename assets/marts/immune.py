"""Immune marts: T-cell expansion and B-cell depletion under blinatumomab (Figures 1-2, Supplementary Tables
S1-S2) and immunoglobulins, from cycle 1's draws of core.lab_draws (assets/marts/immune_samples.py decides which
draws: baseline = pre, the last scheduled draw inside the infusion = end of treatment).

* `marts.immune_paired`: each lymphocyte marker before vs after, in three subgroups: `all` (baseline vs end of
  treatment), `regimen_14d` (14-day cycles: baseline vs day 14), `regimen_21_28d` (longer cycles: baseline vs
  day 21 / 28); Wilcoxon matched pairs.
* `marts.immune_group_deltas`: change from baseline to the end of treatment, R/R + CR-MRDpos vs CR-MRDneg at
  cycle 1 (Table 1's columns), neutrophils and platelets included; Mann-Whitney U.
* `marts.immunoglobulins`: IgG, IgA, IgM before vs after; Wilcoxon matched pairs.

Draws are chosen and paired in DuckDB; Python sees per marker the summaries, the frequency tables the tests
take and the quantiles the figures draw.
"""

from __future__ import annotations

from typing import NamedTuple

import dagster as dg
import duckdb
import polars as pl

from assets.landing.assets import POOL
from assets.marts import per_center, shared
from assets.marts.aggregates import quantiles, two_group_frequencies
from assets.marts.first_cycle import TABLE1_GROUPS, table1_group_sql
from assets.marts.immune_plots import distribution_figure
from assets.marts.immune_samples import END, PRE, RATIO, marker_draws_sql, pairs_sql
from assets.marts.paired_summary import (
    BOTH_KNOWN,
    CHANGE_SQL,
    SUMMARY,
    paired_summaries,
    published_rows,
    where,
    wilcoxon,
)
from assets.marts.stats import mann_whitney_from_counts
from orchestration.jobs import SIDE_BY_SIDE
from orchestration.resources import WarehouseResource

# marker (the reference id's name) -> core.labs analyte (blood), in the order of Figure 1's panels A-L;
# RATIO is derived per draw.
MARKERS = {
    "cd3_abs": "cd3_abs", "cd4_abs": "cd4_abs", "cd8_abs": "cd8_abs", "cd3_pct": "cd3_pct", "cd4_pct": "cd4_pct",
    "cd8_pct": "cd8_pct", "nk_abs": "nk_abs", "b_abs": "cd19_abs", "cd4_cd8_ratio": RATIO, "nk_pct": "nk_pct",
    "b_pct": "cd19_pct", "lymphocytes_abs": "lymphocytes",
}
BLOOD_COUNTS = {"neutrophils": "neutrophils", "platelets": "platelets"}  # compared between groups only
IMMUNOGLOBULINS = {"igg_g_l": "igg", "iga_g_l": "iga", "igm_g_l": "igm"}  # serum, g/L
# subgroup (the reference's group) -> (reference id prefix, cycle-1 regimen it keeps; None: every regimen).
# The end of treatment is day 14 of a 14-day cycle, day 21 / 28 of a longer one.
SUBGROUPS = {"all": ("immune", None), "regimen_14d": ("immune_14d", "14d"),
             "regimen_21_28d": ("immune_21_28d", "21_28d")}
IG_SUBGROUPS = {"all": SUBGROUPS["all"]}
DELTA_GROUPS = tuple(TABLE1_GROUPS)  # rr_mrdpos, mrdneg

PAIRED_SCHEMA = {
    "subgroup": pl.Utf8, "marker": pl.Utf8, "n_pairs": pl.Int64, "n_missing_pre": pl.Int64, "n_missing_post": pl.Int64,
    **{f"{side}_{s}": pl.Float64 for side in ("pre", "post", "change") for s in SUMMARY},
    "statistic": pl.Float64, "p_value": pl.Float64, "test_id": pl.Utf8,
}
PAIRED_COLUMNS = {
    "subgroup": "Patients compared, cycle-1 baseline vs end of treatment: all, regimen_14d (14-day cycles: vs day "
                "14), regimen_21_28d (21-28-day cycles: vs day 21 / 28).",
    "marker": "cd3/cd4/cd8/nk/b (CD19+) _abs (x10^9/L) or _pct (% of lymphocytes), lymphocytes_abs (x10^9/L), "
              "cd4_cd8_ratio; for immunoglobulins igg_g_l, iga_g_l, igm_g_l (g/L).",
    "n_pairs": "Patients with both values (the test's pairs).",
    "n_missing_pre": "Patients with the after value but no baseline (not used).",
    "n_missing_post": "Patients with the baseline but no after value (not used).",
    **{f"{side}_{s}": f"{s.capitalize()} {what} over the pairs."
       for side, what in (("pre", "before"), ("post", "after"), ("change", "of after - before")) for s in SUMMARY},
    "statistic": "Wilcoxon V (sum of the ranks of positive changes, R's convention).",
    "p_value": "Wilcoxon matched-pairs P (docs/statistics.md: exact below 200 non-zero pairs, zeros dropped).",
    "test_id": "Key in marts.statistical_tests, <subgroup prefix>.<marker> (immune., immune_14d., immune_21_28d.): "
               "the published id where the paper gives the P; no test row without a pair.",
}
# The preview's order (shared.table_metadata): as written, per subgroup (SUBGROUPS' order), its markers by name.
PAIRED_ORDER = shared.AS_WRITTEN
DELTAS_SCHEMA = {
    "marker": pl.Utf8, "group": pl.Utf8, "n": pl.Int64, "n_missing_pre": pl.Int64, "n_missing_post": pl.Int64,
    "median": pl.Float64, "min": pl.Float64, "max": pl.Float64, "p_value": pl.Float64, "test_id": pl.Utf8,
}
DELTAS_COLUMNS = {
    "marker": "A marker of marts.immune_paired, or neutrophils / platelets (x10^9/L).",
    "group": "Status at cycle 1: rr_mrdpos (R/R or CR-MRDpos) or mrdneg (CR-MRDneg).",
    "n": "Patients of the group with a change (both values known).",
    "n_missing_pre": "Patients of the group with the end value but no baseline.",
    "n_missing_post": "Patients of the group with the baseline but no end-of-treatment value.",
    "median": "Median change, end of treatment - baseline.",
    "min": "Smallest change.",
    "max": "Largest change.",
    "p_value": "Mann-Whitney U P, rr_mrdpos vs mrdneg (the same on both rows of a marker).",
    "test_id": "Key in marts.statistical_tests: immune_delta.<marker> (no test row unless both groups have a change).",
}
# The preview's order (shared.table_metadata): as written, the markers by name, each with its two groups.
DELTAS_ORDER = shared.AS_WRITTEN
PAIRED_DESCRIPTION = (
    "Lymphocyte subsets before and after blinatumomab (cycle 1; Figure 1, Supplementary Table S1): per subgroup "
    "and marker the pairs, median (range) before, after and of the change, and the Wilcoxon matched-pairs test; "
    "patients missing one side are counted. Tests in marts.statistical_tests (mart immune_paired)."
)
DELTAS_DESCRIPTION = (
    "Change from baseline to the end of cycle 1 compared between R/R + CR-MRDpos and CR-MRDneg patients at "
    "cycle 1 (Figure 2, Supplementary Table S2): median (range) per group and the Mann-Whitney U test."
)
IG_DESCRIPTION = (
    "Serum IgG, IgA and IgM (g/L) before and at the end of cycle 1: median (range) and the Wilcoxon "
    "matched-pairs test (mart immunoglobulins)."
)


def create_immune_pairs(con: duckdb.DuckDBPyConnection, name: str, specimen: str, markers) -> str:
    """TEMP view `name` (per_center.create): the pairs of `markers` measured in `specimen` (pre = baseline,
    post = end of treatment) with each patient's cycle-1 `regimen` and Table 1 `group` (rr_mrdpos, mrdneg;
    NULL when the status is unknown), one row per marker and patient. Returns `name`."""
    sides = pairs_sql(f"({marker_draws_sql(markers)})", {"pre": PRE, "post": END})
    select = f"""
        SELECT pairs.center_id, pairs.marker, pairs.subject_id, pairs.pre, pairs.post, cycle.regimen,
               {table1_group_sql("patient.status_at_first_cycle")} AS "group"
        FROM ({sides}) AS pairs
        LEFT JOIN core.cycles AS cycle ON cycle.subject_id = pairs.subject_id AND cycle.cycle_no = 1
            AND {per_center.in_centers("cycle.center_id")}
        LEFT JOIN core.patients AS patient ON patient.subject_id = pairs.subject_id
            AND {per_center.in_centers("patient.center_id")}
    """
    return per_center.create(con, name, select, CORE_TABLES, {"specimen": specimen, "study": shared.MULTICENTER})


def _markers(con: duckdb.DuckDBPyConnection, pairs: str) -> list[str]:
    return [marker for (marker,) in con.execute(f"SELECT DISTINCT marker FROM {pairs} ORDER BY 1").fetchall()]


EMPTY_PAIRS = {"n_pairs": 0, "n_missing_pre": 0, "n_missing_post": 0}


def paired_table(con: duckdb.DuckDBPyConnection, pairs: str, mart: str,
                 subgroups: dict[str, tuple[str, str | None]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """PAIRED_SCHEMA rows for every subgroup and marker of `pairs` (create_immune_pairs), and their tests
    (marts.statistical_tests rows of `mart`, test_id <subgroup's prefix>.<marker>; none without a pair)."""
    rows, tests = [], []
    markers = _markers(con, pairs)
    for subgroup, (prefix, regimen) in subgroups.items():
        kept = where(regimen=regimen) if regimen else "true"
        summaries = {row["marker"]: row for row in paired_summaries(con, f"SELECT * FROM {pairs} WHERE {kept}",
                                                                     ["marker"]).iter_rows(named=True)}
        for marker in markers:
            row = summaries.get(marker, EMPTY_PAIRS)
            result = (wilcoxon(con, f"SELECT pre, post FROM {pairs} WHERE {kept} AND {where(marker=marker)}")
                      if row["n_pairs"] else None)
            test_id = f"{prefix}.{marker}"
            if result is not None:
                tests.append(shared.test_row(test_id, mart, f"{marker}: cycle-1 baseline vs end of treatment "
                                             f"({subgroup})", ("pre", "post"), result))
            rows.append({**row, "subgroup": subgroup, "marker": marker, "test_id": test_id,
                         "statistic": result and result.statistic, "p_value": result and result.p_value})
    return pl.DataFrame(rows, schema=PAIRED_SCHEMA), shared.tests_frame(tests)


class GroupDeltas(NamedTuple):
    table: pl.DataFrame  # DELTAS_SCHEMA
    tests: pl.DataFrame  # marts.statistical_tests rows
    quantiles: pl.DataFrame  # marker, column (the group), n, q0 ... q100 of the changes compared


def group_deltas(con: duckdb.DuckDBPyConnection, pairs: str) -> GroupDeltas:
    """Each marker of `pairs` (create_immune_pairs) by DELTA_GROUPS, and the Mann-Whitney tests (mart
    immune_group_deltas, test_id immune_delta.<marker>, rr_mrdpos first: W is its U)."""
    in_groups = f'SELECT * FROM {pairs} WHERE "group" IN ({", ".join(map(shared.sql_text, DELTA_GROUPS))})'
    summaries = {(row["marker"], row["group"]): row
                 for row in paired_summaries(con, in_groups, ["marker", '"group"']).iter_rows(named=True)}
    changes = f'SELECT marker, "group", {CHANGE_SQL} AS change FROM ({in_groups}) WHERE {BOTH_KNOWN}'
    rows, tests = [], []
    for marker in _markers(con, pairs):
        test_id = f"immune_delta.{marker}"
        for group in DELTA_GROUPS:
            row = summaries.get((marker, group), EMPTY_PAIRS)
            rows.append({"marker": marker, "group": group, "n": row["n_pairs"], "n_missing_pre": row["n_missing_pre"],
                         "n_missing_post": row["n_missing_post"], "median": row.get("change_median"),
                         "min": row.get("change_min"), "max": row.get("change_max"), "test_id": test_id})
        if all(row["n"] for row in rows[-len(DELTA_GROUPS):]):
            table = two_group_frequencies(con, f"{changes} AND {where(marker=marker)}", "change", "group",
                                          *DELTA_GROUPS)
            result = mann_whitney_from_counts(table)
            tests.append(shared.test_row(test_id, "immune_group_deltas", f"{marker}: change over cycle 1, "
                                         "rr_mrdpos vs mrdneg", DELTA_GROUPS, result))
            for row in rows[-len(DELTA_GROUPS):]:
                row["p_value"] = result.p_value
    return GroupDeltas(pl.DataFrame(rows, schema=DELTAS_SCHEMA), shared.tests_frame(tests),
                       quantiles(con, f'SELECT marker, "group" AS column, change FROM ({changes})', "change",
                                 ["marker", "column"]))


PAIRED_STATISTICS = tuple(f"{side}_{s}" for side in ("pre", "post") for s in SUMMARY)


def published_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """immune.*, immune_14d.*, immune_21_28d.* (lymphocyte markers and immunoglobulins: pre_/post_ median,
    min, max) and immune_delta.* (median, min, max per group), read from this module's marts; the P-values are
    in marts.statistical_tests."""
    paired = pl.concat([shared.read_relation(con, f"{shared.SCHEMA}.{mart}")
                        for mart in ("immune_paired", "immunoglobulins")])
    deltas = shared.read_relation(con, f"{shared.SCHEMA}.immune_group_deltas")
    return pl.concat([published_rows(paired, "subgroup", PAIRED_STATISTICS),
                      published_rows(deltas, "group", SUMMARY)]).sort("id", "group", "statistic")


# --- figures and Dagster assets: the assets only move frames in and tables, tests and figures out -------------

BEFORE_AFTER = ((PRE, "Before"), (END, "After"))
GROUP_LABELS = (("rr_mrdpos", "R/R + CR-MRDpos"), ("mrdneg", "CR-MRDneg"))


def figure1(con: duckdb.DuckDBPyConnection, pairs: str, table: pl.DataFrame, title: str) -> bytes:
    """Before / after per marker over the pairs of subgroup `all` (Figure 1; Ig panels likewise)."""
    sides = " UNION ALL ".join(f"SELECT marker, '{column}' AS column, {side} AS value FROM {pairs} WHERE {BOTH_KNOWN}"
                               for side, column in (("pre", PRE), ("post", END)))
    p_values = dict(table.filter(pl.col("subgroup") == "all").select("marker", "p_value").iter_rows())
    return distribution_figure(quantiles(con, sides, "value", ["marker", "column"]), BEFORE_AFTER, p_values, title,
                               order=[*MARKERS, *IMMUNOGLOBULINS], connect=True)


def figure2(deltas: GroupDeltas) -> bytes:
    p_values = dict(deltas.table.select("marker", "p_value").unique("marker").iter_rows())
    return distribution_figure(deltas.quantiles, GROUP_LABELS, p_values,
                               "Figure 2. Change over cycle 1, R/R + CR-MRDpos vs CR-MRDneg",
                               order=[*MARKERS, *BLOOD_COUNTS], panel_title="Change in {label}")


class PairedMart(NamedTuple):
    table: pl.DataFrame  # PAIRED_SCHEMA
    tests: pl.DataFrame  # marts.statistical_tests rows
    figures: dict[str, bytes]  # file name -> its Figure-1-style figure


def paired_mart(con: duckdb.DuckDBPyConnection, mart: str, pairs: str, subgroups, title: str,
                png_name: str) -> PairedMart:
    """A before/after mart (immune_paired, immunoglobulins) of the markers of `pairs` (create_immune_pairs)."""
    table, tests = paired_table(con, pairs, mart, subgroups)
    return PairedMart(table, tests, {png_name: figure1(con, pairs, table, title)})


def publish_paired(warehouse: WarehouseResource, mart: str, paired: PairedMart, description: str,
                   asset_key: dg.AssetKey | None = None) -> dg.MaterializeResult:
    return shared.publish_mart(warehouse, mart, paired.table, paired.tests, description, PAIRED_COLUMNS,
                               PAIRED_ORDER, paired.figures, asset_key)


BLOOD_KEYS = {mart: dg.AssetKey([shared.SCHEMA, mart]) for mart in ("immune_paired", "immune_group_deltas")}
CORE_TABLES = ("patients", "cycles", "lab_draws")


@dg.multi_asset(
    specs=[dg.AssetSpec(key, deps=shared.core_deps(CORE_TABLES), group_name="marts", kinds={"duckdb", "polars"},
                        description=description)
           for key, description in zip(BLOOD_KEYS.values(), (PAIRED_DESCRIPTION, DELTAS_DESCRIPTION), strict=True)],
    pool=POOL, op_tags=SIDE_BY_SIDE,
)
@shared.skip_while_inputs_unchanged("marts.immune_blood", CORE_TABLES)
def immune_blood_assets(warehouse: WarehouseResource):
    """marts.immune_paired and marts.immune_group_deltas from one table of cycle 1's blood pairs (the
    lymphocyte markers and the blood counts): building it is most of either mart's cost (1.4 s of
    immune_group_deltas' 1.9 s at 100,000 patients), which each paid for its own pairs."""
    with warehouse.connect() as con:
        pairs = create_immune_pairs(con, "immune_blood_pairs", "blood", MARKERS | BLOOD_COUNTS)
        con.execute(f"CREATE OR REPLACE TEMP VIEW immune_paired_pairs AS SELECT * FROM {pairs}"
                    f" WHERE marker IN ({', '.join(map(shared.sql_text, MARKERS))})")
        paired = paired_mart(con, "immune_paired", "immune_paired_pairs", SUBGROUPS,
                             "Figure 1. Lymphocyte subsets before and after cycle 1", "figure1_immune_paired.png")
        deltas = group_deltas(con, pairs)
    yield publish_paired(warehouse, "immune_paired", paired, PAIRED_DESCRIPTION, BLOOD_KEYS["immune_paired"])
    yield shared.publish_mart(warehouse, "immune_group_deltas", deltas.table, deltas.tests, DELTAS_DESCRIPTION,
                              DELTAS_COLUMNS, DELTAS_ORDER, {"figure2_immune_group_deltas.png": figure2(deltas)},
                              BLOOD_KEYS["immune_group_deltas"])


@shared.mart_asset("immunoglobulins", IG_DESCRIPTION, CORE_TABLES)
def immunoglobulins_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        pairs = create_immune_pairs(con, "immunoglobulin_pairs", "serum", IMMUNOGLOBULINS)
        paired = paired_mart(con, "immunoglobulins", pairs, IG_SUBGROUPS,
                             "Immunoglobulins (g/L) before and after cycle 1", "immunoglobulins_paired.png")
    return publish_paired(warehouse, "immunoglobulins", paired, IG_DESCRIPTION)
