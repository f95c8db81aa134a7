"""Cytokine marts: serum cytokines at CRS onset (Figure 3) and the ICANS episodes case by case (Table 4).

* `marts.cytokines`: the 12 cytokines of the multiplex kit before cycle 1 (`baseline`), at CRS onset
  (`crs_onset`) and at the end of treatment (immune_samples: the last scheduled draw inside the infusion),
  among the patients with CRS in cycle 1 (core.adverse_events crs grade >= 1, or a crs_onset draw); Wilcoxon
  matched pairs, before vs onset.
* `marts.icans_cytokines`: every ICANS episode (core.adverse_events icans grade >= 1) with serum cytokines
  both before its cycle (`baseline`) and at ICANS onset (`icans_onset`): serum before, serum at onset and CSF
  at onset (plus CSF white cells and albumin), one row per episode and analyte. Episodes are numbered by onset
  date, then subject_id and cycle.

Values below a kit's limit of detection are taken at the floor (immune_samples.OBSERVED_VALUE_SQL) and flagged.
Draws are chosen, paired and numbered in DuckDB; marts.icans_cytokines is written from SQL.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import polars as pl

from assets.marts import per_center, shared
from assets.marts.aggregates import group_summaries, quantiles, quoted
from assets.marts.immune_plots import distribution_figure
from assets.marts.immune_samples import END, PRE, latest_sql, marker_draws_sql, pairs_sql
from assets.marts.paired_summary import BOTH_KNOWN, SUMMARY, paired_summaries, published_rows, where, wilcoxon
from orchestration.resources import WarehouseResource

# The 12-plex kit, in the order of Figure 3's panels A-L.
CYTOKINES = ("il10", "il5", "ifng", "il2", "il6", "ifna", "il1b", "il8", "il17", "il12p70", "tnfa", "il4")
CSF_CELLS = ("csf_wbc", "csf_albumin")
ONSET = "crs_onset"
# What marts.cytokines reads (its pairs are kept per center from these: per_center.create).
CORE_TABLES = ("patients", "cycles", "lab_draws", "adverse_events")

CYTOKINES_SCHEMA = {
    "analyte": pl.Utf8, "n_pairs": pl.Int64, "n_missing_pre": pl.Int64, "n_missing_crs_onset": pl.Int64,
    **{f"{side}_{s}": pl.Float64 for side in ("pre", "crs_onset", "change") for s in SUMMARY},
    "pre_below_lod": pl.Int64, "crs_onset_below_lod": pl.Int64, "n_end": pl.Int64,
    **{f"end_{s}": pl.Float64 for s in SUMMARY},
    "statistic": pl.Float64, "p_value": pl.Float64, "test_id": pl.Utf8,
}
CYTOKINES_COLUMNS = {
    "analyte": "Cytokine code (pg/mL).",
    "n_pairs": "Patients with CRS in cycle 1 and the cytokine both before the cycle and at CRS onset.",
    "n_missing_pre": "Such patients with the onset value but no value before the cycle (not used).",
    "n_missing_crs_onset": "Such patients with the value before the cycle but none at CRS onset (not used).",
    **{f"{side}_{s}": f"{s.capitalize()} {what} over the pairs, pg/mL."
       for side, what in (("pre", "before cycle 1"), ("crs_onset", "at CRS onset"),
                          ("change", "of onset - before")) for s in SUMMARY},
    "pre_below_lod": "Pairs whose value before the cycle is below the kit's limit of detection (taken at the floor).",
    "crs_onset_below_lod": "Pairs whose onset value is below the limit of detection (taken at the floor).",
    "n_end": "Patients with CRS in cycle 1 and a value at the end of treatment.",
    **{f"end_{s}": f"{s.capitalize()} at the end of treatment, pg/mL." for s in SUMMARY},
    "statistic": "Wilcoxon V, before vs CRS onset (R's convention).",
    "p_value": "Wilcoxon matched-pairs P, before vs CRS onset (docs/statistics.md).",
    "test_id": "Key in marts.statistical_tests: cytokine.<analyte> (no test row without a pair).",
}
# The preview's order (shared.table_metadata): the analytes by name.
CYTOKINES_ORDER = ("analyte",)
CYTOKINES_DESCRIPTION = (
    "Serum cytokines of the patients with CRS in cycle 1, before the cycle, at CRS onset and at the end of "
    "treatment (Figure 3): median (range), values below the limit of detection counted, and the Wilcoxon "
    "matched-pairs test before vs onset (mart cytokines in marts.statistical_tests)."
)
ICANS_SCHEMA = {
    "episode": pl.Int64, "subject_id": pl.Utf8, "cycle_no": pl.Int64, "icans_grade": pl.Int64,
    "onset_date": pl.Date, "analyte": pl.Utf8,
    "serum_pre": pl.Float64, "serum_onset": pl.Float64, "csf_onset": pl.Float64,
    "serum_pre_below_lod": pl.Boolean, "serum_onset_below_lod": pl.Boolean, "csf_onset_below_lod": pl.Boolean,
}
# statistic (the reference's) -> (specimen, timepoint) of the draw
ICANS_DRAWS = {"serum_pre": ("serum", PRE), "serum_onset": ("serum", "icans_onset"),
               "csf_onset": ("csf", "icans_onset")}
ICANS_COLUMNS = {
    "episode": "1, 2, ...: the ICANS episodes with serum cytokines before the cycle and at onset, by onset date "
               "(then subject_id, cycle).",
    "subject_id": "The patient.",
    "cycle_no": "The cycle the ICANS occurred in.",
    "icans_grade": "ASTCT grade (core.adverse_events).",
    "onset_date": "ICANS onset.",
    "analyte": "Cytokine (pg/mL), or csf_wbc (cells/uL) and csf_albumin (mg/L).",
    "serum_pre": "Serum before the cycle (its baseline draw).",
    "serum_onset": "Serum at ICANS onset.",
    "csf_onset": "Cerebrospinal fluid at ICANS onset (NULL: no CSF sample).",
    **{f"{statistic}_below_lod": f"{statistic} is below the kit's limit of detection (the floor is shown)."
       for statistic in ICANS_DRAWS},
}
# The preview's order (shared.table_metadata): episode by episode, each episode's analytes.
ICANS_ORDER = ("episode", "analyte")
ICANS_DESCRIPTION = (
    "Table 4: cytokines in serum before the cycle and at ICANS onset, and in CSF at onset, for every ICANS "
    "episode with serum cytokines before and at onset; one row per episode and analyte."
)


def create_cytokine_pairs(con: duckdb.DuckDBPyConnection, study: str = shared.MULTICENTER) -> str:
    """TEMP view (per_center.create): the cycle-1 serum cytokines side by side (pre = baseline, post = CRS
    onset, end = end of treatment) of the patients with CRS in cycle 1: graded >= 1, or sampled at CRS onset.
    Returns its name."""
    select = f"""
        WITH draws AS ({marker_draws_sql({c: c for c in CYTOKINES})}),
        crs_draws AS (
            SELECT * FROM draws SEMI JOIN (
                SELECT subject_id FROM core.adverse_events
                WHERE cycle_no = 1 AND term = 'crs' AND grade >= 1 AND {per_center.in_centers()}
                UNION SELECT subject_id FROM draws WHERE timepoint = '{ONSET}') USING (subject_id)
        )
        {pairs_sql("crs_draws", {"pre": PRE, "post": ONSET, "end": END})}
    """
    return per_center.create(con, "cytokine_pairs", select, CORE_TABLES, {"specimen": "serum", "study": study})


def cytokine_table(con: duckdb.DuckDBPyConnection, pairs: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CYTOKINES_SCHEMA rows for each analyte of `pairs` (create_cytokine_pairs) and the tests."""
    summaries = paired_summaries(con, f"SELECT * FROM {pairs}", ["marker"], post_name=ONSET)
    below_lod = {row[0]: row[1:] for row in con.execute(f"""
        SELECT marker, count(*) FILTER (pre_below_lod), count(*) FILTER (post_below_lod)
        FROM {pairs} WHERE {BOTH_KNOWN} GROUP BY ALL""").fetchall()}
    ends = {row["group"]: row for row in group_summaries(con, con.table(pairs), "end", "marker").iter_rows(named=True)}
    rows, tests = [], []
    for row in summaries.iter_rows(named=True):
        analyte = row.pop("marker")
        end = ends[analyte]
        result = (wilcoxon(con, f"SELECT pre, post FROM {pairs} WHERE {where(marker=analyte)}")
                  if row["n_pairs"] else None)
        test_id = f"cytokine.{analyte}"
        if result is not None:
            tests.append(shared.test_row(test_id, "cytokines", f"{analyte}: before cycle 1 vs CRS onset",
                                         ("pre", ONSET), result))
        pre_below_lod, onset_below_lod = below_lod.get(analyte, (0, 0))
        rows.append({**row, "analyte": analyte, "pre_below_lod": pre_below_lod, "crs_onset_below_lod": onset_below_lod,
                     "n_end": end["n"], **{f"end_{s}": end[s] for s in SUMMARY},
                     "statistic": result and result.statistic, "p_value": result and result.p_value,
                     "test_id": test_id})
    return pl.DataFrame(rows, schema=CYTOKINES_SCHEMA), shared.tests_frame(tests)


# SQL: per ICANS episode of $study (of the centers $centers: per_center.in_centers) with serum cytokines before
# and at onset, one row per analyte: center_id, `copy` (1, 2, ... among identical episode rows of one cycle)
# and the columns of ICANS_SCHEMA but the episode's number, which ICANS_EPISODES_SQL gives over every center.
ICANS_DRAWS_SQL = f"""
    WITH episodes AS (
        SELECT center_id, subject_id, CAST(cycle_no AS BIGINT) AS cycle_no, CAST(grade AS BIGINT) AS icans_grade,
               onset_date
        FROM core.adverse_events
        WHERE term = 'icans' AND grade >= 1 AND {shared.IN_STUDY_SQL} AND {per_center.in_centers()}
    ), draws AS ({latest_sql(
        f"analyte IN ({', '.join(map(shared.sql_text, (*CYTOKINES, *CSF_CELLS)))}) AND {shared.IN_STUDY_SQL}"
        f" AND {per_center.in_centers()}",
        ["subject_id", "CAST(cycle_no AS BIGINT) AS cycle_no", "specimen", "timepoint", "analyte"])}
    ), draw_values AS (
        SELECT subject_id, cycle_no, analyte,
               {", ".join(f"max(value) FILTER (specimen = '{specimen}' AND timepoint = '{timepoint}') AS {name}, "
                          f"bool_or(below_lod) FILTER (specimen = '{specimen}' AND timepoint = '{timepoint}') "
                          f"AS {name}_below_lod" for name, (specimen, timepoint) in ICANS_DRAWS.items())}
        FROM draws
        WHERE {" OR ".join(f"(specimen = '{specimen}' AND timepoint = '{timepoint}')"
                           for specimen, timepoint in ICANS_DRAWS.values())}
        GROUP BY ALL
    ), sampled AS (
        SELECT row_number() OVER (PARTITION BY subject_id, cycle_no, icans_grade, onset_date) AS copy, *
        FROM episodes SEMI JOIN (SELECT subject_id, cycle_no FROM draw_values
                                 WHERE serum_pre IS NOT NULL AND serum_onset IS NOT NULL) USING (subject_id, cycle_no)
    )
    SELECT center_id, copy, {", ".join(column for column in ICANS_SCHEMA if column != "episode")}
    FROM sampled JOIN draw_values USING (subject_id, cycle_no)
"""
ICANS_EPISODE_DRAWS = "icans_episode_draws"  # per_center.create's view of ICANS_DRAWS_SQL
ICANS_CORE_TABLES = ("patients", "lab_draws", "adverse_events")

# SQL: the Table 4 rows (ICANS_SCHEMA) of every ICANS episode, numbered by onset date, then subject and cycle.
ICANS_EPISODES_SQL = f"""
    WITH numbered AS (
        SELECT row_number() OVER (ORDER BY onset_date NULLS LAST, subject_id NULLS LAST, cycle_no NULLS LAST, copy)
                   AS episode, *
        FROM (SELECT DISTINCT copy, subject_id, cycle_no, icans_grade, onset_date FROM {ICANS_EPISODE_DRAWS})
    )
    SELECT {", ".join(ICANS_SCHEMA)}
    FROM numbered JOIN {ICANS_EPISODE_DRAWS} USING (copy, subject_id, cycle_no, icans_grade, onset_date)
    ORDER BY episode, analyte
"""


# --- the paper's numbers ------------------------------------------------------------------------------------

TABLE4_PREFIX = "table4.case"


def published_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """cytokine.* (pre_ and crs_onset_ median, min, max), read from marts.cytokines, and
    table4.case<k>.<analyte> (serum_pre, serum_onset, csf_onset of episode k: the paper's k-th case by onset),
    from marts.icans_cytokines; the P-values are in marts.statistical_tests. Nothing here reads the paper's
    values: which rows the mart holds is the clinical rule's alone."""
    table = shared.read_relation(con, f"{shared.SCHEMA}.cytokines")
    statistics = [f"{side}_{s}" for side in ("pre", ONSET) for s in SUMMARY]
    episodes = shared.read_relation(con, f"{shared.SCHEMA}.icans_cytokines")
    table4 = episodes.with_columns(test_id=pl.format(f"{TABLE4_PREFIX}{{}}.{{}}", "episode", "analyte"))
    return pl.concat([published_rows(table, None, statistics),
                      published_rows(table4, None, tuple(ICANS_DRAWS))]).sort("id", "statistic")


# --- Dagster assets: tables, tests and the figure out --------------------------------------------------------

FIGURE3_TIMEPOINTS = ((PRE, "Before"), (ONSET, "CRS onset"), (END, "End"))


def figure3(con: duckdb.DuckDBPyConnection, pairs: str, table: pl.DataFrame) -> bytes:
    """Each cytokine before, at CRS onset and at the end of treatment for the patients paired before vs onset."""
    values = " UNION ALL ".join(f"SELECT marker, '{timepoint}' AS column, {quoted(side)} AS value FROM {pairs} "
                                f"WHERE {BOTH_KNOWN}"
                                for side, timepoint in (("pre", PRE), ("post", ONSET), ("end", END)))
    p_values = dict(table.select("analyte", "p_value").iter_rows())
    return distribution_figure(quantiles(con, values, "value", ["marker", "column"]), FIGURE3_TIMEPOINTS, p_values,
                               "Figure 3. Serum cytokines (pg/mL) in cycle 1, CRS", order=CYTOKINES, log_scale=True,
                               connect=True)


@shared.mart_asset("cytokines", CYTOKINES_DESCRIPTION, CORE_TABLES)
def cytokines_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        pairs = create_cytokine_pairs(con)
        table, tests = cytokine_table(con, pairs)
        png = figure3(con, pairs, table)
    return shared.publish_mart(warehouse, "cytokines", table, tests, CYTOKINES_DESCRIPTION, CYTOKINES_COLUMNS,
                               CYTOKINES_ORDER, {"figure3_cytokines_crs.png": png})


@shared.mart_asset("icans_cytokines", ICANS_DESCRIPTION, ICANS_CORE_TABLES)
def icans_cytokines_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        per_center.create(con, ICANS_EPISODE_DRAWS, ICANS_DRAWS_SQL, ICANS_CORE_TABLES, {"study": shared.MULTICENTER})
        shared.write_query(con, "icans_cytokines", ICANS_EPISODES_SQL, ICANS_DESCRIPTION, ICANS_COLUMNS)
        relation = f"{shared.SCHEMA}.icans_cytokines"
        [(episodes,)] = con.execute(f"SELECT count(DISTINCT episode) FROM {relation}").fetchall()
        metadata = shared.table_metadata(con, relation, ICANS_ORDER, episodes=episodes)
    return dg.MaterializeResult(metadata=metadata)
