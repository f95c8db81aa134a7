"""One `make run` at a time per warehouse: a lock file beside it, and a probe for any other process (an
analyst's DuckDB shell, a UI run) holding the warehouse file, so that a second run stops at once with one
clear sentence instead of failing half way with a lock traceback from DuckDB or dbt."""

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse."""


@contextmanager
def exclusive_warehouse(database: Path) -> Iterator[None]:
    """Hold `<database>.lock` for the block; raise WarehouseBusy if another run holds it, or if another
    process has the warehouse file open."""
    import duckdb

    database.parent.mkdir(parents=True, exist_ok=True)
    lock = database.with_name(database.name + ".lock")
    with lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise WarehouseBusy(f"another run holds {database} (pid {holder}); wait for it to finish") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            duckdb.connect(str(database)).close()  # DuckDB locks the file for one writing process
        except duckdb.IOException as error:
            holder = re.search(r"PID (\d+)", str(error))
            raise WarehouseBusy(f"another process holds {database} (pid {holder[1] if holder else 'unknown'}):"
                                " close it (the analysts' copy is analytics.duckdb) and run again") from None
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
