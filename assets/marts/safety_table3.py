"""The paper's Table 3: adverse events per blinatumomab cycle by grade band, for all cycles and by Table 3 column.

Table 3 counts cycles, not patients. A cycle's column is core.cycles.table3_group (`mrdneg`, 74 cycles on the
demo cohort; `rr_mrdpos`, 51); a cycle whose column is unknown counts in `all` only. A grade is the toxicity
form's (core.adverse_events, one row per cycle and solicited term). A missing grade (NULL, or no row for the
term) means *not assessed*: such cycles are counted in `not_assessed` and left out of the denominator, never
folded into grade 0. Should a cycle carry a term twice, its worst grade counts. The cycles are graded and
counted in DuckDB; Python sees one row per term, group and band.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from assets.marts import per_center, shared
from assets.marts.aggregates import fetch
from assets.marts.stats import chi_square, fisher_exact_2x2, grade_band

if TYPE_CHECKING:
    import duckdb

MART = "safety"
TERMS = ("crs", "icans", "infection", "tls", "neutropenia", "thrombocytopenia")
GROUPS = ("all", "mrdneg", "rr_mrdpos")  # Table 3's columns, in its order, after the total
BANDS = ("g0", "g1_2", "g3_4", "any")  # `any` is grade >= 1 (the paper's row for infection and TLS)
# The paper's tests between the two columns: Fisher's exact test on grade 0 vs grades 1-4, except
# neutropenia, a chi-square test without continuity correction on grade 0 / 1-2 / 3-4 (the only rules that
# reproduce its P-values from its counts: docs/published-results.md).
BAND_CHI_SQUARE_TERMS = ("neutropenia",)
# The TEMP view create_cycle_grades gives: center_id, subject_id, cycle_no, table3_group, term, grade, onset_date;
# and the core tables its rows are computed from.
CYCLE_GRADES = "cycle_grades"
GRADES_CORE_TABLES = ("patients", "cycles", "adverse_events")

BAND_SCHEMA = {
    "term": pl.Utf8, "source": pl.Utf8, "group": pl.Utf8, "band": pl.Utf8, "cycles": pl.Int64,
    "assessed": pl.Int64, "pct": pl.Float64, "not_assessed": pl.Int64, "group_cycles": pl.Int64,
    "patients": pl.Int64,
}
BAND_COLUMNS = {
    "term": "crs, icans (ASTCT), infection, tls, neutropenia, thrombocytopenia (CTCAE v5.0).",
    "source": "reported (the toxicity form, core.adverse_events) or lab_nadir (neutropenia and thrombocytopenia "
              "graded by CTCAE v5.0 from the cycle's on-treatment blood-count nadir: marts.safety_cytopenia_grades).",
    "group": "all cycles, or Table 3's column: mrdneg (CR-MRDneg) or rr_mrdpos (R/R + CR-MRDpos); "
             "core.cycles.table3_group documents the rule.",
    "band": "g0 (grade 0), g1_2, g3_4 (grade 5 counts here), any (grade >= 1).",
    "cycles": "Cycles of the group in the band.",
    "assessed": "The denominator: cycles of the group with a known grade for the term.",
    "pct": "100 cycles / assessed; NULL when no cycle was assessed.",
    "not_assessed": "Cycles of the group without a grade (not assessed): outside the denominator, never grade 0.",
    "group_cycles": "All cycles of the group (assessed + not_assessed).",
    "patients": "Distinct patients with a cycle of the group in the band (a patient can be in several bands).",
}
# The preview's order (shared.table_metadata): as written, per term, source and group, its grade bands in order.
BAND_ORDER = shared.AS_WRITTEN


def reported_grades() -> tuple[str, str]:
    """band_counts' `grades`: create_cycle_grades' view, its grade column."""
    return CYCLE_GRADES, "grade"


def create_cycle_grades(con: duckdb.DuckDBPyConnection, study: str = shared.MULTICENTER) -> str:
    """TEMP view CYCLE_GRADES (per_center.create): one row per cycle of `study` and solicited term, with its
    center_id, the cycle's worst reported grade and the earliest onset among its rows; grade NULL when the term
    was not assessed or not delivered. Returns its name."""
    terms = ", ".join(f"({shared.sql_text(term)})" for term in TERMS)
    select = f"""
        WITH reported AS (
            SELECT subject_id, cycle_no, term, max(grade) AS grade, min(onset_date) AS onset_date
            FROM core.adverse_events
            WHERE term IN (SELECT term FROM (VALUES {terms}) AS t(term)) AND {per_center.in_centers()}
            GROUP BY ALL
        )
        SELECT cycle.center_id, cycle.subject_id, CAST(cycle.cycle_no AS BIGINT) AS cycle_no, cycle.table3_group,
               solicited.term, CAST(reported.grade AS BIGINT) AS grade, reported.onset_date
        FROM core.cycles AS cycle
        CROSS JOIN (VALUES {terms}) AS solicited(term)
        LEFT JOIN reported
            ON reported.subject_id IS NOT DISTINCT FROM cycle.subject_id
           AND reported.cycle_no IS NOT DISTINCT FROM cycle.cycle_no AND reported.term = solicited.term
        WHERE cycle.{shared.IN_STUDY_SQL} AND {per_center.in_centers("cycle.center_id")}
    """
    return per_center.create(con, CYCLE_GRADES, select, GRADES_CORE_TABLES, {"study": study})


def band_counts(con: duckdb.DuckDBPyConnection, grades: tuple[str, str], source: str) -> pl.DataFrame:
    """BAND_SCHEMA rows for every term of `grades` (a per_center view with one row per cycle and term:
    center_id, subject_id, term, table3_group, and the grade column named), group and band. Counted per center
    (per_center.create; the view's own record carries what its rows are computed from): a patient's cycles are
    all in one center, so the centers' cycles and distinct patients add up."""
    view, grade = grades
    grouped = f"""
        WITH grouped AS (
            SELECT center_id, subject_id, term, 'all' AS "group", {grade} AS grade FROM {view}
            WHERE {per_center.in_centers()}
            UNION ALL
            SELECT center_id, subject_id, term, table3_group, {grade} FROM {view}
            WHERE table3_group IN ({", ".join(map(shared.sql_text, GROUPS[1:]))}) AND {per_center.in_centers()}
        )"""
    partial = per_center.create(con, f"{view}_bands", f"""{grouped}
        SELECT center_id, 'cycles' AS kind, term, "group", {grade_band("grade")} AS band, grade >= 1 AS any,
               count(*) AS n
        FROM grouped
        GROUP BY ALL
        UNION ALL
        SELECT center_id, 'patients', term, "group", band, NULL, count(DISTINCT subject_id)
        FROM (SELECT center_id, term, "group", {grade_band("grade")} AS band, subject_id FROM grouped
              WHERE grade IS NOT NULL
              UNION ALL
              SELECT center_id, term, "group", 'any', subject_id FROM grouped WHERE grade >= 1)
        GROUP BY ALL
    """, GRADES_CORE_TABLES, {}, reads=[view])
    counts = fetch(con, f"SELECT * FROM {partial}", """
        SELECT term, "group", band, "any", CAST(sum(n) AS BIGINT) AS n FROM aggregate_input WHERE kind = 'cycles'
        GROUP BY ALL
    """)
    patients = {(term, group, band): n for term, group, band, n in fetch(con, f"SELECT * FROM {partial}", """
        SELECT term, "group", band, CAST(sum(n) AS BIGINT) FROM aggregate_input WHERE kind = 'patients'
        GROUP BY ALL
    """).iter_rows()}
    rows = []
    for term in sorted(set(counts["term"]), key=TERMS.index):
        for group in GROUPS:
            part = counts.filter((pl.col("term") == term) & (pl.col("group") == group))
            group_cycles = int(part["n"].sum())
            assessed = int(part.filter(pl.col("band").is_not_null())["n"].sum())
            for band in BANDS:
                in_band = int(part.filter(pl.col("any") if band == "any" else pl.col("band") == band)["n"].sum())
                rows.append({
                    "term": term, "source": source, "group": group, "band": band, "cycles": in_band,
                    "assessed": assessed, "pct": 100 * in_band / assessed if assessed else None,
                    "not_assessed": group_cycles - assessed, "group_cycles": group_cycles,
                    "patients": patients.get((term, group, band), 0),
                })
    return pl.DataFrame(rows, schema=BAND_SCHEMA)


def table3_tests(counts: pl.DataFrame) -> pl.DataFrame:
    """The paper's test of each term between Table 3's columns, on the reported grades (rows of
    marts.statistical_tests, test_id table3.<term>). A term without a comparison (no cycle in a band, as TLS
    on the demo cohort: nothing occurred) gets no row."""
    reported = counts.filter(pl.col("source") == "reported")
    rows = []
    for term in TERMS:
        table = [_column_counts(reported, term, group) for group in ("mrdneg", "rr_mrdpos")]
        if not table[0]:
            continue
        if term in BAND_CHI_SQUARE_TERMS:
            table = [row[:3] for row in table]
            result = chi_square(table, correction=False) if _no_empty_margin(table) else None
            outcome = "grade 0 vs 1-2 vs 3-4"
        else:
            table = [[row[0], row[3]] for row in table]
            result = fisher_exact_2x2(table) if _no_empty_margin(table) else None
            outcome = "grade 0 vs 1-4"
        if result is not None:
            rows.append(shared.test_row(f"table3.{term}", MART, f"Table 3, {term} per cycle: {outcome}",
                                        ("mrdneg", "rr_mrdpos"), result))
    return shared.tests_frame(rows)


def _column_counts(counts: pl.DataFrame, term: str, group: str) -> list[int]:
    """Cycles of a column in g0, g1_2, g3_4 and any, in that order ([] when the term is not in `counts`)."""
    part = counts.filter((pl.col("term") == term) & (pl.col("group") == group))
    by_band = dict(zip(part["band"], part["cycles"]))
    return [by_band[band] for band in BANDS] if by_band else []


def _no_empty_margin(table: list[list[int]]) -> bool:
    return all(sum(row) for row in table) and all(sum(column) for column in zip(*table))


# Reference rows of Table 3: the bands each term is published in.
PUBLISHED_BANDS = {
    "crs": ("g0", "g1_2", "g3_4"), "icans": ("g0", "g1_2", "g3_4"), "neutropenia": ("g0", "g1_2", "g3_4"),
    "thrombocytopenia": ("g0", "g1_2", "g3_4"), "infection": ("any",), "tls": ("any",),
}
PUBLISHED_DENOMINATORS = ("neutropenia", "thrombocytopenia")


def table3_published(counts: pl.DataFrame) -> list[tuple[str, str | None, str, float | None]]:
    """(id, group, statistic, computed_value) of Table 3's counts and denominators, from the reported grades."""
    reported = counts.filter(pl.col("source") == "reported")
    rows = [
        (f"table3.{row['term']}.{row['band']}", row["group"], "n", row["cycles"])
        for row in reported.iter_rows(named=True) if row["band"] in PUBLISHED_BANDS[row["term"]]
    ]
    totals = reported.filter((pl.col("group") == "all") & (pl.col("band") == "g0"))
    rows += [(f"table3.{term}", None, "denominator", assessed)
             for term, assessed in totals.select("term", "assessed").iter_rows() if term in PUBLISHED_DENOMINATORS]
    return rows
