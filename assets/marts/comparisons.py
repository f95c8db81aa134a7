"""Factors described by group and compared between two groups, as the paper's Tables 1 and 2 do.

A categorical factor gives counts and percentages per group and Fisher's exact test on its 2x2 table; a
continuous one gives median (range) per group and the Mann-Whitney U test (docs/statistics.md). Missing
values are counted per group (`n_missing`), never used. Counts, medians and rank frequencies are computed
in DuckDB (assets/marts/aggregates.py) over a relation of one row per patient; Python sees only those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from assets.marts.aggregates import Source, group_counts, group_summaries, two_group_frequencies
from assets.marts.stats import StatResult, fisher_exact_2x2, mann_whitney_from_counts

if TYPE_CHECKING:
    import duckdb

TABLE_SCHEMA: dict[str, pl.DataType] = {
    "factor": pl.Utf8, "level": pl.Utf8, "group": pl.Utf8, "n": pl.Int64, "k": pl.Int64, "pct": pl.Float64,
    "median": pl.Float64, "min": pl.Float64, "max": pl.Float64, "n_missing": pl.Int64,
}
TABLE_COLUMNS = {
    "factor": "The characteristic (a core column, or a baseline lab analyte).",
    "level": "Categorical factors: the level counted (e.g. female, positive); NULL for continuous ones.",
    "group": "The column of the table the row describes.",
    "n": "Patients in the group with a known value of the factor.",
    "k": "Categorical factors: patients at `level`.",
    "pct": "Categorical factors: 100 k / n.",
    "median": "Continuous factors: median of the known values (mean of the middle two for an even count).",
    "min": "Continuous factors: minimum.",
    "max": "Continuous factors: maximum.",
    "n_missing": "Patients in the group whose value is unknown (not used).",
}


@dataclass(frozen=True)
class Factor:
    """`column` of the patient relation. Categorical: `levels` are the values counted (booleans count True
    as `positive`); two levels, or one flag, make a 2x2 table. Continuous: `levels` is empty."""

    name: str
    column: str
    levels: tuple[str, ...] = ()
    continuous: bool = False
    compared: bool = True


def flag(name: str, column: str | None = None) -> Factor:
    return Factor(name, column or name, levels=("positive",))


def continuous(name: str, column: str | None = None, compared: bool = True) -> Factor:
    return Factor(name, column or name, continuous=True, compared=compared)


LEVELS = {True: "positive", False: "negative"}


def _level(value: object) -> str | None:
    """A factor's value as its level label (booleans as positive / negative)."""
    return LEVELS[value] if isinstance(value, bool) else None if value is None else str(value)


def _level_counts(con: duckdb.DuckDBPyConnection, source: Source, group_col: str, factor: Factor) -> pl.DataFrame:
    """Patients per group and level: group, level (NULL: unknown), n."""
    counts = group_counts(con, source, [group_col, factor.column])
    return pl.DataFrame({
        "group": counts[group_col].cast(pl.Utf8),
        "level": pl.Series([_level(value) for value in counts[factor.column].to_list()], dtype=pl.Utf8),
        "n": counts["n"],
    })


def describe(con: duckdb.DuckDBPyConnection, source: Source, group_col: str, groups: Sequence[str],
             factors: Sequence[Factor]) -> pl.DataFrame:
    """TABLE_SCHEMA rows for each factor and group, in the order given, from the patients of `source` (one row
    per patient). Group "all" (when listed and not a value of `group_col`) describes every patient."""
    rows = []
    for factor in factors:
        if factor.continuous:
            summaries = {row["group"]: row for row in group_summaries(con, source, factor.column, group_col)
                         .with_columns(pl.col("group").cast(pl.Utf8)).iter_rows(named=True)}
            if "all" in groups:
                summaries["all"] = group_summaries(con, source, factor.column).row(0, named=True)
            rows.extend(_summary_row(factor, group, summaries.get(group)) for group in groups)
        else:
            counts = _level_counts(con, source, group_col, factor)
            rows.extend(row for group in groups for row in _count_rows(factor, group, counts))
    return pl.DataFrame(rows, schema=TABLE_SCHEMA)


def _summary_row(factor: Factor, group: str, summary: dict | None) -> dict:
    summary = summary or {"n": 0, "n_missing": 0}
    return {"factor": factor.name, "group": group, "n": summary["n"], "median": summary.get("median"),
            "min": summary.get("min"), "max": summary.get("max"), "n_missing": summary["n_missing"]}


def _count_rows(factor: Factor, group: str, counts: pl.DataFrame) -> list[dict]:
    part = counts if group == "all" else counts.filter(pl.col("group") == group)
    known = part.filter(pl.col("level").is_not_null())
    n = int(known["n"].sum())
    rows = []
    for level in factor.levels:
        k = int(known.filter(pl.col("level") == level)["n"].sum())
        rows.append({"factor": factor.name, "level": level, "group": group, "n": n, "k": k,
                     "pct": 100 * k / n if n else None, "n_missing": int(part["n"].sum()) - n})
    return rows


def compare(con: duckdb.DuckDBPyConnection, source: Source, group_col: str, groups: tuple[str, str],
            factor: Factor) -> StatResult | None:
    """Fisher's exact test (categorical) or Mann-Whitney U (continuous) of `groups[0]` vs `groups[1]`, from
    counts; None when there is nothing to compare: a group without a known value, or a level nobody (or
    everybody) has."""
    if factor.continuous:
        table = two_group_frequencies(con, source, factor.column, group_col, *groups)
        return mann_whitney_from_counts(table) if table["n_x"].sum() and table["n_y"].sum() else None
    counts = _level_counts(con, source, group_col, factor).filter(pl.col("level").is_not_null())
    table = []
    for group in groups:
        known = counts.filter(pl.col("group") == group)
        first = int(known.filter(pl.col("level") == factor.levels[0])["n"].sum())
        second = (int(known.filter(pl.col("level") == factor.levels[1])["n"].sum()) if len(factor.levels) > 1
                  else int(known["n"].sum()) - first)
        table.append([first, second])
    margins = [*map(sum, table), *map(sum, zip(*table))]
    return fisher_exact_2x2(table) if all(margins) else None
