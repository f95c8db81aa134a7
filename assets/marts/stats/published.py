"""Does a computed number reproduce a published one? The `match` rules of published_results.csv
(docs/published-results.md)."""

from __future__ import annotations

import datetime as dt

from .descriptive import round_half_up

_DECIMALS = {"pct1": 1, "dp1": 1, "dp2": 2, "dp3": 3}
_NOT_TARGETS = ("inconsistent", "info")


def _decimals_written(published: str) -> int:
    return len(published.split(".")[1]) if "." in published else 0


def matches_published(value: float | None, published: str, match: str) -> bool | None:
    """True or False under the row's `match` rule; None for rows that are not targets.

    p3 rounds to the precision the paper printed (0.35 -> 2 decimals), and a published 1.0 stands for
    the paper's "1.000", i.e. P >= 0.9995. sig only asks for the same side of 0.05 (and "<0.0001"
    for a P below 0.0001).
    """
    if match in _NOT_TARGETS:
        return None
    if value is None:
        return False
    if match == "exact":
        return value == float(published)
    if match in _DECIMALS:
        return round_half_up(value, _DECIMALS[match]) == float(published)
    if match == "p3":
        if float(published) == 1.0:
            return value >= 0.9995
        return round_half_up(value, _decimals_written(published)) == float(published)
    if match == "sig":
        if published.startswith("<"):
            return value < float(published[1:])
        if published.startswith(">="):
            return value >= float(published[2:])
        return (value < 0.05) == (float(published) < 0.05)
    raise ValueError(f"unknown match rule {match!r}")


def date_number(date: dt.date | None) -> int | None:
    """A date as the reference file writes it: the number yyyymmdd (2022-02-14 -> 20220214), matched `exact`.
    Unlike a day count, it also writes a date that does not exist as the paper printed it (20220229)."""
    return None if date is None else date.year * 10000 + date.month * 100 + date.day
