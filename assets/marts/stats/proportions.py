"""Confidence intervals for a proportion k/n."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_METHODS = ("wilson", "exact")  # scipy.stats.binomtest names them the same way


@dataclass(frozen=True)
class ProportionCI:
    k: int
    n: int
    proportion: float | None
    lower: float | None
    upper: float | None
    method: str


def proportion_ci(
    k: int, n: int, method: Literal["wilson", "exact"] = "wilson", confidence: float = 0.95
) -> ProportionCI:
    """Proportion with its confidence interval.

    `wilson` is the score interval without continuity correction (R's `prop.test(correct=FALSE)`);
    `exact` is Clopper-Pearson (R's `binom.test`). With n = 0 nothing is estimable: all nulls.
    """
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}; use 'wilson' or 'exact'")
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return ProportionCI(k, n, None, None, None, method)
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method=method)
    return ProportionCI(k, n, k / n, float(ci.low), float(ci.high), method)
