"""The corrections files (data/corrections/<center_id>.yaml) as landing reads them: a valid correction keeps
the delivered and corrected text exactly; an invalid one is refused with a sentence naming the file, the
entry and the problem, and the file's other corrections still load."""

from pathlib import Path

import duckdb
import pytest

from assets.landing.corrections import TABLE, ensure_table, land_corrections, load_corrections

VALID = """\
  - query: q1
    table: cycles
    file: cycles.csv
    row: 1
    field: end_date
    delivered: 2022.02.29
    corrected: 2022.02.28
    reason: no 29 February in 2022
    answered_by: site data manager
    answered_on: 2026-12-01
"""


def write(folder: Path, center_id: str, entries: str, header: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{center_id}.yaml"
    path.write_text((header if header is not None else f"center_id: {center_id}\ncorrections:\n") + entries,
                    encoding="utf-8")
    return folder


def with_change(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new).replace("query: q1", "query: q2")


def test_a_valid_correction_keeps_the_text_as_written(tmp_path):
    [correction] = load_corrections(write(tmp_path, "abc", VALID))
    assert correction.refusal is None
    # Read as text: neither 2022.02.29 nor a leading zero turns into a number on the way.
    assert (correction.delivered_value, correction.corrected_value) == ("2022.02.29", "2022.02.28")
    assert (correction.center_id, correction.table_name, correction.source_file, correction.source_row,
            correction.field, correction.entry) == ("abc", "cycles", "cycles.csv", 1, "end_date", 1)
    assert str(correction.answered_on) == "2026-12-01"


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("field: end_date", "field: dose", "field 'dose' is not in the cycles contract (mrn, cycle_no"),
    ("table: cycles", "table: cycle", "table 'cycle' is not a contract table"),
    ("field: end_date", "field: mrn", "field 'mrn' is not corrected by a query: the record number"),
    ("row: 1", "row: first", "row 'first' is not a data row number"),
    ("row: 1", "row: 0", "row '0' is not a data row number"),
    ("answered_on: 2026-12-01", "answered_on: yesterday", "answered_on 'yesterday' is not a date"),
    ("    reason: no 29 February in 2022\n", "", "missing reason"),
    ("    delivered: 2022.02.29\n", "", "missing delivered"),
    ("corrected: 2022.02.28", "corrected: 2022.02.29", "the corrected value '2022.02.29' is the delivered value"),
    ("row: 1", "row: 1\n    colum: x", "unknown key(s) colum"),
])
def test_an_invalid_correction_is_refused_and_the_others_still_load(tmp_path, old, new, problem):
    valid, invalid = load_corrections(write(tmp_path, "abc", VALID + with_change(old, new)))
    assert valid.refusal is None
    assert invalid.refusal.startswith("data/corrections/abc.yaml entry 2 (query q2): ")
    assert problem in invalid.refusal


def test_free_text_is_corrected_by_re_delivery(tmp_path):
    entry = with_change("table: cycles", "table: adverse_events").replace("field: end_date", "field: description")
    [_, refused] = load_corrections(write(tmp_path, "abc", VALID + entry))
    assert "free text can carry names" in refused.refusal


def test_a_second_correction_of_the_same_field_is_refused(tmp_path):
    first, second = load_corrections(write(tmp_path, "abc", VALID + with_change("corrected: 2022.02.28",
                                                                                   "corrected: 2022.03.01")))
    assert first.refusal is None
    assert "corrects the same field of the same row as entry 1" in second.refusal


@pytest.mark.parametrize(("header", "problem"), [
    ("center_id: other\ncorrections:\n", "center_id 'other' must match the file name"),
    ("center_id: abc\ncorrections: [\n", "not valid YAML"),
    ("center_id: abc\nfixes:\n", "must be a mapping with the keys center_id and corrections"),
])
def test_an_invalid_file_is_one_refusal_and_other_centers_still_load(tmp_path, header, problem):
    write(tmp_path, "abc", VALID, header=header)
    write(tmp_path, "xyz", VALID)
    broken, other = load_corrections(tmp_path)
    assert (broken.center_id, broken.entry, broken.query_id) == ("abc", 0, None)
    assert broken.refusal.startswith("data/corrections/abc.yaml: ") and problem in broken.refusal
    assert (other.center_id, other.refusal) == ("xyz", None)


def test_no_folder_means_no_corrections(tmp_path):
    assert load_corrections(tmp_path / "absent") == []


def test_landing_replaces_the_table_with_the_files_as_they_are(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    ensure_table(con)
    corrections = load_corrections(write(tmp_path, "abc", VALID + with_change("field: end_date", "field: dose")))
    assert land_corrections(con, corrections) == 2
    assert con.execute(f"SELECT query_id, refusal IS NULL FROM {TABLE} ORDER BY entry").fetchall() == [
        ("q1", True), ("q2", False)]
    assert land_corrections(con, corrections[:1]) == 1
    assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchall() == [(1,)]
