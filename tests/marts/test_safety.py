"""The safety marts: Table 3 by grade band, lab-derived cytopenia grades and their discrepancies, the ICANS
comparison and onset days; on small frames with known answers, then end to end on the demo warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.marts import safety_icans, safety_lab_grades, safety_onset, safety_table3, shared
from assets.marts.safety import TABLES, published_values, safety_marts
from assets.marts.stats import matches_published
from tests.marts.core_db import core_database
from tests.marts.core_frames import CYCLE_SCHEMA, LAB_SCHEMA, START, cycle, frame, patient, patients

REFERENCE = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "published_results.csv"
CYCLES = {**CYCLE_SCHEMA, "dose_start": pl.Float64, "dose_target": pl.Float64, "step_up_date": pl.Date,
          "age_months_at_start": pl.Int64}
LABS = {**LAB_SCHEMA, "source_column": pl.Utf8}
AE = {"subject_id": pl.Utf8, "cycle_no": pl.Int64, "term": pl.Utf8, "grade": pl.Int64, "onset_date": pl.Date}


def day(n: int) -> dt.date:
    """Day n of a cycle starting on START (day 1 = START)."""
    return START + dt.timedelta(days=n - 1)


def ae(subject_id: str, term: str, grade: int | None, cycle_no: int = 1, onset: int | None = None) -> dict:
    return {"subject_id": subject_id, "cycle_no": cycle_no, "term": term, "grade": grade,
            "onset_date": None if onset is None else day(onset)}


def lab(subject_id: str, analyte: str, value: float | None, timepoint: str = "day14", cycle_no: int = 1,
        below_lod: bool = False, row: int = 1) -> dict:
    return {"subject_id": subject_id, "cycle_no": cycle_no, "timepoint": timepoint, "specimen": "blood",
            "analyte": analyte, "value": value, "below_lod": below_lod, "sample_date": START, "source_file": "labs.csv",
            "source_row": row}


def database(cycles: pl.DataFrame, events: pl.DataFrame, labs: pl.DataFrame | None = None) -> duckdb.DuckDBPyConnection:
    """core.cycles, core.adverse_events and core.labs in DuckDB, the cycles' patients multicenter ones, and
    safety_table3's cycle grades created."""
    con = core_database(patients=patients(patient(s) for s in cycles["subject_id"].unique(maintain_order=True)),
                        cycles=cycles, adverse_events=events, labs=frame([], LABS) if labs is None else labs)
    safety_table3.create_cycle_grades(con)
    return con


def grades_of(cycle_rows: list[dict], ae_rows: list[dict], lab_rows: list[dict] = ()) -> duckdb.DuckDBPyConnection:
    return database(frame(cycle_rows, CYCLES), frame(ae_rows, AE), frame(lab_rows, LABS))


def table(con: duckdb.DuckDBPyConnection, relation: str) -> pl.DataFrame:
    return pl.DataFrame(con.sql(f"SELECT * FROM {relation}"))


def reported_counts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return safety_table3.band_counts(con, safety_table3.reported_grades(), "reported")


def fields(row: dict, *names: str) -> tuple:
    return tuple(row[name] for name in names)


def band(counts: pl.DataFrame, term: str, group: str, band_: str, source: str = "reported") -> dict:
    return counts.filter((pl.col("term") == term) & (pl.col("group") == group) & (pl.col("band") == band_)
                         & (pl.col("source") == source)).row(0, named=True)


# --- Table 3 --------------------------------------------------------------------------------------------------

def test_not_assessed_cycles_are_counted_apart_never_as_grade_0():
    cycles = [cycle("a", table3_group="mrdneg"), cycle("b", table3_group="mrdneg"), cycle("c", table3_group="mrdneg"),
              cycle("d", table3_group="rr_mrdpos"), cycle("e", table3_group=None)]
    events = [ae("a", "neutropenia", 0), ae("b", "neutropenia", 3), ae("c", "neutropenia", None),  # c not assessed
              ae("d", "neutropenia", 5), ae("e", "neutropenia", 1)]  # grade 5 counts with 3-4; d's form lacks CRS
    counts = reported_counts(grades_of(cycles, events))
    mrdneg_g0 = band(counts, "neutropenia", "mrdneg", "g0")
    assert fields(mrdneg_g0, "cycles", "assessed", "not_assessed", "group_cycles") == (1, 2, 1, 3)
    assert mrdneg_g0["pct"] == 50.0
    assert band(counts, "neutropenia", "rr_mrdpos", "g3_4")["cycles"] == 1
    # the cycle without a Table 3 column counts in `all` only
    everything = band(counts, "neutropenia", "all", "any")
    assert (everything["cycles"], everything["assessed"], everything["group_cycles"]) == (3, 4, 5)
    crs = band(counts, "crs", "all", "g0")  # no CRS row delivered at all: not assessed, no percentage
    assert (crs["cycles"], crs["assessed"], crs["not_assessed"], crs["pct"]) == (0, 0, 5, None)


def test_patients_are_counted_once_per_band_however_many_cycles():
    """safety.icans_patients is read from this column: patients with an ICANS of any grade, not cycles."""
    cycles = [cycle("a"), cycle("a", 2), cycle("b"), cycle("c")]
    events = [ae("a", "icans", 2), ae("a", "icans", 1, cycle_no=2), ae("b", "icans", 3), ae("c", "icans", 0)]
    counts = reported_counts(grades_of(cycles, events))
    assert fields(band(counts, "icans", "all", "any"), "cycles", "patients") == (3, 2)
    assert fields(band(counts, "icans", "all", "g1_2"), "cycles", "patients") == (2, 1)
    assert fields(band(counts, "icans", "all", "g0"), "cycles", "patients") == (1, 1)


def test_a_term_delivered_twice_for_a_cycle_counts_its_worst_grade():
    con = grades_of([cycle("a")], [ae("a", "crs", 1, onset=3), ae("a", "crs", 3, onset=2), ae("a", "crs", None)])
    crs = table(con, safety_table3.CYCLE_GRADES).filter(pl.col("term") == "crs").row(0, named=True)
    assert (crs["grade"], crs["onset_date"]) == (3, day(2))


def paper_table3() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cycles and toxicity forms with the paper's Table 3 counts (read from the reference file). Cycles of a
    column beyond those counted for a term are not assessed (the 120 and 121 denominators)."""
    reference = pl.read_csv(REFERENCE, infer_schema=False).filter(
        pl.col("id").str.starts_with("table3.") & (pl.col("statistic") == "n") & (pl.col("group") != "all"))
    column_cycles = {"mrdneg": 74, "rr_mrdpos": 51}
    grade_of_band = {"g0": 0, "g1_2": 1, "g3_4": 3, "any": 1}
    forms: dict[tuple[str, str], list[int | None]] = {}
    for row in reference.iter_rows(named=True):
        term, band_ = row["id"].split(".")[1:]
        forms.setdefault((term, row["group"]), []).extend([grade_of_band[band_]] * int(row["value"]))
    cycle_rows, ae_rows = [], []
    for group, n in column_cycles.items():
        for i in range(n):
            subject_id = f"{group}{i:03d}"
            cycle_rows.append(cycle(subject_id, table3_group=group))
            for (term, term_group), grades in forms.items():
                if term_group == group:
                    # a term published as `any` only: the rest of the column had grade 0
                    grade = grades[i] if i < len(grades) else (0 if term in ("infection", "tls") else None)
                    ae_rows.append(ae(subject_id, term, grade))
    return frame(cycle_rows, CYCLES), frame(ae_rows, AE)


def test_table3_p_values_reproduce_from_the_paper_counts_with_its_rules():
    cycles, events = paper_table3()
    counts = reported_counts(database(cycles, events))
    tests = safety_table3.table3_tests(counts)
    reference = pl.read_csv(REFERENCE, infer_schema=False).filter(
        pl.col("id").str.starts_with("table3.") & (pl.col("statistic") == "p_value"))
    computed = dict(zip(tests["test_id"], tests["p_value"]))
    for row in reference.iter_rows(named=True):
        assert matches_published(computed[row["id"]], row["value"], row["match"]), (row["id"], computed[row["id"]])
    neutropenia = tests.filter(pl.col("test_id") == "table3.neutropenia").row(0, named=True)
    assert (neutropenia["test"], neutropenia["df"]) == ("chi_square", 2.0)
    assert "table3.tls" not in computed  # no TLS at all: nothing to compare


# --- lab-derived cytopenia grades ------------------------------------------------------------------------------

def cytopenia(ae_rows: list[dict], lab_rows: list[dict], subjects: str = "abcdef") -> pl.DataFrame:
    con = grades_of([cycle(s) for s in subjects], ae_rows, lab_rows)
    return table(con, safety_lab_grades.create_cytopenia_grades(con, safety_table3.CYCLE_GRADES))


def row_of(table: pl.DataFrame, subject_id: str, term: str = "neutropenia") -> dict:
    return table.filter((pl.col("subject_id") == subject_id) & (pl.col("term") == term)).row(0, named=True)


def test_the_nadir_is_the_lowest_on_treatment_count_not_the_baseline():
    table = cytopenia([ae("a", "neutropenia", 2)], [
        lab("a", "neutrophils", 0.2, timepoint="baseline", row=1),  # before the first infusion: not a toxicity
        lab("a", "neutrophils", 1.2, timepoint="day14", row=2),
        lab("a", "neutrophils", 1.4, timepoint="day21", row=3),
        lab("a", "platelets", None, timepoint="day14", below_lod=True, row=4),  # ND: a measured zero
    ])
    a = row_of(table, "a")
    assert (a["nadir"], a["on_treatment_samples"], a["lab_grade"], a["lab_source_row"]) == (1.2, 2, 2, 2)
    assert (a["agrees"], a["discrepancy"]) == (True, None)
    platelets = row_of(table, "a", "thrombocytopenia")
    assert (platelets["nadir"], platelets["lab_grade"], platelets["discrepancy"]) == (0.0, 4, "counts_not_graded")


def test_only_grades_the_counts_decide_are_discrepancies():
    table = cytopenia(
        [ae("a", "neutropenia", 1), ae("b", "neutropenia", 0), ae("c", "neutropenia", 2),
         ae("d", "thrombocytopenia", 1), ae("e", "thrombocytopenia", 1), ae("f", "neutropenia", 3)],
        [lab("a", "neutrophils", 1.8), lab("b", "neutrophils", 1.6), lab("c", "neutrophils", 0.3),
         lab("d", "platelets", 160.0), lab("e", "platelets", 30.0)],
    )
    # 0 vs 1 rests on the lower limit of normal: never flagged, whichever side the LLN puts the nadir
    assert [row_of(table, s)["agrees"] for s in "ab"] == [True, True]
    assert row_of(table, "d", "thrombocytopenia")["agrees"] is True
    assert row_of(table, "c")["discrepancy"] == "grade_differs"  # reported 2, nadir 0.3 is grade 4
    assert row_of(table, "e", "thrombocytopenia")["discrepancy"] == "grade_differs"  # 1 vs grade 3
    f = row_of(table, "f")  # graded, but no count to check it against: no disagreement
    assert (f["lab_grade"], f["agrees"], f["discrepancy"]) == (None, None, None)
    flagged = table.filter(pl.col("discrepancy").is_not_null())
    assert sorted(flagged.select("subject_id", "term").rows()) == [("c", "neutropenia"), ("e", "thrombocytopenia")]


def test_lab_grades_use_ctcae_bounds_and_the_documented_lln():
    lln = safety_lab_grades.LOWER_LIMIT_OF_NORMAL
    table = cytopenia([], [lab("a", "platelets", lln["platelets"] - 1), lab("b", "platelets", lln["platelets"]),
                           lab("c", "platelets", 74.0), lab("d", "platelets", 24.0), lab("e", "neutrophils", 0.49)])
    grades = {s: row_of(table, s, "neutropenia" if s == "e" else "thrombocytopenia")["lab_grade"] for s in "abcde"}
    assert grades == {"a": 1, "b": 0, "c": 2, "d": 4, "e": 4}


# --- ICANS ----------------------------------------------------------------------------------------------------

def test_icans_is_compared_by_cycle_on_age_and_the_immune_state_before_it():
    cycles = frame([cycle("a", 1, age_months_at_start=100), cycle("a", 2, age_months_at_start=102),
                    cycle("b", 1, age_months_at_start=150), cycle("c", 1, age_months_at_start=20),
                    cycle("d", 1, age_months_at_start=30), cycle("e", 1, age_months_at_start=5)], CYCLES)
    events = frame([ae("a", "icans", 3), ae("a", "icans", 0, cycle_no=2), ae("b", "icans", 1), ae("c", "icans", 0),
                    ae("d", "icans", 0), ae("e", "icans", None)], AE)  # e: not assessed, in neither group
    labs = frame([lab("a", "cd4_abs", 0.4, "baseline"), lab("a", "cd8_abs", 0.5, "baseline"),
                  lab("c", "cd4_pct", 30.0, "baseline"), lab("c", "cd8_pct", 20.0, "baseline"),
                  lab("c", "cd19_abs", None, "baseline", below_lod=True)], LABS)
    con = database(cycles, events, labs)
    table, tests = safety_icans.icans_comparison(con, safety_icans.create_icans_cycles(con, safety_table3.CYCLE_GRADES))
    ages = {row["group"]: row for row in table.filter(pl.col("factor") == "age_months").iter_rows(named=True)}
    assert fields(ages["icans"], "median", "min", "max", "n") == (125.0, 100.0, 150.0, 2)
    assert fields(ages["no_icans"], "median", "max", "patients") == (30.0, 102.0, 3)
    ratio = dict(table.filter(pl.col("factor") == "cd4_cd8_ratio").select("group", "median").rows())
    assert ratio == {"icans": 0.8, "no_icans": 1.5}  # counts when delivered, else percentages
    assert table.filter((pl.col("factor") == "cd19_abs") & (pl.col("group") == "no_icans"))["median"].item() == 0.0
    age_test = tests.filter(pl.col("test_id") == "safety.icans_age").row(0, named=True)
    assert (age_test["test"], age_test["n"], age_test["groups"]) == ("mann_whitney", 5, "icans vs no_icans")
    # W = U of the ICANS cycles: 100 and 150 beat 20, 30 and 102 five times of six; exact P = 4 / 10 tables
    assert age_test["statistic"] == 5.0 and age_test["p_value"] == pytest.approx(0.4)


# --- onset ----------------------------------------------------------------------------------------------------

def test_onset_day_and_the_dose_running_that_day():
    step_up = {"dose_start": 5.0, "dose_target": 15.0, "step_up_date": day(8)}
    cycles = frame([cycle("a", **step_up), cycle("b", **step_up), cycle("c", 2, dose_start=15.0),
                    cycle("d", dose_start=5.0, dose_target=15.0), cycle("e", **step_up)], CYCLES)
    c_start = cycles.filter(pl.col("subject_id") == "c")["start_date"].item()
    events = frame([ae("a", "crs", 1, onset=2), ae("b", "crs", 2, onset=8), ae("a", "icans", 3, onset=7),
                    {**ae("c", "icans", 1, cycle_no=2), "onset_date": c_start + dt.timedelta(days=3)},
                    ae("d", "crs", 1, onset=3), ae("e", "crs", 1)], AE)
    con = database(cycles, events)
    events_table = safety_onset.create_onset_events(con, safety_table3.CYCLE_GRADES)
    onset = table(con, events_table)
    steps = {(subject_id, term): (day_, step)
             for subject_id, term, day_, step in onset.select("subject_id", "term", "onset_day", "dose_step").rows()}
    assert steps == {("a", "crs"): (2, "5"), ("b", "crs"): (8, "15"), ("a", "icans"): (7, "5"),
                     ("c", "icans"): (4, "15"), ("d", "crs"): (3, "unknown"), ("e", "crs"): (None, None)}
    summary = {(row["term"], row["dose_step"]): row
               for row in safety_onset.onset_summary(con, events_table).iter_rows(named=True)}
    crs = summary[("crs", "all")]
    assert fields(crs, "events", "median_day", "min_day", "max_day", "without_onset") == (4, 3.0, 2.0, 8.0, 1)
    assert summary[("icans", "5")]["events"] == 1 and summary[("crs", "unknown")]["events"] == 1


# --- end to end: the demo warehouse (conftest.demo_warehouse) ------------------------------------------------

def query(database: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return pl.DataFrame(con.sql(sql))


def test_every_safety_reference_row_reproduces_on_the_demo_cohort(demo_warehouse):
    rows = query(demo_warehouse, """SELECT * FROM marts.paper_reproduction
                                    WHERE id LIKE 'table3.%' OR id LIKE 'safety.%'""")
    reference = pl.read_csv(REFERENCE, infer_schema=False).filter(
        pl.col("id").str.starts_with("table3.") | pl.col("id").str.starts_with("safety."))
    assert rows.height == reference.height
    assert rows.filter(pl.col("passed").not_()).select("id", "group", "statistic", "published_value",
                                                       "computed_value").rows() == []


def test_age_at_cycle_start_is_the_patients_age_at_cycle_1(demo_warehouse):
    mismatched = query(demo_warehouse, """
        SELECT c.subject_id FROM core.cycles c JOIN core.patients p USING (subject_id)
        WHERE c.cycle_no = 1 AND c.age_months_at_start IS DISTINCT FROM p.age_months""")
    assert mismatched.height == 0
    later = query(demo_warehouse, "SELECT count(*) FROM core.cycles WHERE cycle_no > 1 AND age_months_at_start IS NULL")
    assert later.item() == 0


def test_demo_grade_discrepancies_are_the_planted_ones(demo_warehouse):
    from demo_cohort.labs import N_CBC_DISCREPANCIES

    if not query(demo_warehouse, "SELECT count(*) FROM core.labs WHERE analyte = 'neutrophils'").item():
        pytest.skip("the demo extracts carry no blood counts yet")
    flagged = query(demo_warehouse, "SELECT term, discrepancy FROM marts.safety_grade_discrepancies")
    # the demo plants grades two steps off the counts, per term; every other cycle agrees
    assert sorted(flagged.rows()) == sorted([(term, "grade_differs") for term in ("neutropenia", "thrombocytopenia")]
                                            * N_CBC_DISCREPANCIES)


def test_safety_marts_are_written_and_described(demo_warehouse):
    undocumented = query(demo_warehouse, """
        SELECT table_name, column_name FROM duckdb_columns()
        WHERE schema_name = 'marts' AND table_name LIKE 'safety_%' AND (comment IS NULL OR comment = '')""")
    assert undocumented.rows() == []
    tables = query(demo_warehouse, "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'safety_%'")
    assert set(tables["table_name"]) == {"safety_adverse_events", "safety_cytopenia_grades",
                                         "safety_grade_discrepancies", "safety_icans", "safety_onset"}
    tests = query(demo_warehouse, "SELECT test_id FROM marts.statistical_tests WHERE mart = 'safety'")
    assert {"table3.crs", "table3.icans", "table3.infection", "table3.neutropenia", "table3.thrombocytopenia",
            "safety.icans_age"} <= set(tests["test_id"])


def test_published_values_read_the_marts_written_from_core():
    cycles, events = paper_table3()
    con = database(cycles.with_columns(age_months_at_start=pl.lit(60)), events)
    marts = safety_marts(con)
    for name, mart in marts.tables.items():
        shared.write_mart(con, name, mart, *TABLES[name][:2])
    values = published_values(con)
    denominators = dict(values.filter(pl.col("statistic") == "denominator").select("id", "computed_value").rows())
    assert denominators == {"table3.neutropenia": 120.0, "table3.thrombocytopenia": 121.0}
    assert con.sql(marts.queries["safety_grade_discrepancies"]).fetchall() == []


def test_table3_figure_is_a_deterministic_png():
    from assets.marts.safety_plots import table3_figure

    cycles, events = paper_table3()
    counts = reported_counts(database(cycles, events))
    png = table3_figure(counts)
    assert png.startswith(b"\x89PNG") and png == table3_figure(counts)
