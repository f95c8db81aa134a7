"""Run the warehouse when a center drops, replaces or removes a file in the drop zone."""

import hashlib
from pathlib import Path

import dagster as dg

from orchestration.jobs import warehouse_job
from orchestration.resources import DeliveryResource


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
