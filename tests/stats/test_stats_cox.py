"""Cox regression and R's cox.zph against tests/reference/*.cox.json (R survival 3.5, Efron ties)."""

from __future__ import annotations

import polars as pl
import pytest

from assets.marts.stats import cox_ph, cox_zph
from tests.stats.conftest import load_reference

MODELS = {"gehan_cox.cox.json": ["placebo"], "ovarian.cox.json": ["age", "rx", "ecog.ps"]}
# lifelines stops short of the optimum; cox_ph finishes with Newton steps, so we agree with R
# (which converges to ~1e-14) to 9 significant digits and more.
REL = 1e-9


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request):
    answer, data = load_reference(request.param)
    return answer, data, cox_ph(data, "time", "event", MODELS[request.param])


def test_coefficients_match_coxph(fitted):
    answer, _, result = fitted
    ours = result.coefficients.to_dicts()
    assert [row["term"] for row in ours] == [row["term"] for row in answer["coefficients"]]
    for row, expected in zip(ours, answer["coefficients"]):
        for column, key in [("coef", "coef"), ("hr", "hr"), ("se", "se"), ("z", "z"), ("p_value", "p"),
                            ("hr_lower", "hr_lower"), ("hr_upper", "hr_upper")]:
            assert row[column] == pytest.approx(expected[key], rel=REL), (row["term"], column)


def test_model_summary_matches_coxph(fitted):
    answer, data, result = fitted
    assert (result.n, result.events) == (answer["n"], answer["events"])
    assert result.loglik == pytest.approx(answer["loglik"], rel=1e-9)
    assert result.loglik_null == pytest.approx(answer["loglik_null"], rel=1e-9)
    assert result.concordance == pytest.approx(answer["concordance"]["c"], rel=1e-9)
    lr = answer["tests"]["likelihood_ratio"]
    assert result.likelihood_ratio.statistic == pytest.approx(lr["statistic"], rel=REL)
    assert result.likelihood_ratio.p_value == pytest.approx(lr["p"], rel=REL)
    assert result.likelihood_ratio.df == lr["df"]


def test_proportional_hazards_test_matches_cox_zph(fitted):
    answer, _, result = fitted
    expected = answer["cox_zph_km"]
    table = result.proportional_hazards.to_dicts()
    assert [row["term"] for row in table] == [row["term"] for row in expected]
    for row, r_row in zip(table, expected):
        assert row["statistic"] == pytest.approx(r_row["chisq"], rel=REL)
        assert row["p_value"] == pytest.approx(r_row["p"], rel=REL)
        assert row["df"] == r_row["df"]


def test_cox_zph_at_r_coefficients_is_r_to_machine_precision():
    answer, data = load_reference("ovarian.cox.json")
    covariates = MODELS["ovarian.cox.json"]
    beta = [row["coef"] for row in answer["coefficients"]]
    table = cox_zph(data["time"], data["event"], data.select(covariates).to_numpy(), beta, covariates)
    assert table["statistic"].to_list() == pytest.approx([r["chisq"] for r in answer["cox_zph_km"]], rel=1e-9)


def test_missing_covariates_are_refused():
    frame = pl.DataFrame({"time": [1.0, 2.0, 3.0], "event": [1, 0, 1], "x": [0.0, None, 1.0]})
    with pytest.raises(ValueError, match="1 rows"):
        cox_ph(frame, "time", "event", ["x"])
