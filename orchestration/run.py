"""`make run`: materialize every asset in this process, then print what was landed and built."""

import os
import sys
import time
from datetime import datetime
from pathlib import Path

from assets.landing.store import utc_now
from orchestration import settings

# Dagster's per-step INFO lines would bury the summary; warnings (a failed file) still show.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main() -> int:
    started, since = time.perf_counter(), utc_now()
    from orchestration.exclusive import WarehouseBusy, exclusive_warehouse
    from orchestration.pseudonym_key import KeyMissing, key

    try:
        key()  # before anything is written; Dagster's runs refuse likewise (WarehouseResource)
    except KeyMissing as missing:
        print(f"NOT RUN: {missing}")
        return 3
    try:
        with exclusive_warehouse(settings.warehouse_dir() / settings.WAREHOUSE_FILE), instance_of_run() as instance:
            result = execute_warehouse(instance)
            if not built_everything(result):
                # A failed step ran nothing downstream of it, the reports included: written again now, each
                # page names the marts that failed (as run_failure_sensor has the daemon do).
                execute_warehouse(instance, "report")
    except WarehouseBusy as busy:
        print(f"NOT RUN: {busy}")
        return 3
    failed_checks = [evaluation for evaluation in result.get_asset_check_evaluations() if not evaluation.passed]
    failed_files = print_summary(since, failed_checks)
    code, last_line = verdict(built_everything(result), failed_files, time.perf_counter() - started)
    print(last_line)
    return code


def instance_of_run():
    """The Dagster instance at $DAGSTER_HOME (the Makefile sets it to .dagster_home), so that `make ui` shows
    the run, its materializations and its check results; created with orchestration/dagster.yaml on first use,
    as `make ui` creates it. Without DAGSTER_HOME, an in-memory instance whose history ends with the process."""
    import shutil

    from dagster import DagsterInstance

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.ephemeral()
    config = Path(home) / "dagster.yaml"
    if not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(settings.PROJECT_ROOT / "orchestration" / "dagster.yaml", config)
    return DagsterInstance.get()


def verdict(success: bool, failed_files: int, seconds: float) -> tuple[int, str]:
    """The exit code and the last line: a run in which a delivered file failed to load built everything it
    could, and still does not exit 0, so that a scheduler sees that a delivery needs a look. (3: not run,
    another process held the warehouse.)"""
    if not success:
        return 1, f"RUN FAILED in {seconds:.1f} s"
    if failed_files:
        return 2, (f"RUN INCOMPLETE in {seconds:.1f} s: {failed_files} delivered file(s) failed to load or were held"
                   " (FAILED and HELD lines above); everything else was built")
    return 0, f"run succeeded in {seconds:.1f} s"


def built_everything(result) -> bool:
    """No step failed, except the check that fails a run which left a delivery out (every_delivery_published):
    that run built everything it could, and says so with its own exit code."""
    from assets.snapshot.assets import every_delivery_published

    return all(event.step_key == every_delivery_published.node_def.name for event in result.get_step_failure_events())


def execute_warehouse(instance, job: str = "warehouse"):
    """The `warehouse` job (or `job`) in this process on `instance`, on the job's own executor (the marts side
    by side: orchestration/jobs.py; `execute_in_process` would replace it with Dagster's one-step-at-a-time
    executor); its own function so that the scale benchmark (tests/benchmarks/profile_run.py) runs exactly what
    `make run` runs and reads the instance's event log."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.framework_internals import sqlite_storage_held_open

    warehouse = defs.resources["warehouse"]
    target = dg.build_reconstructable_job(__name__, project_job.__name__, reconstructable_args=(job,))
    with sqlite_storage_held_open(instance), warehouse.kept_open(), dg.execute_job(
            target, instance=instance, run_config=_QUIET, raise_on_error=False) as result:
        return result


def project_job(name: str):
    """The project's job `name` (execute_job loads the job it runs through this function)."""
    from orchestration.definitions import defs

    return defs.resolve_job_def(name)


def print_summary(since: datetime, failed_checks: list) -> int:
    """What the run landed and built, one line per center; returns how many delivered files (data files whose
    latest sighting failed, and center YAMLs) failed to load."""
    import duckdb
    from dagster import AssetCheckSeverity

    from assets.landing.center_config import load_centers
    from assets.landing.ingest import listed_files
    from assets.landing.store import config_errors, incomplete_deliveries

    database = settings.warehouse_dir() / settings.WAREHOUSE_FILE
    if not database.exists():
        return 0
    with duckdb.connect(str(database), read_only=True) as con:
        outcomes = con.execute(
            "SELECT outcome, count(*), coalesce(sum(rows), 0) FROM audit.loads WHERE seen_at >= ?"
            " GROUP BY outcome ORDER BY outcome", [since]).fetchall()
        print(f"warehouse: {database}")
        print("files: " + ", ".join(f"{files} {outcome} ({rows} rows)" for outcome, files, rows in outcomes))
        for outcome, center_id, message in con.execute(
                "SELECT upper(outcome), center_id, message FROM audit.loads WHERE seen_at >= ?"
                " AND outcome IN ('failed', 'held') ORDER BY outcome, center_id, source_file", [since]).fetchall():
            print(f"  {outcome} {center_id}: {message}")
        yamls = config_errors(con)
        for center_id, message in yamls:
            print(f"  FAILED {center_id}: {message}")
        tables = con.execute(
            "SELECT * FROM (SELECT schema_name, table_name FROM duckdb_tables() UNION ALL"
            " SELECT schema_name, view_name FROM duckdb_views())"
            " WHERE schema_name IN ('core', 'quarantine', 'marts') ORDER BY ALL").fetchall()
        for schema, table in tables:
            rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
            print(f"  {schema}.{table}: {rows} rows")
        if ("core", "patients") in tables:
            by_study = con.execute("SELECT study, count(*) FROM core.patients GROUP BY study ORDER BY study").fetchall()
            print("patients: " + ", ".join(f"{count} {study}" for study, count in by_study))
        centers = per_center(con) if ("audit", "row_accounting") in _tables(con) else []
        listed = listed_files(load_centers(settings.centers_dir(), errors=[]).values())
        failed_files = len(incomplete_deliveries(con, listed))
    for line in centers:
        print(line)
    for evaluation in failed_checks:
        # WARN checks (clinical warnings, paper reproduction) do not fail the run; ERROR checks do.
        label = "check warning" if evaluation.severity == AssetCheckSeverity.WARN else "CHECK FAILED"
        print(f"  {label} {evaluation.asset_key.to_user_string()}: {evaluation.check_name}")
    return failed_files


# Per center: its current files by their latest outcome, its rows (current versions) passed and quarantined,
# and how many kinds of reason the quarantine gives.
_PER_CENTER_SQL = """
WITH files AS (
    SELECT center_id, sum(n) AS files,
        string_agg(n || ' ' || last_outcome, ', ' ORDER BY last_outcome) AS outcomes,
        sum(failed) AS failed
    FROM (SELECT center_id, last_outcome, count(*) AS n, count(*) FILTER (last_outcome = 'failed') AS failed
          FROM audit.row_accounting GROUP BY ALL)
    GROUP BY center_id
),
counted AS (
    SELECT center_id, sum(passed + quarantined) AS current_rows, sum(quarantined) AS quarantined
    FROM audit.row_accounting GROUP BY center_id
),
reasons AS (
    SELECT center_id, count(DISTINCT check_name) AS reasons FROM ({quarantine}) GROUP BY center_id
)
SELECT center_id, files, outcomes, current_rows, quarantined, coalesce(reasons, 0)
FROM files JOIN counted USING (center_id) LEFT JOIN reasons USING (center_id)
ORDER BY center_id
"""


def _tables(con) -> list[tuple[str, str]]:
    return con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()


def per_center(con) -> list[str]:
    """'  sch: 6 files (6 loaded), 876 rows, 137 quarantined (4 reasons; see quarantine.*)'."""
    from assets.validation.gate import ORDER

    quarantine = " UNION ALL ".join(f"SELECT center_id, check_name FROM quarantine.{table}" for table in ORDER)
    lines = []
    for center, files, outcomes, rows, quarantined, reasons in con.execute(
            _PER_CENTER_SQL.format(quarantine=quarantine)).fetchall():
        line = f"  {center}: {files} files ({outcomes}), {rows} rows, {quarantined} quarantined"
        if quarantined:
            line += f" ({reasons} reason{'s' if reasons != 1 else ''}; see quarantine.*)"
        if rows and quarantined * 2 > rows:
            line += ": MOST ROWS QUARANTINED"
        lines.append(line)
    return lines


def exit_now(code: int) -> None:
    """Exit with `code` once dbt's resources are released (also `make report`'s way out)."""
    from orchestration import dbt_runner

    dbt_runner.release()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: duckdb's nanobind bindings print spurious "leaked instance" reports there.
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
