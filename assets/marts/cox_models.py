"""marts.cox_models: multivariable Cox proportional-hazards models of treatment failure and of EFS among the
51 patients R/R or CR-MRDpos at cycle 1, on MRD level, BCR-ABL1 and poor cytogenetics (the paper's
"independent risk factors"; its model details are unpublished, so the definitions below are this warehouse's
choice, documented in docs/marts.md, Cox models).

* treatment_failure: time from the first infusion; event = no response to cycle 1, at its end-of-cycle
  assessment (else its last infusion day, as core.time_to_event dates it); responders never fail and are
  censored at their last contact, so that they stay in every risk set of a failure.
* efs: core.time_to_event's EFS (relapse, second cancer, no response to cycle 1, death; censored at the last
  contact), from the origin its dbt vars set.

Covariates: `mrd_level` = log10 of the flow MRD % before cycle 1 (hazard ratio per tenfold MRD), `bcr_abl1`
and `poor_cytogenetics` (0/1). Patients missing any value are left out and counted (`n_excluded`). DuckDB
derives the times and covariates; Python receives only a model's columns (model_data) to fit it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
import numpy as np
import polars as pl

from assets.marts import shared
from assets.marts.first_cycle import FIRST_CYCLES, create_first_cycles
from assets.marts.stats import CoxResult, StatResult, cox_ph, undefined
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    import duckdb

MART = "cox_models"
COVARIATES = ("mrd_level", "bcr_abl1", "poor_cytogenetics")
MODELS = {
    "treatment_failure": "No response to cycle 1 (NR at its end-of-cycle assessment); responders censored at "
                         "their last contact",
    "efs": "Event-free survival (core.time_to_event, endpoint efs)",
}
# The test ids of the published P-values (treatment failure); the other model's are cox.<model>.<term>.
PUBLISHED_MODEL = "treatment_failure"

SCHEMA = {
    "model": pl.Utf8, "term": pl.Utf8, "coef": pl.Float64, "hr": pl.Float64, "se": pl.Float64, "z": pl.Float64,
    "p_value": pl.Float64, "hr_lower": pl.Float64, "hr_upper": pl.Float64, "ph_chisq": pl.Float64,
    "ph_p_value": pl.Float64, "n": pl.Int64, "events": pl.Int64, "n_excluded": pl.Int64,
    "concordance": pl.Float64, "lr_chisq": pl.Float64, "lr_p_value": pl.Float64, "ph_global_p_value": pl.Float64,
    "note": pl.Utf8,
}
DESCRIPTION = (
    "Multivariable Cox models (Efron ties) among the patients R/R or CR-MRDpos at cycle 1: treatment failure "
    "(no response to cycle 1) and EFS, on log10 MRD before cycle 1, BCR-ABL1 and poor cytogenetics. One row "
    "per model and covariate, with the model's size, concordance, likelihood-ratio test and proportional-"
    "hazards test (R's cox.zph, km transform). Event and censoring definitions: docs/marts.md."
)
COLUMNS = {
    "model": "treatment_failure or efs (definitions in docs/marts.md).",
    "term": "mrd_level (log10 MRD % before cycle 1), bcr_abl1 or poor_cytogenetics (0/1).",
    "coef": "Log hazard ratio.",
    "hr": "Hazard ratio (per tenfold MRD for mrd_level).",
    "se": "Standard error of coef.",
    "z": "Wald z = coef / se.",
    "p_value": "Wald P-value (two-sided).",
    "hr_lower": "Lower 95 % confidence limit of the hazard ratio.",
    "hr_upper": "Upper 95 % confidence limit of the hazard ratio.",
    "ph_chisq": "Proportional-hazards test of this covariate: chi-square on 1 df (cox.zph, km transform).",
    "ph_p_value": "Its P-value (small: the hazard ratio changes over time).",
    "n": "Patients in the model.",
    "events": "Events in the model.",
    "n_excluded": "Patients of the population left out for a missing time, event or covariate.",
    "concordance": "Harrell's C of the model.",
    "lr_chisq": "Likelihood-ratio chi-square of the model against no covariates.",
    "lr_p_value": "Its P-value.",
    "ph_global_p_value": "Global proportional-hazards test P-value.",
    "note": "NULL for a fitted coefficient. Otherwise why a value is missing or not to be trusted: a model the "
            "data cannot estimate (one row, term NULL), a covariate R would report as NA (no variation, or a "
            "linear combination of the others), a coefficient that may be infinite (monotone likelihood, as R "
            "warns), or a proportional-hazards test that cannot be computed.",
}
# The preview's order (shared.table_metadata): as written, model by model, each model's terms in its formula's order.
ORDER = shared.AS_WRITTEN


# The 51 (R/R or CR-MRDpos at cycle 1) of first_cycle's relation: subject_id and the COVARIATES as doubles
# (NULL when unknown; an MRD of 0 has no log and is unknown here).
COVARIATES_SQL = f"""
    SELECT subject_id,
           CASE WHEN pre_mrd_pct > 0 THEN log10(pre_mrd_pct) END AS mrd_level,
           CAST(bcr_abl1 AS DOUBLE) AS bcr_abl1,
           CAST(poor_cytogenetics AS DOUBLE) AS poor_cytogenetics
    FROM {FIRST_CYCLES}
    WHERE table1_group = 'rr_mrdpos'
"""
# model -> subject_id, time_days, event of its patients. Treatment failure: NR to cycle 1 at its assessment
# (event 1), else censored at the last contact (event 0); NULL time when the date needed is unknown.
TIMES_SQL = {
    "treatment_failure": f"""
        WITH last_contact AS (
            SELECT subject_id, max(event_date) AS last_contact
            FROM core.events WHERE event_type = 'last_contact' GROUP BY subject_id
        )
        SELECT subject_id,
               date_diff('day', first_infusion_date,
                         CASE WHEN response = 'nr' THEN coalesce(response_date, end_date) ELSE last_contact END)
                   AS time_days,
               CASE WHEN response IS NOT NULL THEN CAST(response = 'nr' AS INTEGER) END AS event
        FROM {FIRST_CYCLES} LEFT JOIN last_contact USING (subject_id)
        WHERE table1_group = 'rr_mrdpos'
    """,
    "efs": "SELECT subject_id, time_days, event FROM core.time_to_event WHERE endpoint = 'efs'",
}


def model_data(con: duckdb.DuckDBPyConnection, model: str) -> pl.DataFrame:
    """The columns `model` uses, time_days, event and the COVARIATES, one row per patient of the 51 in
    subject_id order: all Python sees of the patients."""
    return pl.DataFrame(con.sql(f"""
        SELECT CAST(time_days AS DOUBLE) AS time_days, event, {", ".join(COVARIATES)}
        FROM ({COVARIATES_SQL}) LEFT JOIN ({TIMES_SQL[model]}) USING (subject_id)
        ORDER BY subject_id
    """))


def fit_model(model: str, data: pl.DataFrame) -> tuple[pl.DataFrame, list[dict]]:
    """One model on model_data's columns: its SCHEMA rows and its marts.statistical_tests rows (Wald per
    covariate, likelihood ratio, global proportional hazards). Rows missing a value are left out, counted."""
    complete = data.drop_nulls(["time_days", "event", *COVARIATES])
    try:
        fit = cox_ph(complete, "time_days", "event", COVARIATES)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as error:  # lifelines' ConvergenceError is a ValueError
        # A small or degenerate delivery (no events, a constant covariate) must not stop the other marts.
        row = {"model": model, "n": complete.height, "events": int(complete["event"].sum() or 0),
               "n_excluded": data.height - complete.height, "note": f"not estimable: {error}".splitlines()[0]}
        return pl.DataFrame([row], schema=SCHEMA), []
    ph = ({} if fit.proportional_hazards is None else
          dict(zip(fit.proportional_hazards["term"], fit.proportional_hazards.iter_rows(named=True))))
    model_columns = {
        "model": model, "n": fit.n, "events": fit.events, "n_excluded": data.height - complete.height,
        "concordance": fit.concordance, "lr_chisq": fit.likelihood_ratio.statistic,
        "lr_p_value": fit.likelihood_ratio.p_value, "ph_global_p_value": ph.get("GLOBAL", {}).get("p_value"),
    }
    rows = [
        {**model_columns, **term, "ph_chisq": ph.get(term["term"], {}).get("statistic"),
         "ph_p_value": ph.get(term["term"], {}).get("p_value"), "note": _note(fit, term)}
        for term in fit.coefficients.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=SCHEMA), _tests(model, fit, rows)


def _note(fit: CoxResult, term: dict) -> str | None:
    notes = [term["note"]] if term["note"] else []
    if term["term"] in fit.monotone_likelihood:
        notes.append("coefficient may be infinite (monotone likelihood: R warns 'Loglik converged before "
                     "variable')")
    if fit.ph_note and not term["note"]:
        notes.append(f"proportional-hazards test {fit.ph_note}")
    return "; ".join(notes) or None


def _tests(model: str, fit: CoxResult, rows: list[dict]) -> list[dict]:
    prefix = "table2.cox" if model == PUBLISHED_MODEL else f"cox.{model}"
    description = f"Cox model {model}: {MODELS[model]}; covariates {', '.join(COVARIATES)}"
    wald_method = "Wald z test of the coefficient in a multivariable Cox model (Efron ties)"
    wald = [
        shared.test_row(f"{prefix}.{row['term']}", MART, f"{description}: {row['term']}", (), StatResult(
            test="cox_ph", method=wald_method,
            statistic=row["z"], p_value=row["p_value"], n=fit.n, estimate=row["hr"], ci_lower=row["hr_lower"],
            ci_upper=row["hr_upper"], extras={"events": fit.events, "coef": row["coef"], "se": row["se"],
                                              "converged": fit.converged,
                                              "monotone_likelihood": row["term"] in fit.monotone_likelihood},
        ) if row["coef"] is not None
        else undefined("cox_ph", wald_method, fit.n, row["note"], extras={"events": fit.events}))
        for row in rows
    ]
    ph_method = "Score test of x * g(t), g = 1 - KM(t-) (R's cox.zph, transform km), global"
    if fit.proportional_hazards is None:
        proportional = undefined("cox_zph", ph_method, fit.n, fit.ph_note, extras={"events": fit.events})
    else:
        global_ph = fit.proportional_hazards.filter(pl.col("term") == "GLOBAL").row(0, named=True)
        proportional = StatResult(test="cox_zph", method=ph_method, statistic=global_ph["statistic"],
                                  p_value=global_ph["p_value"], n=fit.n, df=float(global_ph["df"]),
                                  extras={"events": fit.events})
    return [
        *wald,
        shared.test_row(f"cox.{model}.likelihood_ratio", MART, f"{description}: all covariates vs none", (),
                        fit.likelihood_ratio),
        shared.test_row(f"cox.{model}.proportional_hazards", MART, f"{description}: proportional hazards", (),
                        proportional),
    ]


def cox_models(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both MODELS on first_cycle's relation: the mart (SCHEMA) and their marts.statistical_tests rows."""
    fitted = [fit_model(model, model_data(con, model)) for model in MODELS]
    return pl.concat([table for table, _ in fitted]), shared.tests_frame(row for _, rows in fitted for row in rows)


@shared.mart_asset(MART, DESCRIPTION, ("patients", "cycles", "events", "time_to_event"))
def cox_models_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        create_first_cycles(con)
        table, tests = cox_models(con)
        shared.write_mart(con, MART, table, DESCRIPTION, COLUMNS)
        shared.replace_tests(con, MART, tests)
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{MART}", ORDER, tests=tests.height)
    return dg.MaterializeResult(metadata=metadata)
