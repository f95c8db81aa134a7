"""The gate on hand-made candidate rows: clean rows pass untouched, each kind of bad value is quarantined
with a reason naming it, unusual values pass with a warning, and every candidate row is accounted for."""

import itertools
from datetime import date

import pytest

from tests.validation.gating import gate_frames
from tests.validation.rows import SUBJECT, TODAY, candidates, changed, clean

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

TABLES = ("patients", "cycles", "assessments", "labs", "adverse_events", "events", "therapy_lines")


def run(**changes):
    results = gate_frames(candidates(**changes), TODAY)
    for table, result in results.items():  # nothing lost: every candidate row passes or is quarantined
        delivered = candidates(**changes)[table].height
        assert result.passed.height + result.quarantine.height == delivered, table
    return results


def refused(results, table: str) -> list[dict]:
    return results[table].quarantine.to_dicts()


def only_refusal(results, table: str) -> dict:
    rows = refused(results, table)
    assert len(rows) == 1, rows
    return rows[0]


def test_clean_rows_pass_without_findings():
    results = run()
    for table in TABLES:
        assert results[table].quarantine.is_empty(), results[table].quarantine.get_column("reason").to_list()
        assert results[table].warnings.is_empty(), results[table].warnings.get_column("reason").to_list()
        assert results[table].passed.equals(candidates()[table]), table


def test_infusion_ending_on_february_29_2022_is_named():
    cycle = changed("cycles", end_date=None, end_date_raw="2022.02.29", infusion_days=None,
                    parse_errors="end_date:invalid_date")
    row = only_refusal(run(cycles=cycle), "cycles")
    assert (row["check_name"], row["column_name"], row["value"]) == ("parses:invalid_date", "end_date", "2022.02.29")
    assert "'2022.02.29' is not a real date" in row["reason"]
    assert row["reason"].startswith(f"Cycle 1 of subject {SUBJECT[:8]}… (aaa/cycles.csv row 1)")


def test_a_real_date_in_another_format_is_not_called_unreal():
    cycle = changed("cycles", end_date=None, end_date_raw="2023-01-09", infusion_days=None,
                    parse_errors="end_date:invalid_date")
    reason = only_refusal(run(cycles=cycle), "cycles")["reason"]
    assert "'2023-01-09' is a date, but not in the center's declared date_format" in reason
    assert "not a real date" not in reason


def test_dose_of_15_mg_per_m2_is_named_as_a_unit_slip():
    cycle = changed("cycles", dose_start=15000.0, dose_start_raw="15", dose_target=None, dose_target_raw=None,
                    dose_unit_raw="mg/m2/day", step_up_date=None)
    row = only_refusal(run(cycles=cycle), "cycles")
    assert row["column_name"] == "dose_start"
    assert "15 mg/m2/day" in row["reason"] and "1000 times 15" in row["reason"]


def test_refused_cycle_takes_its_marrow_labs_and_toxicity_to_quarantine():
    results = run(cycles=changed("cycles", dose_start=7.5))
    for table in ("assessments", "labs", "adverse_events"):
        assert results[table].passed.is_empty(), table
        assert set(results[table].quarantine.get_column("check_name")) == {"cycle_in_core"}
    assert "cycle 1 of this subject is not in core" in refused(results, "labs")[0]["reason"]


@pytest.mark.parametrize("field, value, raw, words", [
    ("mrd_pct", 120.0, "120", "MRD 120 % is outside the possible range 0.0 to 100.0 %"),
    ("bm_blasts_pct", -3.0, "-3", "marrow blasts -3 % is outside"),
])
def test_marrow_percentages_stay_within_0_to_100(field, value, raw, words):
    rows = changed("assessments", 1, **{field: value, f"{field}_raw": raw})
    row = only_refusal(run(assessments=rows), "assessments")
    assert row["column_name"] == field and words in row["reason"]


def test_counts_in_cells_per_microlitre_are_named():
    labs = changed("labs", 0, value=1200.0, value_raw="1200")
    row = only_refusal(run(labs=labs), "labs")
    assert "neutrophils 1200 x10^9/L is above the possible maximum of 100" in row["reason"]
    assert "looks like cells/uL delivered as x10^9/L" in row["reason"]


def test_a_lab_refused_for_its_date_names_the_date_as_its_value_not_the_result():
    labs = changed("labs", 0, sample_date=date(2030, 1, 1))  # a baseline sample, also after its cycle ended
    row = only_refusal(run(labs=labs), "labs")
    assert (row["check_name"], row["column_name"], row["value"]) == (
        "not_in_future; baseline_before_cycle_end", "sample_date; sample_date", "2030-01-01; 2030-01-01")


def test_negative_count_is_refused_without_a_unit_hint():
    row = only_refusal(run(labs=changed("labs", 0, value=-0.4, value_raw="-0.4")), "labs")
    assert "below the possible minimum of 0" in row["reason"] and "looks like" not in row["reason"]


@pytest.mark.parametrize("raw, hint", [
    ("1,5", "a decimal comma"), ("<0.01", "detection markers are accepted for lab and marrow values only"),
    ("ND", "detection markers"), ("heavy", "is not a number"),
])
def test_text_in_a_numeric_field_is_refused_with_its_text(raw, hint):
    cycle = changed("cycles", weight_kg=None, weight_kg_raw=raw, parse_errors="weight_kg:not_a_number")
    row = only_refusal(run(cycles=cycle), "cycles")
    assert row["value"] == raw and f"body weight '{raw}' is not a number" in row["reason"] and hint in row["reason"]


def test_future_and_implausibly_old_dates_are_refused():
    events = clean("events") + [{**clean("events")[0], "source_row": 2, "event_type": "hsct",
                                 "event_date": date(2030, 1, 1)}]
    assert "event date 2030-01-01 is in the future" in only_refusal(run(events=events), "events")["reason"]
    patient = changed("patients", diagnosis_date=date(1922, 5, 2))
    assert "diagnosis date 1922-05-02 is below the possible minimum" in only_refusal(
        run(patients=patient), "patients")["reason"]


def test_future_dates_are_judged_against_the_day_the_file_was_delivered_whenever_it_is_gated():
    """A date after the file's delivery is refused, one up to that day passes, on the day of delivery and any
    day after: re-gating a delivery (another file of the center changed, a run after midnight) gives the
    answer the first gate gave."""
    events = clean("events") + [{**clean("events")[0], "source_row": row, "event_type": "hsct", "event_date": day}
                                for row, day in ((2, date(2023, 6, 2)), (3, date(2023, 6, 1)))]
    file = (events[0]["center_id"], events[0]["source_file"])
    for today in (date(2023, 6, 1), date(2023, 6, 2), TODAY):
        refusal = only_refusal(gate_frames(candidates(events=events), today, delivered={file: date(2023, 6, 1)}),
                               "events")
        assert refusal["source_row"] == 2, today
        assert "event date 2023-06-02 is in the future (its file was delivered on 2023-06-01)" in refusal["reason"]


def test_response_assessed_before_its_cycle_started_is_refused():
    rows = changed("assessments", 1, assessment_date=date(2021, 2, 20))
    row = only_refusal(run(assessments=rows), "assessments")
    assert row["check_name"] == "after_cycle_start"
    assert "aspiration date 2021-02-20 is before cycle 1 started on 2021-03-01" in row["reason"]


def test_nothing_is_dated_after_death():
    death = {**clean("events")[0], "source_row": 2, "event_type": "death", "event_date": date(2021, 12, 1)}
    last_contact_on_death_day = {**clean("events")[0], "event_date": date(2021, 12, 1)}
    visit_after = {**clean("events")[0], "source_row": 3, "event_type": "hsct", "event_date": date(2022, 1, 5)}
    results = run(events=[last_contact_on_death_day, death, visit_after])
    row = only_refusal(results, "events")
    assert row["source_row"] == 3 and "is after the subject's death on 2021-12-01" in row["reason"]


@pytest.mark.parametrize("table, field, value, words", [
    ("events", "event_type", "visit", "event type 'visit' is not a contract code"),
    ("patients", "sex", "1", "sex '1' is not a contract code"),
    ("labs", "analyte", "ferritin", "analyte 'ferritin' is not a contract code"),
    ("adverse_events", "grade", 7, "grade 7 is outside the possible range 0 to 5"),
])
def test_unknown_codes_and_grade_7_are_refused(table, field, value, words):
    row = only_refusal(run(**{table: changed(table, **{field: value})}), table)
    assert row["column_name"] == field and words in row["reason"]


def test_a_row_failing_several_checks_is_quarantined_once_with_every_reason():
    rows = changed("assessments", 1, mrd_pct=150.0, bm_blasts_pct=101.0, assessment_date=date(2021, 2, 1))
    row = only_refusal(run(assessments=rows), "assessments")
    assert row["n_failures"] == 3
    for words in ("MRD 150 %", "marrow blasts 101 %", "before cycle 1 started"):
        assert words in row["reason"]


def test_patient_delivered_twice_identically_keeps_the_first_copy():
    patients = clean("patients") + [{**clean("patients")[0], "source_row": 7}]
    results = run(patients=patients)
    row = only_refusal(results, "patients")
    assert row["source_row"] == 7 and "repeats patients.csv row 1 exactly" in row["reason"]
    assert results["cycles"].quarantine.is_empty()


def test_patient_delivered_twice_with_different_values_is_held_back_with_everything_of_theirs():
    patients = clean("patients") + [{**clean("patients")[0], "source_row": 7, "sex": "M"}]
    results = run(patients=patients)
    assert sorted(results["patients"].quarantine.get_column("source_row")) == [1, 7]
    assert "delivered 2 times with different values" in refused(results, "patients")[0]["reason"]
    assert set(results["cycles"].quarantine.get_column("check_name")) == {"patient_in_core"}


def test_diagnosis_before_birth_and_adults_are_refused():
    patient = changed("patients", age_at_diagnosis_months=-2.0, age_months=230)
    row = only_refusal(run(patients=patient), "patients")
    assert any(f"age at diagnosis -2 months is {how}" in row["reason"] for how in ("outside", "below"))
    assert "age at first infusion 230 months is above the possible maximum of 215" in row["reason"]


def test_lineage_percentages_summing_far_above_100_are_refused_together():
    labs = changed("labs", 1, value=90.0, value_raw="90")  # CD3 90 + CD19 15 + NK 12 = 117 %
    results = run(labs=labs)
    assert results["labs"].quarantine.height == 3
    assert "sum to 117.0 %" in refused(results, "labs")[0]["reason"]


def test_unusual_values_pass_with_a_warning_that_travels_with_the_row():
    labs = changed("labs", 4, value=9.0, value_raw="9")  # CD3 9 x10^9/L: possible, far above the pediatric range
    results = run(labs=labs)
    assert results["labs"].quarantine.is_empty() and results["labs"].passed.height == len(clean("labs"))
    warning = results["labs"].warnings.to_dicts()
    assert len(warning) == 1 and warning[0]["severity"] == "warning"
    assert "cd3_abs 9 x10^9/L is far above the pediatric range" in warning[0]["reason"]


def test_flat_adult_dose_is_accepted_up_to_its_cap():
    flat = dict(dose_start=None, dose_target=None, dose_unit=None, dose_unit_raw="ug/day", weight_kg=52.0,
                bsa_m2=1.5, parse_errors="dose_unit:unknown_unit")
    accepted = run(cycles=changed("cycles", dose_start_raw="9", dose_target_raw="28", **flat))
    assert accepted["cycles"].quarantine.is_empty() and accepted["cycles"].warnings.is_empty()
    too_much = run(cycles=changed("cycles", dose_start_raw="9", dose_target_raw="40", **flat))
    assert "above the adult cap of 28 ug/day" in only_refusal(too_much, "cycles")["reason"]


def test_quarantine_keeps_the_delivered_row_and_its_provenance():
    row = only_refusal(run(events=changed("events", event_type="visit")), "events")
    assert (row["table_name"], row["center_id"], row["source_file"], row["source_row"]) == (
        "events", "aaa", "follow_up.csv", 1)
    assert '"event_type":"visit"' in row["row_json"] and row["severity"] == "error"


def test_same_input_gives_the_same_quarantine_whatever_the_row_order():
    labs = changed("labs", 0, value=1200.0) + [dict(clean("labs")[1], source_row=20, value=-1.0)]
    forward = run(labs=labs)["labs"].quarantine
    backward = run(labs=labs[::-1])["labs"].quarantine
    assert forward.equals(backward) and forward.height == 2


def test_cycle_delivered_twice_identically_keeps_the_first_copy_and_its_records():
    # The copy is compared with the cycle before it in file order, never the first copy with its own copy.
    results = run(cycles=clean("cycles") + [{**clean("cycles")[0], "source_row": 7}])
    row = only_refusal(results, "cycles")
    assert row["source_row"] == 7 and "repeats cycles.csv row 1 exactly" in row["reason"]
    for table in ("assessments", "labs", "adverse_events"):
        assert results[table].quarantine.is_empty(), table


@pytest.mark.parametrize("values", [(87.9, 9.7, 12.4), (79.4, 9.9, 20.7)])
def test_lineage_percentages_summing_to_the_ceiling_pass_whatever_the_rounding_and_order(values):
    # Added in some orders these make 110.00000000000001, DuckDB's fsum included.
    for order in itertools.permutations(range(3)):
        labs = clean("labs")
        for index, value in zip((1, 2, 3), values, strict=True):
            labs[index] = {**labs[index], "value": value, "value_raw": str(value)}
        shares = [labs[1 + position] for position in order]
        assert run(labs=[labs[0], *shares, *labs[4:]])["labs"].quarantine.is_empty(), order
