"""How the immune and cytokine marts describe and test a before / after comparison: the pairs' median (range)
before, after and of the change, the incomplete pairs counted, Wilcoxon matched pairs (docs/statistics.md); and
how a mart table becomes the rows paper_reproduction compares with the paper."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from assets.marts import shared
from assets.marts.stats import Pairing, StatResult, median_range, paired_frame, wilcoxon_paired


def changes(pairing: Pairing) -> list[float]:
    """After - before of each pair; float noise must not move a printed digit."""
    return (pairing.pairs["post"] - pairing.pairs["pre"]).round(10).to_list()


def summarise(prefix: str, values: Sequence[float]) -> dict:
    """<prefix>_median, <prefix>_min, <prefix>_max of the values (stats.median_range)."""
    summary = median_range(values)
    return {f"{prefix}_median": summary.median, f"{prefix}_min": summary.min, f"{prefix}_max": summary.max}


def paired_comparison(pre: pl.DataFrame, post: pl.DataFrame, post_name: str = "post") -> tuple[dict, StatResult | None]:
    """Pairs of `pre` and `post` (subject_id, value) described and tested (Wilcoxon matched pairs, the
    warehouse's rule). Returns the row (n_pairs, n_missing_pre, n_missing_<post_name>, pre_/<post_name>_/
    change_ median, min, max, all over the complete pairs) and the StatResult (None without a pair)."""
    pairing = paired_frame(pre, post, "subject_id")
    pairs = pairing.pairs
    row = {"n_pairs": pairing.n_pairs, "n_missing_pre": pairing.n_missing_pre,
           f"n_missing_{post_name}": pairing.n_missing_post,
           **summarise("pre", pairs["pre"].to_list()), **summarise(post_name, pairs["post"].to_list()),
           **summarise("change", changes(pairing))}
    result = wilcoxon_paired(pairs["pre"], pairs["post"]) if pairing.n_pairs else None
    return row, result


def published_rows(table: pl.DataFrame, group_col: str | None, statistics: Sequence[str]) -> pl.DataFrame:
    """shared.PUBLISHED_SCHEMA rows from a mart table whose `test_id` is the reference id: one per row and
    statistic (a column of the table), the reference group from `group_col` (None: the reference has none).
    Rows the reference does not hold are dropped by paper_reproduction."""
    return shared.published_frame(
        (row["test_id"], row[group_col] if group_col else None, statistic, row[statistic])
        for row in table.iter_rows(named=True) for statistic in statistics
    )
