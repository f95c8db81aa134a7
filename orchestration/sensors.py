"""Sensors: run the warehouse when a center drops, replaces or removes a file in the drop zone; record
every failed run in audit.run_failures."""

import hashlib
import time
from pathlib import Path

import dagster as dg

from orchestration.jobs import warehouse_job
from orchestration.resources import DeliveryResource, WarehouseResource


def drop_zone_fingerprint(landing_dir: Path) -> str:
    """Digest of every file's path, size and modification time: cheap, and no DuckDB connection (a sensor
    must not hold the warehouse); a touched but unchanged file costs one run that lands nothing."""
    digest = hashlib.sha256()
    for path in sorted(file for file in landing_dir.rglob("*") if file.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(landing_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@dg.sensor(job=warehouse_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def drop_zone_sensor(context: dg.SensorEvaluationContext, delivery: DeliveryResource):
    fingerprint = drop_zone_fingerprint(Path(delivery.landing_dir))
    if fingerprint == context.cursor:
        return dg.SkipReason("no file in the drop zone changed")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=fingerprint)


RUN_FAILURES_DDL = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.run_failures (
    run_id VARCHAR NOT NULL,
    job VARCHAR NOT NULL,
    step VARCHAR,
    error VARCHAR,
    failed_at TIMESTAMP NOT NULL
);
"""


def run_failure_rows(context: dg.RunFailureSensorContext) -> list[tuple]:
    """(run_id, job, step, error, failed_at): one row per failed step, or one with step NULL when the run
    failed outside any step (e.g. it could not start)."""
    from datetime import UTC, datetime

    run = context.dagster_run
    stats = context.instance.get_run_stats(run.run_id)
    failed_at = datetime.fromtimestamp(stats.end_time or datetime.now(UTC).timestamp(), UTC).replace(tzinfo=None)
    steps = [(event.step_key, _root_cause(event.event_specific_data.error))
             for event in context.get_step_failure_events()]
    return [(run.run_id, run.job_name, step, error, failed_at)
            for step, error in steps or [(None, context.failure_event.message)]]


# A failed run's sensor tick comes once: wait this long for the next queued run to free the warehouse
# (within the tick's 60 s limit) rather than lose the record.
LOCK_WAIT_SECONDS = 45


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_sensor(context: dg.RunFailureSensorContext, warehouse: WarehouseResource):
    """Record every failed run in audit.run_failures. Connects only when a run has failed."""
    import duckdb

    rows = run_failure_rows(context)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            with warehouse.connect() as con:
                con.execute(RUN_FAILURES_DDL)
                con.execute("DELETE FROM audit.run_failures WHERE run_id = ?", [context.dagster_run.run_id])
                con.executemany("INSERT INTO audit.run_failures VALUES (?, ?, ?, ?, ?)", rows)
            return
        except duckdb.IOException as error:
            # Another process (a run) writes the warehouse: DuckDB allows one writing process per file.
            if "lock" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def _root_cause(error) -> str:
    """The user's error ("ValueError: ..."), not Dagster's wrapper around it ("Error occurred while ...")."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()
