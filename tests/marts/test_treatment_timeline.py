"""marts.treatment_timeline: the phases of each patient's treatment in order, from hand-made core rows (the
case series as the published report has it, a multicenter patient with bridging), its free text only where
reviewed, and the swimmer plot; end to end on the demo warehouse."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from assets.marts import treatment_timeline as tt
from assets.marts.treatment_timeline_plot import swimmer_plot
from tests.marts.core_db import core_database

D = dt.date
PATIENTS = pl.DataFrame([
    ("case1", "szch", "case_series"), ("case2", "szch", "case_series"), ("case3", "szch", "case_series"),
    ("mc1", "sch", "multicenter"), ("mc2", "sch", "multicenter"),
], schema={"subject_id": pl.Utf8, "center_id": pl.Utf8, "study": pl.Utf8}, orient="row")
LINE_SCHEMA = {"subject_id": pl.Utf8, "center_id": pl.Utf8, "line_no": pl.Int32, "phase": pl.Utf8,
               "regimen": pl.Utf8, "protocol": pl.Utf8, "start_date": pl.Date, "end_date": pl.Date,
               "detail": pl.Utf8}
# The report's blocks, undated, in its order; mc2 delivers dated lines, one of them after blinatumomab.
LINES = pl.DataFrame([
    ("case1", "szch", 1, "frontline_induction", None, "CCCG-ALL-2015", None, None, "in another hospital"),
    ("case1", "szch", 2, "maintenance", None, "CCCG-ALL-2015", None, None, None),
    ("case1", "szch", 3, "reinduction", "DEAL", None, None, None, None),
    ("case1", "szch", 4, "reconsolidation", "CAT", None, None, None, None),
    ("case3", "szch", 2, "intensification", "CAT", "CCCG-ALL-2020", None, None, None),
    ("case3", "szch", 1, "frontline_induction", "PVDL", "CCCG-ALL-2020", None, None, None),
    ("case3", "szch", 3, "intensification", "CAT+", "CCCG-ALL-2020", None, None, None),
    ("case3", "szch", 4, "consolidation", "HDMTX", "CCCG-ALL-2020", None, None, None),
    ("mc2", "sch", 1, "frontline_induction", "VDLD", None, D(2020, 1, 6), D(2020, 2, 20), "note"),
    ("mc2", "sch", 2, "reinduction", None, None, None, None, None),
    ("mc2", "sch", 3, "maintenance", None, None, D(2022, 6, 1), None, None),
], schema=LINE_SCHEMA, orient="row")
CYCLES = pl.DataFrame([
    ("case3", "szch", 1, D(2021, 12, 8), D(2021, 12, 23), "14d", None, None),
    ("mc1", "sch", 1, D(2022, 1, 3), D(2022, 1, 30), "21_28d", True, True),
    ("mc1", "sch", 2, D(2022, 3, 1), D(2022, 3, 28), "21_28d", False, False),
    ("mc2", "sch", 1, D(2022, 3, 1), D(2022, 3, 14), "14d", True, False),
], schema={"subject_id": pl.Utf8, "center_id": pl.Utf8, "cycle_no": pl.Int32, "start_date": pl.Date,
           "end_date": pl.Date, "regimen": pl.Utf8, "bridging_chemo": pl.Boolean, "cyclophosphamide": pl.Boolean},
    orient="row")
EVENTS = pl.DataFrame([
    ("case1", "szch", "hsct", D(2022, 3, 22), "mother, HLA 5/10"),
    ("case1", "szch", "last_contact", D(2022, 5, 15), None),
    ("case2", "szch", "hsct", D(2022, 3, 21), None),
    ("case3", "szch", "hsct", D(2022, 1, 11), "brother, HLA 5/10"),
    ("mc1", "sch", "hsct", D(2022, 5, 2), "unrelated donor"),
], schema={"subject_id": pl.Utf8, "center_id": pl.Utf8, "event_type": pl.Utf8, "event_date": pl.Date,
           "detail": pl.Utf8}, orient="row")
ASSESSMENTS = pl.DataFrame([
    ("case3", None, "induction_d19", None, "9.88"), ("case3", 1, "pre_cycle", None, "0.12"),
    ("case3", 1, "end_of_cycle", None, "<0.01"), ("case1", None, "follow_up", None, "1.5"),
    ("mc1", 1, "pre_cycle", D(2022, 1, 1), "0.5"),
], schema={"subject_id": pl.Utf8, "cycle_no": pl.Int32, "timepoint": pl.Utf8, "assessment_date": pl.Date,
           "mrd_pct_raw": pl.Utf8}, orient="row")
REVIEWED = {("therapy_lines", "detail"): ["szch"], ("events", "detail"): ["szch"]}


def database() -> duckdb.DuckDBPyConnection:
    return core_database(patients=PATIENTS, therapy_lines=LINES, cycles=CYCLES, events=EVENTS,
                         assessments=ASSESSMENTS)


@pytest.fixture(scope="module")
def timeline() -> pl.DataFrame:
    with database() as con:
        return pl.DataFrame(con.sql(tt.timeline_sql(REVIEWED)))


def phases_of(timeline: pl.DataFrame, subject: str) -> list[tuple]:
    rows = timeline.filter(pl.col("subject_id") == subject).sort("seq")
    assert rows["seq"].to_list() == list(range(1, rows.height + 1))
    return list(zip(rows["phase"], rows["regimen"], rows["source_table"]))


def test_the_case_series_phases_come_in_the_reports_order(timeline):
    assert phases_of(timeline, "case1") == [
        ("frontline_induction", None, "therapy_lines"), ("maintenance", None, "therapy_lines"),
        ("reinduction", "DEAL", "therapy_lines"), ("reconsolidation", "CAT", "therapy_lines"),
        ("hsct", None, "events")]  # its blinatumomab cycle is held in quarantine: not in core
    assert phases_of(timeline, "case3") == [
        ("frontline_induction", "PVDL", "therapy_lines"), ("intensification", "CAT", "therapy_lines"),
        ("intensification", "CAT+", "therapy_lines"), ("consolidation", "HDMTX", "therapy_lines"),
        ("blinatumomab", "14d", "cycles"), ("hsct", None, "events")]
    assert phases_of(timeline, "case2") == [("hsct", None, "events")]


def test_undated_lines_take_the_next_dated_line_and_a_lines_patient_gets_no_bridging_row(timeline):
    assert phases_of(timeline, "mc2") == [
        ("frontline_induction", "VDLD", "therapy_lines"), ("blinatumomab", "14d", "cycles"),
        ("reinduction", None, "therapy_lines"), ("maintenance", None, "therapy_lines")]


def test_a_cycles_bridging_comes_just_before_it_and_hsct_after(timeline):
    assert phases_of(timeline, "mc1") == [
        ("bridging", "with cyclophosphamide", "cycles"), ("blinatumomab", "21_28d", "cycles"),
        ("blinatumomab", "21_28d", "cycles"), ("hsct", None, "events")]
    rows = timeline.filter(pl.col("subject_id") == "mc1").sort("seq")
    assert rows["source_no"].to_list() == [1, 1, 2, None]
    assert rows["kind"].to_list() == ["chemotherapy", "blinatumomab", "blinatumomab", "hsct"]
    assert rows["start_date"].to_list() == [None, D(2022, 1, 3), D(2022, 3, 1), D(2022, 5, 2)]
    assert set(rows["study"]) == {"multicenter"}


def test_free_text_only_for_the_centers_that_reviewed_it(timeline):
    details = dict(zip(zip(timeline["subject_id"], timeline["phase"]), timeline["detail"]))
    assert details["case1", "hsct"] == "mother, HLA 5/10"
    assert details["case1", "frontline_induction"] == "in another hospital"
    assert details["mc1", "hsct"] is None and details["mc2", "frontline_induction"] is None
    with database() as con:
        unreviewed = pl.DataFrame(con.sql(tt.timeline_sql({})))
    assert unreviewed["detail"].null_count() == unreviewed.height


def test_every_column_is_described(timeline):
    assert list(tt.COLUMNS) == timeline.columns


def test_ticks_sit_on_the_phase_their_time_point_names(timeline):
    with database() as con:
        con.register("frame", con.from_arrow(timeline.__arrow_c_stream__()))
        con.execute(f"CREATE TABLE marts.{tt.MART} AS SELECT * FROM frame")
        phases, ticks = tt.case_series_frames(con)
    assert set(phases["study"]) == {"case_series"}
    placed = {(row["subject_id"], row["timepoint"]): (row["seq"], row["position"]) for row in ticks.to_dicts()}
    assert placed == {("case3", "induction_d19"): (1, 0.45), ("case3", "pre_cycle"): (5, 0.05),
                      ("case3", "end_of_cycle"): (5, 0.95), ("case1", "follow_up"): (2, 0.95)}


def test_the_swimmer_plot_is_a_png_that_follows_its_rows(timeline):
    with database() as con:
        con.register("frame", con.from_arrow(timeline.__arrow_c_stream__()))
        con.execute(f"CREATE TABLE marts.{tt.MART} AS SELECT * FROM frame")
        phases, ticks = tt.case_series_frames(con)
    png = swimmer_plot(phases, ticks)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert swimmer_plot(phases, ticks) == png  # the same rows give the same bytes
    assert swimmer_plot(phases.filter(pl.col("subject_id") != "case2"), ticks) != png


def test_a_fully_dated_lane_is_drawn_on_a_time_axis(timeline):
    dated = timeline.filter(pl.col("subject_id") == "mc1").with_columns(
        start_date=pl.coalesce("start_date", pl.lit(D(2021, 12, 20))))
    ticks = pl.DataFrame({"subject_id": ["mc1"], "timepoint": ["pre_cycle"], "assessment_date": [D(2022, 1, 1)],
                          "mrd_pct_raw": ["0.5"], "seq": [2], "position": [0.05]})
    assert swimmer_plot(dated, ticks)[:4] == b"\x89PNG"


# --- end to end: the demo warehouse (conftest.demo_warehouse) ------------------------------------------------


def test_the_demo_case_series_timeline_and_its_figure(demo_warehouse):
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        rows = con.execute("SELECT subject_id, seq, phase, regimen FROM marts.treatment_timeline"
                           " WHERE study = 'case_series' ORDER BY subject_id, seq").fetchall()
        bridged = con.execute("SELECT count(*) FROM marts.treatment_timeline WHERE study = 'multicenter'"
                              " AND phase = 'bridging'").fetchall()[0][0]
        flagged = con.execute("SELECT count(*) FROM core.cycles JOIN core.patients USING (subject_id)"
                              " WHERE study = 'multicenter' AND bridging_chemo").fetchall()[0][0]
        # The case series' file landed, and every row reached core.therapy_lines.
        accounted = con.execute("SELECT center_id, source_file, delivered, passed, quarantined"
                                " FROM audit.row_accounting WHERE table_name = 'therapy_lines'").fetchall()
    lanes: dict[str, list] = {}
    for subject, _, phase, regimen in rows:
        lanes.setdefault(subject, []).append(regimen or phase)
    assert sorted(lanes.values()) == sorted([
        # Cases 1 and 2's blinatumomab cycles reach core once data/corrections/szch.yaml answers their misprints;
        # case 2's regimen comes from its delivered 28 days (cycles.infusion_days), as it has no dates.
        ["frontline_induction", "maintenance", "DEAL", "CAT", "14d", "hsct"],
        ["frontline_induction", "CAT+", "maintenance", "21_28d", "hsct"],
        ["PVDL", "CAT", "CAT+", "HDMTX", "14d", "hsct"]])
    assert bridged == flagged > 0
    assert accounted == [("szch", "szch_therapy.csv", 11, 11, 0)]
    assert (demo_warehouse.parent / "figures" / tt.FIGURE).read_bytes()[:4] == b"\x89PNG"
