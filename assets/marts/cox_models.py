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
and `poor_cytogenetics` (0/1). Patients missing any value are left out and counted (`n_excluded`).
"""

from __future__ import annotations

import dagster as dg
import numpy as np
import polars as pl

from assets.landing.assets import POOL
from assets.marts import shared
from assets.marts.first_cycle import first_cycles
from assets.marts.stats import CoxResult, StatResult, cox_ph
from orchestration.incremental import skip_when_unchanged
from orchestration.resources import WarehouseResource

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
    "note": "NULL for a fitted model; why not, for a model the data cannot estimate (one row, term NULL).",
}


def covariates(patients: pl.DataFrame, cycles: pl.DataFrame) -> pl.DataFrame:
    """The 51 (R/R or CR-MRDpos at cycle 1) with cycle 1's facts and the COVARIATES as floats (NULL when
    unknown; an MRD of 0 has no log and is unknown here)."""
    return first_cycles(patients, cycles).filter(pl.col("table1_group") == "rr_mrdpos").with_columns(
        mrd_level=pl.when(pl.col("pre_mrd_pct") > 0).then(pl.col("pre_mrd_pct").log10()),
        bcr_abl1=pl.col("bcr_abl1").cast(pl.Float64),
        poor_cytogenetics=pl.col("poor_cytogenetics").cast(pl.Float64),
    )


def treatment_failure_times(population: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """subject_id, time_days, event: NR to cycle 1 at its assessment (event 1), else censored at the last
    contact (event 0). NULL time when the date needed is unknown."""
    last_contact = events.filter(pl.col("event_type") == "last_contact").group_by("subject_id").agg(
        last_contact=pl.col("event_date").max()
    )
    failed = pl.col("response") == "nr"
    return population.join(last_contact, on="subject_id", how="left", maintain_order="left").select(
        "subject_id",
        time_days=(pl.when(failed).then(pl.coalesce("response_date", "end_date")).otherwise("last_contact")
                   - pl.col("first_infusion_date")).dt.total_days(),
        event=pl.when(pl.col("response").is_not_null()).then(failed.cast(pl.Int64)),
    )


def efs_times(time_to_event: pl.DataFrame) -> pl.DataFrame:
    return time_to_event.filter(pl.col("endpoint") == "efs").select("subject_id", "time_days", "event")


def fit_model(model: str, population: pl.DataFrame, times: pl.DataFrame) -> tuple[pl.DataFrame, list[dict]]:
    """One model: its SCHEMA rows and its marts.statistical_tests rows (Wald per covariate, likelihood
    ratio, global proportional hazards)."""
    data = population.select("subject_id", *COVARIATES).join(times, on="subject_id", how="left",
                                                                maintain_order="left")
    complete = data.drop_nulls(["time_days", "event", *COVARIATES])
    try:
        fit = cox_ph(complete, "time_days", "event", COVARIATES)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as error:  # lifelines' ConvergenceError is a ValueError
        # A small or degenerate delivery (no events, a constant covariate) must not stop the other marts.
        row = {"model": model, "n": complete.height, "events": int(complete["event"].sum() or 0),
               "n_excluded": data.height - complete.height, "note": f"not estimable: {error}".splitlines()[0]}
        return pl.DataFrame([row], schema=SCHEMA), []
    ph = dict(zip(fit.proportional_hazards["term"], fit.proportional_hazards.iter_rows(named=True)))
    model_columns = {
        "model": model, "n": fit.n, "events": fit.events, "n_excluded": data.height - complete.height,
        "concordance": fit.concordance, "lr_chisq": fit.likelihood_ratio.statistic,
        "lr_p_value": fit.likelihood_ratio.p_value, "ph_global_p_value": ph["GLOBAL"]["p_value"],
    }
    rows = [
        {**model_columns, **term, "ph_chisq": ph[term["term"]]["statistic"], "ph_p_value": ph[term["term"]]["p_value"]}
        for term in fit.coefficients.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=SCHEMA), _tests(model, fit, rows)


def _tests(model: str, fit: CoxResult, rows: list[dict]) -> list[dict]:
    prefix = "table2.cox" if model == PUBLISHED_MODEL else f"cox.{model}"
    description = f"Cox model {model}: {MODELS[model]}; covariates {', '.join(COVARIATES)}"
    wald = [
        shared.test_row(f"{prefix}.{row['term']}", MART, f"{description}: {row['term']}", (), StatResult(
            test="cox_ph", method="Wald z test of the coefficient in a multivariable Cox model (Efron ties)",
            statistic=row["z"], p_value=row["p_value"], n=fit.n, estimate=row["hr"], ci_lower=row["hr_lower"],
            ci_upper=row["hr_upper"], extras={"events": fit.events, "coef": row["coef"], "se": row["se"]},
        ))
        for row in rows
    ]
    global_ph = fit.proportional_hazards.filter(pl.col("term") == "GLOBAL").row(0, named=True)
    proportional = StatResult(
        test="cox_zph", method="Score test of x * g(t), g = 1 - KM(t-) (R's cox.zph, transform km), global",
        statistic=global_ph["statistic"], p_value=global_ph["p_value"], n=fit.n, df=float(global_ph["df"]),
        extras={"events": fit.events},
    )
    return [
        *wald,
        shared.test_row(f"cox.{model}.likelihood_ratio", MART, f"{description}: all covariates vs none", (),
                        fit.likelihood_ratio),
        shared.test_row(f"cox.{model}.proportional_hazards", MART, f"{description}: proportional hazards", (),
                        proportional),
    ]


def cox_models(patients: pl.DataFrame, cycles: pl.DataFrame, events: pl.DataFrame,
               time_to_event: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both MODELS: the mart (SCHEMA) and their marts.statistical_tests rows."""
    population = covariates(patients, cycles)
    times = {"treatment_failure": treatment_failure_times(population, events), "efs": efs_times(time_to_event)}
    fitted = [fit_model(model, population, times[model]) for model in MODELS]
    return pl.concat([table for table, _ in fitted]), shared.tests_frame(row for _, rows in fitted for row in rows)


@dg.asset(
    key=[shared.SCHEMA, MART],
    group_name="marts",
    deps=[dg.AssetKey(["core", table]) for table in ("patients", "cycles", "events", "time_to_event")],
    kinds={"duckdb", "polars"},
    pool=POOL,
    description=DESCRIPTION,
)
@skip_when_unchanged("marts.cox_models", shared.MARTS_CODE)
def cox_models_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        core = shared.CoreFrames(con)
        table, tests = cox_models(core["patients"], core["cycles"], core["events"], core["time_to_event"])
        shared.write_mart(con, MART, table, DESCRIPTION, COLUMNS)
        shared.replace_tests(con, MART, tests)
    return dg.MaterializeResult(metadata=shared.mart_metadata(table, tests=tests.height))
