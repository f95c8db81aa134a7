"""Survival marts: the mart's SQL and statistics, on small core tables in an in-memory DuckDB, against a
classic published analysis and small cases with known answers, and end to end on the demo warehouse against
the paper (published_results.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.marts import shared, survival
from assets.marts.first_cycle import create_first_cycles
from assets.marts.stats import matches_published
from assets.marts.survival_columns import CURVES_COLUMNS, CURVES_DESCRIPTION, CURVES_ORDER
from assets.marts.survival_groupings import GROUPINGS, Grouping
from tests.marts.core_db import core_database
from tests.marts.core_frames import START, cycle, cycles, event, events, patient, patients

ROOT = Path(__file__).resolve().parents[2]
FREIREICH = ROOT / "tests" / "reference" / "gehan.csv"  # 6-MP vs placebo remission times, weeks
PUBLISHED = ROOT / "dbt_project" / "seeds" / "published_results.csv"
ARM = Grouping("arm", "6-MP vs placebo", "arm")
TTE_SCHEMA = {"subject_id": pl.Utf8, "endpoint": pl.Utf8, "origin": pl.Utf8, "time_days": pl.Int64,
              "event": pl.Int32}

# Freireich et al. (Blood 1963) as published with its Kaplan-Meier table (Kleinbaum & Klein, Survival
# Analysis, 3rd ed., Table 2.1; Cox & Oakes 1984): 6-MP at its event times: n at risk, events, S(t).
SIX_MP_TABLE = [
    (6, 21, 3, 0.8571), (7, 17, 1, 0.8067), (10, 15, 1, 0.7529), (13, 12, 1, 0.6902),
    (16, 11, 1, 0.6275), (22, 7, 1, 0.5378), (23, 6, 1, 0.4482),
]


def times_database(patient_rows: pl.DataFrame, time_to_event: pl.DataFrame, groupings=GROUPINGS):
    """core.first_cycles (a first_cycle-like relation: what the groupings read) and core.time_to_event in
    DuckDB, the survival times created on them."""
    con = core_database(first_cycles=patient_rows, time_to_event=time_to_event)
    survival.create_survival_times(con, groupings, patients="core.first_cycles")
    return con


@pytest.fixture(scope="module")
def freireich():
    """The classic data as a patient relation and core.time_to_event, the shapes the mart reads."""
    data = pl.read_csv(FREIREICH).with_row_index("row").with_columns(subject_id=pl.format("s{}", "row"))
    time_to_event = data.select(
        "subject_id", endpoint=pl.lit("remission"), origin=pl.lit("first_infusion"),
        time_days="time", event="event",
    )
    return times_database(data.select("subject_id", arm=pl.col("group")), time_to_event, [ARM])


@pytest.fixture(scope="module")
def freireich_curves(freireich) -> pl.DataFrame:
    return survival.survival_curves(survival.grouped_counts(freireich, [ARM]))


def test_curve_reproduces_the_published_kaplan_meier_table(freireich_curves):
    six_mp = freireich_curves.filter(pl.col("group") == "6-MP")
    at_events = six_mp.filter(pl.col("events") > 0)
    assert at_events.select("time", "n_at_risk", "events").rows() == [row[:3] for row in SIX_MP_TABLE]
    assert [round(s, 4) for s in at_events["survival"]] == [row[3] for row in SIX_MP_TABLE]
    # Ties and censoring at an event time: at week 6 three relapses and one censoring share one step.
    assert six_mp.filter(pl.col("time") == 6).select("events", "censored").row(0) == (3, 1)
    # The whole step function: every censoring time is a row too (12 censored 6-MP patients).
    assert six_mp["censored"].sum() == 12 and six_mp["n_at_risk"][0] == 21
    placebo = freireich_curves.filter(pl.col("group") == "placebo")
    assert placebo["censored"].sum() == 0 and placebo["survival"][-1] == 0


def test_summary_gives_the_published_medians_and_greenwood_se(freireich, freireich_curves):
    summary = survival.survival_summary(freireich, freireich_curves, [ARM], horizon_days=10)
    by_group = {row["group"]: row for row in summary.iter_rows(named=True)}
    assert (by_group["6-MP"]["n"], by_group["6-MP"]["events"]) == (21, 9)
    assert (by_group["placebo"]["n"], by_group["placebo"]["events"]) == (21, 21)
    assert by_group["6-MP"]["median_days"] == 23 and by_group["placebo"]["median_days"] == 8
    # 6-MP S(10) = 0.753 with Greenwood SE 0.096; the upper median limit is never reached.
    assert round(by_group["6-MP"]["surv_1y"], 3) == 0.753 and round(by_group["6-MP"]["se_1y"], 3) == 0.096
    assert by_group["6-MP"]["median_ci_upper"] is None
    assert by_group["6-MP"]["at_risk_1y"] == 15


def test_logrank_reproduces_the_published_chi_square(freireich):
    [test] = survival.logrank_tests(survival.grouped_counts(freireich, [ARM]), [ARM]).iter_rows(named=True)
    assert round(test["statistic"], 2) == 16.79 and test["df"] == 1
    assert f"{test['p_value']:.1e}" == "4.2e-05"
    assert test["test_id"] == "survival.remission.arm" and test["groups"] == "6-MP vs placebo"


def patients_frame(**columns) -> pl.DataFrame:
    """A first_cycle-like relation: what the groupings read."""
    n = len(next(iter(columns.values())))
    base = {"subject_id": [f"s{i}" for i in range(n)], "indication_group": ["rr"] * n,
            "mrd_negative_after": [True] * n, "status": ["rr"] * n, "cytogenetic_risk": ["standard"] * n}
    return pl.DataFrame({**base, **columns}, schema_overrides={"mrd_negative_after": pl.Boolean})


def groups_of(patient_rows: pl.DataFrame, grouping: str) -> dict[str, str]:
    [expression] = [candidate.group for candidate in GROUPINGS if candidate.name == grouping]
    con = core_database(first_cycles=patient_rows)
    return dict(con.execute(f"SELECT subject_id, {expression} AS g FROM core.first_cycles "
                            f"WHERE g IS NOT NULL ORDER BY subject_id").fetchall())


def test_mrd_response_groupings_leave_out_unknown_responses_and_other_populations():
    patient_rows = patients_frame(
        indication_group=["rr", "rr", "cr_mrdpos", "cr_mrdpos", "cr_mrdneg", None],
        mrd_negative_after=[True, False, True, None, True, True],
    )
    assert groups_of(patient_rows, "rr_mrdpos_by_mrd_response") == {
        "s0": "rr_mrdpos_mrd_response", "s1": "rr_mrdpos_no_mrd_response", "s2": "rr_mrdpos_mrd_response"}
    assert groups_of(patient_rows, "rr_by_mrd_response") == {"s0": "rr_mrd_response", "s1": "rr_no_mrd_response"}
    assert groups_of(patient_rows, "cr_mrdpos_by_mrd_response") == {"s2": "cr_mrdpos_mrd_response"}
    assert groups_of(patient_rows, "rr_vs_not") == {
        "s0": "rr", "s1": "rr", "s2": "not_rr", "s3": "not_rr", "s4": "not_rr"}


def test_mrd_response_is_cycle_one_s_even_when_a_later_cycle_clears_mrd():
    # s0 fails cycle 1 (an EFS event at day 21) and clears MRD in cycle 2: still a non-responder.
    people = patients([patient(s, "cr_mrdpos", indication_group="cr_mrdpos") for s in ("s0", "s1")])
    given = cycles([cycle("s0", mrd_negative_after=False), cycle("s0", 2, mrd_negative_after=True),
                    cycle("s1", mrd_negative_after=True)])
    time_to_event = pl.DataFrame({"subject_id": ["s0", "s1"], "endpoint": ["efs"] * 2,
                                  "origin": ["first_infusion"] * 2, "time_days": [21, 400], "event": [1, 0]},
                                 schema=TTE_SCHEMA)
    con = core_database(patients=people, cycles=given, time_to_event=time_to_event, events=events([]))
    summary = survival.survival_marts(con).summary
    groups = summary.filter(pl.col("grouping") == "cr_mrdpos_by_mrd_response")
    assert dict(groups.select("group", "events").iter_rows()) == {
        "cr_mrdpos_mrd_response": 0, "cr_mrdpos_no_mrd_response": 1}


def test_unknown_times_are_counted_not_analysed():
    time_to_event = pl.DataFrame({
        "subject_id": ["s0", "s1", "s2"], "endpoint": ["os"] * 3, "origin": ["diagnosis"] * 3,
        "time_days": [100, None, -5], "event": [1, 0, 1],
    }, schema=TTE_SCHEMA)
    overall = [GROUPINGS[0]]
    con = times_database(patients_frame(status=["rr", "rr", "rr"]), time_to_event, overall)
    curves = survival.survival_curves(survival.grouped_counts(con, overall))
    [row] = survival.survival_summary(con, curves, overall).iter_rows(named=True)
    assert (row["n"], row["events"], row["n_without_time"], row["origin"]) == (1, 1, 2, "diagnosis")
    # Everyone analysed had the event within the year: S = 0, and no SE (R: NaN; the paper prints 0).
    assert (row["surv_1y"], row["se_1y"]) == (0.0, None)  # R: NaN; the reproduction shows the paper's 0


def test_published_values_are_percentages_once_per_group():
    summary = pl.DataFrame({
        "endpoint": ["efs", "efs", "efs", "efs"],
        "grouping": ["rr_vs_not", "three_groups", "cycle1_status", "rr_vs_not"],
        "group": ["rr", "rr", "cr_mrdpos", "not_rr"],
        "surv_1y": [0.5, 0.5, 0.9, 0.0], "se_1y": [0.1, 0.1, 0.05, None],
    })
    values = survival.published_estimates(summary)
    # cycle1_status is not a paper grouping: its cr_mrdpos must not stand in for the indication group's.
    # S = 0 has no SE in the mart (R: NaN); the paper prints it as 0.
    assert values.sort("group", "statistic").rows() == [
        ("survival.efs_1y", "not_rr", "km_pct", 0.0), ("survival.efs_1y", "not_rr", "se_pct", 0.0),
        ("survival.efs_1y", "rr", "km_pct", 50.0), ("survival.efs_1y", "rr", "se_pct", 10.0),
    ]


def test_outcomes_count_only_after_the_first_infusion():
    people = patients([patient("s0", first_infusion_date=START), patient("s1", first_infusion_date=START)])
    # s0: the relapse that led to blinatumomab, then one after it; s1: one on the day of the first infusion.
    followed = events([event("s0", "relapse", -30), event("s0", "relapse", 240), event("s1", "relapse", 0),
                       event("s1", "death", 60), event("s1", "last_contact", 90)])
    con = core_database(patients=people, cycles=cycles([]), events=followed)
    create_first_cycles(con)
    outcomes = {row["event_type"]: row for row in survival.survival_events(con).iter_rows(named=True)}
    assert (outcomes["relapse"]["events"], outcomes["relapse"]["patients"]) == (2, 2)
    assert outcomes["death"]["events"] == 1 and "last_contact" not in outcomes


def test_a_km_figure_renders_to_a_deterministic_png(freireich_curves):
    from assets.marts.plot_style import render
    from assets.marts.survival_plots import km_figure

    first, second = (render(km_figure(freireich_curves, "Freireich", "Remission", {"6-MP": "6-MP"}))
                     for _ in range(2))
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and first == second


def test_a_km_figure_shows_the_ci_bands_medians_the_log_rank_p_and_the_numbers_at_risk_at_body_size(freireich_curves):
    from assets.marts.plot_style import BODY_PT, render
    from assets.marts.survival_plots import km_figure

    svg = render(km_figure(freireich_curves, "Freireich", "Remission", medians={"6-MP": 23.0, "placebo": None},
                           p_value=0.00004, test="Log-rank")).svg.decode()
    assert svg.startswith("<?xml") and "Log-rank P &lt; 0.001" in svg
    assert "median 0.8 mo" in svg and "median not reached" in svg
    # One band per group (fill_between: a filled path at the band's opacity), under its curve.
    assert svg.count("fill-opacity: 0.15") == 2
    # The at-risk table: its heading and counts (21 at 0 weeks in both arms) are body-size text.
    at_risk = [line for line in svg.splitlines() if ">At risk<" in line or ">21<" in line]
    assert len(at_risk) == 3 and all(f"font: {BODY_PT:g}px" in line or f"{BODY_PT:g}px" in line for line in at_risk)


# --- End to end: the demo warehouse (conftest.demo_warehouse) reproduces the paper -----------------------

def reference_rows(prefix: str) -> list[dict[str, str]]:
    with PUBLISHED.open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["id"].startswith(prefix)]


def query(database: Path, sql: str) -> pl.DataFrame:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        return pl.DataFrame(con.sql(sql))


def test_every_one_year_estimate_and_the_relapse_count_reproduce(demo_warehouse):
    import duckdb

    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        computed = survival.published_values(con)
    # The reference CSV writes no group as an empty string.
    values = {(row["id"], row["group"] or "", row["statistic"]): row["computed_value"]
              for row in computed.iter_rows(named=True)}
    expected = [row for name in ("efs_1y", "os_1y", "relapses") for row in reference_rows(f"survival.{name}")]
    assert len(expected) == 41
    misses = [(row["id"], row["group"], row["statistic"], row["value"],
               values.get((row["id"], row["group"], row["statistic"]))) for row in expected
              if not matches_published(values.get((row["id"], row["group"], row["statistic"])), row["value"],
                                       row["match"])]
    assert misses == []


def test_every_logrank_p_falls_on_the_published_side(demo_warehouse):
    """A comparison without an event has no P (NULL, as R's NaN): the paper prints 1.0 for it."""
    tests = query(demo_warehouse,
                  "SELECT test_id, p_value, extras FROM marts.statistical_tests WHERE mart = 'survival'")
    p_values = {row["test_id"]: row for row in tests.iter_rows(named=True)}
    expected = [row for row in reference_rows("survival.") if row["statistic"] == "p_value"]
    assert len(expected) == 10
    undefined = [row["id"] for row in expected if p_values[row["id"]]["p_value"] is None]
    assert all(row["value"] == "1.0" for row in expected if row["id"] in undefined)
    assert all('"defined": false' in p_values[test_id]["extras"] for test_id in undefined)
    assert [(row["id"], row["value"], p_values[row["id"]]["p_value"]) for row in expected
            if row["id"] not in undefined
            and not matches_published(p_values[row["id"]]["p_value"], row["value"], row["match"])] == []


def test_marts_and_figure_4_panels_are_written(demo_warehouse):
    summary = query(demo_warehouse, "SELECT * FROM marts.survival_summary")
    assert summary.filter(pl.col("grouping") == "overall")["n"].to_list() == [105, 105]
    curves = query(demo_warehouse, "SELECT * FROM marts.survival_curves")
    assert curves.group_by("endpoint", "grouping", "group").len().height == summary.height
    figures = demo_warehouse.parent / "figures"
    for endpoint, grouping in [("efs", "rr_vs_not"), ("os", "rr_vs_not"), ("efs", "three_groups"),
                               ("os", "three_groups")]:
        assert (figures / f"km_{endpoint}_{grouping}.png").read_bytes()[:4] == b"\x89PNG"


def test_curves_are_in_reading_order_the_whole_cohort_first():
    """The table (and the UI's preview of its first rows) starts with the whole cohort's curve at its first
    time, then the groupings as GROUPINGS lists them: not mid-curve, not alphabetical."""
    counts = pl.DataFrame({
        "endpoint": ["efs"] * 4, "grouping": [GROUPINGS[1].name, GROUPINGS[1].name, "overall", "overall"],
        "group": ["b", "a", "all", "all"], "time": [5.0, 7.0, 9.0, 2.0], "events": [1, 1, 1, 1], "total": [1, 1, 1, 1],
    })
    assert GROUPINGS[0].name == "overall"
    curves = survival.survival_curves(counts)
    assert curves.select("grouping", "group", "time").rows() == [
        ("overall", "all", 2.0), ("overall", "all", 9.0), (GROUPINGS[1].name, "a", 7.0), (GROUPINGS[1].name, "b", 5.0)]


def test_curves_preview_starts_at_the_start_of_the_first_curve_whatever_the_stored_order():
    """The UI's preview of marts.survival_curves is ordered in DuckDB by the curves' declared order
    (CURVES_ORDER): stored backwards (each curve from its last time, the groupings reversed), it still shows the
    whole cohort's curve from its first time, PREVIEW_ROWS rows."""
    counts = pl.DataFrame({
        "endpoint": ["efs"] * 8, "grouping": [GROUPINGS[1].name] * 2 + ["overall"] * 6,
        "group": ["b", "a", *["all"] * 6], "time": [5.0, 7.0, 9.0, 2.0, 4.0, 11.0, 13.0, 17.0],
        "events": [1] * 8, "total": [1] * 8,
    })
    curves = survival.survival_curves(counts)
    con = duckdb.connect(":memory:")
    shared.write_mart(con, "survival_curves", curves.reverse(), CURVES_DESCRIPTION, CURVES_COLUMNS)
    assert con.sql("SELECT time FROM marts.survival_curves LIMIT 1").fetchall() == [(5.0,)]  # stored mid-curve
    metadata = shared.table_metadata(con, "marts.survival_curves", CURVES_ORDER)
    lines = metadata["preview"].value.splitlines()[2:]
    shown = [tuple(cell.strip() for cell in line.strip("|").split("|")[:4]) for line in lines]
    assert shown == [("efs", "overall", "all", time) for time in ("2", "4", "9", "11", "13")]
    assert metadata["dagster/row_count"] == curves.height == 8


def test_km_censor_marks_are_bounded_by_the_figure_not_by_the_patients():
    from assets.marts.survival_plots import DAYS_PER_MONTH, MARK_GRID, censor_marks

    # 100,000 censorings, one a day over ten years, on a curve falling slowly: far more than the figure's pixels.
    times = [day % 3650 + 1 for day in range(100_000)]
    curve = pl.DataFrame({"time": sorted(times), "censored": [1] * 100_000,
                          "survival": [1 - i / 400_000 for i in range(100_000)]})
    last_month = 3650 / DAYS_PER_MONTH
    marks = censor_marks(curve, last_month)
    assert marks.height <= 2 * MARK_GRID
    # Every cell of the curve keeps a mark: the first censoring and the last (months, survival) are drawn.
    assert marks.row(0) == (1 / DAYS_PER_MONTH, 1.0)
    assert marks["month"].max() > 0.99 * last_month
    # A small cohort keeps every mark that falls on its own pixel.
    few = pl.DataFrame({"time": [10, 40, 41, 300], "censored": [1, 0, 1, 1], "survival": [1.0, 0.9, 0.9, 0.5]})
    assert censor_marks(few, 12).rows() == [(10 / DAYS_PER_MONTH, 1.0), (41 / DAYS_PER_MONTH, 0.9),
                                            (300 / DAYS_PER_MONTH, 0.5)]
