"""The one module that uses names Dagster, dagster-dbt and dbt-duckdb do not export, each for a measured reason.

Everything else in the project uses public APIs. A minor upgrade may rename or reshape any name below: the
imports would fail at definition load, but a changed signature would only fail a dbt step at run time, so
tests/test_framework_internals.py checks every name and signature used here against the pinned versions
(requirements.lock) and names the one that changed.

* **dbt in process** (orchestration/dbt_runner.py) instead of dagster-dbt's public
  `DbtCliResource(...).cli(...).stream()`: that starts a dbt process per invocation, which spends ~3 s
  importing dbt and loading the project before its first query, three times a run (staging, intermediate,
  core): ~9 s of the demo's ~20 s `make run`. In process, dbt is imported once. What the public resource
  does around its process is reused here, not copied: the step's dbt selection
  (`subset_selection`) and the conversion of dbt's result events into Dagster events (`dagster_events`).
* **dbt-duckdb keeps its database open** between invocations of one process; the Python assets' own
  connections to the same file would be refused. `close_dbt_duckdb` closes it after each invocation.
* **A run over every center partition**: the tags a single-run backfill of a partition range carries,
  which `make run` and the tests set so that each center's landing is recorded as materialized.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    get_manifest_and_translator_from_dbt_assets,
    get_subset_selection_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

__all__ = ["ASSET_PARTITION_RANGE_END_TAG", "ASSET_PARTITION_RANGE_START_TAG", "DbtStep", "close_dbt_duckdb"]


class DbtStep:
    """The dbt side of one step of a `@dbt_assets` definition: its manifest, translator and project, the dbt
    selection of what the step materializes, and the conversion of dbt's events, as DbtCliResource does."""

    def __init__(self, context: dg.AssetExecutionContext) -> None:
        self.context = context
        self.manifest, self.translator, self.project = get_manifest_and_translator_from_dbt_assets(
            [context.assets_def])

    def subset_selection(self) -> tuple[list[str], str | None]:
        """dbt's --select/--exclude arguments for the assets the step selected, and the indirect selection
        dagster-dbt would use (None: dbt's own)."""
        tags = self.context.op_execution_context.op.tags
        return get_subset_selection_for_context(
            self.context, self.manifest, select=tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
            exclude=tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY), selector=None,
            dagster_dbt_translator=self.translator, current_dbt_indirect_selection_env=None)

    def dagster_events(self, raw_event: Mapping[str, Any], target_path: Path) -> Iterator[Any]:
        """One dbt event (a dict, as a line of dbt's JSON log) as dagster-dbt's Outputs and check results."""
        message = DbtCoreCliEventMessage(raw_event=dict(raw_event), event_history_metadata={})
        yield from message.to_default_asset_events(manifest=self.manifest, dagster_dbt_translator=self.translator,
                                                   context=self.context, target_path=target_path,
                                                   project=self.project)


def close_dbt_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the process's next invocation (`keep_open`), and its
    connections. Closing it after each invocation costs one open per invocation; `keep_open: false` instead
    reopens the file for every model and test."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()
