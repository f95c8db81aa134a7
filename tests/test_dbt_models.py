"""The dbt project on a hand-made raw layer: staging's parsing, the derivations and pseudonymisation.

A small warehouse is written with the raw-layer schema of docs/architecture.md, `dbt build` runs on it
once, and the tests read the result. Every expected value follows from the fixture rows and the rules in
docs/delivery-contract.md and docs/clinical-rules.md, worked out by hand.
"""

import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from assets.landing.contract import TABLE_FIELDS
from assets.landing.corrections import ensure_table as ensure_corrections

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
KEY = "test-pseudonym-key"

# The raw layer has every contract field, as landing creates it (absent ones stay NULL).
FIELDS = TABLE_FIELDS

# Center aaa: ISO dates, decimal point, numeric sex codes, neutrophils declared in cells/uL.
# Center bbb: dd/mm/yyyy dates, decimal comma, no birth dates, doses declared in mg/m2/day.
ROWS = {
    "patients": [
        ("aaa", {"mrn": "A1", "name": "Ann Alpha", "birth_date": "2015-03-10", "sex": "1",
                 "indication": "relapse", "cytogenetics": "KMT2A-AFF1; ikzf1_deletion"}),
        ("aaa", {"mrn": "A2", "name": "Bob Beta", "birth_date": "2010-01-31", "sex": "2",
                 "indication": "chemo_delay", "cytogenetics": "none"}),
        ("aaa", {"mrn": "A3", "name": "Cat Gamma", "birth_date": "2012-02-30", "sex": "X",
                 "indication": "mrd_positive"}),
        ("bbb", {"mrn": "B1", "age_at_diagnosis_months": "67", "diagnosis_date": "01/06/2020", "sex": "F",
                 "indication": "chemo_delay", "cytogenetics": "bcr_abl1"}),
    ],
    "cycles": [
        ("aaa", {"mrn": "A1", "cycle_no": "1", "start_date": "2021-01-01", "end_date": "2021-01-28",
                 "dose_start": "5", "dose_target": "15", "bridging_chemo": "Y", "cyclophosphamide": "N"}),
        ("aaa", {"mrn": "A1", "cycle_no": "2", "start_date": "2021-02-15", "end_date": "2021-02-28",
                 "dose_start": "15"}),
        ("aaa", {"mrn": "A2", "cycle_no": "1", "start_date": "2021-03-01", "end_date": "2021-03-14",
                 "dose_start": "5", "bridging_chemo": "yes"}),
        # Delivered twice: the gate refuses the copy; the patient's row must not double.
        ("aaa", {"mrn": "A2", "cycle_no": "1", "start_date": "2021-03-01", "end_date": "2021-03-14",
                 "dose_start": "5", "bridging_chemo": "yes"}),
        ("aaa", {"mrn": "A3", "cycle_no": "1", "start_date": "2021-05-01", "end_date": "2021-05-28",
                 "dose_start": "abc"}),
        ("bbb", {"mrn": "B1", "cycle_no": "1", "start_date": "15/01/2022", "end_date": "29/02/2022",
                 "dose_start": "0,015"}),
    ],
    "assessments": [
        ("aaa", {"mrn": "A1", "cycle_no": "1", "timepoint": "pre_cycle", "bm_blasts_pct": "12", "mrd_pct": "8"}),
        ("aaa", {"mrn": "A1", "cycle_no": "1", "timepoint": "end_of_cycle", "assessment_date": "2021-01-29",
                 "bm_blasts_pct": "1", "mrd_pct": "<0.01"}),
        ("aaa", {"mrn": "A1", "cycle_no": "2", "timepoint": "pre_cycle", "bm_blasts_pct": "0", "mrd_pct": "<0.01"}),
        ("aaa", {"mrn": "A1", "cycle_no": "2", "timepoint": "end_of_cycle", "mrd_pct": "0.02"}),
        # No morphology: flow MRD 0.5 % stands in for blasts < 5 %.
        ("aaa", {"mrn": "A2", "cycle_no": "1", "timepoint": "pre_cycle", "mrd_pct": "0.5"}),
        ("aaa", {"mrn": "A2", "cycle_no": "1", "timepoint": "end_of_cycle", "assessment_date": "2021-03-15",
                 "bm_blasts_pct": "1", "mrd_pct": "0.3"}),
        ("aaa", {"mrn": "A3", "cycle_no": "1", "timepoint": "pre_cycle", "bm_blasts_pct": "2", "mrd_pct": "ND"}),
        ("aaa", {"mrn": "A3", "cycle_no": "1", "timepoint": "end_of_cycle", "mrd_pct": "ND"}),
        ("bbb", {"mrn": "B1", "cycle_no": "1", "timepoint": "pre_cycle", "bm_blasts_pct": "3,5",
                 "mrd_pct": "0,005"}),
        ("bbb", {"mrn": "B1", "timepoint": "induction_d19", "mrd_pct": "9,88"}),
    ],
    "labs": [
        ("aaa", {"analyte": "neutrophils", "specimen": "blood", "value": "1500"}),
        ("aaa", {"analyte": "il6", "specimen": "serum", "value": "2.44"}),
        ("aaa", {"analyte": "il10", "specimen": "serum", "value": "<2.44"}),
        ("aaa", {"analyte": "il8", "specimen": "serum", "value": ">5000"}),
        ("aaa", {"analyte": "il2", "specimen": "serum", "value": "3.1"}),
        ("aaa", {"analyte": "cd19_abs", "specimen": "blood", "value": "ND"}),
        ("aaa", {"analyte": "igg", "specimen": "serum", "value": "850", "unit": "mg/dL"}),
        ("aaa", {"analyte": "wbc", "specimen": "blood", "value": "high"}),
        ("aaa", {"analyte": "platelets", "specimen": "blood", "value": "120", "unit": "furlongs"}),
        ("bbb", {"analyte": "cd3_abs", "specimen": "blood", "value": "1,2", "unit": "x10^9/L"}),
    ],
    "adverse_events": [
        ("aaa", {"mrn": "A1", "cycle_no": "1", "term": "crs", "grade": "2", "onset_date": "2021-01-02"}),
        ("aaa", {"mrn": "A1", "cycle_no": "1", "term": "neutropenia", "grade": ""}),
        ("aaa", {"mrn": "A1", "cycle_no": "1", "term": "fever", "grade": "G3"}),
    ],
    "events": [
        ("aaa", {"mrn": "A1", "event_type": "relapse", "event_date": "2020-06-01"}),
        ("aaa", {"mrn": "A1", "event_type": "relapse", "event_date": "2021-08-01", "relapse_site": "bone_marrow",
                 "cd19_status": "negative"}),
        ("aaa", {"mrn": "A1", "event_type": "death", "event_date": "2021-10-01"}),
        ("aaa", {"mrn": "A1", "event_type": "last_contact", "event_date": "2021-10-01"}),
        ("aaa", {"mrn": "A2", "event_type": "last_contact", "event_date": "2022-03-01"}),
        ("aaa", {"mrn": "A3", "event_type": "hsct", "event_date": "2021-07-01"}),
        ("aaa", {"mrn": "A3", "event_type": "last_contact", "event_date": "2022-05-01"}),
        ("bbb", {"mrn": "B1", "event_type": "last_contact", "event_date": "01/03/2023"}),
    ],
    "therapy_lines": [
        ("aaa", {"mrn": "A1", "line_no": "1", "phase": "induction", "regimen": " VDLD ", "start_date": "2019-05-06",
                 "end_date": "2019-06-20", "protocol": "CCCG-ALL-2015", "detail": "at another hospital"}),
        ("aaa", {"mrn": "A1", "line_no": "2", "phase": "reinduction", "regimen": "DEAL", "end_date": "2020-06-31"}),
        ("bbb", {"mrn": "B1", "line_no": "first", "phase": "maintenance", "start_date": "01/02/2021"}),
    ],
}
# Lab rows are all patient A1 / B1, cycle 1, baseline.
for center, row in ROWS["labs"]:
    row.update({"mrn": "A1" if center == "aaa" else "B1", "cycle_no": "1", "timepoint": "baseline"})

CODE_MAPS = [("aaa", "patients", "sex", "1", "M"), ("aaa", "patients", "sex", "2", "F"),
             ("aaa", "patients", "cytogenetics", "KMT2A-AFF1", "kmt2ar"),
             ("aaa", "therapy_lines", "phase", "induction", "frontline_induction")]
UNITS = [("aaa", "labs", "neutrophils", "cells/uL"), ("bbb", "cycles", "dose_start", "mg/m2/day")]
SETTINGS = {"aaa": ("%Y-%m-%d", "."), "bbb": ("%d/%m/%Y", ",")}
DETECTION_LIMITS = [("aaa", "labs", "il6", 2.44), ("aaa", "labs", "il10", 2.44), ("aaa", "labs", "il2", 2.44)]


def write_raw_layer(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA raw")
    provenance = ("center_id VARCHAR, source_file VARCHAR, file_sha256 VARCHAR, source_row INTEGER,"
                  " source_column VARCHAR, extra JSON, loaded_at TIMESTAMP")
    for table, fields in FIELDS.items():
        con.execute(f"CREATE TABLE raw.{table} ({', '.join(f + ' VARCHAR' for f in fields)}, {provenance})")
        for row_no, (center, row) in enumerate(ROWS[table], start=1):
            values = [row.get(f) for f in fields] + [center, f"{table}.csv", f"sha-{center}", row_no]
            con.execute(f"INSERT INTO raw.{table} VALUES ({', '.join('?' * len(values))}, NULL, NULL, now())",
                        values)
    # A superseded version of aaa's patients file: staging must not read it.
    con.execute("INSERT INTO raw.patients (mrn, sex, center_id, source_file, file_sha256, source_row, loaded_at)"
                " VALUES ('A9', 'M', 'aaa', 'patients.csv', 'sha-old', 1, now())")
    con.execute("CREATE TABLE raw.current_files AS SELECT DISTINCT center_id, source_file, file_sha256"
                " FROM raw.patients WHERE file_sha256 <> 'sha-old'"
                + "".join(f" UNION SELECT center_id, '{t}.csv', 'sha-' || center_id FROM raw.patients"
                          for t in FIELDS if t != "patients"))
    con.execute("CREATE TABLE raw.center_code_maps (center_id VARCHAR, table_name VARCHAR, field VARCHAR,"
                " source_code VARCHAR, code VARCHAR)")
    con.executemany("INSERT INTO raw.center_code_maps VALUES (?, ?, ?, ?, ?)", CODE_MAPS)
    con.execute("CREATE TABLE raw.center_units (center_id VARCHAR, table_name VARCHAR, measure VARCHAR,"
                " unit VARCHAR)")
    con.executemany("INSERT INTO raw.center_units VALUES (?, ?, ?, ?)", UNITS)
    con.execute("CREATE TABLE raw.center_settings (center_id VARCHAR, center_name VARCHAR, study VARCHAR,"
                " table_name VARCHAR, date_format VARCHAR, decimal VARCHAR)")
    con.executemany("INSERT INTO raw.center_settings VALUES (?, ?, ?, ?, ?, ?)",
                    [(c, f"Center {c}", "multicenter", t, fmt, dec)
                     for c, (fmt, dec) in SETTINGS.items() for t in FIELDS])
    con.execute("CREATE TABLE raw.center_detection_limits (center_id VARCHAR, table_name VARCHAR,"
                " analyte VARCHAR, detection_limit DOUBLE)")
    con.executemany("INSERT INTO raw.center_detection_limits VALUES (?, ?, ?, ?)", DETECTION_LIMITS)
    ensure_corrections(con)  # none declared: raw.center_corrections exists, empty
    con.close()


def run_dbt(warehouse_dir: Path, *args: str, succeeds: bool = True, project: Path = DBT_PROJECT) -> str:
    """One dbt invocation, in a subprocess (in-process dbt-duckdb keeps the warehouse file open): its output."""
    env = {**os.environ, "BLINA_WAREHOUSE_DIR": str(warehouse_dir), "BLINA_PSEUDONYM_KEY": KEY}
    result = subprocess.run(
        [str(DBT), *args, "--profiles-dir", ".", "--target-path", str(warehouse_dir / "target"),
         "--log-path", str(warehouse_dir / "logs")],
        cwd=project, env=env, capture_output=True, text=True)
    assert (result.returncode == 0) == succeeds, result.stdout[-5000:]
    return result.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("warehouse")
    write_raw_layer(directory / "warehouse.duckdb")
    run_dbt(directory, "build", "--exclude", "path:models/core")
    pass_every_candidate(directory / "warehouse.duckdb")
    run_dbt(directory, "build", "--select", "path:models/core")
    return directory


def pass_every_candidate(database: Path) -> None:
    """What the validation gate, which sits between intermediate and core, does where it refuses nothing and
    warns about nothing: every lab candidate marked not refused (core.labs is the view of those)."""
    with duckdb.connect(str(database)) as con:
        con.execute("UPDATE intermediate.int_labs SET refused = false")


@pytest.fixture(scope="module")
def warehouse(built):
    con = duckdb.connect(str(built / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def diagnosis_origin_censored_at_hsct(built, tmp_path_factory):
    """core.time_to_event rebuilt, on a copy of the warehouse, with the non-default dbt vars."""
    directory = tmp_path_factory.mktemp("variant")
    shutil.copy(built / "warehouse.duckdb", directory / "warehouse.duckdb")
    run_dbt(directory, "run", "-s", "time_to_event", "--vars", "{tte_origin: diagnosis, censor_at_hsct: true}")
    con = duckdb.connect(str(directory / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def subject(mrn: str, center: str = "aaa") -> str:
    return hmac.new(KEY.encode(), f"{center}:{mrn}".encode(), hashlib.sha256).hexdigest()


def rows(con, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def by_subject(con, table: str, where: str = "true") -> dict[str, dict]:
    return {row["subject_id"]: row for row in rows(con, f"SELECT * FROM core.{table} WHERE {where}")}


def test_subject_id_is_the_keyed_hash_of_center_and_mrn(warehouse):
    ids = {row["subject_id"] for row in rows(warehouse, "SELECT subject_id FROM core.patients")}
    assert ids == {subject("A1"), subject("A2"), subject("A3"), subject("B1", "bbb")}


def test_identifying_fields_never_reach_core(warehouse):
    columns = {row["column_name"] for row in rows(
        warehouse, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'core'")}
    assert not columns & {"mrn", "name", "birth_date", "birth_date_raw", "extra"}
    tables = [row["table_name"] for row in rows(
        warehouse, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'core'")]
    assert len(tables) == 10  # the seven validated tables, time_to_event, lab_draw_choices and the view lab_draws
    for table in tables:
        text = str(rows(warehouse, f"SELECT * FROM core.{table}"))
        for secret in ("'A1'", "Ann Alpha", "2015-03-10", "2012-02-30"):
            assert secret not in text


def test_staging_keys_rows_by_subject_id_not_by_record_number(warehouse):
    """The record number meets its subject_id in stg_subject_keys only; no staging table keeps a name."""
    holding = {(row["table_name"], row["column_name"]) for row in rows(
        warehouse, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'staging'"
                   " AND column_name IN ('mrn', 'name', 'subject_id')")}
    assert {table for table, column in holding if column != "subject_id"} == {"stg_subject_keys"}
    assert {table for table, column in holding if column == "subject_id"} >= {
        "stg_patients", "stg_cycles", "stg_labs", "stg_subject_keys"}
    assert rows(warehouse, "SELECT DISTINCT subject_id FROM staging.stg_labs WHERE center_id = 'bbb'") == [
        {"subject_id": subject("B1", "bbb")}]


def test_superseded_file_versions_are_not_read(warehouse):
    assert warehouse.execute("SELECT count(*) FROM core.patients").fetchone()[0] == 4


def test_patients_codes_ages_and_cytogenetics(warehouse):
    patients = by_subject(warehouse, "patients")
    a1, a2, a3, b1 = (patients[subject("A1")], patients[subject("A2")], patients[subject("A3")],
                      patients[subject("B1", "bbb")])
    assert (a1["sex"], a2["sex"], a3["sex"]) == ("M", "F", "X")  # unknown code kept as delivered
    # Completed months at the first infusion: 2015-03-10 -> 2021-01-01 is 69 months (not yet 70).
    assert (a1["age_months"], a1["age_source"]) == (69, "birth_date")
    # No birth date: 67 months at diagnosis (2020-06-01) + 19 completed months to 2022-01-15.
    assert (b1["age_months"], b1["age_source"]) == (86, "age_at_diagnosis_plus_interval")
    assert a3["age_months"] is None and "birth_date:invalid_date" in a3["parse_errors"]
    assert (a1["kmt2ar"], a1["bcr_abl1"], a1["cytogenetic_risk"]) == (True, False, "poor")
    assert a1["cytogenetics"] == "ikzf1_deletion;kmt2ar"
    assert (a2["kmt2ar"], a2["cytogenetic_risk"]) == (False, "standard")
    assert (a3["kmt2ar"], a3["cytogenetic_risk"]) == (None, None)
    assert b1["cytogenetic_risk"] == "poor"


def test_indication_group_follows_the_paper(warehouse):
    patients = by_subject(warehouse, "patients")
    assert patients[subject("A1")]["indication_group"] == "rr"
    assert patients[subject("A2")]["indication_group"] == "cr_mrdpos"  # chemo delay, MRD-positive at cycle 1
    assert patients[subject("A3")]["indication_group"] == "cr_mrdpos"  # mrd_positive indication
    assert patients[subject("B1", "bbb")]["indication_group"] == "cr_mrdneg"  # chemo delay, MRD 0.005 %


def test_a_cycle_delivered_twice_leaves_one_candidate_row_per_delivered_patient_row(warehouse):
    doubled = rows(warehouse, "SELECT center_id, source_file, source_row FROM intermediate.int_patients"
                              " GROUP BY ALL HAVING count(*) > 1")
    assert doubled == []
    assert rows(warehouse, "SELECT count(*) AS n FROM intermediate.int_cycles") == [{"n": 6}]


def test_cycle_dates_doses_and_regimen(warehouse):
    cycles = {(row["subject_id"], row["cycle_no"]): row for row in rows(warehouse, "SELECT * FROM core.cycles")}
    a1c1, a1c2 = cycles[(subject("A1"), 1)], cycles[(subject("A1"), 2)]
    assert (a1c1["infusion_days"], a1c1["regimen"], a1c1["dose_start"]) == (28, "21_28d", 5.0)
    assert (a1c2["infusion_days"], a1c2["regimen"]) == (14, "14d")
    assert (a1c1["bridging_chemo"], a1c1["cyclophosphamide"]) == (True, False)
    a2c1 = cycles[(subject("A2"), 1)]
    assert a2c1["bridging_chemo"] is None and a2c1["bridging_chemo_raw"] == "yes"
    assert "bridging_chemo:unknown_code" in a2c1["parse_errors"]
    a3c1 = cycles[(subject("A3"), 1)]
    assert a3c1["dose_start"] is None and a3c1["dose_start_raw"] == "abc"
    assert "dose_start:not_a_number" in a3c1["parse_errors"]
    b1c1 = cycles[(subject("B1", "bbb"), 1)]
    # 29/02/2022 does not exist: NULL date, raw text kept; the declared mg/m2/day dose is converted.
    assert (b1c1["end_date"], b1c1["end_date_raw"], b1c1["infusion_days"]) == (None, "29/02/2022", None)
    assert b1c1["parse_errors"] == "end_date:invalid_date"
    assert b1c1["dose_start"] == pytest.approx(15.0)
    assert b1c1["dose_unit_raw"] == "mg/m2/day"


def test_cycle_status_response_and_table3_group(warehouse):
    cycles = {(row["subject_id"], row["cycle_no"]): row for row in rows(warehouse, "SELECT * FROM core.cycles")}
    expected = {
        (subject("A1"), 1): ("rr", "cr", True, "rr_mrdpos"),
        (subject("A1"), 2): ("cr_mrdneg", "nr", False, "mrdneg"),
        (subject("A2"), 1): ("cr_mrdpos", "nr", False, "rr_mrdpos"),
        (subject("A3"), 1): ("cr_mrdneg", "cr", True, "mrdneg"),
        (subject("B1", "bbb"), 1): ("cr_mrdneg", None, None, "mrdneg"),
    }
    actual = {key: (row["status_at_start"], row["response"], row["mrd_negative_after"], row["table3_group"])
              for key, row in cycles.items()}
    assert actual == expected


def test_lab_units_markers_and_detection_limits(warehouse):
    labs = {row["analyte"]: row for row in rows(warehouse, "SELECT * FROM core.labs")}
    assert (labs["neutrophils"]["value"], labs["neutrophils"]["unit"]) == (pytest.approx(1.5), "x10^9/L")
    assert (labs["igg"]["value"], labs["igg"]["unit"]) == (pytest.approx(8.5), "g/L")  # 850 mg/dL
    assert labs["cd3_abs"]["value"] == pytest.approx(1.2)  # decimal comma at center bbb
    flags = {a: (labs[a]["value"], labs[a]["below_lod"], labs[a]["above_uloq"]) for a in ("il6", "il10", "il8", "il2")}
    assert flags == {"il6": (2.44, True, False), "il10": (2.44, True, False), "il8": (5000.0, False, True),
                     "il2": (3.1, False, False)}
    cd19 = labs["cd19_abs"]
    assert (cd19["value"], cd19["below_lod"], cd19["value_raw"], cd19["parse_errors"]) == (None, True, "ND", None)
    assert (labs["wbc"]["value"], labs["wbc"]["parse_errors"]) == (None, "value:not_a_measurement")
    assert (labs["platelets"]["value"], labs["platelets"]["parse_errors"]) == (None, "unit:unknown_unit")


def test_adverse_event_grades(warehouse):
    events = {row["term"]: row for row in rows(warehouse, "SELECT * FROM core.adverse_events")}
    assert (events["crs"]["grade"], events["crs"]["onset_date"]) == (2, date(2021, 1, 2))
    assert (events["neutropenia"]["grade"], events["neutropenia"]["parse_errors"]) == (None, None)
    assert (events["fever"]["grade"], events["fever"]["parse_errors"]) == (None, "grade:not_an_integer")


def test_therapy_lines_codes_dates_and_parse_errors(warehouse):
    lines = rows(warehouse, "SELECT subject_id, line_no, line_no_raw, phase, regimen, start_date, end_date,"
                            " end_date_raw, protocol, detail, parse_errors FROM core.therapy_lines ORDER BY source_row")
    assert [(row["subject_id"], row["line_no"], row["phase"]) for row in lines] == [
        (subject("A1"), 1, "frontline_induction"), (subject("A1"), 2, "reinduction"),
        (subject("B1", "bbb"), None, "maintenance")]
    first, second, third = lines
    assert (first["regimen"], first["start_date"], first["end_date"], first["protocol"], first["detail"]) == (
        "VDLD", date(2019, 5, 6), date(2019, 6, 20), "CCCG-ALL-2015", "at another hospital")
    assert first["parse_errors"] is None
    assert (second["end_date"], second["end_date_raw"], second["parse_errors"]) == (
        None, "2020-06-31", "end_date:invalid_date")
    assert (third["line_no_raw"], third["parse_errors"]) == ("first", "line_no:not_an_integer")


def test_time_to_event_from_first_infusion(warehouse):
    tte = {(row["subject_id"], row["endpoint"]): row for row in rows(warehouse, "SELECT * FROM core.time_to_event")}
    summary = {key: (row["time_days"], row["event"], row["event_type"]) for key, row in tte.items()}
    assert summary == {
        # The 2020 relapse precedes blinatumomab (its indication) and does not count.
        (subject("A1"), "efs"): (212, 1, "relapse"),
        (subject("A1"), "os"): (273, 1, "death"),
        # No response to cycle 1: an EFS event at the end-of-cycle assessment.
        (subject("A2"), "efs"): (14, 1, "nr_cycle1"),
        (subject("A2"), "os"): (365, 0, "censored"),
        # HSCT is followed through by default.
        (subject("A3"), "efs"): (365, 0, "censored"),
        (subject("A3"), "os"): (365, 0, "censored"),
        (subject("B1", "bbb"), "efs"): (410, 0, "censored"),
        (subject("B1", "bbb"), "os"): (410, 0, "censored"),
    }
    assert tte[(subject("A2"), "os")]["origin_date"] == date(2021, 3, 1)


def test_time_to_event_vars_change_origin_and_censoring(diagnosis_origin_censored_at_hsct):
    tte = {(row["subject_id"], row["endpoint"]): row
           for row in rows(diagnosis_origin_censored_at_hsct, "SELECT * FROM core.time_to_event")}
    b1 = tte[(subject("B1", "bbb"), "os")]
    # From diagnosis (2020-06-01) to the last contact (2023-03-01).
    assert (b1["origin"], b1["origin_date"], b1["time_days"]) == ("diagnosis", date(2020, 6, 1), 1003)
    a3 = tte[(subject("A3"), "efs")]
    assert (a3["end_date"], a3["event"], a3["censor_reason"]) == (date(2021, 7, 1), 0, "hsct")
    # A1 relapsed before any HSCT: still an event.
    assert tte[(subject("A1"), "efs")]["event_type"] == "relapse"


@pytest.fixture
def plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(DBT_PROJECT / "plugins"))
    import blina_pseudonym

    return blina_pseudonym


def test_pseudonym_key_comes_from_the_environment(plugin, monkeypatch):
    monkeypatch.setenv("BLINA_PSEUDONYM_KEY", KEY)
    assert plugin.pseudonym(plugin.pseudonym_key(), "aaa", " A1 ") == subject("A1")


def test_without_a_key_the_plugin_computes_no_pseudonym(plugin, monkeypatch):
    monkeypatch.delenv("BLINA_PSEUDONYM_KEY", raising=False)
    with pytest.raises(RuntimeError, match="BLINA_PSEUDONYM_KEY is not set"):
        plugin.pseudonym_key()


def test_row_count_tests_catch_a_row_fanned_out_or_lost(built, tmp_path):
    """rows_as_delivered (intermediate) and rows_as_validated (core) stand for uniqueness tests of the provenance
    key: a row repeated in int_labs, or dropped from core.cycles, fails them."""
    shutil.copy(built / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    run_dbt(tmp_path, "test", "-s", "int_labs", "cycles")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        # A repeated candidate the gate never judged: in neither core.labs nor quarantine.labs.
        con.execute("INSERT INTO intermediate.int_labs SELECT * REPLACE (NULL AS refused)"
                    " FROM intermediate.int_labs LIMIT 1")
        con.execute("DELETE FROM core.cycles WHERE rowid = (SELECT min(rowid) FROM core.cycles)")
    output = run_dbt(tmp_path, "test", "-s", "int_labs", "cycles", succeeds=False)
    failed = set(re.findall(r"Failure in test (\w+)", output))
    # The repeated candidate row also leaves core.labs one row short of what the candidates say it holds.
    assert failed == {"rows_as_delivered_int_labs_labs", "rows_as_validated_labs_labs",
                      "rows_as_validated_cycles_cycles"}, output[-3000:]


def test_core_contracts_hold_on_a_one_center_rebuild(built, tmp_path):
    """Core's enforced contracts (dbt_project.yml) pass on a rebuild of one center's rows (dbt checks the
    model's query against the YAML before its delete + insert), as on the full build above, and every built
    core column, the view lab_draws' included, has the type its YAML declares."""
    shutil.copy(built / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    run_dbt(tmp_path, "run", "-s", "path:models/core", "--vars", "{centers: [bbb]}")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    declared = {(node["name"], column): spec["data_type"].upper() for node in manifest["nodes"].values()
                if node["resource_type"] == "model" and node["schema"] == "core"
                for column, spec in node["columns"].items()}
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        built_types = {(table, column): data_type for table, column, data_type in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'core'").fetchall()}
        assert con.execute("SELECT count(*) FROM core.patients WHERE center_id = 'bbb'").fetchone()[0] == 1
    assert built_types == declared



def test_a_one_center_rebuild_refuses_a_query_that_breaks_the_contract(built, tmp_path):
    """On a one-center rebuild the center's new rows are a temporary view (macros/create_table_as.sql), not
    the adapter's temporary table; the contract is still checked before the center's rows are replaced: a
    column whose YAML type the query does not return fails the model, and the center keeps its rows."""
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    spec = project / "models" / "core" / "therapy_lines.yml"
    declared = ("      - name: line_no\n        description: \"{{ doc('therapy_lines__line_no') }}\"\n"
                "        data_type: integer")
    assert declared in spec.read_text()
    spec.write_text(spec.read_text().replace(declared, declared.replace("integer", "varchar")))
    shutil.copy(built / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    count = "SELECT count(*) FROM core.therapy_lines WHERE center_id = 'bbb'"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        before = con.execute(count).fetchone()[0]
    output = run_dbt(tmp_path, "run", "-s", "therapy_lines", "--vars", "{centers: [bbb]}", succeeds=False,
                     project=project)
    assert "contract" in output and "line_no" in output, output[-3000:]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert before > 0 and con.execute(count).fetchone()[0] == before


def test_a_one_center_run_tests_only_the_rows_of_its_centers(built, tmp_path):
    """A run for some centers tests those centers' rows of the models built per center
    (macros/get_where_subquery.sql): a fault in another center's rows, which that center's own run tested,
    is not read again; a run for the faulty center, or over every center, reports it."""
    shutil.copy(built / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("UPDATE core.patients SET study = 'another study' WHERE center_id = 'aaa'")
    run_dbt(tmp_path, "test", "-s", "patients", "--vars", "{centers: [bbb]}")
    for args in (("--vars", "{centers: [aaa]}"), ()):
        output = run_dbt(tmp_path, "test", "-s", "patients", *args, succeeds=False)
        assert set(re.findall(r"Failure in test (\w+)", output)) == {
            "accepted_values_patients_study__multicenter__case_series"}, output[-3000:]


def freshness(output: str) -> dict[str, str]:
    """raw table -> its outcome in `dbt source freshness`'s output (PASS, WARN or ERROR STALE)."""
    return {table: outcome for outcome, table in re.findall(r"(PASS|WARN|ERROR STALE) freshness of raw\.(\w+)", output)}


def test_source_freshness_warns_after_two_days_and_errors_after_a_week(built, tmp_path):
    """`dbt source freshness` on raw.* reads loaded_at (the source's config in models/staging/_sources.yml):
    rows landed just now pass, a table whose newest rows landed three days ago warns, eight days ago errors;
    the landing's mapping tables (no loaded_at) are not checked."""
    shutil.copy(built / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    assert freshness(run_dbt(tmp_path, "source", "freshness")) == dict.fromkeys(FIELDS, "PASS")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("UPDATE raw.patients SET loaded_at = loaded_at - INTERVAL 3 DAY")
        con.execute("UPDATE raw.cycles SET loaded_at = loaded_at - INTERVAL 8 DAY")
    output = run_dbt(tmp_path, "source", "freshness", succeeds=False)
    assert freshness(output) == {**dict.fromkeys(FIELDS, "PASS"), "patients": "WARN", "cycles": "ERROR STALE"}, (
        output[-3000:])
