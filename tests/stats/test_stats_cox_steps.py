"""cox_ph converges where lifelines' default Newton step overshoots (the demo cohort's treatment-failure model:
4 of 5 BCR-ABL1-positive patients fail in the first weeks, 41 others are censored long after)."""

import numpy as np
import polars as pl

from assets.marts.stats import cox_ph
from assets.marts.stats.efron import efron_terms

EVENTS = [(13, 1), (13, 0), (15, 1), (15, 0), (16, 0), (21, 1), (21, 0), (21, 1), (29, 0)]  # (day, bcr_abl1)


def _cohort() -> pl.DataFrame:
    rows = [(day, 1, x) for day, x in EVENTS] + [(1153, 0, 1)] + [(400 + 10 * i, 0, 0) for i in range(41)]
    return pl.DataFrame(rows, schema={"time": pl.Float64, "event": pl.Int64, "bcr_abl1": pl.Float64}, orient="row")


def test_lifelines_default_step_fails_here():
    import pandas as pd
    import pytest
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    frame = pd.DataFrame(_cohort().to_dict(as_series=False)).astype(float)
    with pytest.raises(ConvergenceError):
        CoxPHFitter().fit(frame, "time", "event", fit_options={"precision": 1e-12})


def test_cox_ph_reaches_the_maximum_of_the_partial_likelihood():
    cohort = _cohort()
    fit = cox_ph(cohort, "time", "event", ["bcr_abl1"])
    beta = fit.coefficients["coef"].to_numpy()
    time, event, x = cohort["time"].to_numpy(), cohort["event"].to_numpy(), cohort.select("bcr_abl1").to_numpy()
    at_optimum = efron_terms(time, event, x, beta)
    assert abs(at_optimum.score[0]) < 1e-8
    for shift in (-1e-3, 1e-3):
        assert efron_terms(time, event, x, beta + shift).loglik < at_optimum.loglik
    assert np.isclose(fit.loglik, at_optimum.loglik)
    assert fit.events == 9 and beta[0] > 0  # BCR-ABL1 raises the hazard of early failure
