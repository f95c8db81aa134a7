"""The nightly refresh. Landing skips files already loaded (same SHA-256), so a second run on the same
deliveries lands nothing and rebuilds the same tables."""

import dagster as dg

nightly_schedule = dg.ScheduleDefinition(
    name="nightly",
    job_name="warehouse",
    cron_schedule="0 2 * * *",
    # The centers and their data managers are in China.
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refresh everything at 02:00 Beijing time: landing, staging, core, validation, marts, snapshot.",
)
