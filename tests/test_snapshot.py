"""The analyst snapshot: only analyst-facing schemas, every table and column documented, and a reader holding
the previous snapshot open across a refresh is never blocked, never blocks it, and never sees half of one."""

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb

from assets.snapshot.descriptions import TableDoc, describe
from assets.snapshot.publish import publish

# Two tables in different schemas carry the same version: a reader that saw half of a refresh would see two.
VERSION_QUERY = "SELECT (SELECT min(version) FROM core.patients), (SELECT max(version) FROM marts.response_rates)"


def build_warehouse(path: Path, version: int) -> None:
    with duckdb.connect(str(path)) as con:
        for schema in ("raw", "staging", "core", "marts", "audit"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute("CREATE OR REPLACE TABLE raw.patients AS SELECT 'MRN-1' AS mrn, 'Li Wei' AS name")
        con.execute("CREATE OR REPLACE TABLE staging.stg_patients AS SELECT 'MRN-1' AS mrn")
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
    assert tables == [("audit", "loads", "about audit.loads"), ("core", "patients", "about core.patients"),
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


def test_undescribed_columns_are_reported(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    build_warehouse(warehouse, 1)
    with duckdb.connect(str(warehouse)) as con:
        published = publish(con, tmp_path / "analytics.duckdb",
                            lambda relation, columns: TableDoc("a table", {"load_id": "sequence"}))
    assert published.undocumented == ["core.patients.subject_id", "core.patients.version",
                                      "marts.response_rates.version"]


def test_descriptions_come_from_the_warehouse_then_dbt_then_the_project_file():
    warehouse = {"marts.response_rates": TableDoc("from the warehouse", {"version": "warehouse column"})}
    dbt = {"marts.response_rates": TableDoc("from dbt", {"version": "dbt column", "n": "dbt n"}),
           "quarantine.cycles": TableDoc("Refused cycle rows.", {})}
    assert describe("marts.response_rates", ["version", "n", "other"], [warehouse, dbt]) == TableDoc(
        "from the warehouse", {"version": "warehouse column", "n": "dbt n"})
    # The validation gate's findings tables share their columns' descriptions.
    quarantine = describe("quarantine.cycles", ["reason", "row_json"], [warehouse, dbt])
    assert quarantine.description == "Refused cycle rows." and set(quarantine.columns) == {"reason", "row_json"}
    assert describe("audit.loads", ["outcome"], []).columns["outcome"].startswith("loaded, unchanged")


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
