"""What the warehouse holds, asked of DuckDB's catalog: the questions several layers ask, answered in one place."""

from pathlib import Path

import duckdb


def relation_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """`schema.name` is a table or a view (e.g. a table a first run has not built yet)."""
    schema, name = relation.split(".")
    [(count,)] = con.execute("SELECT count(*) FROM (SELECT schema_name, table_name FROM duckdb_tables() UNION ALL"
                             " SELECT schema_name, view_name FROM duckdb_views())"
                             " WHERE schema_name = ? AND table_name = ?", [schema, name]).fetchall()
    return count > 0


def database_path(con: duckdb.DuckDBPyConnection) -> Path:
    """The file of the connection's database (the analyst snapshot and the reports are written beside it)."""
    [(path,)] = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return Path(path)
