"""Running itself: the nightly schedule, the drop-zone sensor and the run-failure sensor's audit.run_failures."""

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from assets.landing.assets import center_partitions, landing_assets
from assets.landing.delivery import DeliveryResource
from orchestration.definitions import defs
from orchestration.resources import WarehouseResource
from orchestration.schedules import nightly_schedule
from orchestration.sensors import drop_zone_sensor, run_failure_sensor

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

PROJECT = Path(__file__).resolve().parent.parent
# The demo centers and their extracts.
CENTERS_DIR = PROJECT / "data" / "centers"
LANDING_DIR = CENTERS_DIR.parent / "landing"


def test_nightly_schedule_runs_the_whole_warehouse_at_two_in_shanghai():
    tick = datetime(2026, 3, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    [request] = nightly_schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    assert nightly_schedule.job_name == "warehouse" and request.job_name in (None, "warehouse")
    assert (nightly_schedule.cron_schedule, nightly_schedule.execution_timezone) == ("0 2 * * *", "Asia/Shanghai")
    assert nightly_schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def evaluate_drop_zone(landing: Path, cursor: str | None, centers: Path = CENTERS_DIR,
                       warehouse: Path | None = None) -> tuple[dict[str, dg.RunRequest], str | None]:
    """The sensor's run requests by center, and its new cursor (`warehouse`: none yet by default)."""
    resources = {"delivery": DeliveryResource(landing_dir=str(landing), centers_dir=str(centers)),
                 "warehouse": WarehouseResource(path=str(warehouse or landing / "no_warehouse.duckdb"))}
    result = drop_zone_sensor(dg.build_sensor_context(cursor=cursor, resources=resources))
    return {request.partition_key: request for request in result.run_requests or []}, result.cursor


def deliver(landing: Path, center_id: str, text: str) -> None:
    (landing / center_id).mkdir(exist_ok=True)
    (landing / center_id / "patients.csv").write_text(text)


def test_drop_zone_sensor_launches_one_run_per_changed_center(tmp_path):
    deliver(tmp_path, "sch", "mrn\n1\n")
    deliver(tmp_path, "ach", "mrn\n7\n")
    first, cursor = evaluate_drop_zone(tmp_path, None)
    # Centers without files in the drop zone launch nothing.
    assert sorted(first) == ["ach", "sch"]
    assert all(request.tags["center"] == center for center, request in first.items())
    assert all(request.job_name in (None, "center_delivery") for request in first.values())

    deliver(tmp_path, "sch", "mrn\n1\n")  # re-written, same bytes
    assert evaluate_drop_zone(tmp_path, cursor) == ({}, cursor)

    deliver(tmp_path, "sch", "mrn\n1\n2\n")
    changed, cursor = evaluate_drop_zone(tmp_path, cursor)
    assert list(changed) == ["sch"] and changed["sch"].run_key != first["sch"].run_key

    # Back to the first version: a new change, so a new run key (Dagster launches a run key once only).
    deliver(tmp_path, "sch", "mrn\n1\n")
    reverted, _ = evaluate_drop_zone(tmp_path, cursor)
    assert list(reverted) == ["sch"] and reverted["sch"].run_key not in {first["sch"].run_key,
                                                                         changed["sch"].run_key}


def test_links_and_names_that_are_not_utf8_are_skipped_and_reported_never_read(tmp_path):
    from orchestration.sensors import center_fingerprint

    deliver(tmp_path, "sch", "mrn\n1\n")
    clean = center_fingerprint(tmp_path / "sch")
    (tmp_path / "sch" / "passwd.csv").symlink_to("/etc/passwd")
    (tmp_path / os.fsdecode(b"sch/\xb2\xe2\xca\xd4.csv")).write_text("mrn\n2\n")  # GBK bytes for 测试
    skipped: list[str] = []
    assert center_fingerprint(tmp_path / "sch", skipped) == clean
    assert sorted(skipped) == ["sch/passwd.csv", "sch/\ufffd\ufffd\ufffd\ufffd.csv"]
    requests, _ = evaluate_drop_zone(tmp_path, None)
    assert list(requests) == ["sch"]  # the sensor goes on for every center


def test_first_tick_launches_nothing_already_loaded_and_a_yaml_edit_launches_its_center(tmp_path):
    from assets.landing.contract import TABLE_FIELDS
    from assets.landing.ingest import land_table

    centers = tmp_path / "centers"
    shutil.copytree(CENTERS_DIR, centers)
    delivery = DeliveryResource(landing_dir=str(LANDING_DIR), centers_dir=str(centers))
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for table in TABLE_FIELDS:
            land_table(con, table, delivery.centers(), LANDING_DIR, datetime(2026, 1, 1), tmp_path / "scratch")
    first, cursor = evaluate_drop_zone(LANDING_DIR, None, centers, warehouse)
    assert first == {} and sorted(json.loads(cursor)) == sorted(path.stem for path in centers.glob("*.yaml"))
    sch = centers / "sch.yaml"
    sch.write_text(sch.read_text(encoding="utf-8") + "# Cytogenetics now delivered as ISCN text\n", encoding="utf-8")
    edited, _ = evaluate_drop_zone(LANDING_DIR, cursor, centers, warehouse)
    assert list(edited) == ["sch"]


def test_the_instance_never_runs_one_center_twice_at_once(tmp_path):
    """The instance of `make ui` (orchestration/dagster.yaml): one run at a time, and whatever that number
    becomes, one run per value of the `center` tag the drop-zone sensor puts on each run."""
    shutil.copy(PROJECT / "orchestration" / "dagster.yaml", tmp_path / "dagster.yaml")
    queue = dg.DagsterInstance.from_config(str(tmp_path)).get_concurrency_config().run_queue_config
    assert queue.max_concurrent_runs == 1
    assert {"key": "center", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in queue.tag_concurrency_limits


def test_center_partition_lands_only_that_center(tmp_path):
    resources = {"warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
                 "delivery": DeliveryResource(landing_dir=str(LANDING_DIR), centers_dir=str(CENTERS_DIR))}
    patients = next(asset for asset in landing_assets(center_partitions())
                    if asset.key == dg.AssetKey(["raw", "patients"]))
    assert dg.materialize([patients], partition_key="sch", resources=resources).success
    with duckdb.connect(resources["warehouse"].path, read_only=True) as con:
        landed = con.execute("SELECT DISTINCT center_id FROM audit.loads UNION SELECT DISTINCT center_id"
                             " FROM raw.patients").fetchall()
    assert landed == [("sch",)]


def test_warehouse_job_lands_every_center_partition():
    centers = sorted(path.stem for path in CENTERS_DIR.glob("*.yaml"))
    tags = defs.resolve_job_def("warehouse").tags
    assert len(centers) > 1 and center_partitions().get_partition_keys() == centers
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        centers[0], centers[-1])
    assert defs.resolve_job_def("center_delivery").partitions_def == center_partitions()
    assert defs.resolve_asset_graph().get(dg.AssetKey(["staging", "stg_patients"])).partitions_def == (
        center_partitions())


@dg.asset
def lands_fine() -> None:
    return None


@dg.asset(deps=[lands_fine])
def breaks() -> None:
    raise ValueError("center sch delivered a truncated file")


def failed_run_context(instance: dg.DagsterInstance, warehouse: WarehouseResource, job_name: str = "broken"):
    job = dg.define_asset_job(job_name, selection=[lands_fine, breaks])
    result = dg.Definitions(assets=[lands_fine, breaks], jobs=[job]).resolve_job_def(job_name).execute_in_process(
        instance=instance, raise_on_error=False)
    assert not result.success
    [failure] = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(
        sensor_name=run_failure_sensor.name, dagster_event=failure.dagster_event, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id), resources={"warehouse": warehouse},
    ).for_run_failure(), result.run_id


def test_run_failure_sensor_records_the_failed_step_and_its_error_once(tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    with dg.DagsterInstance.ephemeral() as instance:
        context, run_id = failed_run_context(instance, warehouse)
        assert isinstance(run_failure_sensor(context), dg.SkipReason)  # "broken" does not build the reports
        run_failure_sensor(context)  # the same failure seen again: still one row
    with duckdb.connect(warehouse.path, read_only=True) as con:
        rows = con.execute("SELECT run_id, job, step, error, failed_at FROM audit.run_failures").fetchall()
    [(recorded_run, job, step, error, failed_at)] = rows
    assert (recorded_run, job, step) == (run_id, "broken", "breaks")
    assert "ValueError: center sch delivered a truncated file" in error
    assert abs((datetime.now(UTC).replace(tzinfo=None) - failed_at).total_seconds()) < 60


def test_after_a_failed_warehouse_run_the_sensor_writes_the_reports_again_once(tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    with dg.DagsterInstance.ephemeral() as instance:
        context, run_id = failed_run_context(instance, warehouse, job_name="warehouse")
        request = run_failure_sensor(context)
    assert isinstance(request, dg.RunRequest) and request.run_key == f"report-after-{run_id}"
    assert run_failure_sensor.job_name == "report"  # the study reports alone (orchestration/jobs.py)


def test_run_failure_sensor_waits_for_a_run_holding_the_warehouse(tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_WAREHOUSE, warehouse.path], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with dg.DagsterInstance.ephemeral() as instance:
            context, run_id = failed_run_context(instance, warehouse)
            run_failure_sensor(context)
    finally:
        holder.kill()
    with duckdb.connect(warehouse.path, read_only=True) as con:
        assert con.execute("SELECT run_id FROM audit.run_failures").fetchall() == [(run_id,)]


# Another process writing the warehouse for 3 s, as the next queued run would.
HOLD_THE_WAREHOUSE = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(3)
con.close()
"""
