"""The survival marts' data dictionary: table and column comments written with marts.survival_*, and each
table's natural order (its preview's, shared.table_metadata)."""

from assets.marts.shared import sql_text
from assets.marts.survival_groupings import GROUPINGS

_KEYS = {
    "endpoint": "`efs` (event-free survival) or `os` (overall survival), as core.time_to_event defines them.",
    "grouping": "The comparison (assets/marts/survival_groupings.py); its log-rank test is "
                "survival.<endpoint>.<grouping> in marts.statistical_tests.",
    "group": "The patient group within the grouping (published_results.csv's group names for the paper's).",
}

CURVES_DESCRIPTION = (
    "The whole Kaplan-Meier step function per endpoint, grouping and group, one row per distinct observed "
    "time (event or censoring), as R's survfit reports it; S = 1 before the first row. Multicenter study."
)
CURVES_COLUMNS = {
    **_KEYS,
    "time": "Days from the origin (core.time_to_event.origin: first infusion by default).",
    "n_at_risk": "Patients still followed just before this time.",
    "events": "Events at this time.",
    "censored": "Patients censored at this time (after the events, as in R).",
    "survival": "Kaplan-Meier S(t) just after this time (proportion, 0-1).",
    "std_err": "Greenwood standard error of S(t); NULL once S = 0.",
    "ci_lower": "Lower 95 % confidence limit (log-log); NULL where S is 1 or 0.",
    "ci_upper": "Upper 95 % confidence limit (log-log); NULL where S is 1 or 0.",
}
# Per endpoint, the groupings as GROUPINGS lists them (the whole cohort first; one unlisted last, by name), each
# group's curve from its first time: a preview starts at the start of a curve, never mid-curve.
_LISTED = ", ".join(sql_text(grouping.name) for grouping in GROUPINGS)
_BY_GROUPING = (f"list_position([{_LISTED}], grouping)", "grouping")
CURVES_ORDER = ("endpoint", *_BY_GROUPING, '"group"', "time")

SUMMARY_DESCRIPTION = (
    "Per endpoint, grouping and group: patients, events, median survival and the 1-year Kaplan-Meier "
    "estimate with its Greenwood standard error (proportions, 0-1). Multicenter study."
)
SUMMARY_COLUMNS = {
    **_KEYS,
    "origin": "Time origin of core.time_to_event (dbt var tte_origin): first_infusion or diagnosis.",
    "n": "Patients analysed (with a known, non-negative time).",
    "events": "Events among them.",
    "n_without_time": "Patients of the group left out for an unknown or negative time (e.g. no diagnosis date "
                      "under the diagnosis origin).",
    "median_days": "Median survival, days (R's rule); NULL when S never falls to 0.5.",
    "median_ci_lower": "Lower 95 % limit of the median (where the log-log lower limit crosses 0.5).",
    "median_ci_upper": "Upper 95 % limit of the median; NULL when not reached.",
    "surv_1y": "S at one year (365.25 days), the last step at or before it (proportion, 0-1).",
    "se_1y": "Greenwood standard error of surv_1y; NULL where surv_1y is 0 (R: NaN; the paper prints 0, which the "
             "reproduction maps explicitly).",
    "ci_lower_1y": "Lower 95 % log-log limit of surv_1y; NULL where it is 1 or 0.",
    "ci_upper_1y": "Upper 95 % log-log limit of surv_1y; NULL where it is 1 or 0.",
    "at_risk_1y": "Patients still followed at one year.",
}
SUMMARY_ORDER = ("endpoint", *_BY_GROUPING, '"group"')

EVENTS_DESCRIPTION = (
    "Outcome events of the multicenter patients on or after their first blinatumomab infusion, per event type "
    "of core.events (relapse, death, hsct, ...; last contacts aside). The relapse that led to blinatumomab is "
    "not an outcome."
)
EVENTS_COLUMNS = {
    "event_type": "core.events.event_type.",
    "events": "Events of this type on or after the patient's first infusion.",
    "patients": "Patients with at least one of them.",
}
EVENTS_ORDER = ("event_type",)
