"""The jobs `make run`, the schedule, the drop-zone sensor and the UI launch.

All run in process: the default multiprocess executor starts a Python process per step (~5 s each on
a 2-core machine, for steps that take milliseconds), and DuckDB takes one writer at a time anyway.
"""

import dagster as dg

from orchestration.framework_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG


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
    "report", selection=dg.AssetSelection.groups("report"), executor_def=dg.in_process_executor,
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
            executor_def=dg.in_process_executor,
            tags=every_center_tags(centers),
            description="Land every center's files, then build staging, core and everything downstream.",
        ),
        dg.define_asset_job(
            "center_delivery",
            selection=dg.AssetSelection.all(),
            executor_def=dg.in_process_executor,
            # Partitioned by center, as its landing and staging assets are.
            description="Land one center's files and rebuild its staging rows (the partition), then the pooled "
                        "core, validation and marts. Launched by the drop-zone sensor.",
        ),
        dg.define_asset_job(
            "ingest",
            selection=dg.AssetSelection.groups("landing"),
            executor_def=dg.in_process_executor,
            tags=every_center_tags(centers),
            description="Land every center's files into raw and record them in audit.loads.",
        ),
    ]
