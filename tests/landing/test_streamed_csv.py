"""CSV files read where they lie: transcoding in bounded chunks, blank lines, DuckDB's refusals named by row.

The chunk size is shrunk to a few bytes here so that small files cross many chunk boundaries.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import random
from pathlib import Path

import duckdb
import pytest

from assets.landing import readers
from assets.landing.readers import DeliveryError, delivered_rows, read_table

CENTER_YAML = """
center_id: demo
center_name: Demo Hospital
study: multicenter
defaults: {encoding: gbk, delimiter: ";"}
tables:
  patients:
    file: patients.csv
    columns: {mrn: 住院号, birth_date: 出生日期, sex: 性别, indication: 指征}
  labs:
    file: labs.csv
    layout: wide
    columns: {mrn: 住院号, cycle_no: 疗程, timepoint: 时间点, specimen: 标本}
    analytes: {il6: IL-6, wbc: 白细胞, il10: IL-10}
"""
HEADER = "住院号;出生日期;性别;指征"


@pytest.fixture
def center(yaml_center):
    return yaml_center(CENTER_YAML)


def patients_text(rows: int, blank_every: int = 0) -> str:
    """A patients file whose indication holds the row's number; every `blank_every`-th line left blank."""
    lines = [HEADER]
    for row in range(1, rows + 1):
        lines.append("" if blank_every and row % blank_every == 0 else f"P{row};01/02/2015;男;复发{row}")
    return "\n".join(lines) + "\n"


def expected_rows(text: str) -> list[tuple[str, int]]:
    """(indication, record number) of every non-blank record: an independent count with the csv module."""
    records = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    return [(record[3], number) for number, record in enumerate(records) if record and number]


def gbk_file(tmp_path: Path, text: str, name: str = "patients.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("gbk"))
    return path


def test_gbk_file_of_many_chunks_reads_as_its_text_with_every_character_whole(center, tmp_path, monkeypatch):
    text = patients_text(200)
    path = tmp_path / "patients.csv"
    path.write_bytes(text.encode("gbk"))
    for chunk in (5, 6, 7, 64):  # odd and even sizes: chunk boundaries fall inside and between 2-byte characters
        monkeypatch.setattr(readers, "CHUNK", chunk)
        frame = read_table(center, "patients", path)
        assert list(zip(frame["indication"], frame["source_row"])) == expected_rows(text), chunk
        assert set(frame["sex"]) == {"男"}


def test_bad_byte_beyond_the_first_chunk_names_its_offset_row_and_bytes(center, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK", 64)
    good = patients_text(30).encode("gbk")
    path = tmp_path / "patients.csv"
    path.write_bytes(good + b"P31;;\xff\xfe;x\nP32;;1;x\n")  # 0xFF is no GBK byte
    with pytest.raises(DeliveryError) as caught:
        read_table(center, "patients", path)
    assert (caught.value.row, caught.value.value) == (31, "ff")
    assert f"the bytes at offset {len(good) + 5} do not decode as gbk" in str(caught.value)


def test_a_pair_split_at_the_end_of_the_file_is_named(center, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK", 8)
    good = patients_text(3).encode("gbk")
    path = tmp_path / "patients.csv"
    path.write_bytes(good + b"P4;;1;\x81")  # a lead byte with nothing after it
    with pytest.raises(DeliveryError, match=f"offset {len(good) + 6} do not decode as gbk") as caught:
        read_table(center, "patients", path)
    assert caught.value.row == 4


def test_utf8_file_with_a_bad_byte_far_in_is_refused_by_duckdb_and_located(center, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK", 64)
    center.tables["patients"] = dataclasses.replace(center.table("patients"), encoding="utf-8")
    good = patients_text(50).encode("utf-8")
    path = tmp_path / "patients.csv"
    path.write_bytes(good + b"P51;;1;\xe5\xa4\n")  # a 3-byte character cut short
    with pytest.raises(DeliveryError) as caught:
        read_table(center, "patients", path)
    assert (caught.value.row, caught.value.value) == (51, "e5a4")
    assert f"offset {len(good) + 7} do not decode as utf-8" in str(caught.value)


def test_transcoded_copy_goes_to_scratch_and_is_deleted_the_delivery_untouched(center, tmp_path):
    path = tmp_path / "patients.csv"
    path.write_bytes(patients_text(3).encode("gbk"))
    delivered = path.read_bytes()
    scratch = tmp_path / "warehouse" / "tmp"
    with duckdb.connect() as con, delivered_rows(con, center, "patients", path, scratch) as rows:
        (copy,) = scratch.iterdir()
        assert copy.read_text(encoding="utf-8") == patients_text(3)
        assert con.execute(f"SELECT count(*) FROM ({rows.sql})").fetchone() == (3,)
    assert list(scratch.iterdir()) == []
    assert path.read_bytes() == delivered and sorted(p.name for p in tmp_path.iterdir()) == [
        "demo.yaml", "patients.csv", "warehouse"]


def test_a_refused_transcoding_leaves_no_copy_behind(center, tmp_path):
    path = tmp_path / "patients.csv"
    path.write_bytes(patients_text(3).encode("gbk") + b"\xff\n")
    scratch = tmp_path / "tmp"
    with (duckdb.connect() as con, pytest.raises(DeliveryError, match="do not decode"),
          delivered_rows(con, center, "patients", path, scratch)):
        pass
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("blank_every", [2, 3, 7])
def test_blank_lines_keep_their_numbers_across_chunks(center, tmp_path, monkeypatch, blank_every):
    monkeypatch.setattr(readers, "CHUNK", 16)
    text = patients_text(100, blank_every) + "\n\n"  # trailing blank lines too
    path = tmp_path / "patients.csv"
    path.write_bytes(text.encode("gbk"))
    frame = read_table(center, "patients", path)
    assert list(zip(frame["indication"], frame["source_row"])) == expected_rows(text)


def test_a_blank_line_across_a_chunk_boundary_is_found(center, tmp_path, monkeypatch):
    first = f"{HEADER}\nP1;;1;a\n"
    monkeypatch.setattr(readers, "CHUNK", len(first.encode("utf-8")))  # the search reads the UTF-8 copy
    frame = read_table(center, "patients", gbk_file(tmp_path, first + "\nP3;;1;c\n"))
    assert frame["source_row"].to_list() == [1, 3]


def test_random_blank_lines_crlf_and_quoted_line_breaks_are_numbered_as_records(center, tmp_path):
    draw = random.Random(13)
    lines = [HEADER]
    for row in range(1, 400):
        kind = draw.choice(["plain", "plain", "blank", "blank", "quoted", "quoted_blank"])
        lines.append({"plain": f"P{row};;1;r{row}", "blank": "", "quoted": f'P{row};;1;"r{row}\n;x"',
                      "quoted_blank": f'P{row};"\r\n\r\n";1;"r{row}"'}[kind])
    text = "\r\n".join(lines) + "\r\n"
    path = tmp_path / "patients.csv"
    path.write_bytes(text.encode("gbk"))
    frame = read_table(center, "patients", path)
    assert list(zip(frame["indication"], frame["source_row"])) == expected_rows(text)
    assert "\r\n\r\n" in frame["birth_date"].drop_nulls().to_list()


def test_quoted_blank_lines_alone_shift_nothing(center, tmp_path):
    text = f'{HEADER}\nP1;"\n\n";1;a\nP2;;1;b\n'
    frame = read_table(center, "patients", gbk_file(tmp_path, text))
    assert frame.select("mrn", "birth_date", "source_row").rows() == [("P1", "\n\n", 1), ("P2", None, 2)]


@pytest.mark.parametrize(("tail", "row", "words"), [
    ("P9;;1\nP10;;1;x\n", 9, "has 3 fields but the header has 4."),  # a short record in the middle
    ("P9;;1;x;y\n\nP10;;1;x\n", 9, "has 5 fields but the header has 4."),
    ("P9;;1\n\n\n", 9, "has 3 fields but the header has 4 (a truncated file?)"),  # last, blank lines after it
    ('P9;;1;"x\n', 9, "malformed or truncated"),  # a quote open at the end of the file
])
def test_records_duckdb_refuses_are_named_far_into_the_file(center, tmp_path, monkeypatch, tail, row, words):
    monkeypatch.setattr(readers, "CHUNK", 32)
    text = patients_text(8) + tail
    with pytest.raises(DeliveryError) as caught:
        read_table(center, "patients", gbk_file(tmp_path, text))
    assert caught.value.row == row and words in str(caught.value)


@pytest.mark.parametrize(("tail", "words"), [("P9;;1\n", "truncated file"), ('P9;;1;"x\n', "malformed")])
def test_a_malformed_record_beside_blank_lines_is_found_by_the_exact_pass(center, tmp_path, tail, words):
    # DuckDB's serial reader (used after the exact pass) would drop the quoted field left open at the end.
    with pytest.raises(DeliveryError, match=words) as caught:
        read_table(center, "patients", gbk_file(tmp_path, patients_text(8, blank_every=3) + tail))
    assert caught.value.row == 9


def test_a_quote_left_open_in_the_header_names_row_zero(center, tmp_path):
    with pytest.raises(DeliveryError, match="malformed or truncated") as caught:
        read_table(center, "patients", gbk_file(tmp_path, '住院号;"出生日期\n'))
    assert caught.value.row == 0


def test_unnamed_columns_are_kept_only_where_they_hold_a_value(center, tmp_path):
    text = f"{HEADER};;\nP1;;1;a;;\nP2;;1;b;;\nP3;;1;c;;late\n"
    frame = read_table(center, "patients", gbk_file(tmp_path, text))
    assert frame["extra"].to_list() == ['{"":null}', '{"":null}', '{"":"late"}']
    text = f"{HEADER};;\nP1;;1;a;x;\n"  # a second unnamed column after one that is kept
    with pytest.raises(DeliveryError, match="repeats a column name"):
        read_table(center, "patients", gbk_file(tmp_path, text))


def test_wide_labs_unpivot_in_file_order_by_row_then_yaml_analyte_order(center, tmp_path):
    text = ("住院号;疗程;时间点;标本;IL-10;备注;IL-6;白细胞\n"
            "P1;1;D0;血;1.5;x;<2;4.1\n"
            "\n"
            "P1;1;D7;血;;;;\n"  # nothing measured: no row, but the record keeps its number
            'P2;1;D0;血;"";"a\n";3;\n')
    frame = read_table(center, "labs", gbk_file(tmp_path, text, "labs.csv"))
    assert frame.select("mrn", "timepoint", "analyte", "value", "source_row", "source_column").rows() == [
        ("P1", "D0", "il6", "<2", 1, "IL-6"), ("P1", "D0", "wbc", "4.1", 1, "白细胞"),
        ("P1", "D0", "il10", "1.5", 1, "IL-10"),
        ("P2", "D0", "il6", "3", 4, "IL-6"), ("P2", "D0", "il10", "", 4, "IL-10")]
    assert frame["extra"].to_list() == ['{"备注":"x"}'] * 3 + ['{"备注":"a\\n"}'] * 2


def test_wide_labs_with_rows_but_no_values_land_nothing_and_without_rows_are_refused(center, tmp_path):
    header = "住院号;疗程;时间点;标本;IL-6\n"
    assert read_table(center, "labs", gbk_file(tmp_path, header + "P1;1;D0;血;\n", "labs.csv")).height == 0
    with pytest.raises(DeliveryError, match="no data rows"):
        read_table(center, "labs", gbk_file(tmp_path, header + "\n;;;;\n", "labs.csv"))


def test_many_wide_rows_read_back_in_file_order(center, tmp_path):
    # DuckDB's sort keeps no order among equal keys: read_table orders by the analyte's place in the YAML too.
    lines = ["住院号;疗程;时间点;标本;白细胞;IL-10;IL-6"] + [f"P{row};1;D0;血;{row}.1;{row}.2;{row}.3"
                                                         for row in range(1, 101)]
    frame = read_table(center, "labs", gbk_file(tmp_path, "\n".join(lines), "labs.csv"))
    yaml_order = (("il6", 3), ("wbc", 1), ("il10", 2))  # analyte, its place in the file
    assert frame.select("analyte", "value").rows() == [
        (analyte, f"{row}.{place}") for row in range(1, 101) for analyte, place in yaml_order]


def test_old_mac_line_breaks_number_their_blank_lines_too(center, tmp_path):
    frame = read_table(center, "patients", gbk_file(tmp_path, f"{HEADER}\rP1;;1;a\r\rP3;;1;c\r"))
    assert frame.select("mrn", "source_row").rows() == [("P1", 1), ("P3", 3)]


def test_a_blank_first_line_is_a_missing_header(center, tmp_path):
    with pytest.raises(DeliveryError, match="empty"):
        read_table(center, "patients", gbk_file(tmp_path, f"\n{HEADER}\nP1;;1;a\n"))


@pytest.mark.parametrize("extra", [";", ";;", ";\r"])
def test_a_record_with_extra_empty_fields_at_its_end_is_refused(center, tmp_path, extra):
    # DuckDB's reader takes it for a whole record; the byte counts send the file to the exact pass.
    text = f"{HEADER}\nP1;;1;a\nP2;;1;b{extra}\nP3;;1;c\n"
    with pytest.raises(DeliveryError, match="the header has 4[.]") as caught:
        read_table(center, "patients", gbk_file(tmp_path, text))
    assert caught.value.row == 2


def test_a_quote_left_open_is_refused_before_a_short_record(center, tmp_path):
    text = f'{HEADER}\nP1;;1\nP2;;1;b\nP3;;1;"c\n'
    with pytest.raises(DeliveryError, match="malformed or truncated") as caught:
        read_table(center, "patients", gbk_file(tmp_path, text))
    assert caught.value.row == 3


@pytest.mark.parametrize("body", ["", "\n;;;;\n"])
def test_a_file_without_data_rows_is_refused_for_that_before_its_header_is_checked(center, tmp_path, body):
    with pytest.raises(DeliveryError, match="no data rows"):
        read_table(center, "labs", gbk_file(tmp_path, "住院号;疗程;时间点;标本;备注\n" + body, "labs.csv"))


@pytest.mark.parametrize("chunk", [3, 4, 5, 1 << 20])
def test_mixed_line_ends_are_read_as_line_ends_and_quoted_ones_as_values(center, tmp_path, monkeypatch, chunk):
    # DuckDB's reader refuses a file mixing \r\n and \n: it reads a copy whose line ends are all \n.
    monkeypatch.setattr(readers, "CHUNK", chunk)
    text = f'{HEADER}\r\nP1;"x\r\ny";1;a\r\n\r\nP3;"""\r\n";1;b\nP4;;1;"c\nd"\n'
    frame = read_table(center, "patients", gbk_file(tmp_path, text))
    assert frame.select("birth_date", "indication", "source_row").rows() == [
        ("x\r\ny", "a", 1), ('"\r\n', "b", 3), (None, "c\nd", 4)]


@pytest.mark.parametrize("text", [f"{HEADER}\nP1;;1;a\nP2;;1;b\n", f"{HEADER}\nP1;;1;a\nP2;;1;b",
                                  f'{HEADER}\r\n"P1";"";"1";"a"\r\n'])
def test_a_well_formed_file_is_read_without_the_exact_pass(center, tmp_path, monkeypatch, text):
    def exact_pass(*args):
        raise AssertionError("the exact pass ran")

    monkeypatch.setattr(readers, "_scan_records", exact_pass)
    assert read_table(center, "patients", gbk_file(tmp_path, text))["mrn"].to_list()[0] == "P1"


@pytest.mark.parametrize("chunk", [5, 6, 7, 8])
def test_a_file_of_crlf_line_ends_alone_is_read_without_a_copy(center, tmp_path, monkeypatch, chunk):
    def copy(*args):
        raise AssertionError("a copy with \\n line ends was made")

    monkeypatch.setattr(readers, "CHUNK", chunk)  # some chunk boundary falls between a \r and its \n
    monkeypatch.setattr(readers, "_line_ends_made_lf", copy)
    text = f"{HEADER}\r\nP1;;1;a\r\nP2;;1;b\r\n"
    assert read_table(center, "patients", gbk_file(tmp_path, text))["mrn"].to_list() == ["P1", "P2"]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])  # read from a copy named after the file, or the file
@pytest.mark.parametrize("name", ["labs[1].csv", "labs*.csv", "labs?.csv"])
def test_a_file_name_with_glob_characters_is_read_as_itself(yaml_center, tmp_path, name, encoding):
    center = yaml_center(CENTER_YAML.replace("file: patients.csv", f"file: '{name}'\n    encoding: {encoding}"))
    (tmp_path / "labs1.csv").write_bytes(f"{HEADER}\nP9;;1;decoy\n".encode(encoding))  # the name as a glob
    path = tmp_path / name
    path.write_bytes(f"{HEADER}\nP1;;1;a\n".encode(encoding))
    assert read_table(center, "patients", path)["mrn"].to_list() == ["P1"]
