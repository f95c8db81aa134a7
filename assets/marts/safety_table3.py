"""The paper's Table 3: adverse events per blinatumomab cycle by grade band, for all cycles and by Table 3 column.

Table 3 counts cycles, not patients. A cycle's column is core.cycles.table3_group (`mrdneg`, 74 cycles on the
demo cohort; `rr_mrdpos`, 51); a cycle whose column is unknown counts in `all` only. A grade is the toxicity
form's (core.adverse_events, one row per cycle and solicited term). A missing grade (NULL, or no row for the
term) means *not assessed*: such cycles are counted in `not_assessed` and left out of the denominator, never
folded into grade 0. Should a cycle carry a term twice, its worst grade counts.
"""

from __future__ import annotations

import polars as pl

from assets.marts import shared
from assets.marts.stats import chi_square, fisher_exact_2x2, grade_band

MART = "safety"
TERMS = ("crs", "icans", "infection", "tls", "neutropenia", "thrombocytopenia")
GROUPS = ("all", "mrdneg", "rr_mrdpos")  # Table 3's columns, in its order, after the total
BANDS = ("g0", "g1_2", "g3_4", "any")  # `any` is grade >= 1 (the paper's row for infection and TLS)
# The paper's tests between the two columns: Fisher's exact test on grade 0 vs grades 1-4, except
# neutropenia, a chi-square test without continuity correction on grade 0 / 1-2 / 3-4 (the only rules that
# reproduce its P-values from its counts: docs/published-results.md).
BAND_CHI_SQUARE_TERMS = ("neutropenia",)

CYCLE_GRADE_SCHEMA = {
    "subject_id": pl.Utf8, "cycle_no": pl.Int64, "table3_group": pl.Utf8, "term": pl.Utf8, "grade": pl.Int64,
    "onset_date": pl.Date,
}
BAND_SCHEMA = {
    "term": pl.Utf8, "source": pl.Utf8, "group": pl.Utf8, "band": pl.Utf8, "cycles": pl.Int64,
    "assessed": pl.Int64, "pct": pl.Float64, "not_assessed": pl.Int64, "group_cycles": pl.Int64,
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
}


def cycle_grades(cycles: pl.DataFrame, adverse_events: pl.DataFrame) -> pl.DataFrame:
    """One row per cycle and solicited term (CYCLE_GRADE_SCHEMA): the cycle's worst reported grade and the
    earliest onset among its rows; grade NULL when the term was not assessed or not delivered."""
    reported = (
        adverse_events.filter(pl.col("term").is_in(TERMS))
        .group_by("subject_id", "cycle_no", "term")
        .agg(pl.col("grade").max(), pl.col("onset_date").min())
    )
    every_term = pl.DataFrame({"term": TERMS}, schema={"term": pl.Utf8})
    return (
        cycles.select("subject_id", "cycle_no", "table3_group")
        .join(every_term, how="cross")
        .join(reported, on=["subject_id", "cycle_no", "term"], how="left", nulls_equal=True)
        .select(list(CYCLE_GRADE_SCHEMA))
        .cast(CYCLE_GRADE_SCHEMA)
        .sort("term", "subject_id", "cycle_no")
    )


def band_counts(grades: pl.DataFrame, source: str) -> pl.DataFrame:
    """BAND_SCHEMA rows for every term of `grades` (columns term, table3_group, grade), group and band."""
    banded = grades.with_columns(band=grade_band(pl.col("grade")))
    rows = []
    for term in sorted(banded["term"].unique().to_list(), key=TERMS.index):
        of_term = banded.filter(pl.col("term") == term)
        for group in GROUPS:
            part = of_term if group == "all" else of_term.filter(pl.col("table3_group") == group)
            assessed = part.filter(pl.col("grade").is_not_null())
            for band in BANDS:
                in_band = assessed.filter((pl.col("grade") >= 1) if band == "any" else (pl.col("band") == band))
                rows.append({
                    "term": term, "source": source, "group": group, "band": band, "cycles": in_band.height,
                    "assessed": assessed.height,
                    "pct": 100 * in_band.height / assessed.height if assessed.height else None,
                    "not_assessed": part.height - assessed.height, "group_cycles": part.height,
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
