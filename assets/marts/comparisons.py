"""Factors described by group and compared between two groups, as the paper's Tables 1 and 2 do.

A categorical factor gives counts and percentages per group and Fisher's exact test on its 2x2 table; a
continuous one gives median (range) per group and the Mann-Whitney U test (docs/statistics.md). Missing
values are counted per group (`n_missing`), never used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from assets.marts.stats import StatResult, fisher_exact_2x2, mann_whitney, median_range

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
    """`column` of the patient frame. Categorical: `levels` are the values counted (booleans count True
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


def _levelled(frame: pl.DataFrame, factor: Factor) -> pl.Series:
    """The factor's values as level labels (booleans as positive / negative)."""
    values = frame[factor.column]
    if values.dtype == pl.Boolean:
        return values.replace_strict({True: "positive", False: "negative"}, return_dtype=pl.Utf8)
    return values.cast(pl.Utf8)


def describe(frame: pl.DataFrame, group_col: str, groups: Sequence[str], factors: Sequence[Factor]) -> pl.DataFrame:
    """TABLE_SCHEMA rows for each factor and group, in the order given. Group "all" (when listed and not a
    value of `group_col`) describes every row of the frame."""
    rows = []
    for factor in factors:
        for group in groups:
            part = frame if group == "all" else frame.filter(pl.col(group_col) == group)
            rows.extend(_describe_one(part, factor, group))
    return pl.DataFrame(rows, schema=TABLE_SCHEMA)


def _describe_one(part: pl.DataFrame, factor: Factor, group: str) -> list[dict]:
    if factor.continuous:
        summary = median_range(part[factor.column].cast(pl.Float64).to_list())
        return [{"factor": factor.name, "group": group, "n": summary.n, "median": summary.median,
                 "min": summary.min, "max": summary.max, "n_missing": summary.n_missing}]
    values = _levelled(part, factor)
    known = values.drop_nulls()
    return [{"factor": factor.name, "level": level, "group": group, "n": known.len(),
             "k": int((known == level).sum()),
             "pct": 100 * int((known == level).sum()) / known.len() if known.len() else None,
             "n_missing": values.null_count()} for level in factor.levels]


def compare(frame: pl.DataFrame, group_col: str, groups: tuple[str, str], factor: Factor) -> StatResult | None:
    """Fisher's exact test (categorical) or Mann-Whitney U (continuous) of `groups[0]` vs `groups[1]`;
    None when there is nothing to compare: a group without a known value, or a level nobody (or everybody)
    has."""
    parts = [frame.filter(pl.col(group_col) == group) for group in groups]
    if factor.continuous:
        values = [part[factor.column].drop_nulls().cast(pl.Float64).to_list() for part in parts]
        return mann_whitney(*values) if all(values) else None
    table = []
    for part in parts:
        known = _levelled(part, factor).drop_nulls()
        first = int((known == factor.levels[0]).sum())
        second = int((known == factor.levels[1]).sum()) if len(factor.levels) > 1 else known.len() - first
        table.append([first, second])
    margins = [*map(sum, table), *map(sum, zip(*table))]
    return fisher_exact_2x2(table) if all(margins) else None
