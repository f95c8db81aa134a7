"""Sensors: land a center's delivery and rebuild the pooled warehouse when the center drops, replaces or
removes a file in the drop zone; record every failed run in audit.run_failures."""

import hashlib
import json
import os
import time
from pathlib import Path

import dagster as dg

from assets.landing.delivery import DeliveryResource
from orchestration.audit_tables import create_table
from orchestration.jobs import BUILDING_JOBS, REPORT_JOB
from orchestration.metadata import root_cause
from orchestration.resources import WarehouseResource


def center_fingerprint(folder: Path, skipped: list[str] | None = None, yaml_file: Path | None = None) -> str | None:
    """Digest of the names and contents of a center's regular files and of its YAML, None without any file: a
    touched but unchanged file keeps it, a new, replaced or removed file, or an edited YAML, changes it. Reads
    files only, no DuckDB (a sensor must not hold the warehouse). Symbolic links and other non-regular files
    are never read (a link may point anywhere on the machine): they are appended to `skipped`, with names
    that are not valid UTF-8."""
    from assets.landing.ingest import file_sha256, is_delivered_file

    files = sorted(folder.rglob("*")) if folder.is_dir() and not folder.is_symlink() else []
    digest, found = hashlib.sha256(), False
    if yaml_file is not None and yaml_file.is_file():
        digest.update(b"yaml\0" + file_sha256(yaml_file).encode() + b"\n")
    for path in files:
        name = os.fsencode(path.relative_to(folder))  # bytes: a name need not be valid UTF-8
        if path.is_dir() and not path.is_symlink():
            continue
        if not is_delivered_file(path) or not _utf8(name):
            if skipped is not None:
                skipped.append(f"{folder.name}/{name.decode('utf-8', 'replace')}")
            continue
        digest.update(name + b"\0" + file_sha256(path).encode() + b"\n")
        found = True
    return digest.hexdigest() if found else None


def _utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dg.sensor(job_name="center_delivery", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Every minute: one center_delivery run, for that center's partition, per center whose files "
                       "or YAML changed since the last tick. Links, and names that are not UTF-8, are skipped and "
                       "reported; switched on, it starts from what the warehouse already holds.")
def drop_zone_sensor(context: dg.SensorEvaluationContext, delivery: DeliveryResource, warehouse: WarehouseResource):
    """One run per center whose files changed since the last tick, for that center's partition only.

    The cursor keeps, per center, its fingerprint and how many changes were launched: the count goes into
    the run key, so a center re-delivering an earlier version still launches a run (Dagster launches a run
    key only once), while a change seen again after a lost cursor launches nothing new."""
    seen = json.loads(context.cursor) if context.cursor else {}
    requests = []
    # Switched on for the first time: what the warehouse already holds counts as seen.
    loaded = _loaded_files(warehouse) if not context.cursor else {}
    # The centers' YAMLs, which the center partitions are read from.
    for center in delivery.centers():
        center_id, skipped = center.center_id, []
        fingerprint = center_fingerprint(Path(delivery.landing_dir) / center_id, skipped, center.path)
        for name in skipped:
            context.log.warning(f"skipped {name}: only regular files with UTF-8 names are delivered files")
        previous, changes = seen.get(center_id, (None, 0))
        if fingerprint == previous or (previous is None and _all_loaded(center, delivery, loaded)):
            seen[center_id] = (fingerprint, changes)
            continue
        seen[center_id] = (fingerprint, changes + 1)
        requests.append(dg.RunRequest(
            run_key=f"{center_id}:{changes + 1}:{(fingerprint or 'removed')[:16]}",
            partition_key=center_id,
            # dagster.yaml limits runs per center tag to one at a time.
            tags={"center": center_id},
        ))
    cursor = json.dumps(seen, sort_keys=True)
    if not requests:
        return dg.SensorResult(skip_reason="no center's files changed", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)


def _loaded_files(warehouse: WarehouseResource) -> dict[tuple[str, str], str]:
    """(center_id, source_file) -> SHA-256 of the version the warehouse holds as current (raw.current_files);
    empty when the warehouse cannot be read (none yet, or a run holds it: then every center is launched)."""
    import duckdb

    try:
        with duckdb.connect(warehouse.path, read_only=True) as con:
            return {(center, file): sha for center, file, sha in con.execute(
                "SELECT center_id, source_file, file_sha256 FROM raw.current_files").fetchall()}
    except duckdb.Error:
        return {}


def _all_loaded(center, delivery: DeliveryResource, loaded: dict[tuple[str, str], str]) -> bool:
    """Every file the center's YAML lists is current in the warehouse as it lies in the drop zone."""
    from assets.landing.ingest import file_sha256, is_delivered_file, source_file

    for config in center.tables.values():
        path = Path(delivery.landing_dir) / center.center_id / config.file
        if not is_delivered_file(path) or loaded.get((center.center_id, source_file(config))) != file_sha256(path):
            return False
    return bool(loaded)


RUN_FAILURES_DDL = f"CREATE SCHEMA IF NOT EXISTS audit; {create_table('audit.run_failures')}"


def run_failure_rows(context: dg.RunFailureSensorContext) -> list[tuple]:
    """(run_id, job, step, error, failed_at): one row per failed step, or one with step NULL when the run
    failed outside any step (e.g. it could not start)."""
    from datetime import UTC, datetime

    run = context.dagster_run
    stats = context.instance.get_run_stats(run.run_id)
    failed_at = datetime.fromtimestamp(stats.end_time or datetime.now(UTC).timestamp(), UTC).replace(tzinfo=None)
    steps = [(event.step_key, root_cause(event.event_specific_data.error))
             for event in context.get_step_failure_events()]
    return [(run.run_id, run.job_name, step, error, failed_at)
            for step, error in steps or [(None, context.failure_event.message)]]


# A failed run's sensor tick comes once: wait this long for the next queued run to free the warehouse
# (within the tick's 60 s limit) rather than lose the record.
LOCK_WAIT_SECONDS = 45


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, request_job=REPORT_JOB,
                       description="Records every failed run (its failed steps and their errors) in "
                                   "audit.run_failures, where the data managers look; after a failed warehouse "
                                   "or center_delivery run, writes the study reports again (job `report`), so "
                                   "that they name the marts that failed.")
def run_failure_sensor(context: dg.RunFailureSensorContext, warehouse: WarehouseResource):
    """Record every failed run in audit.run_failures (connecting only when a run has failed); request the
    reports after a run that builds them failed."""
    record_run_failure(context, warehouse)
    if context.dagster_run.job_name in BUILDING_JOBS:
        return dg.RunRequest(run_key=f"report-after-{context.dagster_run.run_id}")
    return dg.SkipReason(f"{context.dagster_run.job_name} does not build the reports")


def record_run_failure(context: dg.RunFailureSensorContext, warehouse: WarehouseResource) -> None:
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
