"""Table 2 / Supplementary Table S3: baseline labs, counts and comparisons among the 51, computed by the marts'
SQL on an in-memory DuckDB."""

import datetime as dt

import polars as pl
import pytest

from assets.marts import risk_factors as rf
from assets.marts import shared
from tests.marts.core_db import core_database
from tests.marts.core_frames import counts_cohort, cycle, cycles, labs, patient, patients


def risk_database(people: pl.DataFrame, given: pl.DataFrame, drawn: pl.DataFrame):
    """core.patients, core.cycles and core.labs in DuckDB, the 51's relation created on them."""
    con = core_database(patients=people, cycles=given, labs=drawn)
    rf.create_risk_patients(con)
    return con


def baseline_labs(drawn: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(core_database(labs=drawn).sql(rf.BASELINE_LABS_SQL))


def lab(subject_id: str, analyte: str, value: float | None, *, cycle_no: int = 1, timepoint: str = "baseline",
        specimen: str = "blood", below_lod: bool = False, day: int = 1, source_row: int = 1) -> dict:
    return {"subject_id": subject_id, "cycle_no": cycle_no, "timepoint": timepoint, "specimen": specimen,
            "analyte": analyte, "value": value, "below_lod": below_lod, "sample_date": dt.date(2022, 1, day),
            "source_file": "labs.csv", "source_row": source_row}


def test_baseline_labs_take_cycle_one_s_last_baseline_blood_sample():
    baseline = baseline_labs(labs([
        lab("a", "cd3_abs", 0.5, day=1), lab("a", "cd3_abs", 0.7, day=2),  # the later sample wins
        lab("a", "cd3_abs", 9.0, timepoint="day14"), lab("a", "cd3_abs", 9.0, cycle_no=2),
        lab("a", "cd3_abs", 9.0, specimen="csf"),
        lab("a", "lymphocytes", 1.2),
        lab("b", "cd19_abs", None, below_lod=True),  # ND: B-cell aplasia, a measured zero
        lab("b", "il6", 3.0),  # not a Table 2 analyte
    ]))
    rows = {row["subject_id"]: row for row in baseline.iter_rows(named=True)}
    assert rows["a"]["cd3_abs"] == 0.7 and rows["a"]["lymphocytes_abs"] == 1.2 and rows["a"]["cd19_abs"] is None
    assert rows["b"]["cd19_abs"] == 0.0
    assert baseline.columns == ["subject_id", *rf.BASELINE_LABS]


def test_no_labs_give_unknown_values_not_an_error():
    assert baseline_labs(labs([])).columns == ["subject_id", *rf.BASELINE_LABS]


@pytest.fixture(scope="module")
def table2_cohort():
    """Table 2's cytogenetics: CR 42 (1 BCR-ABL1 and 7 other poor-risk), NR 9 (4 BCR-ABL1, 3 other poor);
    one responder stays MRD-positive (S3); 54 CR-MRDneg patients stay out."""
    return risk_database(*counts_cohort({
        "cr_mrdpos": [(1, {"lesion": "bcr_abl1"}), (7, {"lesion": "kmt2ar"}), (33, {}),
                      (1, {"mrd_negative_after": False}),
                      (4, {"lesion": "bcr_abl1", "response": "nr"}), (3, {"lesion": "hypodiploidy", "response": "nr"}),
                      (2, {"response": "nr"})],
        "cr_mrdneg": [(54, {"lesion": "bcr_abl1"})],
    }), labs([]))


def test_table2_and_s3_p_values_from_the_paper_s_counts(table2_cohort):
    assert table2_cohort.execute(f"SELECT count(*) FROM {rf.RISK_PATIENTS}").fetchall() == [(51,)]
    p_values = dict(rf.risk_tests(table2_cohort).select("test_id", "p_value").iter_rows())
    assert round(p_values["table2.bcr_abl1"], 3) == 0.002
    assert round(p_values["table2.poor_cytogenetics"], 3) == 0.001
    assert p_values["s3.mrd_negativity.poor_cytogenetics"] < 0.05
    assert not any(test_id.endswith("cd3_abs") for test_id in p_values)  # no labs, no test


def test_continuous_factor_by_mann_whitney():
    # Known answer: 1, 2, 3 vs 4, 5, 6 is the most extreme of the 20 splits: exact two-sided P = 2 / 20.
    people = patients([patient(s, "cr_mrdpos", age_months=age) for s, age in zip("abcdef", (1, 2, 3, 4, 5, 6))])
    given = cycles([cycle(s, response="cr" if s in "abc" else "nr") for s in "abcdef"])
    con = risk_database(people, given, labs([]))
    tests = rf.risk_tests(con).filter(pl.col("test_id") == "table2.age_months").row(0, named=True)
    assert tests["p_value"] == pytest.approx(0.1) and tests["test"] == "mann_whitney"
    table = rf.risk_factors(con, rf.risk_tests(con))
    ages = table.filter((pl.col("analysis") == "table2") & (pl.col("factor") == "age_months"))
    assert ages.select("group", "median", "min", "max", "p_value").rows() == [
        ("cr", 2.0, 1.0, 3.0, tests["p_value"]), ("nr", 5.0, 4.0, 6.0, tests["p_value"])]


def test_published_values_read_the_mart_and_name_reference_rows(table2_cohort):
    table = rf.risk_factors(table2_cohort, rf.risk_tests(table2_cohort))
    shared.write_mart(table2_cohort, rf.MART, table, rf.DESCRIPTION, rf.COLUMNS)
    values = rf.published_values(table2_cohort)
    lookup = {(r["id"], r["group"], r["statistic"]): r["computed_value"] for r in values.iter_rows(named=True)}
    assert lookup[("table2.n", "cr", "n")] == 42 and lookup[("table2.n", "nr", "n")] == 9
    assert lookup[("table2.poor_cytogenetics", "nr", "n")] == 7
    assert lookup[("table2.poor_cytogenetics", None, "note")] == 15
    assert lookup[("table2.sex", "cr", "male")] == 42
