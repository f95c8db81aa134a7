"""The raw layer and the load audit in DuckDB (docs/architecture.md, "The raw layer").

raw.<table> keeps every delivered version of every file, as text; audit.loads records every file seen,
in order; raw.current_files, a view over audit.loads, names the version of each file staging reads.
"""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from assets.landing.contract import TABLE_FIELDS
from orchestration.audit_tables import create_table

if TYPE_CHECKING:
    import duckdb

SCHEMAS = ("raw", "staging", "core", "quarantine", "marts", "audit")

LOADED, UNCHANGED, FAILED, HELD = "loaded", "unchanged", "failed", "held"


def put_in_raw(loads: str) -> str:
    """SQL: the sighting (a row of audit.loads, as `loads`) put its file version's rows into raw: it was loaded,
    or held (its rows landed, the version not current until it is released)."""
    return f"{loads}.outcome IN ('{LOADED}', '{HELD}')"

_PROVENANCE_DDL = """
    center_id VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    source_row INTEGER NOT NULL,
    source_column VARCHAR,
    extra JSON,
    loaded_at TIMESTAMP NOT NULL
"""

_AUDIT_DDL = f"CREATE SEQUENCE IF NOT EXISTS audit.load_seq; {create_table('audit.loads')}"

# The version staging reads: the last one seen that loaded, or that was seen again unchanged (a centre
# that re-delivers an older version makes it current again). A failed or held delivery leaves the previous
# version current, so the center's earlier good data stays in place.
_CURRENT_FILES_DDL = """
CREATE OR REPLACE VIEW raw.current_files AS
SELECT center_id, source_file, file_sha256
FROM audit.loads
WHERE outcome IN ('loaded', 'unchanged')
QUALIFY row_number() OVER (PARTITION BY center_id, source_file ORDER BY load_id DESC) = 1
"""


@dataclass(frozen=True)
class FileLoad:
    """One file (xlsx: one sheet) seen by one landing of one contract table: a row of audit.loads."""

    center_id: str
    source_file: str
    table_name: str
    outcome: str
    rows: int | None = None
    file_sha256: str | None = None
    message: str | None = None


def utc_now() -> datetime:
    """loaded_at and seen_at: naive UTC timestamps (DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_warehouse(con: "duckdb.DuckDBPyConnection") -> None:
    """Create the schemas, the audit log, raw.current_files and raw.center_corrections if they do not exist
    yet."""
    from assets.landing.corrections import ensure_table

    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(_AUDIT_DDL)
    _allow_held(con)
    con.execute(_CURRENT_FILES_DDL)
    ensure_table(con)


def _allow_held(con: "duckdb.DuckDBPyConnection") -> None:
    """An audit.loads made before the outcome 'held' existed: rebuilt with every row it holds."""
    checks = [expression for (expression,) in con.execute(
        "SELECT expression FROM duckdb_constraints() WHERE schema_name = 'audit' AND table_name = 'loads'"
        " AND constraint_type = 'CHECK'").fetchall()]
    if not checks or any("held" in expression for expression in checks):
        return
    con.execute("BEGIN TRANSACTION")
    con.execute("ALTER TABLE audit.loads RENAME TO loads_before_held")
    con.execute(_AUDIT_DDL)
    con.execute("INSERT INTO audit.loads SELECT * FROM audit.loads_before_held")
    con.execute("DROP TABLE audit.loads_before_held")
    con.execute("COMMIT")


def ensure_raw_table(con: "duckdb.DuckDBPyConnection", table: str, fields: Sequence[str]) -> None:
    """raw.<table>: every contract field as VARCHAR, then the provenance columns."""
    field_ddl = "".join(f"    {field} VARCHAR,\n" for field in fields)
    con.execute(f"CREATE TABLE IF NOT EXISTS raw.{table} (\n{field_ddl}{_PROVENANCE_DDL})")
    # A contract field added after the table was created: earlier rows hold NULL, as for a missing column.
    existing = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ?",
        [table],
    ).fetchall()}
    for field in fields:
        if field not in existing:
            con.execute(f"ALTER TABLE raw.{table} ADD COLUMN {field} VARCHAR")


def landed(con: "duckdb.DuckDBPyConnection", center_id: str, source_file: str, file_sha256: str) -> FileLoad | None:
    """The sighting that put this version's rows into raw (outcome loaded, or held), if any: its rows are
    never inserted twice."""
    found = con.execute(
        "SELECT rows, outcome, message FROM audit.loads WHERE center_id = ? AND source_file = ? AND file_sha256 = ?"
        f" AND {put_in_raw('loads')} ORDER BY outcome = '{LOADED}' DESC, load_id LIMIT 1",
        [center_id, source_file, file_sha256],
    ).fetchall()
    if not found:
        return None
    rows, outcome, message = found[0]
    return FileLoad(center_id, source_file, "", outcome, rows, file_sha256, message)


def current_rows(con: "duckdb.DuckDBPyConnection", center_id: str, source_file: str) -> int | None:
    """Rows of the file's current version, None before any."""
    found = con.execute(
        "SELECT loads.rows FROM raw.current_files JOIN audit.loads USING (center_id, source_file, file_sha256)"
        f" WHERE center_id = ? AND source_file = ? AND {put_in_raw('loads')} LIMIT 1",
        [center_id, source_file]).fetchall()
    return found[0][0] if found else None


def land_rows(con: "duckdb.DuckDBPyConnection", rows: str, load: FileLoad, loaded_at: datetime,
              check: Callable[[int], None], hold: Callable[[int], str | None] = lambda count: None) -> FileLoad:
    """Append one file version's rows to raw.<table> and record the load, atomically; returns the load recorded.

    `rows` is a query of the file's rows in the contract's shape (readers.Delivered.sql), run by one INSERT where
    the data is; `check` sees the number of rows it inserted and may refuse the file (raising) before the commit;
    `hold` may return why the version is held: its rows stay in raw, not current, and the load says so.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        (count,) = con.execute(
            f"INSERT INTO raw.{load.table_name} BY NAME SELECT *, $center_id AS center_id,"
            f" $source_file AS source_file, $file_sha256 AS file_sha256, $loaded_at AS loaded_at FROM ({rows})",
            {"center_id": load.center_id, "source_file": load.source_file, "file_sha256": load.file_sha256,
             "loaded_at": loaded_at},
        ).fetchone()
        check(count)
        held = hold(count)
        load = replace(load, rows=count, **({"outcome": HELD, "message": held} if held else {}))
        record_load(con, load, loaded_at)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return load


def record_load(con: "duckdb.DuckDBPyConnection", load: FileLoad, seen_at: datetime) -> None:
    con.execute(
        "INSERT INTO audit.loads (center_id, source_file, table_name, rows, file_sha256, outcome, message, seen_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [load.center_id, load.source_file, load.table_name, load.rows, load.file_sha256, load.outcome,
         load.message, seen_at],
    )


CONFIG_ERRORS = "audit.center_config_errors"


def record_config_errors(con: "duckdb.DuckDBPyConnection", errors: list[tuple[str, str]]) -> None:
    """audit.center_config_errors: (center_id, message) of every center YAML that did not load this run."""
    con.execute(create_table(CONFIG_ERRORS, replace=True))
    if errors:
        con.executemany(f"INSERT INTO {CONFIG_ERRORS} VALUES (?, ?)", errors)


def config_errors(con: "duckdb.DuckDBPyConnection") -> list[tuple[str, str]]:
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit'"
                         " AND table_name = 'center_config_errors'").fetchall()[0][0]
    return con.execute(f"SELECT * FROM {CONFIG_ERRORS} ORDER BY ALL").fetchall() if exists else []


def latest_failures(con: "duckdb.DuckDBPyConnection", table: str,
                    listed: Collection[tuple[str, str]] | None = None) -> list[tuple[str, str, str]]:
    """(center_id, source_file, message) of the files of `table` whose latest sighting failed or was held; with
    `listed`, only the (center_id, source_file) the centers' YAMLs list now (a file no longer listed no longer
    fails)."""
    failures = con.execute(
        """
        SELECT center_id, source_file, message FROM audit.loads WHERE table_name = ?
        QUALIFY row_number() OVER (PARTITION BY center_id, source_file ORDER BY load_id DESC) = 1
            AND outcome IN ('failed', 'held')
        ORDER BY center_id, source_file
        """,
        [table],
    ).fetchall()
    return [failure for failure in failures if listed is None or failure[:2] in listed]


def incomplete_deliveries(con: "duckdb.DuckDBPyConnection",
                          listed: Collection[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(center_id, file, message) of every delivery the warehouse could not take whole: each listed file whose
    latest sighting failed or was held, and each center YAML that did not load (file: <center_id>.yaml)."""
    files = [failure for table in TABLE_FIELDS for failure in latest_failures(con, table, listed)]
    return sorted(files) + [(center_id, f"{center_id}.yaml", message) for center_id, message in config_errors(con)]


def count_rows_by_center(con: "duckdb.DuckDBPyConnection", table: str) -> dict[str, tuple[int, int]]:
    """center_id -> (all rows, rows of the current file versions) of raw.<table>, for every center with rows:
    one scan gives the partitions' counts and, summed, the table's."""
    return {center_id: (all_rows, current) for center_id, all_rows, current in con.execute(
        f"""
        SELECT center_id, count(*), count(*) FILTER (WHERE current_files.file_sha256 IS NOT NULL)
        FROM raw.{table} AS delivered
        LEFT JOIN raw.current_files USING (center_id, source_file, file_sha256)
        GROUP BY center_id
        """
    ).fetchall()}
