"""marts.case_series_patients on a small core: one row per case, numbered by the patients file, what core holds
and nothing more, and its reference rows."""

import datetime as dt

import polars as pl
import pytest

from assets.marts import case_series_patients as patients
from assets.marts.case_series_cases import check_case_numbers
from tests.marts.case_series_frames import EVENTS, PATIENTS, case_series_core


def mart(**replaced) -> dict[int, dict]:
    con = case_series_core(**replaced)
    patients.write_patients(con)
    table = pl.DataFrame(con.sql("SELECT * FROM marts.case_series_patients"))
    assert table.columns == list(patients.COLUMNS)
    return {row["case_no"]: row for row in table.iter_rows(named=True)}


def test_one_row_per_case_numbered_by_the_patients_file_and_no_other_study():
    cases = mart()
    assert list(cases) == [1, 2, 3]
    assert [cases[n]["subject_id"] for n in (1, 2, 3)] == ["s1", "s2", "s3"]
    assert [cases[n]["age_at_diagnosis_months"] for n in (1, 2, 3)] == [67, 13, 61]
    assert ((cases[2]["fusion_gene"], cases[2]["cytogenetics"], cases[1]["fusion_gene"])
            == ("KMT2A-AFF1", "kmt2ar", None))


def test_a_case_without_its_cycle_in_core_shows_nulls_not_guesses():
    case = mart()[1]
    assert case["blinatumomab_cycles"] == 0
    assert (case["dose_ug_m2_day"], case["blinatumomab_start"], case["mrd_after_pct"], case["response"]) == (None,) * 4
    assert (case["fever_grade"], case["toxicities"]) == (None, None)
    assert case["prior_lines"] == 1 and case["prior_therapy"] == "frontline CCCG-ALL-2015"
    assert case["hsct_date"] == dt.date(2022, 3, 22)


def test_cycle_one_its_marrow_and_the_worst_grade_over_cycles():
    case = mart()[2]
    assert case["blinatumomab_cycles"] == 2
    assert case["dose_ug_m2_day"] == 15.0  # the target dose after step-up, not the 5 of day 1
    assert (case["blinatumomab_start"], case["blinatumomab_end"], case["infusion_days"]) == (
        dt.date(2022, 2, 1), dt.date(2022, 2, 28), 28)
    assert (case["mrd_before_pct"], case["mrd_before_below_lod"], case["fusion_before_pct"]) == (0.72, False, 2.31)
    assert (case["mrd_after_pct"], case["mrd_after_below_lod"], case["mrd_negative_after"]) == (0.01, True, True)
    assert (case["fusion_after_pct"], case["fusion_after_below_lod"]) == (None, True)
    assert (case["fever_grade"], case["crs_grade"], case["icans_grade"]) == (2, 0, 0)
    assert case["toxicities"] == "crs 0; fever 2; icans 0"
    assert case["prior_lines"] == 2
    assert case["prior_therapy"] == "frontline CCCG-ALL-2020; bridging chemotherapy with cyclophosphamide"


def test_follow_up_status_and_last_contact():
    cases = mart()
    assert cases[2]["status_at_last_follow_up"] == "relapsed"
    assert cases[3]["status_at_last_follow_up"] == "alive_no_relapse"
    assert cases[3]["last_follow_up"] == dt.date(2022, 5, 15)  # the latest of two contacts
    assert cases[3]["dose_ug_m2_day"] is None  # the report gives none


def test_cases_from_two_patients_files_have_no_case_number():
    second_file = PATIENTS.with_columns(
        source_file=pl.when(pl.col("subject_id") == "s3").then(pl.lit("szch_patients_2.csv"))
        .otherwise("source_file"))
    con = case_series_core(patients=second_file)
    with pytest.raises(ValueError, match="case number"):
        check_case_numbers(con)
    check_case_numbers(case_series_core())


def test_published_values_are_the_cases_facts_dates_as_yyyymmdd():
    con = case_series_core()
    patients.write_patients(con)
    rows = {(row[0], row[1], row[2]): row[3] for row in patients.published_values(con).iter_rows()}
    assert rows[("case_series.patients", None, "n")] == 3
    assert rows[("case_series.age_at_diagnosis", "case_1", "months")] == 67
    assert rows[("case_series.blinatumomab_start", "case_3", "date")] == 20211208
    assert rows[("case_series.hsct", "case_2", "date")] == 20220321
    assert rows[("case_series.blinatumomab_dose", "case_2", "ug_m2_day")] == 15
    # The warehouse's value beside the paper's misprint: the same number as the corrected row's.
    assert rows[("case_series.blinatumomab_dose", "case_2", "ug_m2_day_as_printed")] == 15
    assert rows[("case_series.blinatumomab_end", "case_1", "date_as_printed")] is None  # no cycle in core
    assert rows[("case_series.blinatumomab_end", "case_1", "date")] is None
    assert rows[("case_series.mrd_negative_after", None, "n")] == 2
    assert rows[("case_series.fusion_undetectable_after", None, "n")] == 2
    assert rows[("case_series.fever", "case_3", "grade")] == 1


def test_no_free_text_reaches_the_mart():
    """events.detail is free text the snapshot withholds from core: the mart must not carry it past that."""
    named = EVENTS.with_columns(detail=pl.lit("Zhang San, MRN 0012345"))
    con = case_series_core(events=named)
    patients.write_patients(con)
    cells = con.execute("SELECT count(*) FROM marts.case_series_patients AS mart "
                        "WHERE contains(CAST(mart AS VARCHAR), 'Zhang')").fetchall()
    assert cells == [(0,)]
    assert con.execute("SELECT count(*) FROM core.events WHERE contains(detail, 'Zhang')").fetchall() == [(10,)]
