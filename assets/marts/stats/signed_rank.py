"""Wilcoxon signed-rank test for paired values (pre, post), statistic V as R reports it.

V is the sum of the ranks of |post - pre| over the pairs where post > pre. Ranks need only a frequency table
of the non-zero |post - pre| (how many positive and how many negative differences have each) and the number
of zero differences: `wilcoxon_paired_from_counts` applies the warehouse's rule (docs/statistics.md) to one,
`wilcoxon_paired` to paired values, and `wilcoxon_paired_r` reproduces R's
`wilcox.test(post, pre, paired = TRUE)` with its `exact` and `correct` arguments, so that the difference
between the two is visible and tested.
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
    settle,
    tally,
    tie_correction,
)
from .result import StatResult, undefined

# Prism computes exact P-values for fewer than 200 pairs; our enumeration takes milliseconds there.
EXACT_MAX_PAIRS = 199


def signed_rank_distribution(doubled_ranks: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """Null distribution of 2V given each distinct |difference|'s doubled midrank and tie count: each
    rank's sign is + or - with probability 1/2.

    probs[k] = P(2V = k). Exact with ties, since the ranks are fixed and only the signs are permuted.
    Read-only: cached by rank_multiset.
    """
    return _distribution(rank_multiset(doubled_ranks, ties))


@lru_cache(maxsize=256)
def _distribution(doubled_ranks: tuple[int, ...]) -> np.ndarray:
    probs = np.zeros(sum(doubled_ranks) + 1)
    probs[0] = 1.0
    reach = 0
    for rank in doubled_ranks:
        probs[rank : reach + rank + 1] += probs[: reach + 1].copy()
        probs[: reach + rank + 1] *= 0.5
        reach += rank
    probs.flags.writeable = False
    return probs


class _Pairs:
    """The non-zero differences as counts per distinct |difference|, and the zeros the test drops."""

    def __init__(self, differences: pl.DataFrame, n_zero: int, settle_ties: bool):
        sizes, positive, negative = tally(differences, "abs_diff", ("n_positive", "n_negative"), settle_ties)
        if sizes.size and sizes[0] <= 0:
            raise ValueError("abs_diff must be positive: zero differences are counted in n_zero")
        if n_zero < 0:
            raise ValueError(f"n_zero must be a count, got {n_zero}")
        self.ties = positive + negative
        self.n = int(self.ties.sum())
        self.n_pairs = self.n + int(n_zero)
        self.ranks = doubled_midranks(self.ties)
        self.v_doubled = int((positive * self.ranks).sum())
        self.center = self.n * (self.n + 1) / 2  # E(2V)
        self.has_ties = bool((self.ties > 1).any())

    @property
    def v(self) -> float:
        return self.v_doubled / 2

    def beyond_exact_cap(self) -> str | None:
        """Why the warehouse's rule does not enumerate (docs/statistics.md), or None when it does."""
        return f"non-zero pairs {self.n:,} > {EXACT_MAX_PAIRS:,}" if self.n > EXACT_MAX_PAIRS else None

    def exact(self, alternative: Alternative, two_sided: str) -> float:
        probs = signed_rank_distribution(self.ranks, self.ties)
        return exact_p(probs, self.v_doubled, self.center, alternative, two_sided)

    def normal(self, alternative: Alternative, correct: bool = True) -> float:
        sigma = np.sqrt(self.n * (self.n + 1) * (2 * self.n + 1) / 24 - tie_correction(self.ties) / 48)
        return normal_p(self.v - self.n * (self.n + 1) / 4, float(sigma), correct, alternative)

    def result(self, p_value: float, method: str, exact: bool, **why) -> StatResult:
        return StatResult(
            test="wilcoxon_signed_rank",
            method=method,
            statistic=self.v,
            p_value=p_value,
            n=self.n_pairs,
            extras={"n_nonzero": self.n, "n_zero_diff": self.n_pairs - self.n,
                    "has_ties": self.has_ties, "exact": exact} | why,
        )


def difference_table(pre, post, settle_ties: bool = True) -> tuple[pl.DataFrame, int]:
    """Paired values as a frequency table of single non-zero differences (abs_diff, n_positive,
    n_negative) and the number of zero differences (after settling, when asked)."""
    pre, post = as_values(pre, "pre"), as_values(post, "post")
    if pre.shape != post.shape:
        raise ValueError(f"pre and post differ in length: {pre.size} vs {post.size}")
    diff = post - pre
    if settle_ties:
        diff = settle(diff)
    nonzero = diff[diff != 0]
    table = pl.DataFrame({
        "abs_diff": np.abs(nonzero),
        "n_positive": (nonzero > 0).astype(np.int64),
        "n_negative": (nonzero < 0).astype(np.int64),
    })
    return table, int(diff.size - nonzero.size)


def wilcoxon_paired_from_counts(
    differences: pl.DataFrame, n_zero: int, alternative: Alternative = "two-sided"
) -> StatResult:
    """`wilcoxon_paired` on a frequency table: `abs_diff` (|post - pre| > 0, float) with how many
    differences of that size are positive (`n_positive`) and negative (`n_negative`), one row per
    distinct size (rows that settle to the same size are merged), and `n_zero` pairs with post = pre.

    The warehouse's rule: zero differences dropped, midranks for ties, then the exact conditional
    permutation P when fewer than 200 non-zero pairs remain (Prism's behaviour, ties or not), else R's
    `wilcox.test(exact = FALSE, correct = TRUE)`, with `extras.exact_cap` saying so."""
    check_alternative(alternative)
    pairs = _Pairs(differences, n_zero, settle_ties=True)
    if pairs.n == 0:  # R: P NaN ("cannot compute exact p-value with zeroes"); coin refuses
        reason = "no pairs" if not pairs.n_pairs else "every difference is zero"
        return undefined("wilcoxon_signed_rank", "signed-rank test (zeros dropped)", pairs.n_pairs, reason,
                         statistic=0.0, extras={"n_nonzero": 0, "n_zero_diff": pairs.n_pairs})
    beyond = pairs.beyond_exact_cap()
    if beyond is None:
        p = pairs.exact(alternative, "central")
        return pairs.result(p, "exact conditional signed-rank test (zeros dropped, midranks)", True)
    p = pairs.normal(alternative)
    return pairs.result(
        p, "signed-rank normal approximation with tie and continuity correction", False, exact_cap=beyond
    )


def wilcoxon_paired(pre, post, alternative: Alternative = "two-sided") -> StatResult:
    """The warehouse's rule on paired values (`wilcoxon_paired_from_counts`)."""
    return wilcoxon_paired_from_counts(*difference_table(pre, post), alternative)


def wilcoxon_paired_r(
    pre, post, exact: bool | None = None, correct: bool = True, alternative: Alternative = "two-sided"
) -> StatResult:
    """R's `wilcox.test(post, pre, paired = TRUE, exact, correct)`, R 4.2 semantics.

    Exact only when asked for (default: fewer than 50 non-zero pairs) and there are neither ties nor
    zero differences; otherwise the normal approximation, continuity-corrected when `correct`.
    """
    check_alternative(alternative)
    pairs = _Pairs(*difference_table(pre, post, settle_ties=False), settle_ties=False)
    if pairs.n == 0:
        raise ValueError("R's wilcox.test is undefined without a non-zero difference")
    if exact is None:
        exact = pairs.n < 50
    if exact and not pairs.has_ties and pairs.n == pairs.n_pairs:
        return pairs.result(pairs.exact(alternative, "doubled"), "Wilcoxon signed rank exact test", True)
    method = "Wilcoxon signed rank test" + (" with continuity correction" if correct else "")
    return pairs.result(pairs.normal(alternative, correct), method, False)
