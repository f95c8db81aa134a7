"""Where a test has no answer, or a model cannot estimate everything, against R's answers
(tests/reference/edge_cases.json, made by edge_cases.R): a P the data cannot give is NULL with
extras.defined false and a reason, never 1; what R estimates is estimated, what R reports as NA is not."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest

from assets.marts.stats import cox_ph, fisher_exact_2x2, kaplan_meier, logrank_test, wilcoxon_paired
from tests.stats.conftest import REFERENCE

R = json.loads((REFERENCE / "edge_cases.json").read_text())


def _undefined(result, reason: str) -> None:
    assert result.p_value is None and result.extras["defined"] is False and reason in result.extras["reason"]


def test_logrank_without_events_has_no_p():
    case = R["logrank_no_events"]
    result = logrank_test(case["time"], case["event"], case["group"])
    assert case["p_value"] is None and result.statistic == case["chisq"] == 0
    _undefined(result, "no event")
    assert result.extras["observed"] == case["observed"]


def test_signed_rank_with_every_difference_zero_has_no_p():
    case = R["signed_rank_all_zero"]
    assert case["p_value"] is None and case["coin_refuses"]
    _undefined(wilcoxon_paired(case["pre"], case["post"]), "every difference is zero")
    _undefined(wilcoxon_paired([], []), "no pairs")


def test_fisher_with_an_empty_column_is_rs_zero_odds_ratio():
    case = R["fisher_empty_column"]
    result = fisher_exact_2x2(case["table"])
    assert (result.p_value, result.estimate, result.ci_lower) == (case["p_value"], case["estimate"], case["ci"][0])
    assert case["ci"][1] == "Inf" and result.ci_upper == math.inf


def test_kaplan_meier_standard_error_is_null_where_survival_is_zero():
    case = R["km_to_zero"]
    curve = kaplan_meier(case["time"], case["event"])
    assert curve["survival"].to_list() == pytest.approx(case["survival"])
    assert curve["std_err"].to_list()[:2] == pytest.approx(case["std_err"][:2])
    assert case["std_err"][2] is None and curve["std_err"][2] is None


def _frame(case: dict, *covariates: str) -> pl.DataFrame:
    return pl.DataFrame({name: case[name] for name in ("time", "event", *covariates)})


def test_cox_flags_a_coefficient_that_may_be_infinite():
    case = R["cox_monotone"]
    fit = cox_ph(_frame(case, "x", "z"), "time", "event", ["x", "z"])
    assert "variable  1 ; coefficient may be infinite" in case["warning"]  # variable 1 is x
    assert fit.monotone_likelihood == ("x",) and not fit.converged
    z = fit.coefficients.filter(pl.col("term") == "z").row(0, named=True)
    assert (z["coef"], z["se"]) == pytest.approx((case["z_coef"], case["z_se"]), rel=1e-6)


def test_cox_estimates_the_rest_where_r_reports_na():
    case = R["cox_aliased"]
    z = R["cox_monotone"]["z"]
    frame = _frame(R["cox_monotone"]).with_columns(z=pl.Series(z), c=pl.lit(1.0), w=2 * pl.Series(z))
    fit = cox_ph(frame, "time", "event", case["covariates"])
    rows = {row["term"]: row for row in fit.coefficients.iter_rows(named=True)}
    # R stops at its loglik tolerance, ~2e-9 short of the optimum this fit polishes to.
    assert rows["z"]["coef"] == pytest.approx(case["coef"][0], rel=1e-7)
    assert rows["z"]["se"] == pytest.approx(case["z_se"], rel=1e-7)
    assert case["coef"][1:] == [None, None] and rows["c"]["coef"] is None and rows["w"]["coef"] is None
    assert rows["c"]["note"] == "not estimable: no variation"
    assert rows["w"]["note"] == "not estimable: a linear combination of z"
    assert fit.converged and fit.monotone_likelihood == ()


def test_cox_with_one_event_estimates_the_coefficient_but_not_the_ph_test():
    case = R["cox_one_event"]
    fit = cox_ph(_frame(case, "z"), "time", "event", ["z"])
    assert fit.coefficients.row(0, named=True)["coef"] == pytest.approx(case["coef"], rel=1e-9)
    assert fit.coefficients.row(0, named=True)["se"] == pytest.approx(case["se"], rel=1e-9)
    assert case["zph_fails"] and fit.proportional_hazards is None and fit.ph_note.startswith("not estimable")
