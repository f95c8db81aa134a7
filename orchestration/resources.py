"""The Dagster resource of the DuckDB warehouse file, which every layer's assets use. It imports no asset
module (tests/test_import_direction.py); the drop zone's resource is the landing layer's
(assets/landing/delivery.py), and orchestration/definitions.py builds both from the environment."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from orchestration import settings


class _Held(threading.local):
    """Per thread: warehouse path -> the connection an enclosing `connect` holds."""

    def __init__(self) -> None:
        self.connections: dict[str, object] = {}


_held = _Held()
# Warehouse path -> the connection a run in this process keeps open between its steps (`kept_open`).
_kept: dict[str, object] = {}
# DuckDB checkpoints a database at a commit once its changes since the last checkpoint pass this size (16 MB by
# default), and a connection's temporary tables count as a database of their own: the gate's scratch tables
# (rows updated and deleted, then dropped) were compacted mid-step, 6.2 s of one statement at 1,000,000
# patients. With this threshold the temporary ones never are, and the warehouse file is checkpointed when the
# database closes (a step's connection; under `kept_open`, before dbt and at the run's end) or at 1 GB of
# changes. dbt's connection keeps DuckDB's default: the same threshold there gained nothing (docs/scale.md).
CHECKPOINT_THRESHOLD = "1GB"


class WarehouseResource(dg.ConfigurableResource):
    """The one DuckDB file holding the schemas raw, staging, core, quarantine, marts and audit.

    Every connection, the Python assets' and dbt's (through `duckdb_env`), gets the same caps: DuckDB takes
    all the memory and cores it is allowed, and past `memory_limit` it spills to `temp_directory` instead of
    failing, so a registry-sized run stays within a fixed footprint on a shared hospital server.
    """

    path: str
    memory_limit: str = settings.DEFAULT_MEMORY_LIMIT
    threads: int = settings.DEFAULT_THREADS

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """At the start of a run (every run uses the warehouse; sensors, which only read it, are not runs):
        refuse it, before any step writes, when no pseudonym key may be used. The refusal is the run's failure
        in its event log (the UI's and the daemon's runs), as `make run` prints it."""
        from orchestration.pseudonym_key import KeyMissing, key

        if context.run is not None:
            try:
                key()
            except KeyMissing as missing:
                raise dg.Failure(description=str(missing)) from None

    @property
    def temp_directory(self) -> Path:
        # Beside the warehouse: same disk, and never inside a center's drop zone.
        return Path(self.path).parent / "tmp"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator["duckdb.DuckDBPyConnection"]:  # noqa: F821
        """A connection to the warehouse, closed on exit. Inside another `connect` of the same thread (an asset
        run by @skip_when_unchanged, which plans and records around it), that connection: opening and closing
        the file (its catalog read, its write-ahead log checkpointed) cost ~50 ms each time, and a step opened
        it up to five times."""
        held = _held.connections  # this thread's (steps run side by side on threads: orchestration/jobs.py)
        if self.path in held:
            yield held[self.path]
            return
        with self._connection(read_only) as con:
            held[self.path] = con
            try:
                yield con
            finally:
                del held[self.path]

    @contextmanager
    def kept_open(self) -> Iterator[None]:
        """For the block (a run in this process, `make run`), keep the database open between the steps. DuckDB
        shares one open database among a process's connections to a file with the same settings, so each
        step's `connect` then costs ~0.1 ms instead of opening the file (its catalog read) and closing it (the
        write-ahead log checkpointed), ~50 ms each, about 60 times a run. A step's connection is still its
        own (its temporary tables go with it), and a read-only request gets a writable one: one process
        cannot hold the file both ways. dbt's own connection needs the file to itself (`released`)."""
        _kept[self.path] = self._open(read_only=False)
        try:
            yield
        finally:
            kept = _kept.pop(self.path, None)
            if kept is not None:
                kept.close()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Inside `kept_open`: the file closed for the block (dbt-duckdb opens it with its own settings), and
        opened again after it."""
        kept = _kept.pop(self.path, None)
        if kept is None:
            yield
            return
        kept.close()
        try:
            yield
        finally:
            _kept[self.path] = self._open(read_only=False)

    @contextmanager
    def _connection(self, read_only: bool) -> Iterator["duckdb.DuckDBPyConnection"]:  # noqa: F821
        import duckdb

        try:
            # Opening replays the write-ahead log, which can already need more than the limit.
            con = self._open(read_only and self.path not in _kept)
            try:
                yield con
            finally:
                # Closed even on errors: dbt, the next writer, cannot open a file another connection holds.
                con.close()
        except (duckdb.OutOfMemoryException, MemoryError) as error:
            raise dg.Failure(description=self.out_of_memory(str(error))) from error

    def _open(self, read_only: bool) -> "duckdb.DuckDBPyConnection":  # noqa: F821
        import duckdb

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.temp_directory.mkdir(exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only, config={
            "memory_limit": self.memory_limit, "threads": self.threads, "temp_directory": str(self.temp_directory),
            "checkpoint_threshold": CHECKPOINT_THRESHOLD})
        con.execute("SET enable_progress_bar = false")  # a run's log, not a terminal
        return con

    def out_of_memory(self, error: str) -> str:
        """What to do when a step does not fit (the step's own failure event says which step it was)."""
        first_line = next(iter(error.splitlines()), "")
        return (f"Out of memory: this step needs more than BLINA_DUCKDB_MEMORY_LIMIT={self.memory_limit} even "
                f"with spilling to {self.temp_directory}. Raise BLINA_DUCKDB_MEMORY_LIMIT (or lower "
                f"BLINA_DUCKDB_THREADS={self.threads}) and run again; the transaction was rolled back, so the "
                f"warehouse and the analyst snapshot are as the last successful step left them. ({first_line})")

    def duckdb_env(self) -> dict[str, str]:
        """The variables profiles.yml reads, so that dbt's connection has this resource's file and caps."""
        self.temp_directory.mkdir(parents=True, exist_ok=True)
        return {"BLINA_WAREHOUSE_DIR": str(Path(self.path).parent), "BLINA_DUCKDB_MEMORY_LIMIT": self.memory_limit,
                "BLINA_DUCKDB_THREADS": str(self.threads), "BLINA_DUCKDB_TEMP_DIRECTORY": str(self.temp_directory)}
