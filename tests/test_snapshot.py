"""The analyst snapshot: only analyst-facing schemas, every table and column documented, and a reader holding
the previous snapshot open across a refresh is never blocked, never blocks it, and never sees half of one."""

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from assets.snapshot import withheld
from assets.snapshot.descriptions import describe
from assets.snapshot.publish import publish
from orchestration.dbt import dbt_project
from orchestration.dbt_docs import TableDoc, dbt_docs, manifest
from orchestration.versions import record, record_contents

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

# Two tables in different schemas carry the same version: a reader that saw half of a refresh would see two.
VERSION_QUERY = "SELECT (SELECT min(version) FROM core.patients), (SELECT max(version) FROM marts.response_rates)"


def build_warehouse(path: Path, version: int) -> None:
    with duckdb.connect(str(path)) as con:
        for schema in ("raw", "staging", "core", "marts", "audit"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute("CREATE OR REPLACE TABLE raw.patients AS SELECT 'MRN-1' AS mrn, 'Li Wei' AS name")
        con.execute("CREATE OR REPLACE TABLE staging.stg_patients AS SELECT DATE '2011-03-17' AS birth_date")
        # Big enough that copying takes a while: the reader queries many times during a refresh.
        con.execute("CREATE OR REPLACE TABLE core.patients AS SELECT range AS subject_id, ? AS version"
                    " FROM range(300000)", [version])
        con.execute("CREATE OR REPLACE TABLE marts.response_rates AS SELECT ? AS version", [version])
        con.execute("COMMENT ON TABLE marts.response_rates IS 'Response by group.'")
        con.execute("CREATE OR REPLACE TABLE audit.loads AS SELECT 1 AS load_id")


def everything_described(relation: str, columns: list[str]) -> TableDoc:
    return TableDoc(f"about {relation}", {column: f"about {column}" for column in columns})


def test_snapshot_holds_only_analyst_schemas_each_table_and_column_commented(tmp_path):
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    build_warehouse(warehouse, 1)
    with duckdb.connect(str(warehouse)) as con:
        published = publish(con, snapshot, everything_described)
    assert published.undocumented == []
    assert published.rows == {"audit.loads": 1, "core.patients": 300000, "marts.response_rates": 1}
    with duckdb.connect(str(snapshot), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name, comment FROM duckdb_tables() ORDER BY ALL").fetchall()
        columns = con.execute("SELECT table_name, column_name, comment FROM duckdb_columns()"
                              " WHERE NOT internal ORDER BY ALL").fetchall()
    assert tables == [("audit", "loads", "about audit.loads"), ("audit", "withheld_columns", withheld.DESCRIPTION),
                      ("core", "patients", "about core.patients"),
                      ("marts", "response_rates", "about marts.response_rates")]
    assert ("patients", "version", "about version") in columns
    assert not list(tmp_path.glob("*.tmp*")), "the temporary file was left behind"


def test_publishing_the_same_warehouse_again_changes_nothing(tmp_path):
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    build_warehouse(warehouse, 1)

    def published_content() -> list:
        with duckdb.connect(str(warehouse)) as con:
            publish(con, snapshot, everything_described)
        with duckdb.connect(str(snapshot), read_only=True) as con:
            return [con.execute("SELECT table_name, column_name, comment FROM duckdb_columns()"
                                " WHERE NOT internal ORDER BY ALL").fetchall(),
                    con.execute("SELECT count(*), sum(hash(subject_id, version)) FROM core.patients").fetchall()]

    assert published_content() == published_content()


def test_a_table_that_cannot_be_copied_leaves_the_published_snapshot_as_it_was(tmp_path):
    """The tables are copied side by side, each in a transaction of its own, into a file beside the snapshot:
    one that fails (here a view stored as a table whose query fails) stops the publish with DuckDB's error, and
    the snapshot analysts read is still the last one published whole."""
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    build_warehouse(warehouse, 1)
    published(warehouse, snapshot)
    build_warehouse(warehouse, 2)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE VIEW core.broken AS SELECT CAST(birth_date AS VARCHAR)::INTEGER AS n"
                    " FROM staging.stg_patients")
    with pytest.raises(duckdb.ConversionException, match="2011-03-17"):
        published(warehouse, snapshot)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute(VERSION_QUERY).fetchall() == [(1, 1)]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP VIEW core.broken")
    published(warehouse, snapshot)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute(VERSION_QUERY).fetchall() == [(2, 2)]


def test_undescribed_columns_are_reported(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse, 1)
    with duckdb.connect(str(warehouse)) as con:
        published = publish(con, tmp_path / "analytics.duckdb",
                            lambda relation, columns: TableDoc("a table", {"load_id": "sequence"}))
    assert published.undocumented == ["core.patients.subject_id", "core.patients.version",
                                      "marts.response_rates.version"]


def dbt_manifest() -> Path:
    return Path(dbt_project().manifest_path)


def test_descriptions_come_from_the_warehouse_then_dbt():
    warehouse = {"marts.response_rates": TableDoc("from the warehouse", {"version": "warehouse column"})}
    dbt = {"marts.response_rates": TableDoc("from dbt", {"version": "dbt column", "n": "dbt n"}),
           "quarantine.cycles": TableDoc("Refused cycle rows.", {})}
    assert describe("marts.response_rates", ["version", "n", "other"], [warehouse, dbt]) == TableDoc(
        "from the warehouse", {"version": "warehouse column", "n": "dbt n"})
    # The tables the Python layers write (the gate's findings, the audit tables) are dbt sources, described there.
    quarantine = describe("quarantine.cycles", ["reason", "row_json"], [warehouse, dbt_docs(manifest(dbt_manifest()))])
    assert quarantine.description == "Refused cycle rows." and set(quarantine.columns) == {"reason", "row_json"}
    loads = describe("audit.loads", ["outcome", "seen_at"], [warehouse, dbt_docs(manifest(dbt_manifest()))])
    assert loads.columns["outcome"].startswith("loaded, unchanged") and set(loads.columns) == {"outcome", "seen_at"}
    assert describe("audit.loads", ["outcome"], [warehouse]).columns == {}  # no other, hidden source


READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import duckdb

    snapshot, stop = sys.argv[1], Path(sys.argv[2])
    held = duckdb.connect(snapshot, read_only=True)  # the analyst's open session
    print("ready", flush=True)
    seen = {"held": [], "fresh": [], "errors": []}
    while not stop.exists():
        try:
            seen["held"].append(held.execute(sys.argv[3]).fetchall()[0])
            with duckdb.connect(snapshot, read_only=True) as fresh:  # an analyst connecting now
                seen["fresh"].append(fresh.execute(sys.argv[3]).fetchall()[0])
        except duckdb.Error as error:
            seen["errors"].append(str(error))
    print(json.dumps(seen), flush=True)
""")


def test_a_reader_holding_the_snapshot_open_across_refreshes(tmp_path):
    warehouse, snapshot, stop = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb", tmp_path / "stop"
    build_warehouse(warehouse, 1)
    with duckdb.connect(str(warehouse)) as con:
        publish(con, snapshot, everything_described)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(snapshot), str(stop), VERSION_QUERY],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "ready"
        for version in (2, 3, 4):
            build_warehouse(warehouse, version)
            started = time.perf_counter()
            with duckdb.connect(str(warehouse)) as con:
                publish(con, snapshot, everything_described)  # would raise if the reader held a lock on it
            assert time.perf_counter() - started < 20
        stop.touch()
        out, _ = reader.communicate(timeout=30)
    finally:
        reader.kill()
    seen = json.loads(out)
    assert seen["errors"] == [], "the reader was blocked"
    assert {tuple(pair) for pair in seen["held"]} == {(1, 1)}, "the open session must keep the old snapshot"
    assert len(seen["fresh"]) > 1 and all(a == b for a, b in seen["fresh"]), "a reader saw half a refresh"
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute(VERSION_QUERY).fetchall() == [(4, 4)]


def build_centers(path: Path, labs: dict[str, int], versions: dict[str, str], extra_column: bool = False,
                  fingerprinted: bool = False) -> None:
    """A warehouse with per-center rows (core.labs, quarantine.labs) and core's build version per center;
    `fingerprinted`: core.patients too, whose rows do not depend on the labs' values, and the fingerprints of
    both core tables per center (as dbt's core step records them)."""
    with duckdb.connect(str(path)) as con:
        for schema in ("core", "quarantine", "marts", "audit"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        rows = " UNION ALL ".join(f"SELECT '{center}' AS center_id, range AS source_row, {value} AS value"
                                  f"{', 1 AS added' if extra_column else ''} FROM range(1000)"
                                  for center, value in labs.items())
        con.execute(f"CREATE OR REPLACE TABLE core.labs AS {rows}")
        con.execute("CREATE OR REPLACE TABLE quarantine.labs AS SELECT center_id, source_row FROM core.labs"
                    " WHERE source_row < 3")
        con.execute("CREATE OR REPLACE TABLE marts.summary AS SELECT center_id, sum(value) AS total"
                    " FROM core.labs GROUP BY ALL")
        con.execute("DROP TABLE IF EXISTS audit.build_versions")
        record(con, "core", versions)
        if fingerprinted:
            con.execute("CREATE OR REPLACE TABLE core.patients AS"
                        " SELECT DISTINCT center_id, 1 AS patient FROM core.labs")
            record_contents(con, "core", list(versions))


def snapshot_content(path: Path) -> list:
    with duckdb.connect(str(path), read_only=True) as con:
        return [con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
                for table in ("core.labs", "quarantine.labs", "marts.summary")]


def published(warehouse: Path, snapshot: Path):
    with duckdb.connect(str(warehouse)) as con:
        return publish(con, snapshot, everything_described)


def test_a_change_at_one_center_refreshes_only_its_rows_to_the_same_content(tmp_path):
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    build_centers(warehouse, {"a": 1, "b": 2, "c": 3}, {"a": "v1", "b": "v1", "c": "v1"})
    assert published(warehouse, snapshot).refreshed_centers is None  # the first snapshot: everything
    build_centers(warehouse, {"a": 1, "b": 20}, {"a": "v1", "b": "v2"})  # b re-delivered, c withdrawn
    refresh = published(warehouse, snapshot)
    assert refresh.refreshed_centers == ["b", "c"]
    assert refresh.rows["core.labs"] == 2000
    incremental = snapshot_content(snapshot)
    snapshot.unlink()
    assert published(warehouse, snapshot).refreshed_centers is None
    assert incremental == snapshot_content(snapshot)
    assert ("b", 20000) in incremental[2] and not [row for row in incremental[0] if row[0] == "c"]


def test_a_center_keeps_its_rows_of_a_core_table_whose_fingerprint_did_not_change(tmp_path):
    """A re-delivered lab file changes the center's core.labs, not its core.patients: the snapshot copies
    the center's labs again and keeps its patients (a mark put into the snapshot's copy survives)."""
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    build_centers(warehouse, {"a": 1, "b": 2}, {"a": "v1", "b": "v1"}, fingerprinted=True)
    published(warehouse, snapshot)
    with duckdb.connect(str(snapshot)) as con:
        con.execute("UPDATE core.patients SET patient = -1 WHERE center_id = 'b'")
        con.execute("UPDATE core.labs SET value = -1 WHERE center_id = 'b' AND source_row = 0")
    build_centers(warehouse, {"a": 1, "b": 3}, {"a": "v1", "b": "v2"}, fingerprinted=True)
    assert published(warehouse, snapshot).refreshed_centers == ["b"]
    with duckdb.connect(str(snapshot), read_only=True) as con:
        patients = con.execute("SELECT center_id, patient FROM core.patients ORDER BY 1").fetchall()
        assert patients == [("a", 1), ("b", -1)]
        assert con.execute("SELECT min(value) FROM core.labs WHERE center_id = 'b'").fetchall() == [(3,)]


def test_a_whole_table_unchanged_since_the_last_snapshot_is_not_copied_again(tmp_path):
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    build_centers(warehouse, {"a": 1, "b": 2}, {"a": "v1", "b": "v1"})
    published(warehouse, snapshot)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE marts.same AS SELECT range AS n FROM range(10)")
    published(warehouse, snapshot)
    build_centers(warehouse, {"a": 1, "b": 3}, {"a": "v1", "b": "v2"})  # b's rows change, and marts.summary
    refresh = published(warehouse, snapshot)
    assert "marts.same" in refresh.kept and "marts.summary" not in refresh.kept
    assert ("b", 3000) in snapshot_content(snapshot)[2]
    with duckdb.connect(str(warehouse)) as con:  # the same rows under another column name: copied again
        con.execute("ALTER TABLE marts.same RENAME COLUMN n TO m")
    assert "marts.same" not in published(warehouse, snapshot).kept
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("SELECT sum(m) FROM marts.same").fetchall() == [(45,)]


def test_nothing_incremental_when_every_center_or_a_table_layout_changed(tmp_path):
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    build_centers(warehouse, {"a": 1, "b": 2}, {"a": "v1", "b": "v1"})
    published(warehouse, snapshot)
    build_centers(warehouse, {"a": 5, "b": 6}, {"a": "v2", "b": "v2"})
    assert published(warehouse, snapshot).refreshed_centers is None
    build_centers(warehouse, {"a": 5, "b": 7}, {"a": "v2", "b": "v3"}, extra_column=True)
    assert published(warehouse, snapshot).refreshed_centers is None
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("SELECT DISTINCT added FROM core.labs").fetchall() == [(1,)]


def test_a_view_is_published_as_a_view_over_the_snapshots_own_rows(tmp_path):
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    build_centers(warehouse, {"a": 1, "b": 2}, {"a": "v1", "b": "v1"})
    with duckdb.connect(str(warehouse)) as con:  # as dbt builds core.lab_draws: its refs name no database
        con.execute('CREATE VIEW "warehouse"."core"."big_values" AS SELECT center_id, value FROM "core"."labs"'
                    " WHERE value > 1")
    assert published(warehouse, snapshot).views == ["core.big_values"]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE core.labs SET value = 9")  # the snapshot's view must not read the warehouse
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("SELECT DISTINCT center_id, value FROM core.big_values").fetchall() == [("b", 2)]
        assert con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'big_values'").fetchall() == [
            ("about core.big_values",)]
        assert ("value", "about value") in con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'big_values'").fetchall()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP VIEW core.big_values")
        build_centers(warehouse, {"a": 1, "b": 3}, {"a": "v1", "b": "v2"})  # a refresh of center b only
    refresh = published(warehouse, snapshot)
    assert refresh.refreshed_centers == ["b"] and refresh.views == []
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall() == [(0,)]


def test_a_view_over_relations_the_snapshot_leaves_out_is_published_as_a_table(tmp_path):
    """As core.labs, the view of the intermediate.int_labs rows the gate passed: the snapshot stores its rows (it
    holds no intermediate to read), refreshed center by center as a table's are; a view over it stays a view."""
    warehouse, snapshot = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"

    def build(values: dict[str, int], versions: dict[str, str]) -> None:
        with duckdb.connect(str(warehouse)) as con:
            for schema in ("intermediate", "core", "audit"):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute("CREATE OR REPLACE TABLE intermediate.int_labs AS " + " UNION ALL ".join(
                f"SELECT '{center}' AS center_id, range AS source_row, {value} AS value, range % 10 = 0 AS refused"
                " FROM range(100)" for center, value in values.items()))
            con.execute('CREATE OR REPLACE VIEW "warehouse"."core"."labs" AS SELECT * EXCLUDE (refused)'
                        ' FROM "intermediate"."int_labs" WHERE refused = false')
            con.execute('CREATE OR REPLACE VIEW "warehouse"."core"."high" AS SELECT * FROM "core"."labs"'
                        " WHERE value > 1")
            con.execute("DROP TABLE IF EXISTS audit.build_versions")
            record(con, "core", versions)

    build({"a": 1, "b": 2}, {"a": "v1", "b": "v1"})
    first = published(warehouse, snapshot)
    assert first.views == ["core.high"] and first.rows["core.labs"] == 180
    build({"a": 1, "b": 3}, {"a": "v1", "b": "v2"})
    assert published(warehouse, snapshot).refreshed_centers == ["b"]
    with duckdb.connect(str(snapshot), read_only=True) as con:
        kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables"
                                 " WHERE table_schema = 'core'").fetchall())
        assert kinds == {"labs": "BASE TABLE", "high": "VIEW"}
        assert con.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'intermediate'").fetchall() == [
            (0,)]
        assert con.execute("SELECT center_id, count(*), sum(value) FROM core.labs GROUP BY ALL ORDER BY 1").fetchall() \
            == [("a", 90, 90), ("b", 90, 270)]
        assert con.execute("SELECT DISTINCT value FROM core.high").fetchall() == [(3,)]
