"""audit.row_accounting: for every table and delivered file, where each delivered row went.

delivered    rows landed in raw.<table>, every version of the file
loaded       rows of the current version (what staging read)
passed       rows in core.<table>
quarantined  rows in quarantine.<table>
superseded   rows of the file's versions that are not current: replaced by a re-delivery, or held

delivered = passed + quarantined + superseded must hold for every row (the blocking check
`delivered_rows_accounted`). A file rejected whole (wrong encoding, truncated, ...) lands no row: it appears
with delivered 0, last_outcome 'failed' and the reason in message (audit.loads keeps every sighting).
"""

from typing import TYPE_CHECKING

from assets.validation.gate import ORDER

if TYPE_CHECKING:
    import duckdb

COLUMNS = ("table_name", "center_id", "source_file", "delivered", "loaded", "passed", "quarantined", "superseded",
           "last_outcome", "message")


def _per_file(relation: str, table: str, versions: str = "") -> str:
    """Rows per file of `relation`; versions 'SEMI' / 'ANTI': only rows of the current / earlier versions."""
    current = f"{versions} JOIN raw.current_files USING (center_id, source_file, file_sha256)" if versions else ""
    return (f"SELECT '{table}' AS table_name, center_id, source_file, count(*) AS n"
            f" FROM {relation} {current} GROUP BY ALL")


def _counts(name: str, relation_of, **options) -> str:
    return f"{name} AS (" + " UNION ALL ".join(_per_file(relation_of(t), t, **options) for t in ORDER) + ")"


ACCOUNTING_SQL = f"""
CREATE OR REPLACE TABLE audit.row_accounting AS
WITH {_counts("delivered", lambda t: f"raw.{t}")},
{_counts("loaded", lambda t: f"raw.{t}", versions="SEMI")},
{_counts("superseded", lambda t: f"raw.{t}", versions="ANTI")},
{_counts("passed", lambda t: f"core.{t}")},
{_counts("quarantined", lambda t: f"quarantine.{t}")},
last_sighting AS (
    SELECT table_name, center_id, source_file, outcome AS last_outcome, message
    FROM audit.loads
    QUALIFY row_number() OVER (PARTITION BY table_name, center_id, source_file ORDER BY load_id DESC) = 1
),
files AS (
    SELECT table_name, center_id, source_file FROM delivered
    UNION SELECT table_name, center_id, source_file FROM passed
    UNION SELECT table_name, center_id, source_file FROM quarantined
    UNION SELECT table_name, center_id, source_file FROM last_sighting
)
SELECT
    files.table_name,
    files.center_id,
    files.source_file,
    coalesce(delivered.n, 0) AS delivered,
    coalesce(loaded.n, 0) AS loaded,
    coalesce(passed.n, 0) AS passed,
    coalesce(quarantined.n, 0) AS quarantined,
    coalesce(superseded.n, 0) AS superseded,
    last_sighting.last_outcome,
    last_sighting.message
FROM files
LEFT JOIN delivered USING (table_name, center_id, source_file)
LEFT JOIN loaded USING (table_name, center_id, source_file)
LEFT JOIN passed USING (table_name, center_id, source_file)
LEFT JOIN quarantined USING (table_name, center_id, source_file)
LEFT JOIN superseded USING (table_name, center_id, source_file)
LEFT JOIN last_sighting USING (table_name, center_id, source_file)
ORDER BY files.table_name, files.center_id, files.source_file
"""


def build_row_accounting(con: "duckdb.DuckDBPyConnection") -> list[tuple]:
    """(Re)build audit.row_accounting; returns its rows."""
    con.execute(ACCOUNTING_SQL)
    return con.execute(f"SELECT {', '.join(COLUMNS)} FROM audit.row_accounting").fetchall()


def unbalanced(con: "duckdb.DuckDBPyConnection") -> list[tuple]:
    """Files where delivered != passed + quarantined + superseded: rows lost or counted twice."""
    return con.execute(
        "SELECT table_name, center_id, source_file, delivered, passed, quarantined, superseded"
        " FROM audit.row_accounting WHERE delivered <> passed + quarantined + superseded ORDER BY ALL"
    ).fetchall()
