"""The non-public names orchestration/framework_internals.py uses, checked against the installed versions: an
upgrade that renames or reshapes one fails here, naming it, instead of failing every dbt step of a nightly run."""

import inspect

import pytest

from orchestration import framework_internals


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def assert_takes(name: str, function, expected: list[str], package: str, adapt: str) -> None:
    """`function` (named `name`) still takes the `expected` parameters; else which of framework_internals'
    uses (`adapt`) the installed `package` broke."""
    found = parameters(function)
    missing = [parameter for parameter in expected if parameter not in found]
    assert not missing, (f"{name} no longer takes {missing} (it takes {found}): the installed {package} differs "
                         f"from the one orchestration/framework_internals.py was written for; adapt {adapt}")


@pytest.mark.parametrize(("name", "function", "expected"), [
    ("dagster_dbt.asset_utils.get_manifest_and_translator_from_dbt_assets",
     framework_internals.get_manifest_and_translator_from_dbt_assets, ["dbt_assets"]),
    ("dagster_dbt.asset_utils.get_subset_selection_for_context",
     framework_internals.get_subset_selection_for_context,
     ["context", "manifest", "select", "exclude", "selector", "dagster_dbt_translator",
      "current_dbt_indirect_selection_env"]),
    ("dagster_dbt.core.dbt_cli_event.DbtCoreCliEventMessage",
     framework_internals.DbtCoreCliEventMessage, ["raw_event", "event_history_metadata"]),
    ("DbtCoreCliEventMessage.to_default_asset_events",
     framework_internals.DbtCoreCliEventMessage.to_default_asset_events,
     ["self", "manifest", "dagster_dbt_translator", "context", "target_path", "project"]),
])
def test_the_dagster_dbt_internals_keep_their_signatures(name, function, expected):
    assert_takes(name, function, expected, "dagster-dbt", "DbtStep")


def test_the_selection_metadata_keys_and_partition_range_tags_are_text():
    for name in ("DAGSTER_DBT_SELECT_METADATA_KEY", "DAGSTER_DBT_EXCLUDE_METADATA_KEY",
                 "ASSET_PARTITION_RANGE_START_TAG", "ASSET_PARTITION_RANGE_END_TAG"):
        value = getattr(framework_internals, name)
        assert isinstance(value, str) and value, f"{name} is {value!r}, not a non-empty tag name"


def test_dbt_duckdb_still_keeps_its_open_database_where_close_dbt_duckdb_looks():
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    assert hasattr(DuckDBConnectionManager, "_ENV"), (
        "dbt-duckdb's DuckDBConnectionManager has no _ENV: close_dbt_duckdb cannot release the warehouse file, "
        "and the Python assets' connections would be refused after the first dbt step")
    assert callable(getattr(DuckDBConnectionManager, "close_all_connections", None))


def test_the_asset_execution_context_gives_the_op_tags_publicly():
    import dagster as dg

    assert isinstance(inspect.getattr_static(dg.AssetExecutionContext, "op_execution_context"), property)


def test_the_sqlite_storage_is_held_open_where_dagster_writes_and_commits_without_waiting_for_the_disk(tmp_path):
    """make run's instance (orchestration.run): while held, the close of Dagster's own connection leaves the
    write-ahead log of the run's database in place (no checkpoint), and its connections commit with
    synchronous=NORMAL (1); after the block, Dagster's defaults again (FULL, 2) and the log gone."""
    import shutil
    from pathlib import Path

    import dagster as dg

    shutil.copy(Path(framework_internals.__file__).parent / "dagster.yaml", tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        wal = Path(storage.path_for_shard("run-1") + "-wal")

        def synchronous() -> int:
            with storage.run_connection("run-1") as connection:
                return connection.exec_driver_sql("PRAGMA synchronous").scalar()

        with framework_internals.sqlite_storage_held_open(instance):
            assert synchronous() == 1 and wal.exists()
        assert synchronous() == 2 and not wal.exists()


def test_the_event_log_keeps_one_engine_per_database_while_held(tmp_path):
    """Dagster's SQLite event log opens a new database connection for each of its calls (a new engine each
    time); while held, one connection per database serves every call, and Dagster's own `_connect` is back
    after the block. The private names the replacement uses are checked first, so that an upgrade that
    renames one fails here."""
    import shutil
    from pathlib import Path

    import dagster as dg
    from dagster._core.storage.event_log import SqliteEventLogStorage
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    assert parameters(SqliteEventLogStorage._connect) == ["self", "shard"]
    assert parameters(SqliteEventLogStorage._initdb)[:2] == ["self", "engine"]
    assert parameters(SqliteEventLogStorage.has_table) == ["self", "table_name"]
    shutil.copy(Path(framework_internals.__file__).parent / "dagster.yaml", tmp_path)
    connects = []

    def count(*_) -> None:
        connects.append(1)

    event.listen(Engine, "connect", count)
    try:
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            storage = instance.event_log_storage
            for name in ("_db_lock", "_initialized_dbs", "conn_string_for_shard"):
                assert hasattr(storage, name), f"SqliteEventLogStorage has no {name}: adapt _engine_per_shard"

            def calls() -> int:
                before = len(connects)
                for _ in range(5):
                    for connection in (storage.run_connection("run-1"), storage.index_connection()):
                        with connection as held:  # one at a time: each holds the storage's lock
                            held.exec_driver_sql("SELECT 1")
                return len(connects) - before

            def table_checks() -> int:
                before = len(connects)
                for _ in range(5):
                    assert storage.has_table("asset_check_executions") and not storage.has_table("no_such_table")
                return len(connects) - before

            with framework_internals.sqlite_storage_held_open(instance):
                calls()  # opens the index's connection
                assert calls() == 0
                assert table_checks() == 6  # a table found is remembered; one not found is asked again
            assert "_connect" not in vars(storage) and "has_table" not in vars(storage)
            assert calls() == 10  # Dagster's way: a connection per call
            assert table_checks() == 10
    finally:
        event.remove(Engine, "connect", count)


@pytest.mark.parametrize(("name", "function", "expected"), [
    ("dagster._core.execution.plan.execute_plan.dagster_event_sequence_for_step",
     framework_internals.dagster_event_sequence_for_step, ["step_context"]),
    ("dagster._core.execution.plan.execute_plan._trigger_hook", framework_internals._trigger_hook,
     ["step_context", "step_event_list"]),
    ("dagster._core.execution.api.ExecuteRunWithPlanIterable", framework_internals.ExecuteRunWithPlanIterable,
     ["execution_plan", "iterator", "execution_context_manager"]),
    ("dagster._core.execution.context_creation_job.PlanExecutionContextManager",
     framework_internals.PlanExecutionContextManager,
     ["job", "execution_plan", "run_config", "dagster_run", "instance", "retry_mode", "raise_on_error",
      "output_capture", "step_dependency_config"]),
    ("dagster._core.execution.plan.instance_concurrency_context.InstanceConcurrencyContext",
     framework_internals.InstanceConcurrencyContext, ["instance", "dagster_run"]),
    ("dagster._core.executor.in_process.InProcessExecutor", framework_internals.InProcessExecutor, ["retries"]),
])
def test_the_dagster_execution_internals_keep_their_signatures(name, function, expected):
    assert_takes(name, function, expected, "Dagster", "SideBySideExecutor")


def test_the_active_execution_still_offers_what_the_side_by_side_loop_calls():
    from dagster._core.execution.plan.active import ActiveExecution

    for method in ("get_next_step", "get_known_state", "concurrency_event_iterator", "sleep_til_ready",
                   "handle_event", "verify_complete", "plan_events_iterator"):
        assert callable(getattr(ActiveExecution, method, None)), (
            f"ActiveExecution has no {method}: adapt framework_internals._steps_side_by_side")
    assert isinstance(inspect.getattr_static(ActiveExecution, "is_complete"), property)
