"""The gate on therapy lines (schemas/therapy_lines.py, relations.py): a line must belong to a patient in core,
end on or after its start, lie between diagnosis and death, and be delivered once per number; undated lines,
as case reports deliver them, pass."""

from datetime import date

import pytest

from tests.validation.gating import gate_frames
from tests.validation.rows import SUBJECT, TODAY, candidates, changed, clean

pytestmark = pytest.mark.slow  # builds warehouses: make test-all


def gated(**changes):
    results = gate_frames(candidates(**changes), TODAY)
    result, delivered = results["therapy_lines"], candidates(**changes)["therapy_lines"].height
    assert result.passed.height + result.quarantine.height == delivered  # nothing lost
    return result


def test_clean_and_undated_lines_pass():
    result = gated()
    assert result.quarantine.is_empty() and result.warnings.is_empty()
    assert result.passed["line_no"].to_list() == [1, 2, 3]
    assert result.passed["start_date"].to_list()[2] is None


def test_a_line_ending_before_it_starts_is_refused_with_file_row_column_and_value():
    result = gated(therapy_lines=changed("therapy_lines", 1, end_date=date(2019, 6, 30), end_date_raw="2019-06-30"))
    [row] = result.quarantine.to_dicts()
    assert (row["source_file"], row["source_row"], row["check_name"], row["column_name"], row["value"]) == (
        "therapy.csv", 2, "end_on_or_after_start", "end_date", "2019-06-30")
    assert row["reason"] == (f"Therapy line 2 (consolidation) of subject {SUBJECT[:8]}… (aaa/therapy.csv row 2): "
                             "line end date 2019-06-30 is before its start date 2019-07-01.")
    assert result.passed["line_no"].to_list() == [1, 3]


def test_a_line_of_a_patient_not_in_core_is_refused():
    orphan = {**clean("therapy_lines")[0], "subject_id": "b" * 64, "source_row": 4}
    result = gated(therapy_lines=[*clean("therapy_lines"), orphan])
    [row] = result.quarantine.to_dicts()
    assert row["source_row"] == 4 and row["check_name"] == "patient_in_core"
    assert "its patient is not in core" in row["reason"]


def test_lines_before_diagnosis_or_after_death_are_refused():
    before = changed("therapy_lines", 0, start_date=date(2019, 4, 1))  # diagnosed 2019-05-02
    after = {**clean("therapy_lines")[2], "start_date": date(2021, 1, 4), "end_date": date(2021, 12, 20)}
    death = {**clean("events")[0], "source_row": 2, "event_type": "death", "event_date": date(2021, 12, 1)}
    result = gated(therapy_lines=[*before[:2], after], events=[{**clean("events")[0], "event_date": date(2021, 12, 1)},
                                                               death])
    reasons = {row["source_row"]: row["reason"] for row in result.quarantine.to_dicts()}
    assert set(reasons) == {1, 3}
    assert "line start 2019-04-01 is before the diagnosis on 2019-05-02" in reasons[1]
    assert "line end 2021-12-20 is after the subject's death on 2021-12-01" in reasons[3]


def test_a_line_number_delivered_twice_with_different_content_is_held_back():
    copy = {**clean("therapy_lines")[2], "source_row": 4, "regimen": "CAT"}
    result = gated(therapy_lines=[*clean("therapy_lines"), copy])
    assert sorted(result.quarantine["source_row"].to_list()) == [3, 4]
    assert set(result.quarantine["check_name"].to_list()) == {"no_conflicting_duplicate"}


def test_a_line_numbered_out_of_date_order_passes_with_a_warning():
    result = gated(therapy_lines=changed("therapy_lines", 1, start_date=date(2019, 5, 3), end_date=date(2019, 5, 4)))
    assert result.quarantine.is_empty()
    [row] = result.warnings.to_dicts()
    assert row["source_row"] == 2
    assert "line 2 starts on 2019-05-03, before line 1 started on 2019-05-06" in row["reason"]


def test_an_unknown_phase_is_refused_naming_the_code():
    result = gated(therapy_lines=changed("therapy_lines", 2, phase="induction"))
    [row] = result.quarantine.to_dicts()
    assert row["value"] == "induction" and "phase 'induction' is not a contract code" in row["reason"]
