"""Kaplan-Meier, median and log-rank against R's survival package (tests/reference/gehan.km.json)."""

from __future__ import annotations

from dataclasses import astuple

import pytest

from assets.marts.stats import (
    kaplan_meier,
    logrank_test,
    matches_published,
    median_survival,
    survival_at,
)
from tests.stats.conftest import load_reference

ANSWER, GEHAN = load_reference("gehan.km.json")
GROUPS = {group["group"]: group for group in ANSWER["groups"]}
CURVE_COLUMNS = {
    "time": "time",
    "n_at_risk": "n.risk",
    "events": "n.event",
    "censored": "n.censor",
    "survival": "surv",
    "std_err": "se_surv_greenwood",
    "ci_lower": "lower_loglog",
    "ci_upper": "upper_loglog",
}


def curve_of(group: str):
    data = GEHAN.filter(GEHAN["group"] == group)
    return kaplan_meier(data["time"], data["event"])


def close(actual, expected):
    return expected is None and actual is None or actual == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("group", GROUPS)
def test_whole_step_curve_matches_survfit(group):
    curve = curve_of(group)
    expected = GROUPS[group]["curve"]
    for ours, theirs in CURVE_COLUMNS.items():
        assert all(close(a, e) for a, e in zip(curve[ours].to_list(), expected[theirs], strict=True)), ours


@pytest.mark.parametrize("group", GROUPS)
def test_survival_at_matches_summary_survfit(group):
    curve = curve_of(group)
    for at in GROUPS[group]["at"]:
        s = survival_at(curve, at["t"])
        assert close(s.survival, at["surv"])
        assert close(s.std_err, at["se_surv_greenwood"])
        assert close(s.ci_lower, at["lower_loglog"]) and close(s.ci_upper, at["upper_loglog"])
        assert s.n_at_risk == at["n.risk"]
        assert s.beyond_last_followup == at["beyond_last_followup"]


def test_survival_at_before_first_and_after_last_time():
    curve = curve_of("6-MP")
    assert survival_at(curve, 1).survival == 1.0 and survival_at(curve, 1).n_at_risk == 21
    late = survival_at(curve, 100)
    assert late.beyond_last_followup and late.n_at_risk == 0
    assert late.survival == pytest.approx(GROUPS["6-MP"]["curve"]["surv"][-1])


@pytest.mark.parametrize("group", GROUPS)
def test_median_and_its_ci_match_quantile_survfit(group):
    expected = GROUPS[group]["median_ci"]["loglog"]
    median = median_survival(curve_of(group))
    assert astuple(median) == (expected["median"], expected["lower"], expected["upper"])


def test_median_of_a_curve_flat_at_one_half_is_the_midpoint():
    # S = 0.75, 0.5 (at 2), then 0.25 at 6: R's median is (2 + 6) / 2
    assert median_survival(kaplan_meier([1, 2, 6, 8], [1, 1, 1, 0])).median == 4
    # a curve ending exactly at 0.5 takes the midpoint with the last follow-up time
    assert median_survival(kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0])).median == 3
    # never reaching 0.5: no median
    assert median_survival(kaplan_meier([1, 2, 3, 4], [1, 0, 0, 0])).median is None


def test_two_group_logrank_matches_survdiff():
    result = logrank_test(GEHAN["time"], GEHAN["event"], GEHAN["group"])
    expected = ANSWER["logrank"]
    assert result.statistic == pytest.approx(expected["chisq"], rel=1e-9)
    assert result.p_value == pytest.approx(expected["p"], rel=1e-9)
    assert result.df == expected["df"]
    assert result.extras["groups"] == expected["groups"]
    assert result.extras["observed"] == expected["observed"]
    assert result.extras["expected"] == pytest.approx(expected["expected"], rel=1e-12)


def test_k_group_logrank_matches_lifelines():
    from lifelines.statistics import multivariate_logrank_test

    time = [1, 3, 3, 4, 6, 7, 8, 8, 9, 10, 12, 13, 15, 15, 17, 20, 21, 24]
    event = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1]
    group = ["a", "b", "c"] * 6
    result = logrank_test(time, event, group)
    expected = multivariate_logrank_test(time, group, event)
    assert result.df == 2
    assert result.statistic == pytest.approx(expected.test_statistic, rel=1e-9)


def test_logrank_without_events_has_no_p():
    """R: chisq 0 on df 0, P NaN (test_stats_undefined.py holds R's answer)."""
    result = logrank_test([5, 6, 7, 8], [0, 0, 0, 0], ["a", "a", "b", "b"])
    assert (result.statistic, result.p_value, result.df, result.extras["defined"]) == (0.0, None, 0.0, False)


@pytest.mark.parametrize(
    ("measure", "group", "n", "events"),
    [
        ("survival.efs_1y", "rr", 30, 8),
        ("survival.efs_1y", "not_rr", 75, 5),
        ("survival.os_1y", "rr_no_mrd_response", 6, 2),
        ("survival.efs_1y", "rr_no_mrd_response", 6, 5),
        ("survival.efs_1y", "cr_mrdneg", 45, 1),
    ],
)
def test_paper_one_year_estimates_from_implied_counts(published, measure, group, n, events):
    """docs/published-results.md: events inside the year, censoring after it, give the paper's KM +- SE."""
    time = [30 * (i + 1) for i in range(events)] + [400] * (n - events)
    one_year = survival_at(kaplan_meier(time, [1] * events + [0] * (n - events)), 365)
    for statistic, value in (("km_pct", one_year.survival), ("se_pct", one_year.std_err)):
        row = published[(measure, group, statistic)]
        assert matches_published(100 * value, row["value"], row["match"]), (statistic, value)
