"""Publish the analyst snapshot: copy the analyst-facing schemas of the warehouse into a temporary DuckDB file,
document every table and column, then move it into place with one rename.

The rename is atomic: an analyst holding the previous file open read-only keeps reading that file (its inode
lives on until closed), never blocks the refresh, and never sees half of a new one. The copy runs on the
warehouse's own connection, so it needs no second (refused) connection to a file the run holds for writing.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assets.snapshot.descriptions import TableDoc

# Pseudonymised and analyst-facing; raw, staging and intermediate (names, MRNs, birth dates) never leave.
SCHEMAS = ("core", "marts", "audit", "quarantine", "seeds")
ALIAS = "snapshot"


@dataclass(frozen=True)
class Published:
    rows: dict[str, int]  # schema.table -> rows copied
    undocumented: list[str]  # schema.table or schema.table.column without a description


def publish(con, target: Path, describe: Callable[[str, list[str]], TableDoc]) -> Published:
    """Copy SCHEMAS from the database `con` holds into `target`, with `describe(relation, columns)` as COMMENTs."""
    temporary = target.with_name(target.name + ".tmp")
    for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
        leftover.unlink(missing_ok=True)  # a refresh that died half way
    placeholders = ", ".join("?" * len(SCHEMAS))
    columns: dict[str, list[str]] = {}  # schema.table -> its columns in order; tables only, not views
    for relation, column in con.execute(
            f"SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns()"
            f" WHERE database_name = current_database() AND schema_name IN ({placeholders})"
            f" AND table_oid IN (SELECT table_oid FROM duckdb_tables()) ORDER BY 1, column_index",
            list(SCHEMAS)).fetchall():
        columns.setdefault(relation, []).append(column)
    con.execute(f"ATTACH {_quote(str(temporary))} AS {ALIAS}")
    try:
        # One transaction: every table copied from the same state of the warehouse.
        con.execute("BEGIN TRANSACTION")
        published = Published({}, [])
        for relation in sorted(columns):
            _copy(con, relation, columns[relation], describe, published)
        con.execute("COMMIT")
    finally:
        con.execute(f"DETACH {ALIAS}")
    os.replace(temporary, target)
    return published


def _copy(con, relation: str, columns: list[str], describe: Callable[[str, list[str]], TableDoc],
          published: Published) -> None:
    schema, table = relation.split(".", 1)
    copy = f'{ALIAS}."{schema}"."{table}"'
    doc = describe(relation, columns)
    statements = [f'CREATE SCHEMA IF NOT EXISTS {ALIAS}."{schema}"',
                  f'CREATE TABLE {copy} AS SELECT * FROM "{schema}"."{table}"']
    if doc.description:
        statements.append(f"COMMENT ON TABLE {copy} IS {_quote(doc.description)}")
    else:
        published.undocumented.append(relation)
    for column in columns:
        if column in doc.columns:
            statements.append(f'COMMENT ON COLUMN {copy}."{column}" IS {_quote(doc.columns[column])}')
        else:
            published.undocumented.append(f"{relation}.{column}")
    # One call per table: a statement per column costs more in round trips than in work.
    con.execute(";\n".join(statements))
    published.rows[relation] = con.execute(f"SELECT count(*) FROM {copy}").fetchall()[0][0]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
