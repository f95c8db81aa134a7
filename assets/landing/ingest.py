"""Land one contract table from every center's drop-zone folder: hash, skip known versions, read, append."""

import hashlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from assets.landing import store
from assets.landing.contract import TABLE_FIELDS
from assets.landing.store import FAILED, LOADED, UNCHANGED, FileLoad

if TYPE_CHECKING:
    import duckdb
    import polars as pl


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as delivered:
        for block in iter(lambda: delivered.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def land_table(
    con: "duckdb.DuckDBPyConnection", table: str, centers: list, landing_dir: Path, loaded_at: datetime
) -> list[FileLoad]:
    """Land `table` from every center whose YAML lists it; one audit row per file, whatever its outcome."""
    store.ensure_warehouse(con)
    store.ensure_raw_table(con, table, TABLE_FIELDS[table])
    loads = []
    for center in centers:
        if table in center.tables:
            loads.append(_land_file(con, center, table, landing_dir / center.center_id, loaded_at))
    return loads


def _land_file(con: "duckdb.DuckDBPyConnection", center, table: str, folder: Path, loaded_at: datetime) -> FileLoad:
    from assets.landing.readers import DeliveryError, read_table

    config = center.tables[table]
    path = folder / config.file
    load = FileLoad(center.center_id, _source_file(config), table, FAILED)
    if not path.is_file():
        message = f"{config.file}: not delivered (listed in {center.path.name})"
        return _record(con, replace(load, message=message), loaded_at)
    load = replace(load, file_sha256=file_sha256(path))
    if store.already_loaded(con, load.center_id, load.source_file, load.file_sha256):
        return _record(con, replace(load, outcome=UNCHANGED, rows=0), loaded_at)
    try:
        frame = read_table(center, table, path)
    except DeliveryError as error:
        # Only this file fails: the center's earlier version stays current, the other centers still load.
        return _record(con, replace(load, message=str(error)), loaded_at)
    load = replace(load, outcome=LOADED, rows=frame.height, message=_extra_columns_message(frame))
    store.land_rows(con, frame, load, loaded_at)
    return load


def _record(con: "duckdb.DuckDBPyConnection", load: FileLoad, seen_at: datetime) -> FileLoad:
    store.record_load(con, load, seen_at)
    return load


def _source_file(config) -> str:
    return f"{config.file}#{config.sheet}" if config.sheet else config.file


def _extra_columns_message(frame: "pl.DataFrame") -> str | None:
    from assets.landing.readers import unknown_columns

    headers = unknown_columns(frame)
    return "unknown extra columns, kept in raw `extra`: " + ", ".join(headers) if headers else None
