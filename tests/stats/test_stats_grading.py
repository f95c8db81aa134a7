"""CTCAE v5.0 grading of low counts (docs/clinical-rules.md), boundaries included."""

from __future__ import annotations

import polars as pl
import pytest

from assets.marts.stats import ctcae_grade, grade_band


def grades(values, analyte, lln=None):
    frame = pl.DataFrame({"value": values}, schema={"value": pl.Float64})
    return frame.select(ctcae_grade(pl.col("value"), analyte, lln)).to_series().to_list()


def test_neutrophil_boundaries():
    # "< 1.5 - 1.0" is grade 2: exactly 1.5 is not grade 2, exactly 1.0 is
    assert grades([0.49, 0.5, 0.99, 1.0, 1.49, 1.5, 2.0], "neutrophils", lln=1.8) == [4, 3, 3, 2, 2, 1, 0]


def test_platelet_boundaries():
    assert grades([24, 25, 49, 50, 74, 75, 150], "platelets", lln=150) == [4, 3, 3, 2, 2, 1, 0]


def test_grade_one_needs_the_lower_limit_of_normal():
    assert grades([1.6, 0.6, None], "neutrophils") == [None, 3, None]
    frame = pl.DataFrame({"value": [1.6, 1.6], "lln": [1.8, None]})
    graded = frame.select(ctcae_grade(pl.col("value"), "neutrophils", pl.col("lln"))).to_series()
    assert graded.to_list() == [1, None]


def test_unknown_analyte_raises():
    with pytest.raises(ValueError):
        ctcae_grade(pl.col("value"), "hemoglobin")


def test_table3_bands():
    frame = pl.DataFrame({"grade": [0, 1, 2, 3, 4, None]}, schema={"grade": pl.Int8})
    bands = frame.select(grade_band(pl.col("grade"))).to_series().to_list()
    assert bands == ["g0", "g1_2", "g1_2", "g3_4", "g3_4", None]
