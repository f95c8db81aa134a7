"""CTCAE v5.0 grading of low counts (docs/clinical-rules.md), boundaries included."""

from __future__ import annotations

import duckdb
import pytest

from assets.marts.stats import ctcae_grade, grade_band


def evaluate(expression: str, rows: list[tuple], columns: str) -> list:
    """`expression` over the rows (a VALUES list with the given column names and types)."""
    with duckdb.connect() as con:
        values = ", ".join(f"({', '.join('NULL' if v is None else repr(v) for v in row)})" for row in rows)
        names = ", ".join(name for name, _ in columns)
        casts = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in columns)
        query = f"SELECT {expression} FROM (SELECT {casts} FROM (VALUES {values}) AS t({names}))"
        return [row[0] for row in con.sql(query).fetchall()]


def grades(values, analyte, lln=None):
    return evaluate(ctcae_grade("value", analyte, lln), [(v,) for v in values], [("value", "DOUBLE")])


def test_neutrophil_boundaries():
    # "< 1.5 - 1.0" is grade 2: exactly 1.5 is not grade 2, exactly 1.0 is
    assert grades([0.49, 0.5, 0.99, 1.0, 1.49, 1.5, 2.0], "neutrophils", lln=1.8) == [4, 3, 3, 2, 2, 1, 0]


def test_platelet_boundaries():
    assert grades([24, 25, 49, 50, 74, 75, 150], "platelets", lln=150) == [4, 3, 3, 2, 2, 1, 0]


def test_grade_one_needs_the_lower_limit_of_normal():
    assert grades([1.6, 0.6, None], "neutrophils") == [None, 3, None]
    graded = evaluate(ctcae_grade("value", "neutrophils", "lln"), [(1.6, 1.8), (1.6, None)],
                      [("value", "DOUBLE"), ("lln", "DOUBLE")])
    assert graded == [1, None]


def test_unknown_analyte_raises():
    with pytest.raises(ValueError):
        ctcae_grade("value", "hemoglobin")


def test_table3_bands():
    bands = evaluate(grade_band("grade"), [(g,) for g in (0, 1, 2, 3, 4, None)], [("grade", "TINYINT")])
    assert bands == ["g0", "g1_2", "g1_2", "g3_4", "g3_4", None]
