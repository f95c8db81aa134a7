"""Table 1 and the cohort's counts, on cohorts built from the paper's published counts, computed by the marts'
SQL on an in-memory DuckDB."""

import polars as pl
import pytest

from assets.marts import cohort_characteristics as cc
from assets.marts import shared
from assets.marts.first_cycle import create_first_cycles
from tests.marts.core_db import core_database
from tests.marts.core_frames import counts_cohort, cycle, cycles, patient, patients


def first_cycles_of(people: pl.DataFrame, given: pl.DataFrame):
    """A DuckDB with core.patients and core.cycles, first_cycle's relation created on it."""
    con = core_database(patients=people, cycles=given)
    create_first_cycles(con)
    return con


@pytest.fixture(scope="module")
def table1_cohort():
    """Table 1's sex and ETV6-RUNX1 counts: R/R + CR-MRDpos 34 M / 17 F (5 ETV6-RUNX1), CR-MRDneg 30 / 24 (16)."""
    return first_cycles_of(*counts_cohort({
        "rr": [(5, {"sex": "M", "lesion": "etv6_runx1", "age_months": 40})],
        "cr_mrdpos": [(29, {"sex": "M", "age_months": 50}), (17, {"sex": "F", "age_months": 200})],
        "cr_mrdneg": [(16, {"sex": "M", "lesion": "etv6_runx1", "age_months": 70}),
                      (14, {"sex": "M", "age_months": 80}), (24, {"sex": "F", "age_months": 90})],
    }))


def test_table1_p_values_reproduce_the_paper_from_its_counts(table1_cohort):
    p_values = dict(cc.table1_tests(table1_cohort).select("test_id", "p_value").iter_rows())
    assert round(p_values["table1.sex"], 3) == 0.317
    assert round(p_values["table1.etv6_runx1"], 3) == 0.014
    # No TCF3-HLF in either group: nothing to test, no row (not a P of 1).
    assert "table1.tcf3_hlf" not in p_values


def test_table1_counts_percentages_and_medians_by_group(table1_cohort):
    table = cc.table1(table1_cohort, cc.table1_tests(table1_cohort))
    row = table.filter((pl.col("factor") == "sex") & (pl.col("level") == "female") & (pl.col("group") == "rr_mrdpos"))
    assert row.select("n", "k", "p_value").row(0)[:2] == (51, 17) and row["pct"][0] == pytest.approx(100 / 3)
    assert row["test_id"][0] == "table1.sex"
    ages = table.filter(pl.col("factor") == "age_months").select("group", "median", "min", "max").rows()
    assert ages == [("all", 80.0, 40.0, 200.0), ("rr_mrdpos", 50.0, 40.0, 200.0), ("mrdneg", 80.0, 70.0, 90.0)]
    sizes = table.filter(pl.col("factor") == "patients").select("group", "n").rows()
    assert sizes == [("all", 105), ("rr_mrdpos", 51), ("mrdneg", 54)]
    # Marrow before cycle 1 describes the 51 only.
    assert table.filter(pl.col("factor") == "mrd_pct")["group"].to_list() == ["rr_mrdpos"]


def test_unknown_status_and_cytogenetics_are_counted_not_compared():
    people = patients([patient("a", "rr", lesion="bcr_abl1"), patient("b", "cr_mrdneg"),
                       patient("c", None), patient("d", "cr_mrdneg", bcr_abl1=None)])
    con = first_cycles_of(people, cycles([cycle(s) for s in "abcd"]))
    table = cc.table1(con, cc.table1_tests(con))
    bcr = table.filter(pl.col("factor") == "bcr_abl1").select("group", "n", "k", "n_missing").rows()
    assert bcr == [("all", 3, 1, 1), ("rr_mrdpos", 1, 1, 0), ("mrdneg", 1, 0, 1)]


def test_cohort_counts_follow_indication_to_status_at_cycle_one():
    people = patients([
        patient("direct", "rr", indication="relapse", indication_group="rr"),
        patient("failed", "rr", indication="induction_failure", indication_group="rr"),
        patient("to_pos", "cr_mrdpos", indication="relapse", indication_group="rr"),
        patient("delay_pos", "cr_mrdpos", indication="chemo_delay", indication_group="cr_mrdpos"),
        patient("delay_neg", "cr_mrdneg", indication="chemo_delay", indication_group="cr_mrdneg"),
    ])
    bridged = {"failed", "to_pos"}
    given = cycles([cycle(s, bridging_chemo=s in bridged) for s in people["subject_id"]]
                   + [cycle("delay_neg", 2, table3_group="mrdneg")])
    counts = {(row["measure"], row["group"]): row["value"]
              for row in cc.cohort_counts(first_cycles_of(people, given)).iter_rows(named=True)}
    assert counts[("indication.rr", None)] == 3
    assert counts[("indication.rr_direct_reinduction", None)] == 1
    assert counts[("indication.rr_bridged", None)] == 2
    assert counts[("indication.rr_bridging_failed", None)] == 1
    assert counts[("indication.rr_bridged_to_mrdpos", None)] == 1
    assert counts[("indication.chemo_delay_mrdpos", None)] == 1
    assert counts[("cycle1_status.rr", None)] == 2
    assert counts[("cycle1_status.mrdneg_cycles", None)] == 1
    assert counts[("cohort.cycles", None)] == 6


def test_published_values_read_the_marts_and_name_reference_rows(table1_cohort):
    tests = cc.table1_tests(table1_cohort)
    shared.write_mart(table1_cohort, cc.MART, cc.table1(table1_cohort, tests), cc.DESCRIPTION, cc.COLUMNS)
    shared.write_mart(table1_cohort, cc.COUNTS_MART, cc.cohort_counts(table1_cohort), cc.COUNTS_DESCRIPTION,
                      cc.COUNTS_COLUMNS)
    values = cc.published_values(table1_cohort)
    assert values.filter(pl.struct("id", "group", "statistic").is_duplicated()).height == 0
    lookup = {(r["id"], r["group"], r["statistic"]): r["computed_value"] for r in values.iter_rows(named=True)}
    assert lookup[("table1.sex", "rr_mrdpos", "male")] == 34
    assert lookup[("table1.etv6_runx1", "all", "n")] == 21
    assert lookup[("table1.n", "mrdneg", "n")] == 54
    assert lookup[("cohort.patients", None, "n")] == 105
