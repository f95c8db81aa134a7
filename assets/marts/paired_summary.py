"""How the immune and cytokine marts describe and test a before / after comparison: the pairs' median (range)
before, after and of the change, the incomplete pairs counted, Wilcoxon matched pairs (docs/statistics.md), all
from aggregates computed in DuckDB over a table of pairs (immune_samples.create_pairs: one row per marker and
patient, columns pre and post); and how a mart table becomes the rows paper_reproduction compares with the
paper."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from assets.marts import shared
from assets.marts.aggregates import fetch, known, paired_differences
from assets.marts.stats import StatResult, wilcoxon_paired_from_counts

if TYPE_CHECKING:
    import duckdb

SUMMARY = ("median", "min", "max")
# SQL: after - before of a pair; float noise must not move a printed digit.
CHANGE_SQL = "round_even(post - pre, 10)"
BOTH_KNOWN = f"{known('pre')} AND {known('post')}"


def _summary(name: str, value: str) -> str:
    return ", ".join(f"{function}({value}) FILTER ({BOTH_KNOWN}) AS {name}_{function}" for function in SUMMARY)


def paired_summaries(con: duckdb.DuckDBPyConnection, pairs: str, keys: Sequence[str],
                     post_name: str = "post") -> pl.DataFrame:
    """Per combination of the `keys` of `pairs` (a query with the keys, pre and post): n_pairs, n_missing_pre,
    n_missing_<post_name>, pre_/<post_name>_/change_ median, min, max over the complete pairs."""
    return fetch(con, pairs, f"""
        SELECT {", ".join(keys)},
               count(*) FILTER ({BOTH_KNOWN}) AS n_pairs,
               count(*) FILTER ({known('post')} AND NOT {known('pre')}) AS n_missing_pre,
               count(*) FILTER ({known('pre')} AND NOT {known('post')}) AS n_missing_{post_name},
               {_summary("pre", "pre")}, {_summary(post_name, "post")}, {_summary("change", CHANGE_SQL)}
        FROM aggregate_input
        GROUP BY ALL
        ORDER BY ALL
    """)


def wilcoxon(con: duckdb.DuckDBPyConnection, pairs: str) -> StatResult:
    """Wilcoxon matched pairs over `pairs` (a query of pre and post, at least one pair), the warehouse's rule."""
    counts = paired_differences(con, pairs, "pre", "post")
    return wilcoxon_paired_from_counts(counts.differences, counts.n_zero)


def where(**values: str) -> str:
    """SQL: each column equals its value."""
    return " AND ".join(f"{column} = {shared.sql_text(value)}" for column, value in values.items()) or "true"


def published_rows(table: pl.DataFrame, group_col: str | None, statistics: Sequence[str]) -> pl.DataFrame:
    """shared.PUBLISHED_SCHEMA rows from a mart table whose `test_id` is the reference id: one per row and
    statistic (a column of the table), the reference group from `group_col` (None: the reference has none).
    Rows the reference does not hold are dropped by paper_reproduction."""
    return shared.published_frame(
        (row["test_id"], row[group_col] if group_col else None, statistic, row[statistic])
        for row in table.iter_rows(named=True) for statistic in statistics
    )
