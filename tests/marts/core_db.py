"""The marts' unit tests run the marts' SQL as the warehouse does: their small core frames (core_frames,
immune_frames) loaded as core.<table> into an in-memory DuckDB."""

from __future__ import annotations

import duckdb
import polars as pl


def core_database(**tables: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with schemas core and marts, and core.<name> holding each frame given by name
    (`core_database(patients=..., cycles=...)`)."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE SCHEMA marts")
    for name, frame in tables.items():
        # Through the Arrow C stream: duckdb reads a polars frame without pyarrow this way.
        con.register("frame", con.from_arrow(frame.__arrow_c_stream__()))
        con.execute(f'CREATE TABLE core."{name}" AS SELECT * FROM frame')
        con.unregister("frame")
    return con
