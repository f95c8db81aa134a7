"""The marts' DuckDB helpers: core of one study in, marts tables with descriptions and test rows out."""

import duckdb
import polars as pl
import pytest

from assets.marts import shared
from assets.marts.stats import fisher_exact_2x2


@pytest.fixture
def con():
    with duckdb.connect(":memory:") as connection:
        yield connection


def statistical_rows(mart: str, *test_ids: str) -> pl.DataFrame:
    result = fisher_exact_2x2([[3, 1], [1, 3]])
    return shared.tests_frame(
        shared.test_row(test_id, mart, "a comparison", ("a", "b"), result) for test_id in test_ids)


def test_core_rows_of_one_study(con):
    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.patients AS SELECT * FROM (VALUES ('p1', 'multicenter'), ('s1', 'case_series'))"
                " AS t(subject_id, study)")
    con.execute("CREATE TABLE core.cycles AS SELECT * FROM (VALUES ('p1', 1), ('s1', 1)) AS t(subject_id, cycle_no)")

    def cycles(study: str) -> list:
        return con.execute(f"SELECT subject_id FROM core.cycles WHERE {shared.IN_STUDY_SQL}",
                           {"study": study}).fetchall()

    assert cycles(shared.MULTICENTER) == [("p1",)]
    assert cycles("case_series") == [("s1",)]


def test_write_query_describes_the_table_computed_in_duckdb(con):
    con.execute("CREATE TABLE cycles AS SELECT * FROM (VALUES ('p1', 1), ('p1', 2), ('s1', 1)) AS t(subject_id, n)")
    shared.write_query(con, "demo", "SELECT subject_id, count(*) AS n FROM cycles WHERE n >= $least GROUP BY ALL "
                       "ORDER BY ALL", "A demo mart.", {"subject_id": "Patient.", "n": "Cycles."}, {"least": 1})
    assert con.sql("SELECT * FROM marts.demo").fetchall() == [("p1", 2), ("s1", 1)]
    comments = con.sql("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'demo'").fetchall()
    assert comments == [("subject_id", "Patient."), ("n", "Cycles.")]
    metadata = shared.table_metadata(con, "marts.demo", ("subject_id",), preview_rows=1)
    preview = metadata["preview"].value
    assert metadata["dagster/row_count"] == 2 and "p1" in preview and "s1" not in preview
    with pytest.raises(ValueError, match="no description"):
        shared.write_query(con, "demo", "SELECT 1 AS pct", "A demo mart.", {})


def test_write_mart_describes_the_table_and_every_column(con):
    frame = pl.DataFrame({"group": ["rr"], "n": [11]})
    shared.write_mart(con, "demo", frame, "A demo mart.", {"group": "Status at cycle 1.", "n": "Patients."})
    assert con.sql("SELECT comment FROM duckdb_tables() WHERE table_name = 'demo'").fetchall() == [("A demo mart.",)]
    comments = con.sql("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'demo'").fetchall()
    assert comments == [("group", "Status at cycle 1."), ("n", "Patients.")]
    with pytest.raises(ValueError, match="no description"):
        shared.write_mart(con, "demo", frame.with_columns(pct=pl.lit(1.0)), "A demo mart.", {"group": "", "n": ""})


def test_replace_tests_touches_only_its_own_mart(con):
    shared.replace_tests(con, "alpha", statistical_rows("alpha", "alpha.one", "alpha.two"))
    shared.replace_tests(con, "beta", statistical_rows("beta", "beta.one"))
    shared.replace_tests(con, "alpha", statistical_rows("alpha", "alpha.three"))
    rows = con.sql("SELECT mart, test_id, groups, p_value FROM marts.statistical_tests ORDER BY test_id").fetchall()
    assert [row[:3] for row in rows] == [("alpha", "alpha.three", "a vs b"), ("beta", "beta.one", "a vs b")]
    assert rows[0][3] == pytest.approx(0.4857142857)  # Fisher, [[3, 1], [1, 3]]
    with pytest.raises(ValueError, match="other marts"):
        shared.replace_tests(con, "alpha", statistical_rows("beta", "beta.two"))
    assert con.sql("SELECT count(*) FROM marts.statistical_tests").fetchall() == [(2,)]


def test_not_detected_is_a_measured_zero(con):
    values = con.sql(f"SELECT {shared.MEASURED_VALUE_SQL}"
                     " FROM (VALUES (NULL, true), (0.01::DOUBLE, true), (NULL, false))"
                     " AS labs(value, below_lod)").fetchall()
    assert [value for (value,) in values] == [0.0, 0.01, None]


def test_a_failed_replacement_leaves_the_previous_rows(con):
    shared.replace_tests(con, "alpha", statistical_rows("alpha", "alpha.one"))
    with pytest.raises(RuntimeError), shared._frame_in_transaction(con, "unused", pl.DataFrame({"x": [1]})):
        con.execute(f"DELETE FROM {shared.TESTS_TABLE}")
        raise RuntimeError("the insert failed")
    assert con.sql(f"SELECT test_id FROM {shared.TESTS_TABLE}").fetchall() == [("alpha.one",)]


def test_a_preview_is_the_first_rows_in_the_declared_order_cut_in_duckdb(con):
    """The preview orders and cuts in DuckDB: the declared order, not the stored one, PREVIEW_ROWS rows; as
    written (AS_WRITTEN) is the order the rows were written in; a table without a declared order is refused."""
    shared.write_query(con, "demo", "SELECT 100 - range AS n, range % 2 AS odd FROM range(100) ORDER BY range",
                       "A demo mart.", {"n": "A number.", "odd": "1 for odd."})

    def shown(order, **options):
        metadata = shared.table_metadata(con, "marts.demo", order, **options)
        assert metadata["dagster/row_count"] == 100
        return [line.split("|")[1:-1] for line in metadata["preview"].value.splitlines()[2:]]

    assert shown(("n",)) == [[" 1 ", " 1 "], [" 2 ", " 0 "], [" 3 ", " 1 "], [" 4 ", " 0 "], [" 5 ", " 1 "]]
    assert shown(("odd DESC", "n DESC"), columns=("n",), preview_rows=2) == [[" 99 "], [" 97 "]]
    assert [row[0] for row in shown(shared.AS_WRITTEN)] == [" 100 ", " 99 ", " 98 ", " 97 ", " 96 "]
    with pytest.raises(ValueError, match="natural order"):
        shared.table_metadata(con, "marts.demo", ())


@pytest.mark.parametrize("attempt", range(5))
def test_marts_written_side_by_side_on_an_empty_warehouse_keep_every_row(tmp_path, attempt):
    # Two marts' first writes at once (steps side by side: orchestration/jobs.py): DuckDB refuses the second
    # creation of the marts schema and of the shared statistical_tests while the first is uncommitted; the
    # refused one looks again (catalog.create_once), and neither replaces the other's table or rows.
    import threading

    start = threading.Barrier(2, timeout=10)
    errors = []
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as database:

        def mart(name: str) -> None:
            con = database.cursor()
            try:
                start.wait()
                shared.write_mart(con, name, pl.DataFrame({"n": [1]}), "a mart", {"n": "a count"})
                shared.replace_tests(con, name, statistical_rows(name, f"{name}.one", f"{name}.two"))
            except Exception as error:  # noqa: BLE001  (asserted below, with the thread's error)
                errors.append(error)
            finally:
                con.close()

        threads = [threading.Thread(target=mart, args=(name,)) for name in ("alpha", "beta")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert database.sql("SELECT mart, count(*) FROM marts.statistical_tests GROUP BY ALL ORDER BY 1"
                            ).fetchall() == [("alpha", 2), ("beta", 2)]
        assert database.sql("SELECT n FROM marts.alpha UNION ALL SELECT n FROM marts.beta").fetchall() == [(1,), (1,)]
