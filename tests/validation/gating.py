"""The gate (assets/validation/gate.py) on in-memory candidate frames, in a DuckDB of their own, with what it
decided per table: the passed rows as core reads them (macro validated: the candidates without a quarantine
row), the quarantine and the warnings, each in delivery order."""

from dataclasses import dataclass
from datetime import date, datetime, time

import duckdb
import polars as pl

from assets.validation.gate import ORDER, ROWS_PER_BATCH, gate_centers
from assets.validation.store import KEY, quarantine_table, warnings_table

IN_ORDER = ", ".join(f"{column} NULLS LAST" for column in KEY)


@dataclass(frozen=True)
class Result:
    passed: pl.DataFrame
    quarantine: pl.DataFrame
    warnings: pl.DataFrame


def load(con: duckdb.DuckDBPyConnection, frames: dict[str, pl.DataFrame]) -> None:
    """The frames as tables candidates.<table>."""
    con.execute("CREATE SCHEMA IF NOT EXISTS candidates")
    for table, frame in frames.items():
        con.register("frame", con.from_arrow(frame.__arrow_c_stream__()))
        con.execute(f"CREATE OR REPLACE TABLE candidates.{table} AS SELECT * FROM frame")
        con.unregister("frame")


def candidates(table: str) -> str:
    return f"candidates.{table}"


def deliveries(con: duckdb.DuckDBPyConnection, delivered: dict[tuple[str, str], date]) -> None:
    """audit.loads and raw.current_files as landing keeps them, for files (center_id, source_file) first
    landed on the days given: what the gate judges future dates against."""
    con.execute("CREATE SCHEMA IF NOT EXISTS audit; CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE TABLE audit.loads (center_id VARCHAR, source_file VARCHAR, file_sha256 VARCHAR,"
                " outcome VARCHAR, seen_at TIMESTAMP)")
    for (center, file), day in delivered.items():
        con.execute("INSERT INTO audit.loads VALUES (?, ?, 'v1', 'loaded', ?), (?, ?, 'v1', 'unchanged', ?)",
                    [center, file, datetime.combine(day, time(23, 59)), center, file, datetime(2099, 1, 1)])
    con.execute("CREATE VIEW raw.current_files AS SELECT DISTINCT center_id, source_file, file_sha256 FROM audit.loads")


def gate_frames(frames: dict[str, pl.DataFrame], today: date, rows_per_batch: int = ROWS_PER_BATCH,
                delivered: dict[tuple[str, str], date] | None = None) -> dict[str, Result]:
    """`delivered`: the day each file was delivered (`deliveries`); without, the gate judges dates by `today`."""
    with duckdb.connect() as con:
        load(con, frames)
        if delivered is not None:
            deliveries(con, delivered)
        centers = [center for (center,) in con.execute(" UNION ".join(
            f"SELECT center_id FROM {candidates(table)}" for table in ORDER) + " ORDER BY 1").fetchall()]
        gate_centers(con, centers, today, source=candidates, rows_per_batch=rows_per_batch)
        return {table: Result(
            passed=_passed(con, table, frames[table]),
            quarantine=pl.DataFrame(con.sql(f"SELECT * FROM {quarantine_table(table)} ORDER BY {IN_ORDER}")),
            warnings=pl.DataFrame(con.sql(f"SELECT * FROM {warnings_table(table)} ORDER BY {IN_ORDER}")),
        ) for table in ORDER}


def _passed(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> pl.DataFrame:
    key = [column for column in KEY if column in frame.columns]
    same = " AND ".join(f"refused.{column} IS NOT DISTINCT FROM candidate.{column}" for column in key)
    order = ", ".join(f"{column} NULLS LAST" for column in key)
    return pl.DataFrame(con.sql(
        f"SELECT * FROM {candidates(table)} AS candidate WHERE NOT EXISTS"
        f" (SELECT 1 FROM {quarantine_table(table)} AS refused WHERE {same}) ORDER BY {order}"), schema=frame.schema)
