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
    relations = con.execute(
        f"SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database()"
        f" AND schema_name IN ({placeholders}) ORDER BY ALL", list(SCHEMAS)).fetchall()
    con.execute(f"ATTACH {_quote(str(temporary))} AS {ALIAS}")
    try:
        # One transaction: every table copied from the same state of the warehouse.
        con.execute("BEGIN TRANSACTION")
        published = Published({}, [])
        for (relation,) in relations:
            _copy(con, relation, describe, published)
        con.execute("COMMIT")
    finally:
        con.execute(f"DETACH {ALIAS}")
    os.replace(temporary, target)
    return published


def _copy(con, relation: str, describe: Callable[[str, list[str]], TableDoc], published: Published) -> None:
    schema, table = relation.split(".", 1)
    copy = f'{ALIAS}."{schema}"."{table}"'
    con.execute(f'CREATE SCHEMA IF NOT EXISTS {ALIAS}."{schema}"')
    con.execute(f'CREATE TABLE {copy} AS SELECT * FROM "{schema}"."{table}"')
    columns = [name for name, in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()]
    doc = describe(relation, columns)
    if doc.description:
        con.execute(f"COMMENT ON TABLE {copy} IS {_quote(doc.description)}")
    else:
        published.undocumented.append(relation)
    for column in columns:
        if column in doc.columns:
            con.execute(f'COMMENT ON COLUMN {copy}."{column}" IS {_quote(doc.columns[column])}')
        else:
            published.undocumented.append(f"{relation}.{column}")
    published.rows[relation] = con.execute(f"SELECT count(*) FROM {copy}").fetchall()[0][0]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
