"""Cox models: event and censoring definitions by the marts' SQL on small core tables in DuckDB, the fit against
R's coxph on a classic dataset."""

import json
from pathlib import Path

import polars as pl
import pytest

from assets.marts import cox_models as cm
from assets.marts.first_cycle import create_first_cycles
from tests.marts.core_db import core_database
from tests.marts.core_frames import cycle, cycles, event, events, patient, patients

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def rows_of(con, sql: str) -> dict:
    return {row["subject_id"]: row for row in pl.DataFrame(con.sql(sql)).iter_rows(named=True)}


def test_covariates_are_log_mrd_and_flags_of_the_51():
    people = patients([patient("pos", "cr_mrdpos", lesion="bcr_abl1"), patient("rr", "rr", lesion="kmt2ar"),
                       patient("neg", "cr_mrdneg"), patient("zero", "cr_mrdpos")])
    given = cycles([cycle("pos", pre_mrd_pct=0.1), cycle("rr", pre_mrd_pct=10.0), cycle("neg"),
                    cycle("zero", pre_mrd_pct=0.0)])
    con = core_database(patients=people, cycles=given)
    create_first_cycles(con)
    rows = rows_of(con, cm.COVARIATES_SQL)
    assert set(rows) == {"pos", "rr", "zero"}  # CR-MRDneg patients are not in the models
    assert rows["pos"]["mrd_level"] == pytest.approx(-1) and rows["rr"]["mrd_level"] == pytest.approx(1)
    assert (rows["pos"]["bcr_abl1"], rows["pos"]["poor_cytogenetics"]) == (1.0, 1.0)
    assert (rows["rr"]["bcr_abl1"], rows["rr"]["poor_cytogenetics"]) == (0.0, 1.0)
    assert rows["zero"]["mrd_level"] is None  # no log of 0: unknown, left out and counted


def test_treatment_failure_is_the_nr_assessment_responders_censored_at_last_contact():
    people = patients([patient(s, "cr_mrdpos") for s in ("nr", "cr", "nr_undated", "unknown")])
    given = cycles([cycle("nr", response="nr"), cycle("cr"), cycle("nr_undated", response="nr", response_date=None),
                    cycle("unknown", response=None)])
    followed = events([event("cr", "last_contact", 500), event("nr", "last_contact", 700)])
    con = core_database(patients=people, cycles=given, events=followed)
    create_first_cycles(con)
    rows = {subject: (row["time_days"], row["event"])
            for subject, row in rows_of(con, cm.TIMES_SQL["treatment_failure"]).items()}
    # cycle 1 runs days 0-13, assessed on day 14; without an assessment date, its last day dates the failure
    assert rows == {"nr": (14, 1), "cr": (500, 0), "nr_undated": (13, 1), "unknown": (None, None)}


@pytest.fixture(scope="module")
def ovarian() -> pl.DataFrame:
    """R's ovarian data with age, rx and ecog.ps in the mart's covariate slots, plus a patient without
    covariates: a model's columns (cm.model_data)."""
    data = pl.read_csv(REFERENCE / "ovarian.csv").select(
        time_days="time", event="event", mrd_level="age", bcr_abl1="rx", poor_cytogenetics="ecog.ps")
    return pl.concat([data, pl.DataFrame({"time_days": [100.0], "event": [1]})], how="diagonal_relaxed")


def test_fit_reproduces_r_coxph_and_cox_zph(ovarian):
    """R's coxph(Surv(time, event) ~ age + rx + ecog.ps) on ovarian: the mart's rows carry R's numbers."""
    r = json.loads((REFERENCE / "ovarian.cox.json").read_text())
    table, tests = cm.fit_model("treatment_failure", ovarian)
    for row, expected in zip(table.iter_rows(named=True), r["coefficients"]):
        assert row["hr"] == pytest.approx(expected["hr"], rel=1e-6)
        assert row["p_value"] == pytest.approx(expected["p"], rel=1e-6)
        assert row["hr_lower"] == pytest.approx(expected["hr_lower"], rel=1e-6)
    zph = {row["term"]: row for row in r["cox_zph_km"]}
    assert table["ph_chisq"].to_list() == pytest.approx([zph[t]["chisq"] for t in ("age", "rx", "ecog.ps")], rel=1e-6)
    first = table.row(0, named=True)
    assert (first["n"], first["events"], first["n_excluded"]) == (r["n"], r["events"], 1)
    assert first["concordance"] == pytest.approx(r["concordance"]["c"], rel=1e-6)
    assert first["lr_p_value"] == pytest.approx(r["tests"]["likelihood_ratio"]["p"], rel=1e-6)
    assert first["ph_global_p_value"] == pytest.approx(zph["GLOBAL"]["p"], rel=1e-6)
    by_id = {row["test_id"]: row for row in tests}
    # The treatment-failure model carries the published P-values' ids.
    assert by_id["table2.cox.mrd_level"]["p_value"] == pytest.approx(r["coefficients"][0]["p"], rel=1e-6)
    assert {"cox.treatment_failure.likelihood_ratio", "cox.treatment_failure.proportional_hazards"} <= set(by_id)


def test_other_models_have_their_own_test_ids(ovarian):
    table, tests = cm.fit_model("efs", ovarian)
    assert table["model"].unique().to_list() == ["efs"]
    assert {row["test_id"] for row in tests} == {
        "cox.efs.mrd_level", "cox.efs.bcr_abl1", "cox.efs.poor_cytogenetics", "cox.efs.likelihood_ratio",
        "cox.efs.proportional_hazards"}
    assert all(row["mart"] == cm.MART for row in tests)


def test_a_model_the_data_cannot_estimate_is_reported_not_raised():
    # Every covariate constant and no event: a small or degenerate delivery must not stop the other marts.
    data = pl.DataFrame({"time_days": [10.0, 20.0, 30.0], "event": [0, 0, 0], "mrd_level": [0.0] * 3,
                         "bcr_abl1": [0] * 3, "poor_cytogenetics": [0] * 3})
    table, tests = cm.fit_model("efs", data)
    assert tests == []
    [row] = table.iter_rows(named=True)
    assert (row["model"], row["n"], row["events"], row["term"]) == ("efs", 3, 0, None)
    assert row["note"].startswith("not estimable")


def test_a_model_gets_only_its_columns_of_the_51_in_subject_order():
    people = patients([patient("b", "cr_mrdpos"), patient("a", "rr", lesion="bcr_abl1"), patient("neg", "cr_mrdneg")])
    given = cycles([cycle("b", pre_mrd_pct=1.0), cycle("a", response="nr", pre_mrd_pct=10.0), cycle("neg")])
    con = core_database(patients=people, cycles=given, events=events([event("b", "last_contact", 300)]))
    create_first_cycles(con)
    data = cm.model_data(con, "treatment_failure")
    assert data.columns == ["time_days", "event", *cm.COVARIATES]
    assert data.rows() == [(14.0, 1, 1.0, 1.0, 1.0), (300.0, 0, 0.0, 0.0, 0.0)]
