"""Wilcoxon signed-rank test for paired values (pre, post), statistic V as R reports it.

V is the sum of the ranks of |post - pre| over the pairs where post > pre. Two functions:
`wilcoxon_paired` applies the warehouse's rule (docs/statistics.md); `wilcoxon_paired_r` reproduces
R's `wilcox.test(post, pre, paired = TRUE)` with its `exact` and `correct` arguments, so that the
difference between the two is visible and tested.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .ranks import (
    Alternative,
    as_values,
    check_alternative,
    doubled_midranks,
    exact_p,
    normal_p,
    rank_multiset,
    settle,
    tie_sizes,
)
from .result import StatResult

# Prism computes exact P-values for fewer than 200 pairs; our enumeration takes milliseconds there.
EXACT_MAX_PAIRS = 199


def signed_rank_distribution(doubled_ranks: np.ndarray) -> np.ndarray:
    """Null distribution of 2V given the (doubled) ranks: each rank's sign is + or - with probability 1/2.

    probs[k] = P(2V = k). Exact with ties, since the ranks are fixed and only the signs are permuted.
    Read-only: cached by rank_multiset.
    """
    return _distribution(rank_multiset(doubled_ranks))


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
    """Differences post - pre split into what the test uses (non-zero) and what it drops (zeros)."""

    def __init__(self, pre, post, settle_ties: bool):
        pre, post = as_values(pre, "pre"), as_values(post, "post")
        if pre.shape != post.shape:
            raise ValueError(f"pre and post differ in length: {pre.size} vs {post.size}")
        diff = post - pre
        if settle_ties:
            diff = settle(diff)
        self.n_pairs = int(diff.size)
        self.nonzero = diff[diff != 0]
        self.n = int(self.nonzero.size)
        self.ranks = doubled_midranks(np.abs(self.nonzero))
        self.v_doubled = int(self.ranks[self.nonzero > 0].sum())
        self.center = self.n * (self.n + 1) / 2  # E(2V)
        self.has_ties = bool(np.unique(self.ranks).size < self.n)

    @property
    def v(self) -> float:
        return self.v_doubled / 2

    def exact(self, alternative: Alternative, two_sided: str) -> float:
        probs = signed_rank_distribution(self.ranks)
        return exact_p(probs, self.v_doubled, self.center, alternative, two_sided)

    def normal(self, alternative: Alternative, correct: bool = True) -> float:
        ties = tie_sizes(self.ranks)
        sigma = np.sqrt(self.n * (self.n + 1) * (2 * self.n + 1) / 24 - (ties**3 - ties).sum() / 48)
        return normal_p(self.v - self.n * (self.n + 1) / 4, float(sigma), correct, alternative)

    def result(self, p_value: float, method: str, exact: bool) -> StatResult:
        return StatResult(
            test="wilcoxon_signed_rank",
            method=method,
            statistic=self.v,
            p_value=p_value,
            n=self.n_pairs,
            extras={"n_nonzero": self.n, "n_zero_diff": self.n_pairs - self.n,
                    "has_ties": self.has_ties, "exact": exact},
        )


def wilcoxon_paired(pre, post, alternative: Alternative = "two-sided") -> StatResult:
    """The warehouse's rule: zero differences dropped, midranks for ties, then the exact conditional
    permutation P when fewer than 200 non-zero pairs remain (Prism's behaviour, ties or not), else
    R's normal approximation with tie and continuity corrections."""
    check_alternative(alternative)
    pairs = _Pairs(pre, post, settle_ties=True)
    if pairs.n <= EXACT_MAX_PAIRS:
        p = pairs.exact(alternative, "central")
        return pairs.result(p, "exact conditional signed-rank test (zeros dropped, midranks)", True)
    p = pairs.normal(alternative)
    return pairs.result(p, "signed-rank normal approximation with tie and continuity correction", False)


def wilcoxon_paired_r(
    pre, post, exact: bool | None = None, correct: bool = True, alternative: Alternative = "two-sided"
) -> StatResult:
    """R's `wilcox.test(post, pre, paired = TRUE, exact, correct)`, R 4.2 semantics.

    Exact only when asked for (default: fewer than 50 non-zero pairs) and there are neither ties nor
    zero differences; otherwise the normal approximation, continuity-corrected when `correct`.
    """
    check_alternative(alternative)
    pairs = _Pairs(pre, post, settle_ties=False)
    if pairs.n == 0:
        raise ValueError("R's wilcox.test is undefined without a non-zero difference")
    if exact is None:
        exact = pairs.n < 50
    if exact and not pairs.has_ties and pairs.n == pairs.n_pairs:
        return pairs.result(pairs.exact(alternative, "doubled"), "Wilcoxon signed rank exact test", True)
    method = "Wilcoxon signed rank test" + (" with continuity correction" if correct else "")
    return pairs.result(pairs.normal(alternative, correct), method, False)
