"""Survival marts: Kaplan-Meier curves and summaries of EFS and OS per grouping, and their log-rank tests.

Over core.time_to_event (one row per patient and endpoint) and first_cycle's relation. What an event is,
and where time starts, is decided upstream by core.time_to_event's dbt vars (docs/marts.md, Survival): by
default time runs from the first blinatumomab infusion, EFS events are relapse, second cancer, failure to
respond to cycle 1 and death, and HSCT / CAR-T do not censor. The groupings are configuration
(survival_groupings.py). DuckDB counts events and subjects per group and distinct time
(aggregates.survival_counts); the curves, summaries and tests are computed from those counts. The patients
are the multicenter study's: the case series is three patients and no part of the paper's figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from assets.landing.assets import POOL
from assets.marts import plot_style
from assets.marts.aggregates import quoted, survival_counts
from assets.marts.first_cycle import FIRST_CYCLES, create_first_cycles
from assets.marts.shared import (
    SCHEMA,
    core_deps,
    read_relation,
    replace_tests,
    save_figures,
    skip_while_inputs_unchanged,
    sql_text,
    table_metadata,
    test_row,
    tests_frame,
    write_mart,
)
from assets.marts.stats import CURVE_SCHEMA, kaplan_meier_from_counts, logrank_from_counts, median_survival, survival_at
from assets.marts.survival_columns import (
    CURVES_COLUMNS,
    CURVES_DESCRIPTION,
    CURVES_ORDER,
    EVENTS_COLUMNS,
    EVENTS_DESCRIPTION,
    EVENTS_ORDER,
    SUMMARY_COLUMNS,
    SUMMARY_DESCRIPTION,
    SUMMARY_ORDER,
)
from assets.marts.survival_groupings import GROUPINGS, Grouping
from assets.marts.survival_plots import figure_name, survival_figures
from orchestration.metadata import markdown_table, png_markdown
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    import duckdb

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
EVENTS_SCHEMA = {"event_type": pl.Utf8, "events": pl.Int64, "patients": pl.Int64}


# The TEMP table create_survival_times writes.
SURVIVAL_TIMES = "survival_times"
COUNTS_SCHEMA = {"endpoint": pl.Utf8, "grouping": pl.Utf8, "group": pl.Utf8, "time": pl.Float64,
                 "events": pl.Int64, "total": pl.Int64}


def create_survival_times(con: duckdb.DuckDBPyConnection, groupings: Sequence[Grouping] = GROUPINGS,
                          patients: str = FIRST_CYCLES) -> str:
    """TEMP table SURVIVAL_TIMES: one row per patient of `patients` (a relation of one row per patient) and
    endpoint of core.time_to_event: subject_id, endpoint, origin, time_days and event, and one column per
    grouping holding the patient's group (NULL outside it). A time that is unknown (no origin date, e.g. no
    diagnosis date under the diagnosis origin) or negative is NULL, with its event, so that the summary
    counts the patient instead of losing them silently. Returns its name."""
    groups = ", ".join(f"CAST({grouping.group} AS VARCHAR) AS {quoted(grouping.name)}" for grouping in groupings)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {SURVIVAL_TIMES} AS
        SELECT times.subject_id, times.endpoint, times.origin,
               CASE WHEN times.time_days >= 0 THEN CAST(times.time_days AS DOUBLE) END AS time_days,
               CASE WHEN times.time_days >= 0 THEN times.event END AS event,
               groups.* EXCLUDE (subject_id)
        FROM (SELECT subject_id, {groups} FROM {patients}) AS groups
        JOIN core.time_to_event AS times USING (subject_id)
    """)
    return SURVIVAL_TIMES


def _endpoints(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [endpoint for (endpoint,) in con.execute(
        f"SELECT DISTINCT endpoint FROM {SURVIVAL_TIMES} ORDER BY endpoint").fetchall()]


def grouped_counts(con: duckdb.DuckDBPyConnection, groupings: Sequence[Grouping] = GROUPINGS) -> pl.DataFrame:
    """Survival counts (COUNTS_SCHEMA) of SURVIVAL_TIMES' patients with a known time: events and total per
    endpoint, grouping, group and distinct time, computed in DuckDB."""
    parts = [pl.DataFrame(schema=COUNTS_SCHEMA)]
    for endpoint in _endpoints(con):
        for grouping in groupings:
            column = quoted(grouping.name)
            counts = survival_counts(con, f"""
                SELECT * FROM {SURVIVAL_TIMES}
                WHERE endpoint = {sql_text(endpoint)} AND {column} IS NOT NULL AND time_days IS NOT NULL
            """, "time_days", "event", grouping.name)
            parts.append(counts.select(endpoint=pl.lit(endpoint), grouping=pl.lit(grouping.name),
                                       group=pl.col("group").cast(pl.Utf8), time="time", events="events",
                                       total="total"))
    return pl.concat(parts)


def _by_group(counts: pl.DataFrame):
    """Each (endpoint, grouping, group) with its counts, in sorted order (deterministic output)."""
    for key, part in sorted(counts.partition_by(KEYS, as_dict=True).items()):
        yield dict(zip(KEYS, key)), part


def survival_curves(counts: pl.DataFrame) -> pl.DataFrame:
    """The whole Kaplan-Meier step function per endpoint, grouping and group, from grouped_counts: R's
    survfit layout (time in days, n_at_risk, events, censored, survival, std_err, log-log ci_lower /
    ci_upper); S = 1 before the first time. Rows in reading order (what the UI's preview shows first):
    per endpoint, the groupings as GROUPINGS lists them (the whole cohort first), each curve from its first
    time."""
    empty = pl.DataFrame(schema={key: pl.Utf8 for key in KEYS} | CURVE_SCHEMA)
    curves = [
        kaplan_meier_from_counts(part).select(*[pl.lit(value).alias(name) for name, value in key.items()], pl.all())
        for key, part in _by_group(counts)
    ]
    listed = {grouping.name: position for position, grouping in enumerate(GROUPINGS)}
    return (pl.concat([empty, *curves])
            .sort(pl.col("endpoint"), pl.col("grouping").replace_strict(listed, default=len(listed)),
                  pl.col("group"), pl.col("time")))


def survival_summary(con: duckdb.DuckDBPyConnection, curves: pl.DataFrame, groupings: Sequence[Grouping] = GROUPINGS,
                     horizon_days: float = ONE_YEAR_DAYS) -> pl.DataFrame:
    """Per endpoint, grouping and group of SURVIVAL_TIMES: n, events, median survival with its CI (null
    where not reached), and the estimate at `horizon_days` with its Greenwood SE and log-log CI
    (proportions), read off the group's curve.

    The SE is 0 where the estimate is 0: Greenwood's formula is undefined once everyone has had the
    event (R prints NA), and the paper prints 0, as GraphPad Prism does.
    """
    sizes = pl.DataFrame(con.sql(" UNION ALL ".join(f"""
        SELECT endpoint, {sql_text(grouping.name)} AS grouping, {quoted(grouping.name)} AS "group",
               first(origin ORDER BY subject_id) AS origin, count(time_days) AS n,
               coalesce(sum(event), 0) AS events, count(*) - count(time_days) AS n_without_time
        FROM {SURVIVAL_TIMES} WHERE {quoted(grouping.name)} IS NOT NULL
        GROUP BY ALL""" for grouping in groupings)))
    by_group = {tuple(key.values()): part for key, part in _by_group(curves)}
    rows = [{**size, **(_estimates(by_group[key], horizon_days) if size["n"] else {})}
            for size in sizes.sort(KEYS).iter_rows(named=True)
            for key in [(size["endpoint"], size["grouping"], size["group"])]]
    return pl.DataFrame(rows, schema=SUMMARY_SCHEMA)


def _estimates(curve: pl.DataFrame, horizon_days: float) -> dict[str, float | int | None]:
    at = survival_at(curve, horizon_days)
    median = median_survival(curve)
    return {
        "median_days": median.median,
        "median_ci_lower": median.ci_lower,
        "median_ci_upper": median.ci_upper,
        "surv_1y": at.survival,
        "se_1y": at.std_err,  # NULL once S = 0, where R's Greenwood SE is NaN
        "ci_lower_1y": at.ci_lower,
        "ci_upper_1y": at.ci_upper,
        "at_risk_1y": at.n_at_risk,
    }


def logrank_tests(counts: pl.DataFrame, groupings: Sequence[Grouping] = GROUPINGS) -> pl.DataFrame:
    """One log-rank test per endpoint and grouping with at least two groups, from grouped_counts, as rows
    of marts.statistical_tests; test_id `survival.<endpoint>.<grouping>` (the published P-value's id)."""
    titles = {grouping.name: grouping.title for grouping in groupings}
    rows = []
    for (endpoint, grouping), part in sorted(counts.partition_by(["endpoint", "grouping"], as_dict=True).items()):
        labels = sorted(part["group"].unique().to_list())
        if grouping not in titles or len(labels) < 2:
            continue
        result = logrank_from_counts(part)
        description = f"{ENDPOINT_NAMES.get(endpoint, endpoint)}: {titles[grouping]}"
        rows.append(test_row(f"{MART}.{endpoint}.{grouping}", MART, description, labels, result))
    return tests_frame(rows)


def survival_events(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """marts.survival_events: per event type of core.events (last contacts aside), the events of
    first_cycle's patients on or after their first infusion (the relapse that led to blinatumomab is not an
    outcome) and the patients who had one."""
    return pl.DataFrame(con.sql(f"""
        SELECT event.event_type, count(*) AS events, count(DISTINCT event.subject_id) AS patients
        FROM core.events AS event JOIN {FIRST_CYCLES} AS patient USING (subject_id)
        WHERE event.event_type <> 'last_contact' AND event.event_date >= patient.first_infusion_date
        GROUP BY ALL
        ORDER BY ALL
    """), schema=EVENTS_SCHEMA)


@dataclass(frozen=True)
class SurvivalMarts:
    curves: pl.DataFrame
    summary: pl.DataFrame
    tests: pl.DataFrame
    events: pl.DataFrame


def survival_marts(con: duckdb.DuckDBPyConnection, groupings: Sequence[Grouping] = GROUPINGS) -> SurvivalMarts:
    """Everything the survival asset writes, from first_cycle's relation (created here), core.time_to_event
    and core.events."""
    create_first_cycles(con)
    create_survival_times(con, groupings)
    counts = grouped_counts(con, groupings)
    curves = survival_curves(counts)
    return SurvivalMarts(curves, survival_summary(con, curves, groupings), logrank_tests(counts, groupings),
                         survival_events(con))


def published_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The reference rows this mart covers, read from marts.survival_summary (the 1-year estimates, see
    published_estimates) and marts.survival_events: the relapses and deaths after blinatumomab (the paper's
    text reports one death where its OS figures imply three: `survival.deaths_reported` is an inconsistent
    row, computed so that the contradiction shows)."""
    estimates = published_estimates(read_relation(con, f"{SCHEMA}.survival_summary"))
    events = dict(con.execute(f"SELECT event_type, events FROM {SCHEMA}.survival_events").fetchall())
    counts = pl.DataFrame(
        {"id": [f"{MART}.relapses", f"{MART}.deaths_reported"], "group": [None, None], "statistic": ["n", "n"],
         "computed_value": [float(events.get(kind, 0)) for kind in ("relapse", "death")]},
        schema={"id": pl.Utf8, "group": pl.Utf8, "statistic": pl.Utf8, "computed_value": pl.Float64})
    return pl.concat([estimates, counts.select(estimates.columns).cast(estimates.schema)])


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
            # The paper prints an SE of 0 where S = 0; the mart holds R's answer, none (NULL).
            se_pct=pl.when(pl.col("surv_1y") == 0).then(0.0).otherwise(pl.col("se_1y") * 100),
        )
    )
    return estimates.unpivot(
        ["km_pct", "se_pct"], index=["id", "group"], variable_name="statistic", value_name="computed_value"
    ).sort("id", "group", "statistic")


# Dagster: the asset writes the marts, tests and figures the functions above compute in its connection.
CURVES_KEY = dg.AssetKey(["marts", "survival_curves"])
SUMMARY_KEY = dg.AssetKey(["marts", "survival_summary"])
EVENTS_KEY = dg.AssetKey(["marts", "survival_events"])
CORE_TABLES = ("patients", "cycles", "events", "time_to_event")


def _spec(key: dg.AssetKey, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(key, deps=core_deps(CORE_TABLES), group_name="marts", kinds={"duckdb", "polars"},
                        description=description)


@dg.multi_asset(
    specs=[
        _spec(CURVES_KEY, "Kaplan-Meier step functions of EFS and OS per grouping; KM plots in figures/."),
        _spec(SUMMARY_KEY, "n, events, median and 1-year EFS / OS per grouping; log-rank tests in "
                           "marts.statistical_tests."),
        _spec(EVENTS_KEY, "Relapses, deaths and transplants after the first infusion."),
    ],
    # Not side by side (orchestration/jobs.py): it forks its figures' encoders (plot_style.render_all), and a
    # fork copies only the forking thread, with any lock another step's thread held at that moment.
    pool=POOL,
)
@skip_while_inputs_unchanged("marts.survival", CORE_TABLES)
def survival_assets(warehouse: WarehouseResource):
    with warehouse.connect() as con:
        marts = survival_marts(con)
        write_mart(con, "survival_curves", marts.curves, CURVES_DESCRIPTION, CURVES_COLUMNS)
        write_mart(con, "survival_summary", marts.summary, SUMMARY_DESCRIPTION, SUMMARY_COLUMNS)
        write_mart(con, "survival_events", marts.events, EVENTS_DESCRIPTION, EVENTS_COLUMNS)
        replace_tests(con, MART, marts.tests)
        metadata = {key: table_metadata(con, ".".join(key.path), order) for key, order in
                    ((CURVES_KEY, CURVES_ORDER), (SUMMARY_KEY, SUMMARY_ORDER), (EVENTS_KEY, EVENTS_ORDER))}
    figures = survival_figures(marts.curves, GROUPINGS, marts.summary, marts.tests)
    folder = save_figures(warehouse.path, figures)
    paper = [figure_name(endpoint, grouping.name) for grouping in GROUPINGS if grouping.paper
             for endpoint in ENDPOINT_NAMES]
    yield dg.MaterializeResult(asset_key=CURVES_KEY, metadata={
        **metadata[CURVES_KEY], "figures_dir": str(folder),
        "figures": dg.MetadataValue.md(png_markdown({name: figures[name] for name in paper if name in figures})),
    })
    yield dg.MaterializeResult(asset_key=SUMMARY_KEY, metadata={
        **metadata[SUMMARY_KEY], "logrank": dg.MetadataValue.md(_logrank_table(marts.tests))})
    yield dg.MaterializeResult(asset_key=EVENTS_KEY, metadata=metadata[EVENTS_KEY])


def _logrank_table(tests: pl.DataFrame) -> str:
    rows = [(row["test_id"], row["groups"], f"{row['statistic']:.3f}", row["df"],
             plot_style.format_p(row["p_value"]))
            for row in tests.iter_rows(named=True)]
    return markdown_table(["test_id", "groups", "chi-square", "df", "P"], rows)
