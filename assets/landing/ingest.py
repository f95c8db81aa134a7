"""Land one contract table from every center's drop-zone folder: hash, skip known versions, read, append.

A file is read where it lies and appended by one INSERT in DuckDB (readers.delivered_rows, store.land_rows).
Several centers' files of a table load side by side, one per DuckDB thread: DuckDB reads a CSV file in file order
on one core (readers._csv_cells), so one file at a time left the other cores idle through most of landing.
"""

import hashlib
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from assets.landing import store
from assets.landing.contract import TABLE_FIELDS
from assets.landing.store import FAILED, HELD, LOADED, UNCHANGED, FileLoad
from orchestration.side_by_side import side_by_side

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
    listed = [center for center in centers if table in center.tables]

    # One file per cursor (orchestration/side_by_side.py): appends of two files never conflict.
    return side_by_side(con, lambda cursor, center: _land_file(
        cursor, center, table, landing_dir / center.center_id, loaded_at, scratch), listed)


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
    released = any(load.file_sha256.startswith(prefix) for prefix in config.release)
    earlier = store.landed(con, load.center_id, load.source_file, load.file_sha256)
    if earlier and earlier.outcome == LOADED:
        return _record(con, replace(load, outcome=UNCHANGED, rows=0), loaded_at)
    if earlier:  # held before: its rows are in raw already
        seen = (replace(load, outcome=LOADED, rows=earlier.rows, message="released by the center's YAML")
                if released else replace(load, outcome=HELD, rows=earlier.rows, message=earlier.message))
        return _record(con, seen, loaded_at)
    previous = store.current_rows(con, load.center_id, load.source_file)
    try:
        with delivered_rows(con, center, table, path, scratch) as delivered:
            loaded = replace(load, outcome=LOADED, message=_columns_message(delivered))
            # A version the center released loads as delivered; any other is checked against the current one.
            hold = (partial(_held, config, path, previous, load.file_sha256,
                            _dropped(con, load, config, delivered.missing) if previous else [])
                    if not released else lambda count: None)
            return store.land_rows(con, delivered.sql, loaded, loaded_at, partial(delivered.check_rows, con), hold)
    except DeliveryError as error:
        # Only this file fails: the center's earlier version stays current, the other centers still load.
        return _record(con, replace(load, message=str(error)), loaded_at)


def _held(config, path: Path, previous: int | None, sha256: str, dropped: list[str], rows: int) -> str | None:
    """Why a new version must not become current before someone looks at it (None: it may): it lost more
    than the table's shrink_limit_pct of the current version's rows, or its last line has no line end (a
    file cut off in transfer, perhaps at a row boundary, so that every row still parses), or it lacks mapped
    columns the current version delivered values in (`dropped`)."""
    if previous is None:  # a first delivery supersedes nothing
        return None
    release = f"release it with `release: [{sha256[:12]}]` under tables.{config.name} in the center's YAML"
    if dropped:
        return (f"{config.file}: the columns {', '.join(dropped)} of the previous version are missing: held, the"
                " previous version stays current; if the center no longer delivers them, list them under"
                f" `retired:` of tables.{config.name} in its YAML, or {release}")
    if previous and rows < previous * (1 - config.shrink_limit_pct / 100):
        return (f"{config.file}: {rows} rows, previous version {previous} (more than {config.shrink_limit_pct:g} %"
                f" fewer): held, the previous version stays current; if the center confirms it, {release}")
    if config.format == "csv" and not _ends_with_line_end(path):
        return (f"{config.file}: its last line has no line end (a cut-off file?): held, the previous version"
                f" stays current; if the center confirms it, {release}")
    return None


def _ends_with_line_end(path: Path) -> bool:
    with path.open("rb") as delivered:
        delivered.seek(0, 2)
        if delivered.tell() == 0:
            return True
        delivered.seek(-1, 2)
        return delivered.read(1) in (b"\n", b"\r")


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


def _columns_message(delivered) -> str | None:
    """The file's column news for audit.loads: unknown extra columns, and mapped columns it lacks."""
    notes = []
    if delivered.unknown:
        notes.append("unknown extra columns, kept in raw `extra`: " + ", ".join(delivered.unknown))
    if delivered.missing:
        notes.append("mapped columns missing: " + ", ".join(f"{header} ({name})" for name, header in delivered.missing))
    return "; ".join(notes) or None


def _dropped(con: "duckdb.DuckDBPyConnection", load: FileLoad, config, missing) -> list[str]:
    """The missing mapped columns (not retired) in which the current version delivered a value."""
    current = (f"FROM raw.{load.table_name} JOIN raw.current_files USING (center_id, source_file, file_sha256)"
               " WHERE center_id = ? AND source_file = ?")
    dropped = []
    for name, header in missing:
        if name in config.retired:
            continue
        had = (f"SELECT count({name}) {current}" if name in config.columns
               else f"SELECT count(*) {current} AND source_column = ?")  # a wide lab's analyte column
        parameters = [load.center_id, load.source_file] + ([] if name in config.columns else [header])
        if con.execute(had, parameters).fetchall()[0][0]:
            dropped.append(f"{header} ({name})")
    return dropped
