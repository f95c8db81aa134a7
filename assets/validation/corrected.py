"""Findings on corrected rows say so: a correction never turns a value into a passing one unseen.

A corrected row (audit.corrections, status applied) passes the same gate as a delivered one; when it still
fails, or warns, its sentence ends with each correction it carries, delivered and corrected value side by
side, so that the data manager reading quarantine sees that the answer to the query did not resolve it.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from assets.validation.store import same_row
from orchestration.catalog import relation_exists

if TYPE_CHECKING:
    import duckdb

CORRECTIONS = "audit.corrections"

_NOTE_SQL = f"""
UPDATE {{findings}} AS finding SET reason = finding.reason || note.text
FROM (
    SELECT center_id, source_file, source_row, source_column,
        ' Corrected by the center: ' || string_agg(
            field || ' ' || coalesce('''' || delivered_value || '''', 'empty') || ' -> '''
            || corrected_value || ''' (query ' || query_id || ')', '; ' ORDER BY field) || '.' AS text
    FROM {CORRECTIONS}
    WHERE status = 'applied' AND table_name = ?
    GROUP BY ALL
) AS note
WHERE {same_row('note', 'finding')}
"""


def note_corrections(con: "duckdb.DuckDBPyConnection", table: str, findings: Iterable[str]) -> None:
    """Append the row's applied corrections to the reason of each finding in `findings` (relations holding
    findings of `table`). Nothing to do before dbt first built audit.corrections."""
    if not relation_exists(con, CORRECTIONS):
        return
    for relation in findings:
        con.execute(_NOTE_SQL.format(findings=relation), [table])
