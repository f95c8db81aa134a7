"""The marts' per-center inputs (assets/marts/per_center.py): a center is computed again only when its core rows
or the query changed, a center gone from core is dropped, and a database without recorded contents computes
every center in a TEMP table."""

import duckdb
import pytest

from assets.marts import per_center
from orchestration import versions

SELECT = f"""
    SELECT center_id, subject_id, sum(value) AS total
    FROM core.draws
    WHERE {per_center.in_centers()}
    GROUP BY ALL
"""


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("""
        CREATE SCHEMA core;
        CREATE TABLE core.patients AS SELECT * FROM (VALUES ('a', 'a1'), ('b', 'b1')) AS t(center_id, subject_id);
        CREATE TABLE core.draws AS
            SELECT * FROM (VALUES ('a', 'a1', 1.0), ('a', 'a1', 2.0), ('b', 'b1', 10.0))
                AS t(center_id, subject_id, value);
    """)
    versions.record_contents(con, "core", ["a", "b"])
    return con


def totals(con, name: str) -> dict[str, float]:
    return dict(con.execute(f"SELECT subject_id, total FROM {name}").fetchall())


def create(con, select: str = SELECT) -> str:
    return per_center.create(con, "totals", select, ("patients", "draws"), {})


def test_a_changed_center_is_computed_again_alone(con):
    assert totals(con, create(con)) == {"a1": 3.0, "b1": 10.0}
    # Marked: were b computed again, its total would be 10 again.
    con.execute(f"UPDATE {per_center.SCHEMA}.totals SET total = -1 WHERE center_id = 'b'")
    con.execute("INSERT INTO core.draws VALUES ('a', 'a1', 4.0)")
    versions.record_contents(con, "core", ["a"])
    assert totals(con, create(con)) == {"a1": 7.0, "b1": -1.0}
    assert totals(con, create(con)) == {"a1": 7.0, "b1": -1.0}  # nothing changed: nothing computed


def test_a_changed_query_computes_every_center(con):
    create(con)
    con.execute(f"UPDATE {per_center.SCHEMA}.totals SET total = -1")
    assert totals(con, create(con, SELECT.replace("sum(value)", "max(value)"))) == {"a1": 2.0, "b1": 10.0}


def test_a_center_gone_from_core_is_dropped(con):
    create(con)
    con.execute("DELETE FROM core.patients WHERE center_id = 'b'; DELETE FROM core.draws WHERE center_id = 'b'")
    versions.record_contents(con, "core", ["b"])
    assert totals(con, create(con)) == {"a1": 3.0}
    assert set(versions.recorded(con, f"{per_center.SCHEMA}.totals")) == {"a"}


def test_without_recorded_contents_every_center_is_computed_in_a_temp_table():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE TABLE core.patients AS SELECT 'a' AS center_id, 'a1' AS subject_id;"
                "CREATE TABLE core.draws AS SELECT 'a' AS center_id, 'a1' AS subject_id, 5.0 AS value")
    assert totals(con, create(con)) == {"a1": 5.0}
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ?",
                       [per_center.SCHEMA]).fetchall() == [(0,)]


def test_no_patient_at_all_gives_an_empty_table(con):
    con.execute("DELETE FROM core.patients; DELETE FROM core.draws")
    versions.record_contents(con, "core", ["a", "b"])
    assert totals(con, create(con)) == {}
    assert con.execute(f"SELECT count(*) FROM {per_center.SCHEMA}.totals").fetchall() == [(0,)]


def test_centers_computed_in_batches_give_the_rows_of_one_query(con, monkeypatch):
    monkeypatch.setattr(per_center, "PATIENTS_PER_BATCH", 1)  # a query per center
    assert totals(con, create(con)) == {"a1": 3.0, "b1": 10.0}
    con.execute("INSERT INTO core.draws VALUES ('a', 'a1', 4.0), ('b', 'b1', 1.0)")
    versions.record_contents(con, "core", ["a", "b"])
    # Both changed, the table existing: deleted and inserted again, center by center.
    con.execute(f"UPDATE {per_center.SCHEMA}.totals SET total = -1")
    assert totals(con, create(con)) == {"a1": 7.0, "b1": 11.0}
