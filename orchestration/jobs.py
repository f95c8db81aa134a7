"""The jobs `make run`, the schedule, the drop-zone sensor and the UI launch, and the executor they run on.

All run in one process: the default multiprocess executor starts a Python process per step (~5 s each on
a 2-core machine, for steps that take milliseconds), and DuckDB takes one writing process at a time anyway.
Within it, the steps tagged SIDE_BY_SIDE_TAG (the marts, the study reports) run side by side on threads, each
on a connection of its own to the one open database (`side_by_side_executor`; docs/architecture.md).
"""

import dagster as dg

from orchestration import settings
from orchestration.framework_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    SIDE_BY_SIDE_TAG,
    SideBySideExecutor,
)

# What a step tags itself with (op_tags) to run beside other such steps.
SIDE_BY_SIDE = {SIDE_BY_SIDE_TAG: "true"}


@dg.executor(name="side_by_side", config_schema={
    "max_concurrent": dg.Field(int, default_value=settings.threads(), description=(
        "How many steps tagged blina/side_by_side run at once (default: the warehouse's DuckDB threads, "
        "BLINA_DUCKDB_THREADS); 1 runs every step alone, as Dagster's in_process executor."))})
def side_by_side_executor(init_context) -> SideBySideExecutor:
    """In this process, as Dagster's in_process executor, but the steps tagged SIDE_BY_SIDE (the marts, each of
    which leaves a core idle for part of its time, and the reports) up to `max_concurrent` at a time; every
    other step alone, in the run's thread."""
    return SideBySideExecutor(init_context.executor_config["max_concurrent"])


def every_center_tags(centers: dg.StaticPartitionsDefinition) -> dict[str, str]:
    """A run over the range of every center partition: each center's landing and staging is recorded as
    materialized."""
    keys = centers.get_partition_keys()
    if not keys:
        return {}
    return {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}


# The study reports alone: after a run in which a step failed (which ran nothing downstream of it, the
# reports included), so that each page says which marts failed (assets/report/context.not_rebuilt).
REPORT_JOB = dg.define_asset_job(
    "report", selection=dg.AssetSelection.groups("report"), executor_def=side_by_side_executor,
    description="Write the study reports again from the warehouse as it is: run after a failed run, so that "
                "each page names the marts that failed instead of keeping the run before's page.")
# The jobs whose failure leaves the reports behind.
BUILDING_JOBS = ("warehouse", "center_delivery")


def build_jobs(centers: dg.StaticPartitionsDefinition) -> list:
    """`warehouse` (make run, the nightly schedule), `center_delivery` (the drop-zone sensor), `ingest`,
    `report` (REPORT_JOB)."""
    return [
        REPORT_JOB,
        dg.define_asset_job(
            "warehouse",
            selection=dg.AssetSelection.all(),
            executor_def=side_by_side_executor,
            tags=every_center_tags(centers),
            description="Land every center's files, then build staging, core and everything downstream.",
        ),
        dg.define_asset_job(
            "center_delivery",
            selection=dg.AssetSelection.all(),
            executor_def=side_by_side_executor,
            # Partitioned by center, as its landing and staging assets are.
            description="Land one center's files and rebuild its staging rows (the partition), then the pooled "
                        "core, validation and marts. Launched by the drop-zone sensor.",
        ),
        dg.define_asset_job(
            "ingest",
            selection=dg.AssetSelection.groups("landing"),
            executor_def=side_by_side_executor,
            tags=every_center_tags(centers),
            description="Land every center's files into raw and record them in audit.loads.",
        ),
    ]
