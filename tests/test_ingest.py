"""Landing into raw: provenance, unchanged re-delivery, corrected re-delivery, broken files, the audit."""

import hashlib
import json
import threading
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.landing import store
from assets.landing.assets import LANDING_CHECKS, center_partitions, landing_assets
from assets.landing.contract import TABLE_FIELDS
from assets.landing.delivery import DeliveryResource
from assets.landing.ingest import land_table
from assets.landing.mappings import land_mappings
from orchestration.resources import WarehouseResource

CENTER_YAML = """
center_id: {center_id}
center_name: {center_id} hospital
study: multicenter
defaults: {{format: {format}, date_format: "%d/%m/%Y"}}
tables:
  patients:
    {patients_file}
    columns: {{mrn: MRN, birth_date: DOB, sex: Sex, indication: Why}}
    codes:
      sex: {{"1": M, "2": F}}
  events:
    {events_file}
    columns: {{mrn: MRN, event_type: Event, event_date: Date}}
"""


def center_yaml(center_id: str, workbook: str | None = None) -> str:
    """A center delivering patients and events as two CSV files, or as two sheets of one workbook."""
    if workbook is None:
        files = {"patients_file": "file: patients.csv", "events_file": "file: events.csv"}
    else:
        files = {f"{table}_file": f"file: {workbook}\n    sheet: {sheet}" for table, sheet in SHEETS.items()}
    return CENTER_YAML.format(center_id=center_id, format="xlsx" if workbook else "csv", **files)


SHEETS = {"patients": "患者", "events": "随访"}
PATIENTS = "MRN,DOB,Sex,Why\nA1,01/02/2015,1,relapse\nA2,,2,mrd_positive\n"
EVENTS = "MRN,Event,Date\nA1,last_contact,03/04/2021\n"


@pytest.fixture
def delivery(tmp_path: Path) -> DeliveryResource:
    """Two centers, alpha and beta, delivering the same small files."""
    centers, landing = tmp_path / "centers", tmp_path / "landing"
    centers.mkdir()
    for center_id in ("alpha", "beta"):
        (centers / f"{center_id}.yaml").write_text(center_yaml(center_id))
        folder = landing / center_id
        folder.mkdir(parents=True)
        (folder / "patients.csv").write_text(PATIENTS)
        (folder / "events.csv").write_text(EVENTS)
    return DeliveryResource(landing_dir=str(landing), centers_dir=str(centers))


@pytest.fixture
def con(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        yield connection


def land(con, delivery: DeliveryResource, table: str = "patients") -> dict[str, store.FileLoad]:
    scratch = Path(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                               ).fetchall()[0][0]).parent / "tmp"
    loads = land_table(con, table, delivery.centers(), Path(delivery.landing_dir), datetime(2025, 1, 1), scratch)
    return {load.center_id: load for load in loads}


def deliver(delivery: DeliveryResource, center_id: str, content: bytes | str, file: str = "patients.csv") -> Path:
    path = Path(delivery.landing_dir) / center_id / file
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def current_mrns(con, center_id: str) -> list[str]:
    return [row[0] for row in con.execute(
        "SELECT mrn FROM raw.patients JOIN raw.current_files USING (center_id, source_file, file_sha256)"
        " WHERE center_id = ? ORDER BY mrn", [center_id]).fetchall()]


def test_first_load_lands_text_with_provenance(con, delivery):
    loads = land(con, delivery)
    assert {center: load.outcome for center, load in loads.items()} == {"alpha": "loaded", "beta": "loaded"}
    rows = con.execute(
        "SELECT mrn, birth_date, sex, name, source_file, file_sha256, source_row FROM raw.patients"
        " WHERE center_id = 'alpha' ORDER BY source_row").fetchall()
    sha = hashlib.sha256(PATIENTS.encode()).hexdigest()
    # Codes and dates as delivered; a contract field the center does not deliver is a NULL column.
    assert rows == [("A1", "01/02/2015", "1", None, "patients.csv", sha, 1),
                    ("A2", None, "2", None, "patients.csv", sha, 2)]
    columns = [row[0] for row in con.execute("DESCRIBE raw.patients").fetchall()]
    assert columns[:len(TABLE_FIELDS["patients"])] == list(TABLE_FIELDS["patients"])
    assert con.execute("SELECT count(*) FROM audit.loads WHERE outcome = 'loaded' AND rows = 2").fetchone()[0] == 2


def test_unchanged_redelivery_loads_nothing(con, delivery):
    land(con, delivery)
    again = land(con, delivery)
    assert {load.outcome for load in again.values()} == {"unchanged"}
    assert con.execute("SELECT count(*) FROM raw.patients").fetchone()[0] == 4
    assert con.execute("SELECT count(*) FROM audit.loads").fetchone()[0] == 4


def test_corrected_redelivery_supersedes_and_keeps_both_versions(con, delivery):
    land(con, delivery)
    corrected = deliver(delivery, "alpha", "MRN,DOB,Sex,Why\nA1,01/02/2015,1,relapse\nA3,05/06/2016,2,relapse\n")
    loads = land(con, delivery)
    assert loads["alpha"].outcome == "loaded" and loads["beta"].outcome == "unchanged"
    assert current_mrns(con, "alpha") == ["A1", "A3"]
    versions = con.execute("SELECT count(DISTINCT file_sha256), count(*) FROM raw.patients"
                           " WHERE center_id = 'alpha'").fetchone()
    assert versions == (2, 4)
    current_sha = con.execute("SELECT file_sha256 FROM raw.current_files WHERE center_id = 'alpha'"
                              " AND source_file = 'patients.csv'").fetchone()[0]
    assert current_sha == hashlib.sha256(corrected.read_bytes()).hexdigest()
    assert store.count_rows_by_center(con, "patients") == {"alpha": (4, 2), "beta": (2, 2)}


def test_redelivering_an_earlier_version_makes_it_current_again(con, delivery):
    land(con, delivery)
    deliver(delivery, "alpha", "MRN,DOB,Sex,Why\nA9,01/02/2015,1,relapse\n")
    land(con, delivery)
    deliver(delivery, "alpha", PATIENTS)
    assert land(con, delivery)["alpha"].outcome == "unchanged"
    assert current_mrns(con, "alpha") == ["A1", "A2"]


@pytest.mark.parametrize(("content", "problem"), [
    ("MRN,DOB,Sex,Why\nA1,01/02/2015,1,relapse\nA2,01/0", "row 2"),  # truncated mid-row
    ("MRN,DOB,Why\nA1,01/02/2015,relapse\n", "'Sex'"),  # a required column is missing
    ("MRN,DOB,Sex,Why\nA1,01/02/2015,男,relapse\n".encode("gbk"), "utf-8"),  # wrong encoding
    ("", "empty"),
])
def test_broken_file_fails_only_that_file_and_keeps_earlier_data(con, delivery, content, problem):
    land(con, delivery)
    deliver(delivery, "alpha", content)
    loads = land(con, delivery)
    assert loads["alpha"].outcome == "failed" and loads["beta"].outcome == "unchanged"
    assert loads["alpha"].message.startswith("patients.csv") and problem in loads["alpha"].message
    audit = con.execute("SELECT outcome, message FROM audit.loads WHERE center_id = 'alpha'"
                        " ORDER BY load_id DESC LIMIT 1").fetchone()
    assert audit == ("failed", loads["alpha"].message)
    assert current_mrns(con, "alpha") == ["A1", "A2"]
    assert store.latest_failures(con, "patients") == [("alpha", "patients.csv", loads["alpha"].message)]


def test_broken_file_on_first_delivery_does_not_stop_other_centers(con, delivery):
    deliver(delivery, "alpha", "MRN,DOB\nA1\n")
    loads = land(con, delivery)
    assert loads["alpha"].outcome == "failed" and loads["beta"].outcome == "loaded"
    assert current_mrns(con, "alpha") == [] and current_mrns(con, "beta") == ["A1", "A2"]


def test_the_centers_files_land_side_by_side_and_come_back_in_the_centers_order(con, delivery, monkeypatch):
    """With two DuckDB threads, two centers' files load at once, each through a connection of its own: both
    calls meet at a barrier of two (landing one file at a time would time out there), alpha's waits until
    beta's has landed, and the loads still come back in the centers' order."""
    from assets.landing import ingest

    con.execute("SET threads = 2")
    barrier, beta_landed, connections = threading.Barrier(2, timeout=10), threading.Event(), []
    land_file = ingest._land_file

    def side_by_side(cursor, center, *args):
        connections.append(cursor)
        barrier.wait()
        if center.center_id == "alpha":
            assert beta_landed.wait(10)
        load = land_file(cursor, center, *args)
        if center.center_id == "beta":
            beta_landed.set()
        return load

    monkeypatch.setattr(ingest, "_land_file", side_by_side)
    scratch = Path(delivery.landing_dir).parent / "tmp"
    loads = land_table(con, "patients", delivery.centers(), Path(delivery.landing_dir), datetime(2025, 1, 1), scratch)
    assert [(load.center_id, load.outcome) for load in loads] == [("alpha", "loaded"), ("beta", "loaded")]
    assert len(connections) == 2 and all(cursor is not con for cursor in connections)
    assert connections[0] is not connections[1]
    assert current_mrns(con, "alpha") == current_mrns(con, "beta") == ["A1", "A2"]


def test_file_listed_but_not_delivered_is_a_failed_load(con, delivery):
    (Path(delivery.landing_dir) / "beta" / "patients.csv").unlink()
    loads = land(con, delivery)
    assert loads["beta"].outcome == "failed" and "not delivered" in loads["beta"].message


def test_an_invalid_center_yaml_fails_alone_and_its_mappings_stay(tmp_path, con, delivery):
    from assets.landing.mappings import land_mappings

    store.ensure_warehouse(con)
    land_mappings(con, delivery.centers())
    before = con.execute("SELECT * FROM raw.center_code_maps WHERE center_id = 'beta'").fetchall()
    assert before
    yaml_file = Path(delivery.centers_dir) / "beta.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("columns: {mrn: MRN, event_type",
                                                       "colums: {mrn: MRN, event_type"))
    assert [center.center_id for center in delivery.centers()] == ["alpha"]
    [(center, problem)] = delivery.config_errors()
    assert center == "beta" and "beta.yaml: tables.events: unknown keys ['colums']" in problem
    land_mappings(con, delivery.centers(), keep=["beta"])
    assert con.execute("SELECT * FROM raw.center_code_maps WHERE center_id = 'beta'").fetchall() == before
    yaml_file.write_text("center_id: beta\ntables: [")
    assert "beta.yaml: not valid YAML" in delivery.config_errors()[0][1]


@pytest.mark.parametrize("target", ["outside.csv", "/etc/passwd"])
def test_a_symbolic_link_is_refused_and_never_read(con, delivery, tmp_path, target):
    outside = tmp_path / "outside.csv"
    outside.write_text(PATIENTS)
    link = Path(delivery.landing_dir) / "beta" / "patients.csv"
    link.unlink()
    link.symlink_to(outside if target == "outside.csv" else Path(target))
    loads = land(con, delivery)
    assert loads["beta"].outcome == "failed" and "not a regular file inside the drop zone" in loads["beta"].message
    assert loads["beta"].file_sha256 is None and loads["alpha"].outcome == "loaded"
    assert current_mrns(con, "beta") == []


def test_unknown_extra_columns_are_audited_and_kept(con, delivery):
    deliver(delivery, "beta", "MRN,DOB,Sex,Why,Ward\nA1,01/02/2015,1,relapse,3B\n")
    assert "Ward" in land(con, delivery)["beta"].message
    extra = con.execute("SELECT extra FROM raw.patients WHERE center_id = 'beta'").fetchone()[0]
    assert json.loads(extra) == {"Ward": "3B"}


def test_mappings_land_the_yaml(con, delivery):
    store.ensure_warehouse(con)
    counts = land_mappings(con, delivery.centers())
    assert counts["center_settings"] == 4  # 2 centers x 2 tables
    assert con.execute("SELECT code FROM raw.center_code_maps WHERE center_id = 'beta' AND field = 'sex'"
                       " AND source_code = '2'").fetchone() == ("F",)
    assert con.execute("SELECT DISTINCT date_format FROM raw.center_settings").fetchall() == [("%d/%m/%Y",)]


def test_a_redelivery_that_lost_rows_or_its_last_line_end_is_held_until_released(con, delivery):
    many = "MRN,DOB,Sex,Why\n" + "".join(f"A{n},01/02/2015,1,relapse\n" for n in range(1, 24))
    deliver(delivery, "alpha", many)
    land(con, delivery)
    cut = "MRN,DOB,Sex,Why\n" + "".join(f"A{n},01/02/2015,1,relapse\n" for n in range(1, 13))
    deliver(delivery, "alpha", cut.rstrip("\n")[:-2])  # cut at a row boundary: every row still parses
    held = land(con, delivery)["alpha"]
    assert held.outcome == "held" and held.message.startswith("patients.csv: 12 rows, previous version 23 ")
    assert len(current_mrns(con, "alpha")) == 23  # the previous version stays current
    again = land(con, delivery)["alpha"]  # seen again: held again, its rows not landed twice
    assert (again.outcome, again.rows) == ("held", 12)
    assert con.execute("SELECT count(*) FROM raw.patients WHERE center_id = 'alpha'").fetchone() == (23 + 12,)
    assert [failure[0] for failure in store.latest_failures(con, "patients")] == ["alpha"]
    yaml_file = Path(delivery.centers_dir) / "alpha.yaml"  # the center confirms: one YAML line releases it
    release = f"    file: patients.csv\n    release: [{held.file_sha256[:12]}]\n"
    yaml_file.write_text(yaml_file.read_text().replace("    file: patients.csv\n", release))
    assert land(con, delivery)["alpha"].outcome == "loaded" and len(current_mrns(con, "alpha")) == 12
    assert store.latest_failures(con, "patients") == []


def test_an_audit_log_from_before_held_versions_keeps_its_rows(con):
    con.execute("CREATE SCHEMA audit; CREATE SEQUENCE audit.load_seq")
    con.execute(store._AUDIT_DDL.split(";", 1)[1].replace(", 'held'", ""))  # the log as it was made before
    con.execute("INSERT INTO audit.loads (center_id, source_file, table_name, rows, outcome, seen_at)"
                " VALUES ('alpha', 'patients.csv', 'patients', 2, 'loaded', '2025-01-01')")
    store.ensure_warehouse(con)
    con.execute("INSERT INTO audit.loads (center_id, source_file, table_name, rows, outcome, seen_at)"
                " VALUES ('alpha', 'patients.csv', 'patients', 1, 'held', '2025-01-02')")
    assert con.execute("SELECT load_id, outcome FROM audit.loads ORDER BY load_id").fetchall() == [
        (1, "loaded"), (2, "held")]


def test_a_column_that_disappears_from_a_redelivery_is_reported_and_held_unless_retired(con, delivery):
    yaml_file = Path(delivery.centers_dir) / "alpha.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("indication: Why}", "indication: Why, cytogenetics: Cyto}"))
    deliver(delivery, "beta", "MRN,DOB,Sex,Why\nA1,01/02/2015,1,relapse\n")
    deliver(delivery, "alpha", "MRN,DOB,Sex,Why,Cyto\nA1,01/02/2015,1,relapse,none\nA2,,2,mrd_positive,\n")
    assert land(con, delivery)["alpha"].outcome == "loaded"
    deliver(delivery, "alpha", "MRN,DOB,Sex,Why\nA1,01/02/2015,1,relapse\nA2,,2,mrd_positive\n")
    held = land(con, delivery)["alpha"]
    assert held.outcome == "held"
    assert "the columns Cyto (cytogenetics) of the previous version are missing" in held.message
    assert con.execute("SELECT count(cytogenetics) FROM raw.patients JOIN raw.current_files"
                       " USING (center_id, source_file, file_sha256) WHERE center_id = 'alpha'").fetchone() == (1,)
    yaml_file.write_text(yaml_file.read_text().replace("    file: patients.csv\n",
                                                       "    file: patients.csv\n    retired: [cytogenetics]\n"))
    deliver(delivery, "alpha", "MRN,DOB,Sex,Why\nA1,01/02/2015,1,relapse\nA2,,2,mrd_positive\nA3,,1,relapse\n")
    loaded = land(con, delivery)["alpha"]
    assert loaded.outcome == "loaded" and loaded.message == "mapped columns missing: Cyto (cytogenetics)"


def test_a_redelivery_without_its_last_line_end_is_held(con, delivery):
    land(con, delivery)
    deliver(delivery, "beta", PATIENTS + "A3,01/02/2016,2,relapse")  # more rows, but cut inside the last line
    held = land(con, delivery)["beta"]
    assert held.outcome == "held" and "its last line has no line end" in held.message
    assert current_mrns(con, "beta") == ["A1", "A2"]


def test_a_failed_file_stops_failing_when_redelivered_loadable_or_no_longer_listed(con, delivery):
    from assets.landing.ingest import listed_files

    deliver(delivery, "alpha", "MRN,DOB\nA1\n")
    deliver(delivery, "beta", "MRN,DOB\nA1\n")
    land(con, delivery)
    assert [failure[:2] for failure in store.latest_failures(con, "patients", listed_files(delivery.centers()))] == [
        ("alpha", "patients.csv"), ("beta", "patients.csv")]
    deliver(delivery, "alpha", PATIENTS)  # the corrected file
    yaml_file = Path(delivery.centers_dir) / "beta.yaml"  # beta no longer delivers patients
    yaml_file.write_text(yaml_file.read_text().replace("  patients:\n    file: patients.csv\n    columns: {mrn: MRN,"
                                                       " birth_date: DOB, sex: Sex, indication: Why}\n    codes:\n"
                                                       "      sex: {\"1\": M, \"2\": F}\n", ""))
    assert [center.tables.keys() for center in delivery.centers()][1] == {"events"}
    land(con, delivery)
    assert store.latest_failures(con, "patients", listed_files(delivery.centers())) == []
    assert [failure[:2] for failure in store.latest_failures(con, "patients")] == [("beta", "patients.csv")]


@pytest.mark.slow  # a Dagster run
def test_landing_assets_and_file_check_in_dagster(tmp_path, delivery):
    warehouse = WarehouseResource(path=str(tmp_path / "dagster" / "warehouse.duckdb"))
    resources = {"warehouse": warehouse, "delivery": delivery}
    landing = [*landing_assets(center_partitions()), *LANDING_CHECKS]
    assert dg.materialize(landing, resources=resources).success
    deliver(delivery, "beta", "MRN,DOB,Sex,Why\nA1,01/02/2015,1")
    result = dg.materialize(landing, resources=resources, raise_on_error=False)
    checks = {evaluation.asset_key.path[1]: evaluation.passed for evaluation in result.get_asset_check_evaluations()}
    assert checks == {"patients": False, "events": True, "center_settings": True,  # every_center_yaml_loads
                      **{table: True for table in TABLE_FIELDS if table not in ("patients", "events")}}
    with warehouse.connect(read_only=True) as con:
        assert current_mrns(con, "beta") == ["A1", "A2"]
        assert con.execute("SELECT count(*) FROM raw.center_settings").fetchone()[0] == 4



def test_xlsx_sheets_are_files_of_their_own(tmp_path, con):
    import xlsxwriter

    (tmp_path / "centers").mkdir()
    (tmp_path / "centers" / "gamma.yaml").write_text(center_yaml("gamma", workbook="export.xlsx"))
    (tmp_path / "landing" / "gamma").mkdir(parents=True)
    workbook = xlsxwriter.Workbook(tmp_path / "landing" / "gamma" / "export.xlsx")
    for sheet, text in ((SHEETS["patients"], PATIENTS), (SHEETS["events"], EVENTS)):
        worksheet = workbook.add_worksheet(sheet)
        for row, line in enumerate(text.splitlines()):
            worksheet.write_row(row, 0, line.split(","))
    workbook.close()
    delivery = DeliveryResource(landing_dir=str(tmp_path / "landing"), centers_dir=str(tmp_path / "centers"))
    assert land(con, delivery)["gamma"].source_file == "export.xlsx#患者"
    assert land(con, delivery, "events")["gamma"].source_file == "export.xlsx#随访"
    assert con.execute("SELECT source_file, source_row, mrn FROM raw.patients").fetchall() == [
        ("export.xlsx#患者", 1, "A1"), ("export.xlsx#患者", 2, "A2")]
    assert con.execute("SELECT source_file FROM raw.current_files ORDER BY ALL").fetchall() == [
        ("export.xlsx#患者",), ("export.xlsx#随访",)]


def test_a_gbk_file_is_transcoded_beside_the_warehouse_and_the_drop_zone_left_as_delivered(tmp_path, con, delivery):
    centers = Path(delivery.centers_dir)
    (centers / "alpha.yaml").write_text(center_yaml("alpha").replace("format: csv,", "format: csv, encoding: gbk,"))
    deliver(delivery, "alpha", "MRN,DOB,Sex,Why\nA1,01/02/2015,男,复发\n".encode("gbk"))
    delivered = {path: path.read_bytes() for path in Path(delivery.landing_dir).rglob("*") if path.is_file()}
    assert land(con, delivery)["alpha"].outcome == "loaded"
    assert con.execute("SELECT sex, indication FROM raw.patients WHERE center_id = 'alpha'").fetchall() == [
        ("男", "复发")]
    assert list((tmp_path / "tmp").iterdir()) == []  # the UTF-8 copy was made there, then deleted
    assert {path: path.read_bytes() for path in Path(delivery.landing_dir).rglob("*") if path.is_file()} == delivered
