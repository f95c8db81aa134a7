"""What the signed-rank and rank-sum tests share: ranking, and turning a null distribution into a P.

Exact distributions are held on doubled midranks, which are integers even with ties, so a statistic
indexes an array directly and "as or more extreme" is an exact comparison.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

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


def doubled_midranks(values: np.ndarray) -> np.ndarray:
    """2 x the average ranks (ties share the mean of their ranks), as integers."""
    from scipy.stats import rankdata

    return np.rint(2 * rankdata(values, method="average")).astype(np.int64)


def rank_multiset(doubled_ranks: np.ndarray) -> tuple[int, ...]:
    """The ranks, sorted, as a hashable key: an exact null distribution depends on their multiset only, so
    the distributions are cached by it (the same comparisons recur across marts)."""
    return tuple(sorted(int(rank) for rank in doubled_ranks))


def tie_sizes(values: np.ndarray) -> np.ndarray:
    return np.unique(values, return_counts=True)[1]


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
