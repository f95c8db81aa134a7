"""core.lab_draws (the view) over core.lab_draw_choices, by the dbt models' own SQL: one value per draw, the last
delivery with a value, how many there were; keys compared null-safe."""

from datetime import date

import polars as pl

from tests.marts.core_db import core_database

LABS = pl.DataFrame(
    [("s1", 1, "baseline", "blood", "cd3_abs", 1.0, False, date(2021, 1, 1), "a.csv", 1),  # once
     ("s1", 1, "day14", "blood", "cd3_abs", 2.0, False, date(2021, 1, 14), "a.csv", 2),  # twice: the later date
     ("s1", 1, "day14", "blood", "cd3_abs", 3.0, False, date(2021, 1, 15), "a.csv", 3),
     ("s1", 1, None, "serum", "il6", 4.0, False, None, "a.csv", 4),  # no timepoint, twice: the later row
     ("s1", 1, None, "serum", "il6", 5.0, False, None, "b.csv", 1),
     ("s1", 1, "baseline", "serum", "il10", None, True, None, "a.csv", 5),  # ND counts as a value
     ("s1", 1, "baseline", "serum", "il10", 7.0, False, None, "a.csv", 6),
     ("s1", 1, "baseline", "serum", "il2", None, False, None, "a.csv", 7),  # no value: no draw
     ("s2", 1, "baseline", "blood", "cd3_abs", 8.0, False, date(2021, 2, 1), "a.csv", 8)],
    schema=["subject_id", "cycle_no", "timepoint", "specimen", "analyte", "value", "below_lod", "sample_date",
            "source_file", "source_row"], orient="row",
).with_columns(center_id=pl.lit("c1"))


def draws(query: str) -> list[tuple]:
    with core_database(labs=LABS) as con:
        return con.execute(query).fetchall()


def test_one_value_per_draw_the_last_delivery_with_a_value():
    rows = draws("SELECT subject_id, timepoint, analyte, value, below_lod, source_file, source_row, deliveries"
                 " FROM core.lab_draws ORDER BY subject_id, analyte, timepoint NULLS FIRST")
    assert rows == [
        ("s1", "baseline", "cd3_abs", 1.0, False, "a.csv", 1, 1),
        ("s1", "day14", "cd3_abs", 3.0, False, "a.csv", 3, 2),
        ("s1", "baseline", "il10", 7.0, False, "a.csv", 6, 2),  # undated: the later delivered row
        ("s1", None, "il6", 5.0, False, "b.csv", 1, 2),
        ("s2", "baseline", "cd3_abs", 8.0, False, "a.csv", 8, 1)]


def test_only_the_repeated_draws_are_stored_apart():
    assert draws("SELECT timepoint, analyte, deliveries FROM core.lab_draw_choices ORDER BY analyte") == [
        ("day14", "cd3_abs", 2), ("baseline", "il10", 2), (None, "il6", 2)]
