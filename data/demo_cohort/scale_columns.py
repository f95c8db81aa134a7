"""Vectorised column builders shared by the scale synthesis (scale_frames, scale_labs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


def dates(days: np.ndarray) -> pl.Series:
    """pl.Date from days since 1970-01-01."""
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def pick(values: Sequence[str], index: np.ndarray) -> pl.Series:
    """values[index] as strings: gathering from a small Series is ~30x faster than converting a numpy unicode
    array of the same length."""
    return pl.Series(values, dtype=pl.String).gather(np.asarray(index, dtype=np.int64))


def const(value: object, n: int, dtype: pl.DataType = pl.String) -> pl.Series:
    return pl.repeat(value, n, dtype=dtype, eager=True)


def null_where(series: pl.Series, mask: np.ndarray) -> pl.Series:
    return series.set(pl.Series(mask), None)


def repeat_rows(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parent index and 1-based rank within the parent, for `counts[i]` children of each parent i."""
    parent = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return parent, np.arange(len(parent)) - first[parent] + 1


def draw(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One category per row of the probability matrix `p` (rows sum to 1), by inverse CDF."""
    return (rng.random(len(p))[:, None] >= np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)
