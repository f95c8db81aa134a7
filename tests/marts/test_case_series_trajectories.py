"""marts.case_series_trajectories on a small core (long format, course order, phases, detection limits), its
reference rows, and the figure."""

import datetime as dt
import io

import polars as pl

from assets.marts import case_series_plots as plots
from assets.marts import case_series_trajectories as trajectories
from tests.marts.case_series_frames import case_series_core


def built():
    con = case_series_core("patients", "assessments", "events")
    trajectories.write_trajectories(con)
    table = pl.DataFrame(con.sql("SELECT * FROM marts.case_series_trajectories"))
    assert table.columns == list(trajectories.COLUMNS)
    return con, table


def case(table: pl.DataFrame, case_no: int) -> list[tuple]:
    return table.filter(pl.col("case_no") == case_no).sort("time_point_no", "measure").select(
        "time_point_no", "timepoint", "phase", "measure").rows()


def test_one_row_per_case_time_point_and_measure_of_the_study_only():
    _, table = built()
    assert table.height == 3 + 6 + 5  # case 1: 3 MRD; case 2: 3 MRD + 3 transcripts; case 3: 4 MRD + 1 transcript
    assert set(table["subject_id"]) == {"s1", "s2", "s3"}
    assert table.filter(pl.struct("case_no", "time_point_no", "measure").is_duplicated()).height == 0


def test_time_points_in_course_order_with_their_phase():
    _, table = built()
    assert case(table, 1) == [(1, "induction_d19", "frontline_induction", "mrd"),
                              (2, "induction_d46", "frontline_induction", "mrd"),
                              (3, "follow_up", "off_therapy_relapse", "mrd")]  # delivered before day 46
    assert case(table, 2) == [(1, "maintenance", "frontline_maintenance", "fusion_transcript"),
                              (1, "maintenance", "frontline_maintenance", "mrd"),
                              (2, "pre_cycle", "before_blinatumomab", "fusion_transcript"),
                              (2, "pre_cycle", "before_blinatumomab", "mrd"),
                              (3, "end_of_cycle", "after_blinatumomab", "fusion_transcript"),
                              (3, "end_of_cycle", "after_blinatumomab", "mrd")]
    phases = dict((row[0], row[2]) for row in case(table, 3))
    assert phases == {1: "before_blinatumomab", 2: "on_blinatumomab", 3: "after_blinatumomab",
                      4: "after_blinatumomab"}  # follow_up inside a cycle


def test_detection_limits_and_below_detection_flags():
    _, table = built()
    rows = {(row["case_no"], row["timepoint"], row["measure"]): row for row in table.iter_rows(named=True)}
    below = rows[(1, "induction_d19", "mrd")]
    assert (below["value_pct"], below["below_detection"], below["detection_limit_pct"],
            below["detection_limit_source"]) == (0.01, True, 0.01, "delivered")
    detected = rows[(1, "follow_up", "mrd")]
    assert (detected["below_detection"], detected["detection_limit_pct"], detected["detection_limit_source"]) == (
        False, 0.01, "assay")
    assert rows[(3, "day15", "mrd")]["detection_limit_pct"] == 0.05  # a less sensitive `<0.05`
    not_detected = rows[(2, "end_of_cycle", "fusion_transcript")]
    assert (not_detected["value_pct"], not_detected["value_raw"], not_detected["below_detection"],
            not_detected["detection_limit_pct"], not_detected["assay"]) == (None, "ND", True, None, "qpcr")


def test_days_from_the_first_infusion_only_where_dated():
    _, table = built()
    days = dict(table.filter(pl.col("case_no") == 3).select("timepoint", "days_from_first_infusion").rows())
    assert days == {"pre_cycle": -2, "day15": 14, "end_of_cycle": 16, "follow_up": 55}
    assert table.filter(pl.col("case_no") < 3)["days_from_first_infusion"].null_count() == 9  # undated


def test_published_values_per_measure_and_time_point():
    con, _ = built()
    rows = {(row[0], row[1], row[2]): row[3] for row in trajectories.published_values(con).iter_rows()}
    assert rows[("case_series.mrd.induction_d19", "case_1", "pct")] == 0.01
    assert rows[("case_series.mrd.induction_d19", "case_1", "below_lod")] == 1.0
    assert rows[("case_series.mrd.follow_up", "case_1", "below_lod")] == 0.0
    assert rows[("case_series.fusion_transcript.pre_cycle", "case_2", "pct")] == 2.31
    assert ("case_series.fusion_transcript.end_of_cycle", "case_2", "pct") not in rows  # ND has no number
    assert rows[("case_series.fusion_transcript.end_of_cycle", "case_2", "below_lod")] == 1.0


def test_the_figure_has_a_panel_per_case_with_its_markers():
    con, table = built()
    hsct = trajectories.hsct_dates(con)
    figure = plots.trajectory_figure(table, hsct)
    panels = figure.axes
    assert [axes.get_title() for axes in panels] == ["Case 1", "Case 2", "Case 3"]
    assert all(axes.get_yscale() == "log" for axes in panels)
    assert "%" in panels[0].get_ylabel()
    labels = {label for axes in panels for label in axes.get_legend_handles_labels()[1]}
    assert {"MRD (flow cytometry)", "Fusion transcript (qPCR)", "MRD detection limit (0.01 %)", "HSCT",
            "Blinatumomab"} <= labels
    # Case 3's transplant falls before its dated follow-up marrow (time point 4): between 3 and 4.
    case3 = table.filter(pl.col("case_no") == 3)
    assert plots._hsct_x(case3, dt.date(2022, 1, 11)) == 3.5
    assert plots._blinatumomab_spans(case3) == [(1, 2)]
    # Case 1 has no cycle in core: no blinatumomab span.
    assert plots._blinatumomab_spans(table.filter(pl.col("case_no") == 1)) == []


def test_the_png_is_written_one_panel_wide_per_case():
    from PIL import Image

    con, table = built()
    hsct = trajectories.hsct_dates(con)
    three = Image.open(io.BytesIO(plots.trajectory_png(table, hsct)))
    one = Image.open(io.BytesIO(plots.trajectory_png(table.filter(pl.col("case_no") == 3), hsct)))
    assert three.format == "PNG" and three.size[0] == 3 * one.size[0] and three.size[1] == one.size[1]
