"""The marts' unit tests run the marts' SQL as the warehouse does: their small core frames (core_frames,
immune_frames) loaded as core.<table> into an in-memory DuckDB, and core.lab_draws built from core.labs by the
dbt models' own SQL (core.lab_draw_choices, and the view core.lab_draws over it)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2
import polars as pl

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
LAB_DRAWS_MACROS = DBT_PROJECT / "macros" / "lab_draws.sql"
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
    # Every core table has its rows' center_id (the per-center mart inputs read by it): the small frames
    # leave it out, so it is their patient's.
    for name, frame in tables.items():
        if "patients" in tables and name != "patients" and "subject_id" in frame.columns \
                and "center_id" not in frame.columns:
            con.execute(f'ALTER TABLE core."{name}" ADD COLUMN center_id VARCHAR')
            con.execute(f'UPDATE core."{name}" AS t SET center_id = patient.center_id FROM core.patients AS patient'
                        " WHERE patient.subject_id = t.subject_id")
    if "labs" in tables and "lab_draws" not in tables:
        present = {column for (column,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'core' AND table_name = 'labs'").fetchall()}
        for column, data_type in LAB_DRAWS_INPUTS.items():
            if column not in present:
                con.execute(f"ALTER TABLE core.labs ADD COLUMN {column} {data_type}")
        con.execute(f"CREATE TABLE core.lab_draw_choices AS {model_sql('lab_draw_choices')}")
        con.execute(f"CREATE VIEW core.lab_draws AS {model_sql('lab_draws')}")
    return con


class _Relation(str):
    """What ref() gives a model here: `core.<name>`, with dbt's include() (no database to leave out)."""

    def include(self, **_) -> _Relation:
        return self


def model_sql(model: str) -> str:
    """A dbt model of core over every center, its ref() pointing at this database's core tables."""
    source = LAB_DRAWS_MACROS.read_text() + (DBT_PROJECT / "models" / "core" / f"{model}.sql").read_text()
    return jinja2.Template(source).render(ref=lambda name: _Relation(f"core.{name}"), run_centers=lambda *_: "true",
                                          config=lambda **_: "")
