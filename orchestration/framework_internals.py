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
* **Steps side by side** (`SideBySideExecutor`): Dagster's in-process executor runs one step at a time, and
  Dagster has no executor that runs steps on threads (dagster-io/dagster#4041). The marts, a third of a full
  run at 100,000 patients, each leave a core idle for part of their time (Python, one-threaded DuckDB work);
  two at a time took full runs from 55.1 to 52.9 s (medians of three, alternated; docs/scale.md). The loop
  that runs a plan's steps in process (`inner_plan_execution_iterator`) is rewritten here to run the steps
  tagged `SIDE_BY_SIDE_TAG` on threads; every other step runs alone, as before.
* **make run's history at a single writer's cost** (`sqlite_storage_held_open`): Dagster's SQLite storage
  classes and where their files are, to hold them open for the run and let their commits skip the disk
  flush; recording the run in $DAGSTER_HOME (so that `make ui` shows it) cost seconds without.
"""

from __future__ import annotations

import contextlib
import os
import queue
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.execute_plan import _trigger_hook, dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._utils.interrupts import check_captured_interrupt
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    get_manifest_and_translator_from_dbt_assets,
    get_subset_selection_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

__all__ = ["ASSET_PARTITION_RANGE_END_TAG", "ASSET_PARTITION_RANGE_START_TAG", "SIDE_BY_SIDE_TAG", "DbtStep",
           "SideBySideExecutor", "close_dbt_duckdb", "sqlite_storage_held_open"]

# The op tag of a step that may run beside other such steps (SideBySideExecutor); any other step runs alone.
SIDE_BY_SIDE_TAG = "blina/side_by_side"


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
def sqlite_storage_held_open(instance: dg.DagsterInstance) -> Iterator[None]:
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


class SideBySideExecutor(InProcessExecutor):
    """Dagster's in-process executor, but the ready steps tagged SIDE_BY_SIDE_TAG run up to `max_concurrent` at a
    time, each on a thread of its own; a step without the tag starts once nothing else runs and runs in the
    run's thread, as every step does under the in-process executor (interruptible: a terminated run stops it).
    Events are stored by the step's thread (the event log serialises its writes) and handled by the run's
    thread, as the in-process loop does. A run interrupted (terminated) while tagged steps run starts no
    further step and fails once they have finished: a thread cannot be interrupted."""

    def __init__(self, max_concurrent: int) -> None:
        super().__init__(RetryMode.ENABLED)  # as in_process: a step's retry policy applies
        self.max_concurrent = max(1, max_concurrent)

    def execute(self, plan_context, execution_plan) -> Iterator[DagsterEvent]:
        """InProcessExecutor.execute, with the side-by-side loop (`_steps_side_by_side`)."""
        step_keys = execution_plan.step_keys_to_execute
        yield DagsterEvent.engine_event(
            plan_context, f"Executing steps in process (pid: {os.getpid()}), up to {self.max_concurrent} side by side",
            event_specific_data=EngineEventData.in_process(os.getpid(), step_keys))

        def iterator(job_context, execution_plan) -> Iterator[DagsterEvent]:
            with InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as concurrency:
                yield from _steps_side_by_side(job_context, execution_plan, concurrency, self.max_concurrent)

        yield from ExecuteRunWithPlanIterable(
            execution_plan=plan_context.execution_plan, iterator=iterator,
            execution_context_manager=PlanExecutionContextManager(
                job=plan_context.job, retry_mode=plan_context.retry_mode, execution_plan=plan_context.execution_plan,
                run_config=plan_context.run_config, dagster_run=plan_context.dagster_run,
                instance=plan_context.instance, raise_on_error=plan_context.raise_on_error,
                output_capture=plan_context.output_capture, step_dependency_config=self.step_dependency_config))
        yield DagsterEvent.engine_event(plan_context, f"Finished steps in process (pid: {os.getpid()})",
                                        event_specific_data=EngineEventData.in_process(os.getpid(), step_keys))


def _alone(step) -> bool:
    return step.tags.get(SIDE_BY_SIDE_TAG) != "true"


def _steps_side_by_side(job_context, execution_plan, concurrency, width: int) -> Iterator[DagsterEvent]:
    """dagster._core.execution.plan.execute_plan.inner_plan_execution_iterator, with up to `width` tagged steps
    at a time on threads (SideBySideExecutor)."""
    compute_log_manager = job_context.instance.compute_log_manager
    step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
    finished = object()
    events: queue.Queue = queue.Queue()
    running: dict[str, tuple[Any, list]] = {}  # step key -> (its context, the events it emitted)
    alone = None  # a step without the tag, taken from the plan, waiting for the running ones

    def run(step_context) -> None:
        try:
            for event in dagster_event_sequence_for_step(step_context):
                events.put((step_context.step.key, event))
        except BaseException as error:  # Dagster's own failure, not the step's (that is a failure event)
            events.put((step_context.step.key, error))
        events.put((step_context.step.key, finished))

    with execution_plan.start(retry_mode=job_context.retry_mode, instance_concurrency_context=concurrency,
                              step_dependency_config=job_context.step_dependency_config) as active, \
            ExitStack() as capture_stack, ThreadPoolExecutor(max_workers=width) as threads:
        log_key = compute_log_manager.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
        log_context = capture_stack.enter_context(compute_log_manager.capture_logs(log_key))
        yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)
        while not active.is_complete:
            interrupted = check_captured_interrupt()
            while not interrupted and alone is None and len(running) < width:
                step = active.get_next_step()
                if step is None:
                    break
                if _alone(step):
                    alone = step
                    break
                step_context = job_context.for_step(step, active.get_known_state())
                running[step.key] = (step_context, [])
                threads.submit(run, step_context)
            yield from active.concurrency_event_iterator(job_context)
            if alone is not None and not running and not interrupted:
                step_context, emitted, alone = job_context.for_step(alone, active.get_known_state()), [], None
                for event in dagster_event_sequence_for_step(step_context):
                    emitted.append(event)
                    yield event
                    active.handle_event(event)
                yield from _step_finished(job_context, active, step_context, emitted)
                continue
            if not running:
                if interrupted:
                    raise DagsterExecutionInterruptedError("the run was interrupted between its steps")
                active.sleep_til_ready()
                continue
            try:
                key, event = events.get(timeout=1.0)
            except queue.Empty:  # a look at the interrupt flag each second
                continue
            step_context, emitted = running[key]
            if isinstance(event, BaseException):
                raise event
            if event is finished:
                del running[key]
                yield from _step_finished(job_context, active, step_context, emitted)
                continue
            emitted.append(event)
            yield event
            active.handle_event(event)


def _step_finished(job_context, active, step_context, emitted: list) -> Iterator[DagsterEvent]:
    """What the in-process loop does after a step: the plan's skips (failures upstream, inputs not produced),
    then the step's hooks."""
    active.verify_complete(job_context, step_context.step.key)
    for event in active.plan_events_iterator(job_context):
        emitted.append(event)
        yield event
    yield from _trigger_hook(step_context, emitted)
