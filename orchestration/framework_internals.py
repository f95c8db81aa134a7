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
* **make run's history at a single writer's cost** (`sqlite_storage_held_open`): Dagster's SQLite storage
  classes and where their files are, to hold them open for the run and let their commits skip the disk
  flush; recording the run in $DAGSTER_HOME (so that `make ui` shows it) cost seconds without.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
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

__all__ = ["ASSET_PARTITION_RANGE_END_TAG", "ASSET_PARTITION_RANGE_START_TAG", "DbtStep", "close_dbt_duckdb",
           "sqlite_storage_held_open"]


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


@contextmanager
def sqlite_storage_held_open(instance: dg.DagsterInstance, run_id: str) -> Iterator[None]:
    """For the block (one run of `make run` in this process), the instance's SQLite databases cost what a
    single writer needs to pay. Dagster's SQLite event log creates an SQLAlchemy engine, opens a connection
    and disposes of both for every event it stores, two or three times an event (~1,100 events a run), and
    each commit waits for the disk: replaying a demo run's events into a fresh instance took a median 19.4 s
    at load 3.3, 8.6 s with the first and last changes below.

    * The event log keeps one engine per database (the run's, the index of asset events and checks) for the
      block, as `_engine_per_shard` says; at 100,000 patients the event log took about half of a run with
      nothing changed before. It also remembers which of its tables exist: it asked, through a new engine
      and connection, before storing each check result and asset event's tags (0.3-0.5 s a run).
    * A connection to the run database is held open: in WAL mode the close of the last connection to a file
      checkpoints the log into the database and deletes it; with one idle connection held (it reads once to
      join the log, then holds no lock), a close is only a close. The event log's kept engines hold theirs.
    * Dagster's connections opened in the block commit with `synchronous=NORMAL`, which SQLite documents as
      safe from corruption in WAL mode: the last commits before a power cut may be lost, never the database.

    Nothing is read or written through the held connection; another storage (Postgres) is left alone."""
    import sqlite3
    from urllib.parse import urlparse

    from dagster._core.storage.event_log import SqliteEventLogStorage
    from dagster._core.storage.runs import SqliteRunStorage
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event_log = instance.event_log_storage if isinstance(instance.event_log_storage, SqliteEventLogStorage) else None
    run_database = (urlparse(instance.run_storage._conn_string).path
                    if isinstance(instance.run_storage, SqliteRunStorage) else None)
    if event_log is None and run_database is None:
        yield
        return

    def normal_sync(dbapi_connection, _record) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    with ExitStack() as held:
        event.listen(Engine, "connect", normal_sync)
        held.callback(event.remove, Engine, "connect", normal_sync)
        if event_log is not None:
            held.enter_context(_engine_per_shard(event_log))
            with event_log.run_connection(run_id):  # creates the run's database (WAL mode) as its first event would
                pass
        if run_database is not None:
            connection = held.enter_context(contextlib.closing(sqlite3.connect(run_database, timeout=30)))
            # A connection joins the write-ahead log at its first read (and holds no lock after it).
            connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
        yield


@contextmanager
def _engine_per_shard(storage) -> Iterator[None]:
    """SqliteEventLogStorage._connect as Dagster writes it (under the storage's lock, the database created
    on first use, one transaction per call), with one engine per database kept for the block instead of an
    engine per call: its pooled connection stays open, and SQLAlchemy's cache of compiled statements, which
    lives with the engine, is used. `has_table` remembers the tables it found (the event log creates its
    tables when it opens; nothing drops one during a run). After the block, Dagster's own methods again."""
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
    from sqlalchemy import create_engine

    engines: dict[str, Any] = {}

    @contextmanager
    def connect(shard: str) -> Iterator[Any]:
        with storage._db_lock:
            if shard not in engines:
                engines[shard] = create_engine(storage.conn_string_for_shard(shard),
                                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                if shard not in storage._initialized_dbs:
                    storage._initdb(engines[shard])
                    storage._initialized_dbs.add(shard)
            with engines[shard].connect() as connection, connection.begin():
                yield connection

    found: set[str] = set()
    dagster_has_table = storage.has_table

    def has_table(table_name: str) -> bool:
        if table_name not in found and dagster_has_table(table_name):
            found.add(table_name)
        return table_name in found

    storage._connect, storage.has_table = connect, has_table
    try:
        yield
    finally:
        del storage._connect, storage.has_table
        for engine in engines.values():
            engine.dispose()
