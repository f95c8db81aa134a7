"""Wilcoxon rank-sum (Mann-Whitney) test for two independent groups, statistic W as R reports it.

W is the Mann-Whitney U of the first group x: its rank sum minus n_x (n_x + 1) / 2. Both tests work on a
frequency table (counts of x and of y per distinct value), which is all ranks need: `mann_whitney_from_counts`
applies the warehouse's rule (docs/statistics.md) to one, `mann_whitney` to two samples of values, and
`mann_whitney_r` reproduces R's `wilcox.test(x, y, exact, correct)`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from .ranks import (
    Alternative,
    as_values,
    check_alternative,
    doubled_midranks,
    exact_p,
    normal_p,
    rank_multiset,
    tally,
    tie_correction,
)
from .result import StatResult

# Prism enumerates exactly while the smaller group has at most 100 values. Our enumeration costs about
# smaller^2 x total^2 operations, so it is also capped at smaller x total <= 10,000 (under a second).
EXACT_MAX_SMALLER = 100
EXACT_MAX_SMALLER_X_TOTAL = 10_000

_OTHER_SIDE = {"less": "greater", "greater": "less", "two-sided": "two-sided"}


def rank_sum_distribution(doubled_ranks: np.ndarray, ties: np.ndarray, size: int) -> np.ndarray:
    """Null distribution of the doubled rank sum of a group of `size` drawn without replacement from
    all the values, given each distinct value's doubled midrank and tie count: probs[k] = P(2R = k).
    Exact with ties (the ranks are fixed, group labels are permuted). Counts subsets by dynamic
    programming over the ranks. Read-only: cached by rank_multiset."""
    return _distribution(rank_multiset(doubled_ranks, ties), size)


@lru_cache(maxsize=256)
def _distribution(doubled_ranks: tuple[int, ...], size: int) -> np.ndarray:
    width = sum(doubled_ranks[::-1][:size]) + 1
    ways = np.zeros((size + 1, width))  # ways[j, s]: subsets of j ranks summing to s
    ways[0, 0] = 1.0
    for rank in doubled_ranks:
        ways[1:, rank:] = ways[1:, rank:] + ways[:-1, : width - rank]
    probs = ways[size] / ways[size].sum()
    probs.flags.writeable = False
    return probs


class _Groups:
    """The two groups as counts per distinct value: all a rank-sum test needs."""

    def __init__(self, table: pl.DataFrame, settle_ties: bool):
        _, in_x, in_y = tally(table, "value", ("n_x", "n_y"), settle_ties)
        self.n_x, self.n_y = int(in_x.sum()), int(in_y.sum())
        if self.n_x == 0 or self.n_y == 0:
            raise ValueError("both groups need at least one value")
        self.ties = in_x + in_y
        self.ranks = doubled_midranks(self.ties)
        self.has_ties = bool((self.ties > 1).any())
        self.rank_sum_x_doubled = int((in_x * self.ranks).sum())

    @property
    def w(self) -> float:
        return self.rank_sum_x_doubled / 2 - self.n_x * (self.n_x + 1) / 2

    def beyond_exact_cap(self) -> str | None:
        """Why the warehouse's rule does not enumerate (docs/statistics.md), or None when it does."""
        smaller, total = min(self.n_x, self.n_y), self.n_x + self.n_y
        if smaller > EXACT_MAX_SMALLER:
            return f"smaller group {smaller:,} > {EXACT_MAX_SMALLER:,}"
        if smaller * total > EXACT_MAX_SMALLER_X_TOTAL:
            return f"smaller x total {smaller:,} x {total:,} > {EXACT_MAX_SMALLER_X_TOTAL:,}"
        return None

    def exact(self, alternative: Alternative, two_sided: str) -> float:
        # enumerate the smaller group; seen from y, large rank sums of x are small ones of y
        total = self.n_x + self.n_y
        if self.n_x <= self.n_y:
            size, observed = self.n_x, self.rank_sum_x_doubled
        else:
            size, observed = self.n_y, total * (total + 1) - self.rank_sum_x_doubled
            alternative = _OTHER_SIDE[alternative]
        probs = rank_sum_distribution(self.ranks, self.ties, size)
        return exact_p(probs, observed, size * (total + 1), alternative, two_sided)

    def normal(self, alternative: Alternative, correct: bool = True) -> float:
        total = self.n_x + self.n_y
        sigma = np.sqrt(
            self.n_x * self.n_y / 12 * ((total + 1) - tie_correction(self.ties) / (total * (total - 1)))
        )
        return normal_p(self.w - self.n_x * self.n_y / 2, float(sigma), correct, alternative)

    def result(self, p_value: float, method: str, exact: bool, **why) -> StatResult:
        return StatResult(
            test="mann_whitney",
            method=method,
            statistic=self.w,
            p_value=p_value,
            n=self.n_x + self.n_y,
            extras={"n_x": self.n_x, "n_y": self.n_y, "has_ties": self.has_ties, "exact": exact} | why,
        )


def rank_sum_table(x, y) -> pl.DataFrame:
    """Two samples as a frequency table of single observations: value, n_x, n_y."""
    x, y = as_values(x, "x"), as_values(y, "y")
    return pl.DataFrame({
        "value": np.concatenate([x, y]),
        "n_x": np.repeat([1, 0], [x.size, y.size]),
        "n_y": np.repeat([0, 1], [x.size, y.size]),
    })


def mann_whitney_from_counts(table: pl.DataFrame, alternative: Alternative = "two-sided") -> StatResult:
    """`mann_whitney` on a frequency table: `value` (float) and how many of x (`n_x`) and of y (`n_y`)
    have it, one row per distinct value (rows whose values settle to the same are merged).

    The warehouse's rule: midranks for ties, the exact conditional permutation P while the smaller
    group has at most 100 values and smaller x total <= 10,000 (ties or not, as Prism), else R's
    `wilcox.test(exact = FALSE, correct = TRUE)`, with `extras.exact_cap` saying which cap was passed."""
    check_alternative(alternative)
    groups = _Groups(table, settle_ties=True)
    beyond = groups.beyond_exact_cap()
    if beyond is None:
        p = groups.exact(alternative, "central")
        return groups.result(p, "exact conditional rank-sum test (midranks)", True)
    p = groups.normal(alternative)
    return groups.result(
        p, "rank-sum normal approximation with tie and continuity correction", False, exact_cap=beyond
    )


def mann_whitney(x, y, alternative: Alternative = "two-sided") -> StatResult:
    """The warehouse's rule on two samples of values (`mann_whitney_from_counts`)."""
    return mann_whitney_from_counts(rank_sum_table(x, y), alternative)


def mann_whitney_r(
    x, y, exact: bool | None = None, correct: bool = True, alternative: Alternative = "two-sided"
) -> StatResult:
    """R's `wilcox.test(x, y, exact, correct)`, R 4.2 semantics: exact only when asked for (default:
    both groups under 50) and there are no ties; otherwise the normal approximation."""
    check_alternative(alternative)
    groups = _Groups(rank_sum_table(x, y), settle_ties=False)
    if exact is None:
        exact = groups.n_x < 50 and groups.n_y < 50
    if exact and not groups.has_ties:
        return groups.result(groups.exact(alternative, "doubled"), "Wilcoxon rank sum exact test", True)
    method = "Wilcoxon rank sum test" + (" with continuity correction" if correct else "")
    return groups.result(groups.normal(alternative, correct), method, False)
