"""The paper's descriptive summary: "median (range)"."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from statistics import median


@dataclass(frozen=True)
class MedianRange:
    median: float | None
    min: float | None
    max: float | None
    n: int
    n_missing: int


def round_half_up(value: float, decimals: int) -> float:
    """Round as a table is printed (2.45 -> 2.5), not to even as Python's round() does.

    Goes through the shortest decimal repr, so 2.675 (stored as 2.67499...) rounds to 2.68 as written.
    """
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def median_range(values: Iterable[float | None], decimals: int | None = None) -> MedianRange:
    """Median, minimum and maximum of the known values; missing ones (None, NaN) are counted, not used.

    The median of an even count is the mean of the two middle values (as R, Prism and the paper).
    `decimals` rounds the three figures half-up for display; None keeps full precision.
    """
    known: list[float] = []
    n_missing = 0
    for value in values:
        if value is None or math.isnan(value):
            n_missing += 1
        else:
            known.append(float(value))
    if not known:
        return MedianRange(None, None, None, 0, n_missing)
    figures = (float(median(known)), min(known), max(known))
    if decimals is not None:
        figures = tuple(round_half_up(v, decimals) for v in figures)
    return MedianRange(*figures, n=len(known), n_missing=n_missing)
