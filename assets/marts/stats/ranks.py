"""What the signed-rank and rank-sum tests share: frequency tables, ranks from counts, and turning a null
distribution into a P.

Ranks need only how many values share each distinct value, so both tests work on frequency tables, which
DuckDB computes (assets/marts/aggregates.py). Exact distributions are held on doubled midranks, which are
integers even with ties, so a statistic indexes an array directly and "as or more extreme" is an exact
comparison.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import polars as pl

Alternative = Literal["two-sided", "less", "greater"]
ALTERNATIVES = ("two-sided", "less", "greater")

# Values are rounded to this many decimals before ranking, so that float noise (0.3 - 0.1 != 0.5 - 0.3)
# cannot break a tie that the data have; far below any laboratory's precision.
SETTLE_DECIMALS = 10


def check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")


def as_values(values, name: str) -> np.ndarray:
    """Float array without missing values: pairing and missingness are the caller's job, never ours."""
    array = np.asarray(values, dtype=float)
    if np.isnan(array).any():
        raise ValueError(f"{name} has missing values; count and remove them before testing")
    return array


def settle(values: np.ndarray) -> np.ndarray:
    return np.round(values, SETTLE_DECIMALS)


def tally(
    table: pl.DataFrame, value: str, counts: tuple[str, str], settle_values: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A frequency table's distinct values (ascending, settled if asked) and its two count columns summed
    per value: rows whose values are equal (after settling) are one row, so single observations are a
    frequency table too."""
    absent = [column for column in (value, *counts) if column not in table.columns]
    if absent:
        raise ValueError(f"the frequency table has no column {absent}")
    values = as_values(table[value].to_numpy(), value)
    distinct, index = np.unique(settle(values) if settle_values else values, return_inverse=True)
    sums = []
    for column in counts:
        count = table[column]
        if not count.dtype.is_integer() or count.null_count() or (count < 0).any():
            raise ValueError(f"{column} must hold non-negative integer counts")
        summed = np.zeros(distinct.size, dtype=np.int64)
        np.add.at(summed, index, count.to_numpy().astype(np.int64))
        sums.append(summed)
    return distinct, sums[0], sums[1]


def doubled_midranks(ties: np.ndarray) -> np.ndarray:
    """2 x the average rank of each distinct value, given how many values share each (in ascending order):
    2 x (values below) + ties + 1, an integer even with ties."""
    return 2 * (np.cumsum(ties) - ties) + ties + 1


def rank_multiset(doubled_ranks: np.ndarray, ties: np.ndarray) -> tuple[int, ...]:
    """Every value's doubled rank, ascending, as a hashable key: an exact null distribution depends on this
    multiset only, so the distributions are cached by it (the same comparisons recur across marts)."""
    return tuple(np.repeat(doubled_ranks, ties).tolist())


def tie_correction(ties: np.ndarray) -> int:
    """Sum of t^3 - t over the tie sizes, in exact integers (int64 overflows once a tie passes ~2 million)."""
    return sum(t**3 - t for t in ties[ties > 1].tolist())


def exact_p(
    probs: np.ndarray,
    observed: int,
    center: float,
    alternative: Alternative,
    two_sided: Literal["central", "doubled"] = "central",
) -> float:
    """P-value of `observed` under the distribution `probs` (index = value of the doubled statistic,
    `center` its mean).

    Two-sided `central`: P(|T - E T| >= |t - E T|), the permutation-test definition (StatXact, and so
    Prism, which matches StatXact). `doubled`: min(1, 2 x the smaller tail), R's definition. They agree
    whenever the distribution is symmetric (signed ranks always; rank sums without ties).
    """
    support = np.arange(probs.size)
    if alternative == "less":
        p = probs[support <= observed].sum()
    elif alternative == "greater":
        p = probs[support >= observed].sum()
    elif two_sided == "doubled":
        p = 2 * min(probs[support <= observed].sum(), probs[support >= observed].sum())
    else:
        p = probs[np.abs(support - center) >= abs(observed - center)].sum()
    return float(min(p, 1.0))


def normal_p(deviation: float, sigma: float, correct: bool, alternative: Alternative) -> float:
    """R's `wilcox.test` normal approximation: z = (T - E T - correction) / sigma.

    The continuity correction is 0.5 towards the mean (its sign follows the deviation when two-sided).
    """
    correction = 0.0
    if correct:
        correction = {"two-sided": math.copysign(0.5, deviation) if deviation else 0.0,
                      "greater": 0.5, "less": -0.5}[alternative]
    z = (deviation - correction) / sigma
    upper = 0.5 * math.erfc(z / math.sqrt(2))
    lower = 0.5 * math.erfc(-z / math.sqrt(2))
    p = {"two-sided": 2 * min(upper, lower), "greater": upper, "less": lower}[alternative]
    return float(min(p, 1.0))
