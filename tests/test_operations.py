"""Running itself: the nightly schedule, the drop-zone sensor and the run-failure sensor's audit.run_failures."""

import subprocess
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from orchestration.resources import DeliveryResource, WarehouseResource
from orchestration.schedules import nightly_schedule
from orchestration.sensors import drop_zone_sensor, run_failure_sensor


def test_nightly_schedule_runs_the_whole_warehouse_at_two_in_shanghai():
    tick = datetime(2026, 3, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    [request] = nightly_schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    assert nightly_schedule.job_name == "warehouse" and request.job_name in (None, "warehouse")
    assert (nightly_schedule.cron_schedule, nightly_schedule.execution_timezone) == ("0 2 * * *", "Asia/Shanghai")
    assert nightly_schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_drop_zone_sensor_launches_once_per_change(tmp_path):
    delivery = DeliveryResource(landing_dir=str(tmp_path), centers_dir=str(tmp_path))
    (tmp_path / "sch").mkdir()
    (tmp_path / "sch" / "patients.csv").write_text("mrn\n1\n")

    def evaluate(cursor):
        context = dg.build_sensor_context(cursor=cursor, resources={"delivery": delivery})
        result = drop_zone_sensor(context)
        return result, context.cursor

    first, cursor = evaluate(None)
    assert isinstance(first, dg.RunRequest)
    unchanged, _ = evaluate(cursor)
    assert isinstance(unchanged, dg.SkipReason)
    (tmp_path / "sch" / "patients.csv").write_text("mrn\n1\n2\n")
    changed, _ = evaluate(cursor)
    assert isinstance(changed, dg.RunRequest) and changed.run_key != first.run_key


@dg.asset
def lands_fine() -> None:
    return None


@dg.asset(deps=[lands_fine])
def breaks() -> None:
    raise ValueError("center sch delivered a truncated file")


def failed_run_context(instance: dg.DagsterInstance, warehouse: WarehouseResource):
    job = dg.define_asset_job("broken", selection=[lands_fine, breaks])
    result = dg.Definitions(assets=[lands_fine, breaks], jobs=[job]).resolve_job_def("broken").execute_in_process(
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
        run_failure_sensor(context)
        run_failure_sensor(context)  # the same failure seen again: still one row
    with duckdb.connect(warehouse.path, read_only=True) as con:
        rows = con.execute("SELECT run_id, job, step, error, failed_at FROM audit.run_failures").fetchall()
    [(recorded_run, job, step, error, failed_at)] = rows
    assert (recorded_run, job, step) == (run_id, "broken", "breaks")
    assert "ValueError: center sch delivered a truncated file" in error
    assert abs((datetime.now(UTC).replace(tzinfo=None) - failed_at).total_seconds()) < 60


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
