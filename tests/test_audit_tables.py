"""The tables the Python layers write are created from their dbt source YAML (orchestration/audit_tables.py):
names, types and constraints stated once, beside their descriptions."""

import duckdb
import pytest

from orchestration import audit_tables

# Built by CREATE TABLE AS from its query (assets/validation/accounting.py): the query states its columns.
BUILT_FROM_QUERY = {"audit.row_accounting"}


def documented() -> list[str]:
    return sorted(set(audit_tables._tables()) - BUILT_FROM_QUERY)


@pytest.mark.parametrize("relation", documented())
def test_each_table_is_created_with_the_documented_columns_and_types(relation):
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA audit; CREATE SCHEMA quarantine; CREATE SEQUENCE audit.load_seq")
        con.execute(audit_tables.create_table(relation))
        schema, table = relation.split(".")
        built = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ?"
                                 " AND table_name = ? ORDER BY column_index", [schema, table]).fetchall())
    assert built == {column: data_type.upper() for column, data_type in audit_tables.column_types(relation).items()}


def test_the_documented_constraints_hold():
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA audit; CREATE SEQUENCE audit.load_seq")
        for relation in ("audit.loads", "audit.build_versions"):
            con.execute(audit_tables.create_table(relation))
        insert = ("INSERT INTO audit.loads (center_id, source_file, table_name, outcome, seen_at)"
                  " VALUES (?, ?, ?, ?, now())")
        con.execute(insert, ["alpha", "labs.csv", "labs", "held"])
        with pytest.raises(duckdb.ConstraintException, match="CHECK"):
            con.execute(insert, ["alpha", "labs.csv", "labs", "lost"])
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
            con.execute(insert, [None, "labs.csv", "labs", "loaded"])
        assert con.execute("SELECT load_id FROM audit.loads").fetchall() == [(1,)]
        # One version per layer and center: the key over both columns.
        replace = "INSERT OR REPLACE INTO audit.build_versions VALUES ('core', ?, ?, now())"
        for center, version in (("alpha", "v1"), ("beta", "v1"), ("alpha", "v2")):
            con.execute(replace, [center, version])
        assert con.execute("SELECT center_id, version FROM audit.build_versions ORDER BY 1").fetchall() == [
            ("alpha", "v2"), ("beta", "v1")]


def test_a_column_without_a_type_or_an_unknown_constraint_is_a_clear_error(monkeypatch):
    typed = {"name": "a", "data_type": "varchar", "constraints": [{"type": "foreign_key"}]}
    tables = {"audit.example": {"columns": [typed, {"name": "b"}]}}
    monkeypatch.setattr(audit_tables, "_tables", lambda: tables)
    with pytest.raises(ValueError, match="audit.example: no data_type for b"):
        audit_tables.create_table("audit.example")
    tables["audit.example"]["columns"].pop()
    with pytest.raises(ValueError, match="audit.example.a: constraint foreign_key"):
        audit_tables.create_table("audit.example")
