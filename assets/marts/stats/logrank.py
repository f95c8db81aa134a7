"""Log-rank test of equal survival across groups, as R's `survdiff(Surv(time, event) ~ group)`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .kaplan_meier import survival_data
from .result import StatResult

_RANK_TOLERANCE = 1e-10


def logrank_test(
    time: Sequence[float], event: Sequence[int | bool], group: Sequence[object]
) -> StatResult:
    """Two- or k-group log-rank chi-square on k - 1 degrees of freedom (fewer if a group cannot
    contribute; with no event at all the statistic is 0 and P = 1).

    Groups are ordered by sorted label (R's factor levels); `extras` gives each group's size,
    observed and expected events, so a reader can see which group does worse.
    """
    from scipy.stats import chi2

    t, e = survival_data(time, event)
    labels = np.asarray(group, dtype=object)
    if labels.shape != t.shape:
        raise ValueError("group differs in length from time")
    levels = sorted(set(labels.tolist()))
    if len(levels) < 2:
        raise ValueError(f"the log-rank test needs at least two groups, got {levels}")

    event_times = np.unique(t[e == 1])
    # at_risk[g, j] / deaths[g, j]: group g at the j-th distinct event time
    at_risk = np.empty((len(levels), event_times.size))
    deaths = np.empty_like(at_risk)
    for g, level in enumerate(levels):
        times_g = np.sort(t[labels == level])
        event_times_g = np.sort(t[(labels == level) & (e == 1)])
        at_risk[g] = times_g.size - np.searchsorted(times_g, event_times, side="left")
        deaths[g] = np.searchsorted(event_times_g, event_times, side="right") - np.searchsorted(
            event_times_g, event_times, side="left"
        )
    n, d = at_risk.sum(axis=0), deaths.sum(axis=0)
    share = at_risk / n
    observed = deaths.sum(axis=1)
    expected = (share * d).sum(axis=1)
    # hypergeometric variance of each time's table; a time with one subject at risk adds nothing
    spread = np.divide(d * (n - d), n - 1, out=np.zeros_like(n), where=n > 1)
    variance = np.diag((share * spread).sum(axis=1)) - (share * spread) @ share.T
    o_minus_e = observed - expected
    # O - E sums to 0, so the variance is singular: a generalised inverse, with df = its rank, which
    # is k - 1 unless some group never contributes (no one at risk at any event, or no events at all)
    df = int(np.linalg.matrix_rank(variance, rtol=_RANK_TOLERANCE, hermitian=True))
    inverse = np.linalg.pinv(variance, rtol=_RANK_TOLERANCE, hermitian=True)
    statistic = float(o_minus_e @ inverse @ o_minus_e) if df else 0.0
    return StatResult(
        test="logrank",
        method="log-rank test (survdiff, rho = 0)",
        statistic=statistic,
        p_value=float(chi2.sf(statistic, df)) if df else 1.0,
        n=int(t.size),
        df=float(df),
        extras={
            "groups": [str(level) for level in levels],
            "n": [int((labels == level).sum()) for level in levels],
            "observed": observed.tolist(),
            "expected": expected.tolist(),
        },
    )
