"""orchestration.catalog: what the warehouse holds."""

import duckdb

from orchestration.catalog import database_path, relation_exists


def test_a_table_or_a_view_exists_and_nothing_else(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA core; CREATE TABLE core.labs (a INTEGER); CREATE VIEW core.lab_draws AS"
                    " SELECT * FROM core.labs")
        assert [relation_exists(con, relation) for relation in ("core.labs", "core.lab_draws", "core.cycles",
                                                                "marts.labs")] == [True, True, False, False]
        assert database_path(con) == tmp_path / "warehouse.duckdb"
