"""`make run`: materialize every asset in this process, then print what was landed and built."""

import os
import sys
import time
from datetime import datetime

from assets.landing.store import utc_now
from orchestration import settings

# Dagster's per-step INFO lines would bury the summary; warnings (a failed file) still show.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main() -> int:
    started, since = time.perf_counter(), utc_now()
    from dagster import DagsterInstance

    # An in-memory instance: the run is not kept in $DAGSTER_HOME's history (runs launched from `make ui`
    # are). Recording its ~700 events and planned materializations in SQLite costs ~7 s of a 20 s budget.
    with DagsterInstance.ephemeral() as instance:
        result = execute_warehouse(instance)
    failed_checks = [evaluation for evaluation in result.get_asset_check_evaluations() if not evaluation.passed]
    print_summary(since, failed_checks)
    print(f"{'run succeeded' if result.success else 'RUN FAILED'} in {time.perf_counter() - started:.1f} s")
    return 0 if result.success else 1


def execute_warehouse(instance):
    """The `warehouse` job in this process on `instance`; its own function so that the scale benchmark
    (tests/benchmarks/profile_run.py) runs exactly what `make run` runs and reads the instance's event log."""
    from orchestration.definitions import defs

    return defs.resolve_job_def("warehouse").execute_in_process(
        instance=instance, run_config=_QUIET, raise_on_error=False)


def print_summary(since: datetime, failed_checks: list) -> None:
    import duckdb
    from dagster import AssetCheckSeverity

    database = settings.warehouse_dir() / settings.WAREHOUSE_FILE
    if not database.exists():
        return
    with duckdb.connect(str(database), read_only=True) as con:
        outcomes = con.execute(
            "SELECT outcome, count(*), coalesce(sum(rows), 0) FROM audit.loads WHERE seen_at >= ?"
            " GROUP BY outcome ORDER BY outcome", [since]).fetchall()
        print(f"warehouse: {database}")
        print("files: " + ", ".join(f"{files} {outcome} ({rows} rows)" for outcome, files, rows in outcomes))
        for center_id, message in con.execute(
                "SELECT center_id, message FROM audit.loads WHERE seen_at >= ? AND outcome = 'failed'"
                " ORDER BY center_id, source_file", [since]).fetchall():
            print(f"  FAILED {center_id}: {message}")
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()"
            " WHERE schema_name IN ('core', 'quarantine', 'marts') ORDER BY ALL").fetchall()
        for schema, table in tables:
            rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
            print(f"  {schema}.{table}: {rows} rows")
        if ("core", "patients") in tables:
            by_study = con.execute("SELECT study, count(*) FROM core.patients GROUP BY study ORDER BY study").fetchall()
            print("patients: " + ", ".join(f"{count} {study}" for study, count in by_study))
    for evaluation in failed_checks:
        # WARN checks (clinical warnings, paper reproduction) do not fail the run; ERROR checks do.
        label = "check warning" if evaluation.severity == AssetCheckSeverity.WARN else "CHECK FAILED"
        print(f"  {label} {evaluation.asset_key.to_user_string()}: {evaluation.check_name}")


if __name__ == "__main__":
    code = main()
    from orchestration import dbt_runner

    dbt_runner.release()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: duckdb's nanobind bindings print spurious "leaked instance" reports there.
    os._exit(code)
