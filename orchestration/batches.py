"""Set-based work over a registry a bounded number of rows at a time, whole centers per batch.

A subject belongs to one center, so a rule or an aggregate that stays within one subject gives for some
centers computed alone the rows it gives for all of them. Where a query's state grows with its rows (a
grouping, a window, the build side of a join), computing every center at once can outgrow DuckDB's memory
limit and spill to disk; the same work in batches of whole centers stays in memory. The bounds are where the
users of this module measured the spill at the default 2 GB limit (orchestration/settings.py)."""

from collections.abc import Sequence


def center_batches(sizes: Sequence[tuple[str, int]], bound: int) -> list[list[str]]:
    """The centers of `sizes` ((center_id, rows), in order) in consecutive batches of at most `bound` rows
    each; a center with more rows than that is a batch of its own."""
    batches: list[list[str]] = []
    held = bound
    for center, count in sizes:
        if not batches or held + count > bound:
            batches.append([])
            held = 0
        batches[-1].append(center)
        held += count
    return batches
