"""Cox proportional-hazards regression as R's `coxph(Surv(time, event) ~ ..., ties = "efron")`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from .concordance import concordance_index
from .cox_zph import cox_zph
from .efron import efron_terms
from .result import StatResult

# lifelines stops at a 1e-9 relative change of the log-likelihood, a few 1e-7 short of the optimum;
# Newton steps on the exact Efron score finish the job (R lands on the optimum to ~1e-14).
_FIT_OPTIONS = {"precision": 1e-12}
# lifelines' batch mode (one pass per distinct time) is the same Efron arithmetic as its single mode (one per
# subject); its guess of the faster one picks single past ~400,000 subjects, which costs 15x on times in whole
# days (~2,000 distinct): 7.8 s against 0.5 s for 452,000 subjects, equal estimates to 1e-13.
_BATCH_MODE = True
_POLISH_STEPS = 5
# A log-likelihood falling by less than this (relative) is rounding at the optimum, not a step overshooting.
_LOGLIK_NOISE = 1e-12
# lifelines' default Newton step first, then shorter ones (see _lifelines_fit).
_STEP_SIZES = (0.95, 0.5, 0.25)
# R's coxph.fit: `eps` (its convergence tolerance) in the test for a coefficient that may be infinite, and
# the relative residual below which a covariate is a linear combination of the earlier ones (toler.chol).
_EPS = 1e-9
_ALIASED = np.finfo(float).eps ** 0.75


@dataclass(frozen=True)
class CoxResult:
    """`coefficients`: term, coef, hr, se, z, p_value, hr_lower, hr_upper, note (one row per covariate; an
    aliased one, which R reports as NA, has NULLs and the note why). `proportional_hazards`: R's cox.zph table
    (km transform), one row per estimated covariate plus GLOBAL, or None where it cannot be computed
    (`ph_note` says why; R's cox.zph fails there too). `monotone_likelihood`: the terms R warns about
    ("Loglik converged before variable ...; coefficient may be infinite"); `converged`: the Newton steps
    ended, rather than the coefficients still running off."""

    coefficients: pl.DataFrame
    n: int
    events: int
    loglik: float
    loglik_null: float
    concordance: float
    likelihood_ratio: StatResult
    proportional_hazards: pl.DataFrame | None
    converged: bool
    monotone_likelihood: tuple[str, ...]
    ph_note: str | None = None


def _lifelines_fit(fitter_class, data, duration_col: str, event_col: str, loglik_null: float):
    """lifelines' fit, retried with shorter Newton steps when its first steps overshoot (a binary covariate
    almost separating early events from late censorings: 4 of 5 BCR-ABL1-positive patients failing in the
    first weeks): into a singular information matrix (single mode raises), or to an estimate less likely
    than no covariates at all (batch mode returns it). The polish below reaches the optimum anyway."""
    from lifelines.exceptions import ConvergenceError

    for step_size in _STEP_SIZES[:-1]:
        # An overshooting step overflows and warns on its way: its warnings are told only if it is kept.
        with np.errstate(all="ignore"), warnings.catch_warnings(record=True) as told:
            warnings.simplefilter("always")
            try:
                fitter = fitter_class().fit(data, duration_col, event_col, batch_mode=_BATCH_MODE,
                                            fit_options={**_FIT_OPTIONS, "step_size": step_size})
            except ConvergenceError:
                continue
        if fitter.log_likelihood_ >= loglik_null:
            for warning in told:
                warnings.warn(warning.message, warning.category, stacklevel=2)
            return fitter
    return fitter_class().fit(data, duration_col, event_col, batch_mode=_BATCH_MODE,
                              fit_options={**_FIT_OPTIONS, "step_size": _STEP_SIZES[-1]})


def _polish(time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray):
    """Newton steps from lifelines' estimate while they do not lower the log-likelihood beyond rounding;
    returns the estimate, its terms, and whether the steps ended (the last one negligible)."""
    terms = efron_terms(time, event, x, beta)
    step = np.full_like(beta, np.inf)
    for _ in range(_POLISH_STEPS):
        step = np.linalg.solve(terms.information, terms.score)
        candidate = beta + step
        candidate_terms = efron_terms(time, event, x, candidate)
        if (candidate_terms.loglik < terms.loglik - _LOGLIK_NOISE * abs(terms.loglik)
                or np.array_equal(candidate, beta)):
            break
        beta, terms = candidate, candidate_terms
    return beta, terms, bool(np.all(np.abs(step) <= 1e-6 * (1 + np.abs(beta))))


def _estimable(x: np.ndarray, names: Sequence[str]) -> dict[str, str]:
    """Covariates R's coxph reports as NA, each with why: no variation, or (in order, as R's Cholesky
    marks them) a linear combination of the covariates before it."""
    centred = x - x.mean(axis=0)
    kept: list[int] = []
    aliased = {}
    for j, name in enumerate(names):
        column = centred[:, j]
        scale = np.linalg.norm(column)
        if scale == 0:
            aliased[name] = "no variation"
            continue
        if kept:
            basis = centred[:, kept]
            residual = column - basis @ np.linalg.lstsq(basis, column, rcond=None)[0]
            if np.linalg.norm(residual) <= _ALIASED * scale:
                aliased[name] = f"a linear combination of {', '.join(names[k] for k in kept)}"
                continue
        kept.append(j)
    return aliased


def _monotone(score: np.ndarray, variance: np.ndarray, beta: np.ndarray, names: Sequence[str]) -> tuple[str, ...]:
    """R's test after coxph.fit: |u V| > eps and > sqrt(eps) |beta| (u the score, V the variance)."""
    infinite = np.abs(score @ variance)
    flagged = (infinite > _EPS) & (infinite > np.sqrt(_EPS) * np.abs(beta))
    return tuple(name for name, flag in zip(names, flagged) if flag)


def _coefficient_table(terms: list[str], beta, se, z, half_width) -> pl.DataFrame:
    from scipy.stats import norm

    return pl.DataFrame({
        "term": terms,
        "coef": beta,
        "hr": np.exp(beta),
        "se": se,
        "z": z,
        "p_value": 2 * norm.sf(np.abs(z)),
        "hr_lower": np.exp(beta - half_width),
        "hr_upper": np.exp(beta + half_width),
    })


def cox_ph(
    frame: pl.DataFrame,
    duration_col: str,
    event_col: str,
    covariates: Sequence[str],
    confidence: float = 0.95,
) -> CoxResult:
    """Cox model with Efron ties; numeric covariates only (code categories as 0/1 columns first).

    Missing values raise: the mart must count what it leaves out. A covariate without variation, or a linear
    combination of earlier ones, is not estimated (R: NA) and the others are; no covariate left, or no event,
    raises.
    """
    import pandas as pd
    from lifelines import CoxPHFitter
    from scipy.stats import chi2, norm

    columns = [duration_col, event_col, *covariates]
    data = frame.select(columns).cast(pl.Float64)
    incomplete = data.filter(pl.any_horizontal(pl.all().is_null() | pl.all().is_nan())).height
    if incomplete:
        raise ValueError(f"{incomplete} rows miss a value of {columns}; drop and count them first")
    aliased = _estimable(data.select(covariates).to_numpy(), list(covariates))
    estimated = [name for name in covariates if name not in aliased]
    if not estimated:
        raise ValueError(f"no covariate can be estimated ({'; '.join(f'{k}: {v}' for k, v in aliased.items())})")
    if not data[event_col].sum():
        raise ValueError("no event")
    columns = [duration_col, event_col, *estimated]
    time, event = data[duration_col].to_numpy(), data[event_col].to_numpy().astype(np.int64)
    x = data.select(estimated).to_numpy()
    loglik_null = efron_terms(time, event, x, np.zeros(len(estimated))).loglik
    fitter = _lifelines_fit(CoxPHFitter, pd.DataFrame(data.select(columns).to_numpy(), columns=columns),
                            duration_col, event_col, loglik_null)
    beta, terms, converged = _polish(time, event, x, fitter.params_[estimated].to_numpy())

    variance = np.linalg.inv(terms.information)
    se = np.sqrt(np.diag(variance))
    z = beta / se
    half_width = norm.ppf(0.5 + confidence / 2) * se
    with np.errstate(over="ignore"):  # a coefficient running off (monotone likelihood): an infinite limit
        fitted = _coefficient_table(estimated, beta, se, z, half_width)
    notes = pl.DataFrame({"term": list(covariates),
                          "note": pl.Series([f"not estimable: {aliased[name]}" if name in aliased else None
                                             for name in covariates], dtype=pl.Utf8)})
    coefficients = notes.join(fitted, on="term", how="left").select(*fitted.columns, "note")
    lr_statistic = 2 * (terms.loglik - loglik_null)
    n_events = int(event.sum())
    try:
        proportional, ph_note = cox_zph(time, event, x, beta, estimated), None
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as error:
        proportional, ph_note = None, f"not estimable: {error}".splitlines()[0]
    return CoxResult(
        coefficients=coefficients,
        n=data.height,
        events=n_events,
        loglik=terms.loglik,
        loglik_null=loglik_null,
        concordance=concordance_index(time, event, x @ beta),
        likelihood_ratio=StatResult(
            test="cox_likelihood_ratio",
            method="Cox model likelihood-ratio test (Efron ties)",
            statistic=float(lr_statistic),
            p_value=float(chi2.sf(lr_statistic, len(estimated))),
            n=data.height,
            df=float(len(estimated)),
            extras={"events": n_events, "covariates": estimated},
        ),
        proportional_hazards=proportional,
        converged=converged,
        monotone_likelihood=_monotone(terms.score, variance, beta, estimated),
        ph_note=ph_note,
    )
