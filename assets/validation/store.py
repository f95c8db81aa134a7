"""The gate's tables in DuckDB: candidates in (intermediate.int_<table>), findings out.

quarantine.<table>         one row per refused delivered row (FINDINGS' columns, severity error)
audit.<table>_warnings     one row per accepted row with warnings (severity warning); core.<table> joins them
Until the gate first runs, dbt creates them with only the columns core reads (macro ensure_gate_tables), so
core always builds; the gate replaces such a placeholder with the full columns. Findings are written center
by center: a center's rows are deleted and inserted again.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from orchestration.audit_tables import column_types, create_table

if TYPE_CHECKING:
    import duckdb

# Every findings table (quarantine.<table>, audit.<table>_warnings, a gate's temporary ones) has the columns
# the dbt source documents for the quarantine tables (orchestration/audit_tables.py).
FINDINGS = "quarantine.patients"
KEY = ("center_id", "source_file", "source_row", "source_column")  # a delivered row, wide labs' too


def same_row(left: str, right: str, columns: Sequence[str] = KEY) -> str:
    """SQL: the relations aliased `left` and `right` name the same delivered row (the KEY `columns` they both
    have); source_column is NULL for long files, so it matches NULL to NULL."""
    return " AND ".join(f"{left}.{column} IS NOT DISTINCT FROM {right}.{column}" if column == "source_column"
                        else f"{left}.{column} = {right}.{column}" for column in columns)


# The gate's verdict on each row, where the candidate table keeps it (intermediate.int_labs, whose core.labs is
# the view of the rows marked not refused): NULL until the gate judges the row. Not part of the candidate.
REFUSED, WARNED = "refused", "warnings"
MARKS = (REFUSED, WARNED)


def marked(con: "duckdb.DuckDBPyConnection", relation: str) -> bool:
    """Whether the gate marks the rows of the candidate table `relation` (a table with the MARKS columns)."""
    schema, _, name = relation.rpartition(".")
    [(found,)] = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?"
        " AND list_contains(?, column_name) AND database_name = current_database()"
        " AND table_oid IN (SELECT table_oid FROM duckdb_tables())",
        [schema or "main", name, list(MARKS)]).fetchall()
    return found == len(MARKS)


def unmarked_centers(con: "duckdb.DuckDBPyConnection", relations: Sequence[str]) -> list[str]:
    """The centers with rows the gate has not judged in the marked ones of `relations`: rebuilt since (a dbt
    run outside the warehouse's jobs), they are gated again even if their candidates' version is the one gated."""
    return sorted({center for relation in relations if marked(con, relation) for (center,) in con.execute(
        f"SELECT DISTINCT center_id FROM {relation} WHERE {REFUSED} IS NULL").fetchall()})


def quarantine_table(table: str) -> str:
    return f"quarantine.{table}"


def warnings_table(table: str) -> str:
    return f"audit.{table}_warnings"


def candidate_table(table: str) -> str:
    return f"intermediate.int_{table}"


SUPERSEDED = "audit.superseded_findings"  # findings a later gate no longer gave, with superseded_at


def ensure_superseded_table(con: "duckdb.DuckDBPyConnection") -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(create_table(SUPERSEDED))


def ensure_findings_table(con: "duckdb.DuckDBPyConnection", relation: str) -> None:
    """`relation` with the FINDINGS columns, created if missing or a placeholder; a name without a schema
    is a temporary table (a read-only connection can still write those)."""
    schema, _, name = relation.rpartition(".")
    columns = [column for (column,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?"
        " AND (database_name = 'temp') = ? ORDER BY column_index", [schema or "main", name, not schema]).fetchall()]
    if columns == list(column_types(FINDINGS)):
        return
    if schema:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(create_table(FINDINGS, relation, replace=True, temporary=not schema))


def drop_vanished(con: "duckdb.DuckDBPyConnection", relations: Sequence[str], candidates: str,
                  gated: Sequence[str] = ()) -> None:
    """Delete from `relations` the findings of every center without a row in `candidates` (one that no longer
    delivers). The centers just `gated` had their findings replaced from the candidates as they are: only the
    others are looked up, one row each (distinct centers over a candidate view evaluate it whole: 4.5 s a run
    at 1,000,000 patients)."""
    gated = list(gated)
    others = sorted({center for relation in relations for (center,) in con.execute(
        f"SELECT DISTINCT center_id FROM {relation} WHERE center_id IS NOT NULL AND NOT list_contains(?, center_id)",
        [gated]).fetchall()})
    vanished = [center for center in others
                if not con.execute(f"SELECT 1 FROM {candidates} WHERE center_id = ? LIMIT 1", [center]).fetchall()]
    for relation in relations:
        con.execute(f"DELETE FROM {relation} WHERE center_id IS NULL OR list_contains(?, center_id)", [vanished])


def append(con: "duckdb.DuckDBPyConnection", relation: str, frame: pl.DataFrame) -> None:
    # Through the Arrow C stream: duckdb reads a polars frame without pyarrow this way.
    con.register("appended", con.from_arrow(frame.__arrow_c_stream__()))
    try:
        con.execute(f"INSERT INTO {relation} BY NAME SELECT * FROM appended")
    finally:
        con.unregister("appended")


def examples(con: "duckdb.DuckDBPyConnection", relation: str, limit: int) -> list[tuple]:
    """The first `limit` findings of `relation` in delivery order: what the UI shows, whatever the table's size."""
    order = ", ".join(f"{column} NULLS LAST" for column in KEY)
    return con.execute(f"SELECT source_file, source_row, check_name, value, reason FROM {relation}"
                       f" ORDER BY {order} LIMIT {int(limit)}").fetchall()


def count(con: "duckdb.DuckDBPyConnection", relation: str) -> int:
    return con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
