"""The jobs `make run` and the UI launch.

Both run in process: the default multiprocess executor starts a Python process per step (~5 s each on
a 2-core machine, for steps that take milliseconds), and DuckDB takes one writer at a time anyway.
"""

import dagster as dg

warehouse_job = dg.define_asset_job(
    "warehouse",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Land every center's files, then build staging, core and everything downstream.",
)

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups("landing"),
    executor_def=dg.in_process_executor,
    description="Land every center's files into raw and record them in audit.loads.",
)

JOBS = [warehouse_job, ingest_job]
