"""Dagster's record of a run stays free of identifiers: with known record numbers, a name and birth dates
planted in a delivery that also has quarantined rows (their previews) and a file that fails to load (its
message), no event of the run (metadata, previews, check results, log messages, failures) holds any of them.
The search can fail: the same strings are asserted present in raw."""

import dagster as dg
import duckdb
import pytest

from assets.landing.contract import TABLE_FIELDS
from tests.validation.centers import CLEAN, FILES, csv_text, write_center

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

MRNS = {"P1": "MRN-PLANTED-0001", "P2": "MRN-PLANTED-0002"}
NAME = "Zebulon Quartermaine"
BIRTH_DATES = {"2012-04-10": "2011-03-17", "2015-09-01": "2014-11-29"}
PLANTED = [*MRNS.values(), NAME, *BIRTH_DATES.values(), "20110317", "17/03/2011"]


def _planted(table: str, rows: list[dict]) -> bytes:
    changed = []
    for row in rows:
        row = {**row, "mrn": MRNS[row["mrn"]]}
        if table == "patients":
            row |= {"name": NAME, "birth_date": BIRTH_DATES[row["birth_date"]]}
        changed.append(row)
    return csv_text(changed, TABLE_FIELDS[table]).encode()


def test_no_identifier_in_any_event_of_a_run(tmp_path, monkeypatch):
    from orchestration.definitions import build_definitions

    files = {FILES[table]: _planted(table, rows) for table, rows in CLEAN.items()}
    quarantined = [{**CLEAN["labs"][0], "value": "-5"}, {**CLEAN["events"][0], "event_date": "1850-01-01"}]
    files[FILES["labs"]] = _planted("labs", [*CLEAN["labs"], quarantined[0]])
    files[FILES["events"]] = _planted("events", [*CLEAN["events"], quarantined[1]])
    # A file that fails to load: its last row has a field too many.
    files[FILES["adverse_events"]] = files[FILES["adverse_events"]] + f"{MRNS['P1']},1,crs,1,,,{NAME}\n".encode()
    landing, centers, warehouse = tmp_path / "landing", tmp_path / "centers", tmp_path / "warehouse"
    write_center(landing, centers, "plant", files)
    for name, path in (("LANDING", landing), ("CENTERS", centers), ("WAREHOUSE", warehouse)):
        monkeypatch.setenv(f"BLINA_{name}_DIR", str(path))

    with dg.DagsterInstance.ephemeral() as instance:
        result = build_definitions().resolve_job_def("warehouse").execute_in_process(
            instance=instance, raise_on_error=False)
        recorded = "\n".join(dg.serialize_value(entry) for entry in instance.all_logs(result.run_id))

    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quarantine.labs").fetchall()[0][0] >= 1
        assert con.execute("SELECT count(*) FROM quarantine.events").fetchall()[0][0] >= 1
        assert con.execute("SELECT outcome FROM audit.loads WHERE source_file = 'adverse_events.csv'").fetchall() == [
            ("failed",)]
        raw = "\n".join(str(row) for table in ("patients", "labs") for row in
                        con.execute(f"SELECT * FROM raw.{table}").fetchall())
    assert all(value in raw for value in (*MRNS.values(), NAME, *BIRTH_DATES.values()))
    assert "quarantine" in recorded and "examples" in recorded and "adverse_events.csv" in recorded
    assert [value for value in PLANTED if value in recorded] == []
