"""The marts' unit tests run the marts' SQL as the warehouse does: their small core frames (core_frames,
immune_frames) loaded as core.<table> into an in-memory DuckDB, and core.lab_draws built from core.labs by the
dbt model's own SQL."""

from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2
import polars as pl

LAB_DRAWS_MODEL = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "core" / "lab_draws.sql"
# The core.labs columns lab_draws reads that the small frames may leave out (NULL then).
LAB_DRAWS_INPUTS = {"center_id": "VARCHAR", "unit": "VARCHAR", "below_lod": "BOOLEAN", "detection_limit": "DOUBLE",
                    "sample_date": "DATE", "source_file": "VARCHAR", "source_row": "BIGINT"}


def core_database(**tables: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with schemas core and marts, and core.<name> holding each frame given by name
    (`core_database(patients=..., cycles=...)`); given `labs`, core.lab_draws too."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE SCHEMA marts")
    for name, frame in tables.items():
        # Through the Arrow C stream: duckdb reads a polars frame without pyarrow this way.
        con.register("frame", con.from_arrow(frame.__arrow_c_stream__()))
        con.execute(f'CREATE TABLE core."{name}" AS SELECT * FROM frame')
        con.unregister("frame")
    if "labs" in tables and "lab_draws" not in tables:
        for column, data_type in LAB_DRAWS_INPUTS.items():
            if column not in tables["labs"].columns:
                con.execute(f"ALTER TABLE core.labs ADD COLUMN {column} {data_type}")
        con.execute(f"CREATE TABLE core.lab_draws AS {lab_draws_sql()}")
    return con


def lab_draws_sql() -> str:
    """The dbt model core.lab_draws over every center, its ref() pointing at this database's core tables."""
    template = jinja2.Template(LAB_DRAWS_MODEL.read_text())
    return template.render(ref=lambda name: f"core.{name}", run_centers=lambda *_: "true")
