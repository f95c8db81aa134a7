"""The warehouse resource's connections: kept open for a run in this process, released for dbt."""

import json

import duckdb
import pytest

from orchestration.resources import WarehouseResource


@pytest.fixture
def warehouse(tmp_path) -> WarehouseResource:
    return WarehouseResource(path=str(tmp_path / "warehouse.duckdb"), memory_limit="256MB", threads=1)


def other_settings(warehouse: WarehouseResource) -> duckdb.DuckDBPyConnection:
    """A connection as dbt-duckdb opens the file: in this process, with settings of its own."""
    return duckdb.connect(warehouse.path, config={"threads": 2})


def test_a_kept_open_run_gives_each_step_its_own_connection_to_the_one_open_database(warehouse):
    with warehouse.kept_open():
        with warehouse.connect() as con:
            con.execute("CREATE TABLE kept AS SELECT 42 AS answer")
            con.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS n")
        with warehouse.connect(read_only=True) as con:
            assert con.execute("SELECT answer FROM kept").fetchall() == [(42,)]
            # A step's temporary tables leave with its connection, as when each step opened the file.
            assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]
        # Still open: another configuration is refused, as dbt's connection would be.
        with pytest.raises(duckdb.ConnectionException, match="different configuration"):
            other_settings(warehouse)
    other_settings(warehouse).close()  # closed at the end of the block


def test_released_lets_dbt_open_the_file_its_way_and_the_run_goes_on(warehouse):
    with warehouse.kept_open():
        with warehouse.released(), other_settings(warehouse) as dbt:
            dbt.execute("CREATE TABLE built_by_dbt AS SELECT 'core' AS layer")
        with warehouse.connect() as con:
            assert con.execute("SELECT layer FROM built_by_dbt").fetchall() == [("core",)]
        with pytest.raises(duckdb.ConnectionException, match="different configuration"):
            other_settings(warehouse)  # kept open again after the release


def test_without_a_kept_open_run_connections_open_and_close_the_file(warehouse):
    with warehouse.released(), warehouse.connect() as con:  # nothing held: nothing to release
        con.execute("CREATE TABLE t AS SELECT 1 AS n")
    with duckdb.connect(warehouse.path, read_only=True) as reader:
        assert reader.execute("SELECT n FROM t").fetchall() == [(1,)]


def test_a_steps_temporary_tables_are_not_checkpointed_mid_step(warehouse, tmp_path):
    # Rows of a temporary table updated past DuckDB's default threshold (16 MB of changes): a plain
    # connection compacts them at that commit, the warehouse's connections leave them (the gate's scratch).
    def checkpointed(con) -> bool:
        profile = tmp_path / "profile.json"
        con.execute("CREATE TEMP TABLE scratch AS SELECT range AS n, 'finding ' || range AS problem"
                    " FROM range(2000000)")
        con.execute(f"PRAGMA enable_profiling = 'json'; PRAGMA profiling_output = '{profile}'")
        con.execute("UPDATE scratch SET problem = 'worded' WHERE n % 2 = 0")
        con.execute("PRAGMA disable_profiling")
        return bool(json.loads(profile.read_text()).get("storage", {}).get("checkpoint_latency"))

    with duckdb.connect(str(tmp_path / "plain.duckdb")) as plain:
        assert checkpointed(plain)
    with warehouse.connect() as con:
        assert not checkpointed(con)


def test_each_thread_gets_a_connection_of_its_own(warehouse):
    # Steps run side by side on threads (orchestration/jobs.py): a connection held by one thread's `connect` is
    # never handed to another thread, which DuckDB would refuse ("connection is busy") mid-query.
    import threading

    seen = {}
    inside = threading.Barrier(2, timeout=10)

    def step(name: str) -> None:
        with warehouse.connect() as con:
            inside.wait()  # both threads hold their connection at once
            with warehouse.connect() as nested:  # a nested connect of the same thread: the same connection
                seen[name] = (con, nested)
            inside.wait()

    with warehouse.kept_open():
        threads = [threading.Thread(target=step, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert seen["a"][0] is seen["a"][1] and seen["b"][0] is seen["b"][1]
    assert seen["a"][0] is not seen["b"][0]
