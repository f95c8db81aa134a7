"""The gate's tables in DuckDB: candidates in (intermediate.int_<table>), findings out.

quarantine.<table>         one row per refused delivered row (gate.FINDING_SCHEMA, severity error)
audit.<table>_warnings     one row per accepted row with warnings (severity warning); core.<table> joins them
Until the gate first runs, dbt creates them empty (macro ensure_gate_tables), so core always builds.
"""

from typing import TYPE_CHECKING

from assets.validation.gate import ORDER

if TYPE_CHECKING:
    import duckdb
    import polars as pl


def quarantine_table(table: str) -> str:
    return f"quarantine.{table}"


def warnings_table(table: str) -> str:
    return f"audit.{table}_warnings"


def candidate_table(table: str) -> str:
    return f"intermediate.int_{table}"


def read_frames(con: "duckdb.DuckDBPyConnection", relation_of, tables=ORDER) -> dict[str, "pl.DataFrame"]:
    """The rows of each of `tables` from `relation_of(table)` (candidate_table, or 'core.<table>')."""
    import polars as pl

    return {table: pl.DataFrame(con.sql(f"SELECT * FROM {relation_of(table)}")) for table in tables}


def replace_table(con: "duckdb.DuckDBPyConnection", relation: str, frame: "pl.DataFrame") -> None:
    # Through the Arrow C stream: duckdb reads a polars frame without pyarrow this way.
    con.register("findings", con.from_arrow(frame.__arrow_c_stream__()))
    try:
        con.execute(f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM findings")
    finally:
        con.unregister("findings")
