"""Small core.cycles / core.labs frames for the immune and cytokine marts' unit tests (core_frames plus the
columns only these marts read: cycles' infusion_days, labs' detection_limit), and what their end-to-end tests
read from the demo warehouse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.marts import core_frames
from tests.marts.core_db import core_database


def cycles(rows: Iterable[dict]) -> pl.DataFrame:
    """core_frames.cycles with infusion_days (end - start + 1)."""
    frame = core_frames.cycles(rows)
    return frame.with_columns(infusion_days=((pl.col("end_date") - pl.col("start_date")).dt.total_days() + 1))


def lab(subject_id: str, analyte: str, value: float | None, timepoint: str = "baseline", *, cycle_no: int = 1,
        specimen: str = "blood", below_lod: bool = False, detection_limit: float | None = None, day: int = 1,
        source_row: int = 1) -> dict:
    return {"subject_id": subject_id, "cycle_no": cycle_no, "timepoint": timepoint, "specimen": specimen,
            "analyte": analyte, "value": value, "below_lod": below_lod, "detection_limit": detection_limit,
            "sample_date": core_frames.START + dt.timedelta(days=day), "source_file": "labs.csv",
            "source_row": source_row}


def labs(rows: Iterable[dict]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={**core_frames.LAB_SCHEMA, "detection_limit": pl.Float64})


def pre_post(subject_id: str, analyte: str, pre: float | None, post: float | None, post_timepoint: str = "day14",
             **values) -> list[dict]:
    """A baseline and an on-treatment draw (None: not drawn)."""
    return [lab(subject_id, analyte, value, timepoint, **values)
            for timepoint, value in (("baseline", pre), (post_timepoint, post)) if value is not None]


def database(lab_rows: pl.DataFrame, cycle_rows: pl.DataFrame, patient_rows: pl.DataFrame | None = None,
             **tables: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    """core.labs, core.cycles and core.patients (by default a multicenter patient per subject of the cycles)
    in DuckDB, and any other core tables given."""
    if patient_rows is None:
        subjects = cycle_rows["subject_id"].unique(maintain_order=True)
        patient_rows = core_frames.patients(core_frames.patient(subject_id) for subject_id in subjects)
    return core_database(labs=lab_rows, cycles=cycle_rows, patients=patient_rows, **tables)


def query(database: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return pl.DataFrame(con.sql(sql))


def reproduced(database: Path, prefixes: tuple[str, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts.paper_reproduction rows and marts.statistical_tests rows of the reference ids starting with one of
    `prefixes`; skips while the demo extracts carry no lab values."""
    if not query(database, "SELECT count(*) FROM core.labs").item():
        pytest.skip("the demo extracts carry no lab values yet")
    def starting(column: str) -> str:
        return " OR ".join(f"starts_with({column}, '{prefix}')" for prefix in prefixes)

    rows = query(database, f"SELECT * FROM marts.paper_reproduction WHERE {starting('id')}")
    tests = query(database, f"SELECT * FROM marts.statistical_tests WHERE {starting('test_id')}")
    reference = query(database, f"SELECT count(*) FROM seeds.published_results WHERE {starting('id')}").item()
    assert rows.height == reference > 0
    return rows, tests
