"""Median survival time with its confidence interval, by R's rule (`quantile.survfit`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

# R's tolerance for "the curve sits exactly at 0.5"
_TOLERANCE = math.sqrt(2.220446049250313e-16)


@dataclass(frozen=True)
class MedianSurvival:
    """Times where S, its lower and its upper confidence limit cross 0.5; None where not reached."""

    median: float | None
    ci_lower: float | None
    ci_upper: float | None


def _crossing(times: list[float], survival: list[float | None], p: float = 0.5) -> float | None:
    """First time the curve falls to p or below.

    A curve lying exactly at p over a stretch gives the midpoint of that stretch (the usual median
    rule); a curve ending exactly at p gives the midpoint between reaching p and the last time.
    """
    last_time = times[-1]
    # keep the first time of each level (null included), as R drops duplicated values
    x, y, seen = [0.0], [1.0], {1.0}
    for t, s in zip(times, survival):
        if s not in seen:
            x.append(t)
            y.append(s)
            seen.add(s)
    # R's approx() then ignores nulls; a null last level cancels the end-of-curve rule below
    last_known = y[-1] is not None
    points = [(t, s) for t, s in zip(x, y) if s is not None]
    first = next((t for t, s in points if s - _TOLERANCE <= p), None)
    past = next((t for t, s in points if s + _TOLERANCE <= p), None)
    if first is None:
        return None
    if last_known and abs(points[-1][1] - p) < _TOLERANCE:
        return (first + last_time) / 2
    return None if past is None else (first + past) / 2


def median_survival(curve: pl.DataFrame) -> MedianSurvival:
    """Median of a `kaplan_meier` curve; its CI runs from where the lower confidence limit crosses
    0.5 to where the upper one does (Brookmeyer-Crowley, as R reports it)."""
    if curve.height == 0:
        return MedianSurvival(None, None, None)
    times = curve["time"].to_list()
    return MedianSurvival(
        median=_crossing(times, curve["survival"].to_list()),
        ci_lower=_crossing(times, curve["ci_lower"].to_list()),
        ci_upper=_crossing(times, curve["ci_upper"].to_list()),
    )
