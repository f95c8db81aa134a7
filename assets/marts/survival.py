"""Survival marts: Kaplan-Meier curves and summaries of EFS and OS per grouping, and their log-rank tests.

Pure functions over core.time_to_event (one row per patient and endpoint) and core.patients. What an event
is, and where time starts, is decided upstream by core.time_to_event's dbt vars (docs/marts.md, Survival):
by default time runs from the first blinatumomab infusion, EFS events are relapse, second cancer, failure
to respond to cycle 1 and death, and HSCT / CAR-T do not censor. The groupings are configuration
(survival_groupings.py). The frames are the multicenter study's (shared.CoreFrames): the case series is
three patients and no part of the paper's figures.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import dagster as dg
import polars as pl

from assets.landing.assets import POOL
from assets.marts.first_cycle import first_cycles
from assets.marts.shared import (MARTS_CODE, CoreFrames, mart_metadata, replace_tests, save_figures, test_row, tests_frame,
                                  write_mart)
from assets.marts.stats import CURVE_SCHEMA, kaplan_meier, logrank_test, median_survival, survival_at
from assets.marts.survival_columns import (
    CURVES_COLUMNS,
    CURVES_DESCRIPTION,
    SUMMARY_COLUMNS,
    SUMMARY_DESCRIPTION,
)
from assets.marts.survival_groupings import GROUPINGS, Grouping
from assets.marts.survival_plots import figure_name, survival_figures
from orchestration.metadata import markdown_table, png_markdown
from orchestration.incremental import skip_when_unchanged
from orchestration.resources import WarehouseResource

MART = "survival"
ONE_YEAR_DAYS = 365.25
KEYS = ["endpoint", "grouping", "group"]
ENDPOINT_NAMES = {"efs": "EFS", "os": "OS"}

SUMMARY_SCHEMA = {
    "endpoint": pl.Utf8, "grouping": pl.Utf8, "group": pl.Utf8, "origin": pl.Utf8,
    "n": pl.Int64, "events": pl.Int64, "n_without_time": pl.Int64,
    "median_days": pl.Float64, "median_ci_lower": pl.Float64, "median_ci_upper": pl.Float64,
    "surv_1y": pl.Float64, "se_1y": pl.Float64, "ci_lower_1y": pl.Float64, "ci_upper_1y": pl.Float64,
    "at_risk_1y": pl.Int64,
}


def patient_groups(patients: pl.DataFrame, groupings: Sequence[Grouping] = GROUPINGS) -> pl.DataFrame:
    """One row per patient and grouping the patient belongs to: subject_id, grouping, group.
    `patients` is first_cycles' frame (core.patients with their cycle 1)."""
    return pl.concat(
        [
            patients.select(
                "subject_id", grouping=pl.lit(grouping.name), group=grouping.group.cast(pl.Utf8)
            ).drop_nulls("group")
            for grouping in groupings
        ]
    )


def grouped_times(time_to_event: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """Each grouped patient's time and event per endpoint. A patient whose time is unknown (no origin
    date, e.g. no diagnosis date under the diagnosis origin) or negative keeps a row with a null time,
    so that the summary can count them instead of losing them silently."""
    usable = pl.col("time_days").is_not_null() & (pl.col("time_days") >= 0)
    return (
        groups.join(
            time_to_event.select("subject_id", "endpoint", "origin", "time_days", "event"),
            on="subject_id",
            how="inner",
        )
        .with_columns(
            time_days=pl.when(usable).then(pl.col("time_days").cast(pl.Float64)),
            event=pl.when(usable).then(pl.col("event")),
        )
        .sort([*KEYS, "subject_id"])
    )


def _by_group(times: pl.DataFrame) -> Iterator[tuple[dict[str, str], pl.DataFrame]]:
    """Each (endpoint, grouping, group) with its rows, in sorted order (deterministic output)."""
    for key, part in sorted(times.partition_by(KEYS, as_dict=True).items()):
        yield dict(zip(KEYS, key)), part


def _curve(part: pl.DataFrame) -> pl.DataFrame:
    usable = part.drop_nulls("time_days")
    return kaplan_meier(usable["time_days"].to_list(), usable["event"].to_list())


def survival_curves(times: pl.DataFrame) -> pl.DataFrame:
    """The whole Kaplan-Meier step function per endpoint, grouping and group: R's survfit layout
    (time in days, n_at_risk, events, censored, survival, std_err, log-log ci_lower / ci_upper); S = 1
    before the first time."""
    empty = pl.DataFrame(schema={key: pl.Utf8 for key in KEYS} | CURVE_SCHEMA)
    curves = [
        _curve(part).select(*[pl.lit(value).alias(name) for name, value in key.items()], pl.all())
        for key, part in _by_group(times)
    ]
    return pl.concat([empty, *curves]).sort([*KEYS, "time"])


def survival_summary(times: pl.DataFrame, horizon_days: float = ONE_YEAR_DAYS) -> pl.DataFrame:
    """Per endpoint, grouping and group: n, events, median survival with its CI (null where not
    reached), and the estimate at `horizon_days` with its Greenwood SE and log-log CI (proportions).

    The SE is 0 where the estimate is 0: Greenwood's formula is undefined once everyone has had the
    event (R prints NA), and the paper prints 0, as GraphPad Prism does.
    """
    rows = []
    for key, part in _by_group(times):
        counts = {
            "origin": part["origin"][0],
            "n": part["time_days"].count(),
            "events": int(part["event"].sum()),
            "n_without_time": part["time_days"].null_count(),
        }
        rows.append({**key, **counts, **(_estimates(_curve(part), horizon_days) if counts["n"] else {})})
    return pl.DataFrame(rows, schema=SUMMARY_SCHEMA)


def _estimates(curve: pl.DataFrame, horizon_days: float) -> dict[str, float | int | None]:
    at = survival_at(curve, horizon_days)
    median = median_survival(curve)
    return {
        "median_days": median.median,
        "median_ci_lower": median.ci_lower,
        "median_ci_upper": median.ci_upper,
        "surv_1y": at.survival,
        "se_1y": 0.0 if at.survival == 0 else at.std_err,
        "ci_lower_1y": at.ci_lower,
        "ci_upper_1y": at.ci_upper,
        "at_risk_1y": at.n_at_risk,
    }


def logrank_tests(times: pl.DataFrame, groupings: Sequence[Grouping] = GROUPINGS) -> pl.DataFrame:
    """One log-rank test per endpoint and grouping with at least two groups, as rows of
    marts.statistical_tests; test_id `survival.<endpoint>.<grouping>` (the published P-value's id)."""
    titles = {grouping.name: grouping.title for grouping in groupings}
    rows = []
    for (endpoint, grouping), part in sorted(times.drop_nulls("time_days").partition_by(
            ["endpoint", "grouping"], as_dict=True).items()):
        labels = sorted(part["group"].unique().to_list())
        if grouping not in titles or len(labels) < 2:
            continue
        result = logrank_test(part["time_days"].to_list(), part["event"].to_list(), part["group"].to_list())
        description = f"{ENDPOINT_NAMES.get(endpoint, endpoint)}: {titles[grouping]}"
        rows.append(test_row(f"{MART}.{endpoint}.{grouping}", MART, description, labels, result))
    return tests_frame(rows)


@dataclass(frozen=True)
class SurvivalMarts:
    curves: pl.DataFrame
    summary: pl.DataFrame
    tests: pl.DataFrame


def survival_marts(
    patients: pl.DataFrame, cycles: pl.DataFrame, time_to_event: pl.DataFrame,
    groupings: Sequence[Grouping] = GROUPINGS,
) -> SurvivalMarts:
    """Everything the survival asset writes, from core.patients, core.cycles and core.time_to_event."""
    groups = patient_groups(first_cycles(patients, cycles), groupings)
    times = grouped_times(time_to_event, groups)
    return SurvivalMarts(survival_curves(times), survival_summary(times), logrank_tests(times, groupings))


def published_values(patients: pl.DataFrame, cycles: pl.DataFrame, time_to_event: pl.DataFrame,
                     events: pl.DataFrame) -> pl.DataFrame:
    """The reference rows this mart covers: the 1-year estimates (see published_estimates) and the numbers
    of relapses and deaths after blinatumomab (the paper's text reports one death where its OS figures imply
    three: `survival.deaths_reported` is an inconsistent row, computed so that the contradiction shows)."""
    counts = pl.DataFrame(
        {"id": [f"{MART}.relapses", f"{MART}.deaths_reported"], "group": [None, None], "statistic": ["n", "n"],
         "computed_value": [float(outcome_count(patients, events, kind)) for kind in ("relapse", "death")]},
        schema={"id": pl.Utf8, "group": pl.Utf8, "statistic": pl.Utf8, "computed_value": pl.Float64})
    estimates = published_estimates(survival_marts(patients, cycles, time_to_event).summary)
    return pl.concat([estimates, counts.select(estimates.columns).cast(estimates.schema)])


def outcome_count(patients: pl.DataFrame, events: pl.DataFrame, event_type: str) -> int:
    """Events of a type on or after the first infusion: the relapse that led to blinatumomab is not an outcome."""
    first = patients.select("subject_id", "first_infusion_date")
    outcomes = events.filter(pl.col("event_type") == event_type).join(first, on="subject_id")
    return outcomes.filter(pl.col("event_date") >= pl.col("first_infusion_date")).height


def published_estimates(summary: pl.DataFrame, groupings: Sequence[Grouping] = GROUPINGS) -> pl.DataFrame:
    """`survival.<endpoint>_1y` km_pct and se_pct (percent) of the summary's paper groupings, as
    published_results.csv names them. A group in several of them (R/R) has the same curve in each:
    kept once."""
    paper = [grouping.name for grouping in groupings if grouping.paper]
    estimates = (
        summary.filter(pl.col("grouping").is_in(paper))
        .unique(["endpoint", "group"], keep="first", maintain_order=True)
        .select(
            id=pl.format(f"{MART}.{{}}_1y", "endpoint"),
            group="group",
            km_pct=pl.col("surv_1y") * 100,
            se_pct=pl.col("se_1y") * 100,
        )
    )
    return estimates.unpivot(
        ["km_pct", "se_pct"], index=["id", "group"], variable_name="statistic", value_name="computed_value"
    ).sort("id", "group", "statistic")


# Dagster: the asset only moves the core frames in and the marts, tests and figures out.
CURVES_KEY = dg.AssetKey(["marts", "survival_curves"])
SUMMARY_KEY = dg.AssetKey(["marts", "survival_summary"])
CORE_DEPS = [dg.AssetKey(["core", table]) for table in ("patients", "cycles", "time_to_event")]


def _spec(key: dg.AssetKey, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(key, deps=CORE_DEPS, group_name="marts", kinds={"duckdb", "polars"},
                        description=description)


@dg.multi_asset(
    specs=[
        _spec(CURVES_KEY, "Kaplan-Meier step functions of EFS and OS per grouping; KM plots in figures/."),
        _spec(SUMMARY_KEY, "n, events, median and 1-year EFS / OS per grouping; log-rank tests in "
                           "marts.statistical_tests."),
    ],
    pool=POOL,
)
@skip_when_unchanged("marts.survival", MARTS_CODE)
def survival_assets(warehouse: WarehouseResource):
    with warehouse.connect() as con:
        core = CoreFrames(con)
        marts = survival_marts(core["patients"], core["cycles"], core["time_to_event"])
        write_mart(con, "survival_curves", marts.curves, CURVES_DESCRIPTION, CURVES_COLUMNS)
        write_mart(con, "survival_summary", marts.summary, SUMMARY_DESCRIPTION, SUMMARY_COLUMNS)
        replace_tests(con, MART, marts.tests)
    figures = survival_figures(marts.curves, GROUPINGS)
    folder = save_figures(warehouse.path, figures)
    paper = [figure_name(endpoint, grouping.name) for grouping in GROUPINGS if grouping.paper
             for endpoint in ENDPOINT_NAMES]
    yield dg.MaterializeResult(asset_key=CURVES_KEY, metadata=mart_metadata(
        marts.curves, figures_dir=str(folder),
        figures=dg.MetadataValue.md(png_markdown({name: figures[name] for name in paper if name in figures})),
    ))
    yield dg.MaterializeResult(asset_key=SUMMARY_KEY, metadata=mart_metadata(
        marts.summary, preview_rows=marts.summary.height,
        logrank=dg.MetadataValue.md(_logrank_table(marts.tests)),
    ))


def _logrank_table(tests: pl.DataFrame) -> str:
    rows = [(row["test_id"], row["groups"], f"{row['statistic']:.3f}", row["df"], f"{row['p_value']:.2g}")
            for row in tests.iter_rows(named=True)]
    return markdown_table(["test_id", "groups", "chi-square", "df", "P"], rows)
