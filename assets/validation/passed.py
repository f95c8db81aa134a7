"""The rows the gate passed, fingerprinted per table and center: what the blocking check only_validated_rows
compares core with before it runs the whole gate over core again.

A fingerprint is the row count and the sum of the rows' hashes, every candidate column cast to the type the gate
saw (core's contract may store a narrower one; `warnings`, which core adds, and the gate's marks on int_labs,
store.MARKS, are left out). Core built from exactly the rows the gate passed has the fingerprint the gate
recorded, and gating those rows again finds nothing; a center whose core differs (a row added, changed or lost
after the gate, a core model that no longer copies what passed) or whose passing was never recorded goes through
the whole gate again, which names the rows it would refuse. Over 1,000,000 patients: core's lab values ~1.2 s, the
gate's ~2.6 s (~5 s for its seven tables), against ~30 s for the gate again.
"""

from collections.abc import Iterable, Mapping, Sequence

import duckdb

from assets.validation.store import MARKS
from orchestration import versions
from orchestration.catalog import relation_exists


def layer(table: str) -> str:
    """audit.build_versions' layer of the fingerprints of the rows of `table` the gate passed, per center."""
    return f"validation.passed.{table}"


def fingerprints(con: duckdb.DuckDBPyConnection, relation: str, types: Mapping[str, str],
                 centers: Sequence[str]) -> dict[str, str]:
    """center_id -> the fingerprint of its rows of `relation`, over the columns `types` (name -> SQL type)."""
    return versions.by_center(con, relation, centers, row="{" + ", ".join(
        f"'{column}': CAST(content.\"{column}\" AS {kind})" for column, kind in types.items()) + "}")


def differing(con: duckdb.DuckDBPyConnection, centers: Sequence[str], candidates: Mapping[str, str],
              core: Mapping[str, str], recorded: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Those of `centers` some table of which holds in core (`core`: table -> relation) other rows than the gate
    passed of the candidates (`candidates`: table -> relation, whose column types the gate saw), by the
    fingerprints `recorded` (table -> center -> fingerprint)."""
    different: set[str] = set()
    for table, relation in core.items():
        if not (relation_exists(con, relation) and relation_exists(con, candidates[table])):
            return list(centers)
        schema, name = candidates[table].split(".")
        types = {column: kind for column, kind in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?"
            " AND database_name = current_database() ORDER BY column_index", [schema, name]).fetchall()
            if column not in MARKS}
        try:
            now = fingerprints(con, relation, types, centers)
        except duckdb.Error:  # core lacks a candidate column, or holds a value the gate's type cannot take
            return list(centers)
        different |= {center for center in centers if recorded.get(table, {}).get(center) != now[center]}
    return sorted(different)


def record(con: duckdb.DuckDBPyConnection, passed: Iterable[tuple[str, Mapping[str, str]]]) -> None:
    """The gate passed these rows: (table, center_id -> fingerprint) pairs."""
    for table, by_center in passed:
        versions.record(con, layer(table), by_center)
