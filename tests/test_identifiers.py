"""Record numbers, names and birth dates stay in raw and staging (issue 15): one run of the warehouse job on a
center whose identifying fields hold distinctive planted values, then a search of every other relation of the
warehouse, and of the analyst snapshot, for each of them."""

from pathlib import Path

import duckdb
import pytest

from assets.landing.contract import TABLE_FIELDS
from tests.validation.centers import CLEAN, FILES, csv_text, write_center
from tests.validation.warehouse_job import materialize

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

MRNS = {"P1": "MRN-PLANTED-0001", "P2": "MRN-PLANTED-0002"}
ORPHAN_MRN = "MRN-PLANTED-0003"  # a lab row of a patient never delivered: quarantined, yet keyed
NAMES = {"P1": "Zebulon Quartermaine", "P2": "Philippa Wrenfeather"}
# P2's is not a real date: the gate quarantines the patient (naming the field, not the value) and its rows.
BIRTH_DATES = {"P1": "2011-03-17", "P2": "2014-02-30"}
PLANTED = [*MRNS.values(), ORPHAN_MRN, *NAMES.values(), *BIRTH_DATES.values()]
KEPT = ("raw", "staging")  # the schemas identifying fields may reach


def planted_files() -> dict[str, bytes]:
    """The clean delivery with the planted identifiers, an impossible platelet count and an orphan lab row."""
    files = {}
    for table, rows in CLEAN.items():
        planted = [{**row, "mrn": MRNS[row["mrn"]],
                    **({"name": NAMES[row["mrn"]], "birth_date": BIRTH_DATES[row["mrn"]]} if table == "patients"
                       else {})} for row in rows]
        if table == "labs":
            planted[1]["value"] = "-5"
            planted.append({**planted[0], "mrn": ORPHAN_MRN})
        files[FILES[table]] = csv_text(planted, TABLE_FIELDS[table]).encode()
    return files


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The warehouse folder after one run on the planted center alone."""
    root = tmp_path_factory.mktemp("identifiers")
    warehouse, landing, centers = root / "warehouse", root / "landing", root / "centers"
    write_center(landing, centers, "planted", planted_files())
    with pytest.MonkeyPatch.context() as monkeypatch:
        result = materialize(monkeypatch, warehouse, landing, centers)
    assert result.success, [event.event_specific_data for event in result.get_step_failure_events()]
    return warehouse


def holding(database: Path, value: str) -> list[str]:
    """schema.name of every table and view of `database` whose rows, cast to text, contain `value` (any case)."""
    with duckdb.connect(str(database), read_only=True) as con:
        relations = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
            " UNION ALL SELECT schema_name, view_name FROM duckdb_views()"
            " WHERE database_name = current_database() AND NOT internal").fetchall()
        return [f"{schema}.{name}" for schema, name in relations if con.execute(
            f'SELECT count(*) FROM "{schema}"."{name}" AS record WHERE contains(lower(record::VARCHAR), lower(?))',
            [value]).fetchone()[0]]


def test_the_planted_rows_were_delivered_and_some_quarantined(built):
    with duckdb.connect(str(built / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT source_row FROM quarantine.patients").fetchall() == [(2,)]
        refused = dict(con.execute("SELECT source_row, reason FROM quarantine.labs").fetchall())
    assert "platelets -5" in refused[2] and "not in core" in refused[7]


@pytest.mark.parametrize("value", PLANTED)
def test_an_identifier_is_in_raw_and_nowhere_beyond_staging(built, value):
    found = holding(built / "warehouse.duckdb", value)
    assert any(relation.startswith("raw.") for relation in found)
    assert [relation for relation in found if relation.split(".")[0] not in KEPT] == []
    assert holding(built / "analytics.duckdb", value) == []


def test_a_table_no_model_builds_any_more_is_dropped(tmp_path, monkeypatch):
    """dbt never drops a removed model: a warehouse built before int_subject_keys went kept its mrn ->
    subject_id map. A layer's rebuild drops what no model of the layer builds."""
    from orchestration import versions
    from tests.validation.centers import clean_files, write_center
    from tests.validation.warehouse_job import materialize

    landing, centers, warehouse = tmp_path / "landing", tmp_path / "centers", tmp_path / "warehouse"
    write_center(landing, centers, "old", clean_files())
    assert materialize(monkeypatch, warehouse, landing, centers).success
    database = warehouse / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE intermediate.int_subject_keys AS SELECT 'old' AS center_id, 'P1' AS mrn")
        con.execute(f"DELETE FROM {versions.TABLE} WHERE layer = 'intermediate'")  # as after a code change
    assert materialize(monkeypatch, warehouse, landing, centers).success
    with duckdb.connect(str(database), read_only=True) as con:
        tables = {name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'intermediate'").fetchall()}
    assert "int_subject_keys" not in tables and {"int_first_infusion", "int_cycle_response"} <= tables
