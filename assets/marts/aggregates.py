"""The inputs of the marts' statistics, aggregated in DuckDB: Python receives O(distinct values) rows.

Each function takes a DuckDB connection, a source (a relation on that connection, or the text of a query on
it) and the names of the columns to use, and returns a small polars frame shaped for a function of
`assets.marts.stats` (docs/statistics.md, "Statistics from aggregates"). Column names are quoted, values are
bound as parameters. A value is missing when it is NULL or NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from assets.marts.stats.ranks import SETTLE_DECIMALS

Source = str | duckdb.DuckDBPyRelation


def quoted(identifier: str) -> str:
    """A column name as a SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def as_double(column: str) -> str:
    return f"CAST({quoted(column)} AS DOUBLE)"


def known(column: str) -> str:
    """SQL: the column's value is neither NULL nor NaN."""
    return f"coalesce(NOT isnan({as_double(column)}), false)"


def settled(expression: str) -> str:
    """SQL: the value rounded as `stats.ranks.settle` rounds it (half to even), -0.0 made 0.0."""
    return f"round_even({expression}, $decimals) + 0.0"


def group_key(group: str | None) -> str:
    """SQL: the select-list entry naming the group column `group`, or nothing without groups."""
    return f'{quoted(group)} AS "group",' if group else ""


def fetch(con: duckdb.DuckDBPyConnection, source: Source, sql: str, **parameters) -> pl.DataFrame:
    """The result of `sql`, which reads the source as `aggregate_input`, as a polars frame."""
    # DuckDB's replacement scan finds the relation by its local name
    aggregate_input = con.sql(source) if isinstance(source, str) else source  # noqa: F841
    return pl.DataFrame(con.sql(sql, params=parameters))


def survival_counts(
    con: duckdb.DuckDBPyConnection, source: Source, time: str, event: str, group: str | None = None
) -> pl.DataFrame:
    """One row per distinct time (per group and time when `group` is given): [group,] time (Float64), events
    and total (Int64, events + censored), for `kaplan_meier_from_counts` / `logrank_from_counts`. `event`
    is 0/1 or boolean; anything else raises."""
    event_value = as_double(event)
    counts = fetch(con, source, f"""
        SELECT {group_key(group)}
               {as_double(time)} AS time,
               count(*) FILTER ({event_value} = 1) AS events,
               count(*) AS total,
               count(*) FILTER ({event_value} IS DISTINCT FROM 0 AND {event_value} IS DISTINCT FROM 1)
                   AS not_0_or_1
        FROM aggregate_input
        GROUP BY ALL
        ORDER BY ALL
    """)
    if counts["not_0_or_1"].sum():
        raise ValueError(f"{event} must be 0 (censored) or 1 (event)")
    return counts.drop("not_0_or_1")


def two_group_frequencies(
    con: duckdb.DuckDBPyConnection, source: Source, value: str, group: str, x: object, y: object
) -> pl.DataFrame:
    """One row per distinct settled value of the rows whose `group` is `x` or `y`: value (Float64), n_x and
    n_y (Int64), for `mann_whitney_from_counts`. Missing values are left out (`group_summaries` counts
    them)."""
    if x == y:
        raise ValueError(f"x and y are the same group: {x!r}")
    return fetch(con, source, f"""
        SELECT {settled(as_double(value))} AS value,
               count(*) FILTER ({quoted(group)} = $x) AS n_x,
               count(*) FILTER ({quoted(group)} = $y) AS n_y
        FROM aggregate_input
        WHERE {quoted(group)} IN ($x, $y) AND {known(value)}
        GROUP BY ALL
        ORDER BY ALL
    """, x=x, y=y, decimals=SETTLE_DECIMALS)


@dataclass(frozen=True)
class PairedDifferences:
    """`differences`: abs_diff (Float64, > 0, settled), n_positive, n_negative (Int64), one row per distinct
    |post - pre|; with `n_zero`, the input of `wilcoxon_paired_from_counts`. As in `stats.paired_frame`,
    rows with one side missing are counted, not used: `n_missing_pre` (post known), `n_missing_post` (pre
    known); rows with neither are in neither count."""

    differences: pl.DataFrame
    n_zero: int
    n_missing_pre: int
    n_missing_post: int


def paired_differences(con: duckdb.DuckDBPyConnection, source: Source, pre: str, post: str) -> PairedDifferences:
    """The frequency table of post - pre over the source's rows (one row per subject, pre and post side by
    side), settled as the signed-rank test settles them."""
    difference = settled(f"{as_double(post)} - {as_double(pre)}")
    counts = fetch(con, source, f"""
        WITH pairs AS (
            SELECT CASE WHEN {known(pre)} AND {known(post)} THEN {difference} END AS difference,
                   {known(pre)} AS has_pre,
                   {known(post)} AS has_post
            FROM aggregate_input
        )
        SELECT abs(difference) AS abs_diff,
               count(*) FILTER (difference > 0) AS n_positive,
               count(*) FILTER (difference < 0) AS n_negative,
               count(*) FILTER (difference = 0) AS n_zero,
               count(*) FILTER (has_post AND NOT has_pre) AS n_missing_pre,
               count(*) FILTER (has_pre AND NOT has_post) AS n_missing_post
        FROM pairs
        GROUP BY ALL
        ORDER BY ALL
    """, decimals=SETTLE_DECIMALS)
    return PairedDifferences(
        differences=counts.filter(pl.col("abs_diff") > 0).select("abs_diff", "n_positive", "n_negative"),
        n_zero=int(counts["n_zero"].sum()),
        n_missing_pre=int(counts["n_missing_pre"].sum()),
        n_missing_post=int(counts["n_missing_post"].sum()),
    )


def group_summaries(
    con: duckdb.DuckDBPyConnection, source: Source, value: str, group: str | None = None
) -> pl.DataFrame:
    """[group,] n, n_missing (Int64), median, min, max (Float64) of a value column, per group when given:
    `stats.median_range` in SQL (the median of an even count is the mean of the middle two; the figures
    are null without a known value). Without `group` the one row is `MedianRange(**row)`."""
    return fetch(con, source, f"""
        SELECT {group_key(group)}
               count(*) FILTER ({known(value)}) AS n,
               count(*) FILTER (NOT {known(value)}) AS n_missing,
               median({as_double(value)}) FILTER ({known(value)}) AS median,
               min({as_double(value)}) FILTER ({known(value)}) AS min,
               max({as_double(value)}) FILTER ({known(value)}) AS max
        FROM aggregate_input
        GROUP BY ALL
        ORDER BY ALL
    """)


def group_counts(con: duckdb.DuckDBPyConnection, source: Source, columns: Sequence[str]) -> pl.DataFrame:
    """The rows per combination of the columns' values that occurs (NULL is a value): the columns, n (Int64).
    The cells of a Fisher, chi-square or proportion table; a combination that never occurs has no row."""
    keys = ", ".join(quoted(column) for column in columns)
    return fetch(con, source, f"SELECT {keys}, count(*) AS n FROM aggregate_input GROUP BY ALL ORDER BY ALL")


def quantiles(con: duckdb.DuckDBPyConnection, source: Source, value: str, groups: Sequence[str]) -> pl.DataFrame:
    """The groups' columns, n (Int64) and q0, q25, q50, q75, q100 (Float64: minimum, quartiles, median,
    maximum) of the known values per combination of groups: what a figure draws of a distribution, whatever
    the number of its values."""
    keys = ", ".join(quoted(group) for group in groups)
    figures = ", ".join(f"quantile_cont({as_double(value)}, {q / 100}) AS q{q}" for q in (0, 25, 50, 75, 100))
    return fetch(con, source, f"""
        SELECT {keys}, count(*) AS n, {figures}
        FROM aggregate_input
        WHERE {known(value)}
        GROUP BY ALL
        ORDER BY ALL
    """)
