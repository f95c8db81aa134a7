"""What the report shows, read from the warehouse as small frames: a mart's rows (at most ROW_LIMIT, counted in
DuckDB), aggregates (GROUP BY) where a mart grows with the registry, the paper's published values beside the
computed ones, the provenance of the data and the quarantine. Never a whole large table in Python.

A block whose relation is missing, empty, or whose asset check failed at its latest evaluation says so (`problem`
and `warnings`), so that the page renders the rest around it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from orchestration.catalog import relation_exists
from orchestration.metadata import root_cause

ROW_LIMIT = 200  # rows of one table on the page; the rest is counted ("first 200 of N rows")
REPRODUCTION = "marts.paper_reproduction"
MARKS = {True: "✓ reproduces", False: "✗ differs", None: "not a target"}


@dataclass(frozen=True)
class Block:
    """One table of the page: its rows, or the reason there are none."""

    title: str
    frame: pl.DataFrame | None = None
    problem: str | None = None  # missing, empty, failed: the page shows a box instead of the table
    note: str | None = None  # e.g. "first 200 of 2,500 rows"
    warnings: tuple[str, ...] = ()  # failed asset checks of the relation (the table still shows)
    source: str = ""  # the relation(s) read, as the reader can query them in the snapshot
    info: str | None = None  # no rows, and that is good news (no quarantine): said plainly, not as a problem


@dataclass(frozen=True)
class FigureBlock:
    """One figure: its SVG (embedded), or the reason there is none."""

    title: str
    svg: bytes | None = None
    problem: str | None = None
    source: str = ""
    drawn_by: str = ""  # the mart relation whose step writes the figure
    warnings: tuple[str, ...] = ()


@dataclass
class Section:
    anchor: str
    title: str
    intro: str = ""
    blocks: list[Block | FigureBlock] = field(default_factory=list)


def failed_checks(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[str, ...]:
    """The asset checks of `relation` (key schema/table) that failed at their latest evaluation
    (audit.check_outcomes, which every run records)."""
    if not relation_exists(con, "audit.check_outcomes"):
        return ()
    key = relation.replace(".", "/") + ":"
    rows = con.execute("SELECT asset_check, severity FROM audit.check_outcomes WHERE starts_with(asset_check, ?)"
                       " AND NOT passed ORDER BY asset_check", [key]).fetchall()
    return tuple(f"check {check.split(':', 1)[1]} failed ({severity})" for check, severity in rows)


def not_rebuilt(instance) -> dict[str, tuple[str, bool]]:
    """relation -> (why its rows are not the last run's, whether its own step failed), for the marts that the
    last run planning them did not rebuild: their step failed (the error's root cause), or did not run because
    a step before it failed. From the Dagster instance's record of that run; a run still going is left alone.
    The page is written again after such a run (`make run`, run_failure_sensor)."""
    found: dict[str, tuple[str, bool]] = {}
    runs: dict[str, tuple | None] = {}  # run id -> (run, step per planned asset, failures per step), read once
    for record in instance.get_asset_records():
        entry = record.asset_entry
        built = entry.last_materialization_record
        if entry.asset_key.path[0] != "marts":
            continue
        if entry.last_run_id is None or (built is not None and built.run_id == entry.last_run_id):
            continue
        if entry.last_run_id not in runs:
            runs[entry.last_run_id] = _failed_run(instance, entry.last_run_id)
        if runs[entry.last_run_id] is None:
            continue
        run, steps, failures = runs[entry.last_run_id]
        relation = ".".join(entry.asset_key.path)
        failure = failures.get(steps.get(entry.asset_key))
        when = datetime.fromtimestamp(failure.timestamp if failure else run_end(instance, run.run_id), UTC)
        label = f"run {run.run_id[:8]} of {when:%Y-%m-%d %H:%M} UTC"
        if failure:
            error = root_cause(failure.dagster_event.event_specific_data.error)
            found[relation] = (f"{relation} failed in {label}: {error}; its rows from an earlier run are not shown",
                               True)
        else:
            found[relation] = (f"{relation} was not rebuilt in {label}, in which a step before it failed: these "
                               "rows are from an earlier run", False)
    return found


def _failed_run(instance, run_id: str) -> tuple | None:
    """(the run, asset key -> the step that planned it, step -> its first failure) of a failed or canceled
    run; None for a run that succeeded, is still going or is gone."""
    import dagster as dg

    run = instance.get_run_by_id(run_id)
    if run is None or run.status not in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
        return None
    steps = {event.dagster_event.asset_key: event.step_key
             for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)}
    failures = {}
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        failures.setdefault(event.step_key, event)
    return run, steps, failures


def run_end(instance, run_id: str) -> float:
    stats = instance.get_run_stats(run_id)
    return stats.end_time or stats.start_time or 0.0


def marked(blocks: Sequence[Block | FigureBlock], not_built: dict[str, tuple[str, bool]]) -> list:
    """`blocks`, a table or figure of a mart whose step failed in its last run as a box with the failure (its
    rows or figure would be an earlier run's among today's), one whose step did not run with a warning."""
    shown = []
    for block in blocks:
        reason, failed = not_built.get(block.drawn_by if isinstance(block, FigureBlock) else block.source,
                                       (None, False))
        if reason is None:
            shown.append(block)
        elif not failed:
            shown.append(replace(block, warnings=(*block.warnings, reason)))
        elif isinstance(block, FigureBlock):
            shown.append(replace(block, svg=None, problem=reason))
        else:
            shown.append(replace(block, frame=None, note=None, info=None, problem=reason))
    return shown


def missing_reason(relation: str) -> str:
    return (f"{relation} is missing: its asset has never succeeded in this warehouse (see the Dagster UI, or "
            "`make run`'s output, for the failure)")


def read_block(con: duckdb.DuckDBPyConnection, title: str, relation: str, query: str | None = None,
               parameters: Sequence | None = None, requires: Sequence[str] = (), limit: int = ROW_LIMIT,
               empty: str | None = None, empty_is_fine: bool = False) -> Block:
    """The rows of `query` (default: every column of `relation`), at most `limit`, with the count of all of
    them; a Block with the problem instead when `relation` (or a relation of `requires`) is missing or the
    query has no rows. `empty` words what no rows mean (default: the relation has no rows); `empty_is_fine`
    makes it information, not a problem."""
    for needed in (relation, *requires):
        if not relation_exists(con, needed):
            return Block(title, problem=missing_reason(needed), source=relation)
    query = query or f"SELECT * FROM {relation}"
    warnings = failed_checks(con, relation)
    try:
        [(count,)] = con.execute(f"SELECT count(*) FROM ({query})", parameters or []).fetchall()
        # Through the Arrow C stream: polars reads a DuckDB relation without pyarrow.
        frame = pl.DataFrame(con.sql(f"{query} LIMIT {int(limit)}", params=parameters or [])) if count else None
    except duckdb.Error as error:  # a mart of another shape than the report expects: said, not raised
        return Block(title, problem=f"{relation} could not be read: {error}", warnings=warnings, source=relation)
    if not count:
        reason = empty or f"{relation} has no rows"
        return Block(title, problem=None if empty_is_fine else reason, info=reason if empty_is_fine else None,
                     warnings=warnings, source=relation)
    note = f"first {limit:,} of {count:,} rows (the rest: {relation} in the analyst snapshot)" if count > limit \
        else None
    return Block(title, frame=frame, note=note, warnings=warnings, source=relation)


def with_published_p(relation: str) -> str:
    """SQL: `relation`'s rows with the paper's printed P (published_p) and its match mark (p_match) beside the
    computed p_value, by the row's test_id (marts.paper_reproduction, statistic p_value)."""
    return (f"SELECT t.*, r.published_value AS published_p, {mark_sql('r.passed', 'r.published_value')} AS p_match"
            f" FROM {relation} t LEFT JOIN {REPRODUCTION} r ON r.id = t.test_id AND r.statistic = 'p_value'")


def mark_sql(passed: str, published: str) -> str:
    """SQL: the match mark of a reproduction row; NULL where the paper printed nothing."""
    return (f"CASE WHEN {published} IS NULL THEN NULL WHEN {passed} THEN '{MARKS[True]}'"
            f" WHEN NOT {passed} THEN '{MARKS[False]}' ELSE '{MARKS[None]}' END")


def reproduction_block(con: duckdb.DuckDBPyConnection, title: str, study: str, marts: Sequence[str]) -> Block:
    """The paper's numbers of `marts` (paper_reproduction.mart) beside the warehouse's, with the match mark."""
    names = ", ".join(f"'{mart}'" for mart in marts)
    query = (f'SELECT id, "group", statistic, published_value AS published, computed_value AS computed, match AS rule,'
             f" {mark_sql('passed', 'published_value')} AS reproduces, note FROM {REPRODUCTION}"
             f" WHERE study = ? AND mart IN ({names}) ORDER BY id, \"group\" NULLS FIRST, statistic")
    return read_block(con, title, REPRODUCTION, query, [study], limit=1000,
                      empty="no published number of the paper is computed by these marts")


def reproduction_summary(con: duckdb.DuckDBPyConnection, study: str) -> Block:
    """Per mart: the paper's numbers that reproduce, differ, and are not targets."""
    query = (f"SELECT coalesce(mart, '(no mart computes it)') AS mart, count(*) FILTER (WHERE passed) AS reproduce,"
             f" count(*) FILTER (WHERE NOT passed) AS differ, count(*) FILTER (WHERE passed IS NULL) AS not_targets"
             f" FROM {REPRODUCTION} WHERE study = ? GROUP BY ALL ORDER BY mart")
    return read_block(con, "The paper's numbers, reproduced", REPRODUCTION, query, [study],
                      empty=f"marts.paper_reproduction holds no row of the {study} study")


# --- provenance and data quality ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Provenance:
    run_id: str
    generated_at: str
    code_version: str
    warehouse: str
    deliveries: Block


def code_version(repository: Path | None = None) -> str:
    """The git commit the code is at (with ' (uncommitted changes)' when the tree differs), or 'unknown'."""
    repository = repository or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repository,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return commit + (" (uncommitted changes)" if dirty else "")


def study_centers_sql(study: str) -> str:
    """SQL: the center_ids of `study` (raw.center_settings, as the centers' YAMLs declare it)."""
    return f"SELECT DISTINCT center_id FROM raw.center_settings WHERE study = '{study.replace(chr(39), '')}'"


def deliveries(con: duckdb.DuckDBPyConnection, study: str) -> Block:
    """Each center's current delivery files: SHA-256 prefix, rows delivered, passed and quarantined."""
    query = f"""
        SELECT f.center_id AS center, f.source_file AS file, left(f.file_sha256, 12) AS sha256_prefix,
               coalesce(sum(a.delivered), 0) AS delivered, coalesce(sum(a.passed), 0) AS passed,
               coalesce(sum(a.quarantined), 0) AS quarantined
        FROM raw.current_files f
        LEFT JOIN audit.row_accounting a ON a.center_id = f.center_id AND a.source_file = f.source_file
        WHERE f.center_id IN ({study_centers_sql(study)})
        GROUP BY ALL ORDER BY center, file"""
    return read_block(con, "Current delivery files", "raw.current_files", query, limit=1000,
                      requires=("audit.row_accounting", "raw.center_settings"),
                      empty=f"no center of the {study} study has a current delivery")


QUARANTINE_TABLES = ("patients", "cycles", "assessments", "labs", "adverse_events", "events", "therapy_lines")


def quarantine_counts(con: duckdb.DuckDBPyConnection, study: str) -> Block:
    """Rows in quarantine by center, table and reason (the check and the column it failed), counted in DuckDB.
    No row's own words: a reason can quote a delivered value, and the page leaves the warehouse."""
    present = [table for table in QUARANTINE_TABLES if relation_exists(con, f"quarantine.{table}")]
    if not present:
        return Block("Quarantined rows", problem=missing_reason("quarantine.patients"), source="quarantine.*")
    union = " UNION ALL ".join(
        f"SELECT center_id, '{table}' AS table_name, check_name, column_name FROM quarantine.{table}"
        for table in present)
    query = f"""
        SELECT center_id AS center, table_name AS "table", check_name AS "check",
               coalesce(column_name, '(row)') AS "column", count(*) AS rows
        FROM ({union}) WHERE center_id IN ({study_centers_sql(study)})
        GROUP BY ALL ORDER BY center, "table", rows DESC, "check\""""
    return read_block(con, "Quarantined rows by center, table and reason", "quarantine.patients", query,
                      requires=("raw.center_settings",), empty="no row of this study is in quarantine",
                      empty_is_fine=True)


def free_text_sql() -> str:
    """SQL over a row with table_name and column_name: the column is a free-text field (the contract's), whose
    words may name a patient; the snapshot withholds them (docs/privacy.md), and so does the page."""
    from assets.landing.contract import FREE_TEXT_FIELDS

    pairs = ", ".join(f"('{table}', '{field}')" for table, fields in sorted(FREE_TEXT_FIELDS.items())
                      for field in sorted(fields))
    return f"(table_name, column_name) IN ({pairs})" if pairs else "false"


def open_queries(con: duckdb.DuckDBPyConnection, study: str) -> Block:
    """The data queries still open (marts.data_queries: the row is in quarantine now); the value and the finding
    of a free-text field are not quoted."""
    query = f"""
        SELECT center_id AS center, table_name AS "table", source_file AS file, source_row AS "row",
               coalesce(column_name, '(row)') AS "column",
               CASE WHEN {free_text_sql()} THEN '(free text: see the warehouse)'
                    ELSE coalesce(delivered_value, '(empty)') END AS delivered_value,
               CASE WHEN {free_text_sql()} THEN check_name ELSE finding END AS finding
        FROM marts.data_queries WHERE status = 'open' AND center_id IN ({study_centers_sql(study)})
        ORDER BY center, "table", file, "row\""""
    return read_block(con, "Open data queries", "marts.data_queries", query, requires=("raw.center_settings",),
                      empty="no open query: every quarantined row of this study has been answered",
                      empty_is_fine=True)
