"""read_table on hand-made delivery files: renaming, provenance, wide labs, xlsx cells and rejected files."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from assets.landing.center_config import centers_dir, load_center
from assets.landing.readers import DeliveryError, list_tables, read_table, unknown_columns

CENTER_YAML = """
center_id: demo
center_name: Demo Hospital
study: multicenter
defaults: {encoding: gbk, delimiter: ";", date_format: "%d/%m/%Y"}
tables:
  patients:
    file: patients.csv
    columns: {mrn: 住院号, birth_date: 出生日期, sex: 性别, indication: 指征, protocol: 方案}
  labs:
    file: labs.csv
    encoding: utf-8
    layout: wide
    columns: {mrn: MRN, cycle_no: Cycle, timepoint: Visit, specimen: Specimen}
    analytes: {cd19_abs: CD19+, il6: IL-6, il10: IL-10}
  events:
    file: export.xlsx
    format: xlsx
    sheet: 随访
    date_format: "%Y年%m月%d日"
    columns: {mrn: 病历号, event_type: 事件, event_date: 日期, detail: 备注}
"""
PATIENTS_HEADER = "住院号;出生日期;性别;指征;方案"


@pytest.fixture
def center(yaml_center):
    return yaml_center(CENTER_YAML)


def write(path: Path, text: str, encoding: str = "gbk") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_long_csv_is_renamed_to_contract_fields_with_rows_numbered_from_one(center, tmp_path):
    text = f"{PATIENTS_HEADER}\nA01;03/04/2015;1;复发;\nA02;;2;\"MRD;阳性\";CCCG\n"
    frame = read_table(center, "patients", write(tmp_path / "patients.csv", text))
    assert frame.columns == ["mrn", "birth_date", "sex", "indication", "protocol", "source_row", "extra"]
    assert frame.schema["source_row"] == pl.Int64
    assert all(frame.schema[c] == pl.String for c in frame.columns if c != "source_row")
    assert frame.rows() == [("A01", "03/04/2015", "1", "复发", None, 1, None),
                            ("A02", None, "2", "MRD;阳性", "CCCG", 2, None)]
    assert unknown_columns(frame) == []


def test_unknown_columns_are_kept_as_json_in_extra(center, tmp_path):
    path = write(tmp_path / "patients.csv", f"{PATIENTS_HEADER};病区;床号\nA01;03/04/2015;1;复发;;血液科;\n")
    frame = read_table(center, "patients", path)
    assert json.loads(frame["extra"][0]) == {"病区": "血液科", "床号": None}
    assert unknown_columns(frame) == ["病区", "床号"]


def test_a_trailing_delimiter_adds_no_column_but_an_unnamed_column_with_values_is_kept(center, tmp_path):
    text = f"{PATIENTS_HEADER};\nA01;03/04/2015;1;复发;;\n"
    assert unknown_columns(read_table(center, "patients", write(tmp_path / "patients.csv", text))) == []
    text = f"{PATIENTS_HEADER};\nA01;03/04/2015;1;复发;;床3\n"
    assert read_table(center, "patients", write(tmp_path / "patients.csv", text))["extra"][0] == '{"":"床3"}'


def test_blank_lines_are_skipped_but_keep_their_row_number_and_quoted_newlines_stay_in_one_row(center, tmp_path):
    text = f"{PATIENTS_HEADER}\nA01;;1;复发;\n\nA02;;2;\"复\n发\";\n"
    frame = read_table(center, "patients", write(tmp_path / "patients.csv", text))
    assert frame.select("mrn", "indication", "source_row").rows() == [("A01", "复发", 1), ("A02", "复\n发", 3)]


def test_utf8_byte_order_mark_is_not_part_of_the_first_header(center, tmp_path):
    text = "MRN,Cycle,Visit,Specimen,IL-6\nA01,1,D0,serum,3.1\n".replace(",", ";")
    path = tmp_path / "labs.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_table(center, "labs", path)["mrn"].to_list() == ["A01"]


def test_wide_labs_are_unpivoted_with_the_source_column_and_empty_cells_dropped(center, tmp_path):
    text = "MRN;Cycle;Visit;Specimen;IL-6;CD19+;Ward\nA01;1;D0;serum;<2.44;;H3\nA01;1;D0;blood;;ND;H3\n"
    frame = read_table(center, "labs", write(tmp_path / "labs.csv", text, "utf-8"))
    assert frame.columns == ["mrn", "cycle_no", "timepoint", "specimen", "analyte", "value", "source_row",
                             "source_column", "extra"]
    assert frame.select("specimen", "analyte", "value", "source_row", "source_column").rows() == [
        ("serum", "il6", "<2.44", 1, "IL-6"), ("blood", "cd19_abs", "ND", 2, "CD19+")]
    assert unknown_columns(frame) == ["Ward"]


def test_xlsx_sheet_cells_are_rendered_as_text_with_date_cells_in_the_declared_format(center, tmp_path):
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("随访")
    sheet.write_row(0, 0, ["病历号", "事件", "日期", "备注"])
    sheet.write_row(1, 0, ["00017", "末次随访"])
    sheet.write_datetime(1, 2, datetime(2022, 5, 15), workbook.add_format({"num_format": "yyyy/m/d"}))
    sheet.write_number(1, 3, 1234.0)
    sheet.write_row(2, 0, ["00018", "移植", "2022年03月21日", 0.45])  # a date typed as text, beside date cells
    sheet.write_row(3, 0, ["00019", "复发"])
    sheet.write_datetime(3, 2, datetime(2023, 1, 9, 14, 30), workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    workbook.close()
    frame = read_table(center, "events", path)
    assert frame.drop("extra").rows() == [("00017", "末次随访", "2022年05月15日", "1234", 1),
                                          ("00018", "移植", "2022年03月21日", "0.45", 2),
                                          ("00019", "复发", "2023年01月09日", None, 3)]


def test_percent_formatted_cells_read_as_the_sheet_shows_them_never_100_times_too_low(center, tmp_path):
    path = tmp_path / "export.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("随访")  # the table starts at B2: cells are placed relative to it
    one_decimal, whole = workbook.add_format({"num_format": "0.0%"}), workbook.add_format({"num_format": "0%"})
    sheet.write_row(1, 1, ["病历号", "事件", "日期", "备注"])
    sheet.write_row(2, 1, ["00017", "末次随访", "2022年05月15日"])
    sheet.write_number(2, 4, 0.749, one_decimal)
    sheet.write_row(3, 1, ["00018", "移植", "2022年03月21日"])
    sheet.write_number(3, 4, 0.07, whole)
    sheet.write_row(4, 1, ["00019", "复发", "2023年01月09日"])
    sheet.write_string(4, 4, "n/a", whole)  # text in a percent-formatted cell stays text
    sheet.write_row(5, 1, ["00020", "复发", "2023年01月09日", 0.749])  # an unformatted number stays as it is
    workbook.close()
    frame = read_table(center, "events", path)
    assert frame.get_column("detail").to_list() == ["74.9%", "7%", "n/a", "0.749"]


@pytest.mark.parametrize(("text", "row", "column", "words"), [
    ("", None, None, "empty"),
    (f"{PATIENTS_HEADER}\n", None, None, "no data rows"),
    ("住院号;性别;指征\nA01;1;复发\n", 0, "出生日期", "required column for `birth_date`"),
    (f"{PATIENTS_HEADER}\nA01;03/04/2015;1;复发;\nA02;01/01/20", 2, None, "truncated"),
    (f"{PATIENTS_HEADER}\nA01;03/04/2015;1;\"复发;x\n", 1, None, "truncated"),
    (f"{PATIENTS_HEADER}\nA01;03/04/2015;1;复发;;x\nA02;;2;复发;\n", 1, None, "6 fields but the header has 5"),
    (f"{PATIENTS_HEADER};{PATIENTS_HEADER[:3]}\nA01;;1;复发;;\n", 0, "住院号", "repeats"),
])
def test_undeliverable_csv_files_are_rejected_naming_row_and_column(center, tmp_path, text, row, column, words):
    with pytest.raises(DeliveryError) as caught:
        read_table(center, "patients", write(tmp_path / "patients.csv", text))
    error = caught.value
    assert (error.file, error.row, error.column) == ("patients.csv", row, column)
    assert words in str(error) and str(error).startswith("patients.csv")


def test_bytes_that_do_not_decode_in_the_declared_encoding_name_offset_and_row(center, tmp_path):
    path = tmp_path / "patients.csv"
    good = f"{PATIENTS_HEADER}\nA01;03/04/2015;1;复发;\n".encode("gbk")
    path.write_bytes(good + b"A02;;2;\x81;\n")  # 0x81 opens a GBK pair; "\n" cannot close it
    with pytest.raises(DeliveryError) as caught:
        read_table(center, "patients", path)
    assert caught.value.row == 2
    assert f"offset {len(good) + 7}" in str(caught.value) and "gbk" in str(caught.value)


def test_a_missing_sheet_and_a_missing_file_are_delivery_errors(center, tmp_path):
    workbook = xlsxwriter.Workbook(tmp_path / "export.xlsx")
    workbook.add_worksheet("Sheet1").write_row(0, 0, ["病历号"])
    workbook.close()
    with pytest.raises(DeliveryError, match="no sheet '随访'") as caught:
        read_table(center, "events", tmp_path / "export.xlsx")
    assert caught.value.file == "export.xlsx#随访"
    with pytest.raises(DeliveryError, match="missing"):
        read_table(center, "patients", tmp_path / "patients.csv")


def test_a_file_that_is_not_a_workbook_is_a_delivery_error(center, tmp_path):
    with pytest.raises(DeliveryError, match="not a readable xlsx"):
        read_table(center, "events", write(tmp_path / "export.xlsx", "病历号,事件\n"))


def test_list_tables_follows_the_contract_order(center):
    assert list_tables(center) == ["patients", "labs", "events"]


def test_the_case_series_reads_as_the_report_states_it_errors_included():
    center = load_center(centers_dir() / "szch.yaml")
    folder = Path(__file__).resolve().parents[2] / "data" / "landing" / "szch"
    tables = {table: read_table(center, table, folder / center.table(table).file) for table in list_tables(center)}
    patients = tables["patients"]
    assert patients["age_at_diagnosis_months"].to_list() == ["67", "13", "61"]
    assert patients["birth_date"].null_count() == 3  # the report gives ages, not birth dates
    cycles = {row["mrn"]: row for row in tables["cycles"].iter_rows(named=True)}
    assert (cycles["1"]["start_date"], cycles["1"]["end_date"]) == ("2022.02.14", "2022.02.29")  # no such day
    assert (cycles["2"]["dose_start"], cycles["2"]["dose_unit"]) == ("15", "mg/m2/day")  # as printed
    # The report gives case 2's length, not its dates: the contract's infusion_days.
    assert (cycles["2"]["start_date"], cycles["2"]["infusion_days"], cycles["2"]["extra"]) == (None, "28", None)
    mrd = tables["assessments"].filter(pl.col("mrn") == "3")["mrd_pct"].to_list()
    assert mrd == ["9.88", "1.23", "0.39", "0.12", "<0.01"]
    events = tables["events"].filter(pl.col("event_type") == "HSCT")
    assert events["event_date"].to_list() == ["2022.03.22", "2022.03.21", "2022.01.11"]
    assert set(tables["adverse_events"].filter(pl.col("term") == "fever")["grade"]) == {"1"}
