"""The reproduction table and its check: every reference row, computed value beside it, match rules applied."""

import dagster as dg
import polars as pl
import pytest

import assets.marts
from assets.marts import paper_reproduction as pr
from assets.marts import shared
from tests.marts.core_db import core_database

REFERENCE = pl.DataFrame(
    [("cohort.patients", None, "n", "105", "exact", None),
     ("response.rr.cr", "rr", "pct", "81.8", "pct1", None),
     ("table1.sex", None, "p_value", "0.317", "p3", "Fisher exact 2x2"),
     ("table2.cox.mrd_level", None, "p_value", "0.014", "sig", None),
     ("table1.bm_blasts_pct", "rr_mrdpos", "median", "2", "inconsistent", "contradicts Table 2"),
     ("immune.cd3_abs", "all", "pre_median", "0.96", "dp2", None),
     ("survival.os_cr_mrdneg", None, "p_value", "1.0", "p3", None)],
    schema=["id", "group", "statistic", "value", "match", "note"], orient="row",
)


def computed(rows) -> pl.DataFrame:
    return shared.published_frame(rows).with_columns(mart=pl.lit("a_mart"))


def published_tests() -> pl.DataFrame:
    defined = "{}"
    return pl.DataFrame({"test_id": ["table1.sex", "table2.cox.mrd_level", "unpublished.test", "survival.os_cr_mrdneg"],
                         "p_value": [0.31735, 0.75, 0.5, None], "mart": ["cohort", "cox", "cox", "survival"],
                         "extras": [defined, defined, defined,
                                    '{"defined": false, "reason": "no event in any group"}']})


def test_each_reference_row_gets_its_value_and_verdict():
    table = pr.reproduction(REFERENCE, computed([
        ("cohort.patients", None, "n", 105.0), ("response.rr.cr", "rr", "pct", 81.818),
        ("table1.bm_blasts_pct", "rr_mrdpos", "median", 0.0), ("not.in.reference", None, "n", 1.0),
    ]), published_tests())
    rows = {row["id"]: row for row in table.iter_rows(named=True)}
    assert table.height == REFERENCE.height and table.columns == list(pr.SCHEMA)
    assert rows["cohort.patients"]["passed"] and rows["response.rr.cr"]["passed"]
    assert rows["table1.sex"]["passed"] and rows["table1.sex"]["mart"] == "cohort"
    # sig: the P-value must fall on the published side of 0.05; 0.75 does not, nor is it 0.014 when printed so.
    assert rows["table2.cox.mrd_level"]["passed"] is False and rows["table2.cox.mrd_level"]["computed_value"] == 0.75
    assert rows["table2.cox.mrd_level"]["passed_p3"] is False and rows["table1.sex"]["passed_p3"] is None
    assert rows["table1.bm_blasts_pct"]["passed"] is None
    assert rows["table1.bm_blasts_pct"]["note"].startswith("not a target (inconsistent)")
    assert rows["table1.bm_blasts_pct"]["note"].endswith("contradicts Table 2")
    assert rows["immune.cd3_abs"]["passed"] is False and rows["immune.cd3_abs"]["note"] == "not computed by any mart"
    # No P (NULL in the mart): compared as the paper prints it, 1.0, and the note says so.
    undefined = rows["survival.os_cr_mrdneg"]
    assert (undefined["computed_value"], undefined["passed"]) == (1.0, True)
    assert undefined["note"].startswith("P undefined (no event in any group): NULL in marts.statistical_tests")


def test_a_sig_row_shows_whether_it_also_holds_at_the_printed_precision():
    reference = pl.DataFrame([("t.near", None, "p_value", "0.054", "sig", None),
                              ("t.far", None, "p_value", "0.054", "sig", None),
                              ("t.bound", None, "p_value", "<0.0001", "sig", None)],
                             schema=REFERENCE.schema, orient="row")
    tests = pl.DataFrame({"test_id": ["t.near", "t.far", "t.bound"], "p_value": [0.0541, 0.795, 0.00001],
                          "mart": ["m"] * 3, "extras": ["{}"] * 3})
    table = pr.reproduction(reference, computed([]), tests)
    assert table.select("id", "passed", "passed_p3").rows() == [
        ("t.near", True, True), ("t.far", True, False), ("t.bound", True, True)]


def test_two_marts_computing_the_same_row_is_an_error():
    twice = computed([("cohort.patients", None, "n", 105.0), ("cohort.patients", None, "n", 104.0)])
    with pytest.raises(ValueError, match="several marts"):
        pr.reproduction(REFERENCE, twice, published_tests())


def test_sources_read_the_marts_through_the_connection():
    con = core_database(patients=pl.DataFrame({"subject_id": ["a", "b"], "study": ["multicenter"] * 2}))
    shared.write_mart(con, "counts", pl.DataFrame({"patients": [105]}), "A mart.", {"patients": "Patients."})

    def published_values(con):
        [(patients,)] = con.execute("SELECT patients FROM marts.counts").fetchall()
        return shared.published_frame([("cohort.patients", None, "n", patients)])

    def counting_core(con):
        [(patients,)] = con.execute(f"SELECT count(*) FROM core.patients WHERE {shared.IN_STUDY_SQL}",
                                    {"study": shared.MULTICENTER}).fetchall()
        return shared.published_frame([("cohort.centers", None, "n", patients)])

    def broken(con):
        raise ZeroDivisionError("division by zero")

    values, errors = pr.computed_values(con, {"cohort": published_values, "counts": counting_core,
                                              "immune": broken})
    assert values.rows() == [("cohort.patients", None, "n", 105.0, "cohort"),
                             ("cohort.centers", None, "n", 2.0, "counts")]
    assert errors == {"immune": "ZeroDivisionError: division by zero"}


def test_every_mart_module_with_published_values_is_a_source():
    assert {"cohort_characteristics", "response_rates", "risk_factors", "survival"} <= set(pr.published_sources())
    # The marts as orchestration/definitions.py finds them: the reproduction reads every one of them.
    marts = dg.load_assets_from_package_module(assets.marts)
    keys = {key.to_user_string() for key in pr.paper_reproduction_asset(marts).dependency_keys}
    assert {"seeds/published_results", "marts/cox_models", "marts/risk_factors", "marts/cohort_counts",
            "marts/survival_summary", "marts/survival_events"} <= keys
    assert keys == {"seeds/published_results", *(key.to_user_string() for asset in marts for key in asset.keys)}


def test_the_check_warns_and_lists_the_failures():
    table = pr.reproduction(REFERENCE, computed([("cohort.patients", None, "n", 105.0)]), published_tests())
    result = pr.check_result(table)
    assert result.severity == dg.AssetCheckSeverity.WARN and not result.passed
    assert result.metadata["failed"].value == 3 and result.metadata["not_targets"].value == 1
    assert "immune.cd3_abs" in result.metadata["failures"].value
    complete = table.filter(pl.col("passed").is_null() | pl.col("passed"))
    assert pr.check_result(complete).passed
