"""Test of proportional hazards, as R's `cox.zph(fit, transform = "km")` (survival >= 3.0).

R's current test is a score test: add x * g(t) for each covariate to the fitted Cox model and test
that the new coefficients are 0, at the fitted coefficients, with Efron's handling of ties. g(t) is
1 - KM(t-) (the left-continuous Kaplan-Meier of all subjects), centred on its mean over the events.
lifelines' `proportional_hazard_test` implements the older approximation (survival < 3.0), whose
chi-squares differ, so this is our own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from .efron import efron_terms
from .kaplan_meier import kaplan_meier


def _km_transform(time: np.ndarray, event: np.ndarray, at: np.ndarray) -> np.ndarray:
    """g(t) = 1 - KM(t-) at the times `at`, centred on its mean over the subjects with an event."""
    curve = kaplan_meier(time, event)
    steps = curve["time"].to_numpy()
    survival = np.concatenate([[1.0], curve["survival"].to_numpy()])

    def g(t: np.ndarray) -> np.ndarray:
        return 1.0 - survival[np.searchsorted(steps, t, side="left")]  # the step strictly before t

    return g(at) - g(time[event == 1]).mean()


def cox_zph(
    time: Sequence[float], event: Sequence[int], x: np.ndarray, beta: Sequence[float], terms: Sequence[str]
) -> pl.DataFrame:
    """Per-covariate and GLOBAL chi-squares: term, statistic, df, p_value (R's cox.zph table)."""
    from scipy.stats import chi2

    time_arr, event_arr = np.asarray(time, dtype=float), np.asarray(event, dtype=np.int64)
    x = np.asarray(x, dtype=float).reshape(time_arr.size, -1)
    p = x.shape[1]
    efron = efron_terms(time_arr, event_arr, x, np.asarray(beta, dtype=float))
    g = _km_transform(time_arr, event_arr, efron.event_times)
    # g(t) is shared by everyone at risk at t: each time's x-terms scale by g (score) and by
    # [[1, g], [g, g^2]] (information of x and x * g(t) together)
    score = g @ efron.residuals
    info = sum(np.kron(np.array([[1.0, g_t], [g_t, g_t**2]]), cov) for g_t, cov in zip(g, efron.covariances))

    tests = []  # (term, rows and columns of the information it uses, score vector)
    for j, term in enumerate(terms):
        u = np.zeros(p + 1)
        u[-1] = score[j]
        tests.append((term, [*range(p), p + j], u))
    tests.append(("GLOBAL", list(range(2 * p)), np.concatenate([np.zeros(p), score])))
    rows = []
    for term, keep, u in tests:
        statistic = float(u @ np.linalg.solve(info[np.ix_(keep, keep)], u))
        df = len(keep) - p
        p_value = float(chi2.sf(statistic, df))
        rows.append({"term": term, "statistic": statistic, "df": df, "p_value": p_value})
    schema = {"term": pl.String, "statistic": pl.Float64, "df": pl.Int64, "p_value": pl.Float64}
    return pl.DataFrame(rows, schema=schema)
