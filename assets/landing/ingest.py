"""Land one contract table from every center's drop-zone folder: hash, skip known versions, read, append.

A file is read where it lies and appended by one INSERT in DuckDB (readers.delivered_rows, store.land_rows).
"""

import hashlib
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from assets.landing import store
from assets.landing.contract import TABLE_FIELDS
from assets.landing.store import FAILED, LOADED, UNCHANGED, FileLoad

if TYPE_CHECKING:
    import duckdb


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as delivered:
        for block in iter(lambda: delivered.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def land_table(
    con: "duckdb.DuckDBPyConnection", table: str, centers: list, landing_dir: Path, loaded_at: datetime,
    scratch: Path,
) -> list[FileLoad]:
    """Land `table` from every center whose YAML lists it; one audit row per file, whatever its outcome.
    `scratch` holds transcoded copies of delivered files while they load (never the drop zone, whose files
    stay as delivered)."""
    store.ensure_warehouse(con)
    store.ensure_raw_table(con, table, TABLE_FIELDS[table])
    loads = []
    for center in centers:
        if table in center.tables:
            loads.append(_land_file(con, center, table, landing_dir / center.center_id, loaded_at, scratch))
    return loads


def _land_file(con: "duckdb.DuckDBPyConnection", center, table: str, folder: Path, loaded_at: datetime,
               scratch: Path) -> FileLoad:
    from assets.landing.readers import DeliveryError, delivered_rows

    config = center.tables[table]
    path = folder / config.file
    load = FileLoad(center.center_id, source_file(config), table, FAILED)
    if not path.exists() and not path.is_symlink():
        message = f"{config.file}: not delivered (listed in {center.path.name})"
        return _record(con, replace(load, message=message), loaded_at)
    if not is_delivered_file(path):
        # Never read: a link may point anywhere on the machine, and its contents would be published (SHA-256).
        message = (f"{config.file}: not a regular file inside the drop zone (a symbolic link, or a folder or"
                   " device); only regular files are landed")
        return _record(con, replace(load, message=message), loaded_at)
    load = replace(load, file_sha256=file_sha256(path))
    if store.already_loaded(con, load.center_id, load.source_file, load.file_sha256):
        return _record(con, replace(load, outcome=UNCHANGED, rows=0), loaded_at)
    try:
        with delivered_rows(con, center, table, path, scratch) as delivered:
            loaded = replace(load, outcome=LOADED, message=_extra_columns_message(delivered.unknown))
            return store.land_rows(con, delivered.sql, loaded, loaded_at, partial(delivered.check_rows, con))
    except DeliveryError as error:
        # Only this file fails: the center's earlier version stays current, the other centers still load.
        return _record(con, replace(load, message=str(error)), loaded_at)


def is_delivered_file(path: Path) -> bool:
    """A regular file, not a symbolic link, in a folder that is not one either."""
    return path.is_file() and not path.is_symlink() and not path.parent.is_symlink()


def _record(con: "duckdb.DuckDBPyConnection", load: FileLoad, seen_at: datetime) -> FileLoad:
    store.record_load(con, load, seen_at)
    return load


def listed_files(centers) -> set[tuple[str, str]]:
    """(center_id, source_file) of every file the centers' YAMLs list now."""
    return {(center.center_id, source_file(config)) for center in centers for config in center.tables.values()}


def source_file(config) -> str:
    return f"{config.file}#{config.sheet}" if config.sheet else config.file


def _extra_columns_message(headers: tuple[str, ...]) -> str | None:
    return "unknown extra columns, kept in raw `extra`: " + ", ".join(headers) if headers else None
