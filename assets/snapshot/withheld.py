"""What the analyst snapshot withholds: free text (contract.FREE_TEXT_FIELDS: notes, other-specify, causes
typed by hand), where a name or a record number can turn up. Core keeps it for the data managers; the
snapshot publishes a free-text field only for the centers whose YAML marks it `reviewed_safe`, and NULL
for every other center's rows. The same holds where the field's text is repeated: the findings' `value`
(when the finding is about that field) and their `row_json` (the key is removed).

Which fields were withheld, and for which centers they were published, is the snapshot's own
`audit.withheld_columns`, and each withheld column's COMMENT says so.

Besides free text: the SHA-256 of a file the landing refused (audit.loads outcome `failed`: a file that is
not the contract's table is not known to be study data, and its fingerprint could confirm a guess of its
content) stays in the warehouse only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from assets.landing.contract import FREE_TEXT_FIELDS

if TYPE_CHECKING:
    import duckdb

TABLE = "audit.withheld_columns"
COLUMNS = {
    "table_name": "The core table (contract table) the free-text column belongs to.",
    "column_name": "The free-text column: NULL in this snapshot, and removed from row_json, for the rows of "
                   "centers that did not mark it reviewed_safe.",
    "published_for": "The centers whose YAML marks the column reviewed_safe: their rows show it ('' for none).",
}
DESCRIPTION = ("Free-text columns withheld from this snapshot (docs/privacy.md): core keeps them for the data "
               "managers; analysts see them only for the centers listed.")
# relation -> column -> (SQL: the rows where it is withheld, what its COMMENT adds)
WITHHELD_WHERE = {"audit.loads": {"file_sha256": (
    "outcome = 'failed'", " NULL in this snapshot for a refused file (outcome failed): only the warehouse keeps "
                          "the fingerprint of a file that was not the contract's table.")}}
# (table, field) of every free-text field, in a stable order.
FIELDS = tuple(sorted((table, field) for table, fields in FREE_TEXT_FIELDS.items() for field in fields))


def reviewed(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """(table, field) -> the centers whose YAML marks it reviewed_safe (raw.center_reviewed_text)."""
    from assets.landing.mappings import reviewed_text

    published = reviewed_text(con)
    return {key: published.get(key, []) for key in FIELDS}


def withheld_rows(published: Mapping[tuple[str, str], list[str]]) -> list[tuple[str, str, str]]:
    return [(table, field, ", ".join(centers)) for (table, field), centers in published.items()]


def select_list(relation: str, columns: Sequence[str], published: Mapping[tuple[str, str], list[str]]) -> str:
    """The SELECT list that copies `relation` (schema.table) into the snapshot with its free text withheld."""
    schema, table = relation.split(".", 1)
    if "center_id" not in columns:
        return "*"
    expressions = []
    for column in columns:
        quoted = f'"{column}"'
        if column in WITHHELD_WHERE.get(relation, {}):
            expressions.append(
                f"CASE WHEN {WITHHELD_WHERE[relation][column][0]} THEN NULL ELSE {quoted} END AS {quoted}")
        elif schema == "core" and (table, column) in published:
            expressions.append(f"CASE WHEN {_kept(published[table, column])} THEN {quoted} END AS {quoted}")
        elif column == "value" and {"table_name", "column_name"} <= set(columns):
            about = " OR ".join(f"(table_name = '{t}' AND column_name = '{f}' AND NOT {_kept(centers)})"
                                for (t, f), centers in published.items())
            expressions.append(f"CASE WHEN {about} THEN NULL ELSE {quoted} END AS {quoted}")
        elif column == "row_json":
            expressions.append(f"{_row_json(quoted, published)} AS {quoted}")
        else:
            expressions.append(quoted)
    return ", ".join(expressions)


def _row_json(quoted: str, published: Mapping[tuple[str, str], list[str]]) -> str:
    """SQL: a finding's row as JSON without the free-text keys withheld for its center. A finding names its
    table (table_name), and only that table's fields are looked at: each removal parses the JSON, and a lab
    finding has none to remove (quarantine.labs at 100,000 patients, 140,000 rows: 1.5 s against 0.6 s)."""
    def without(table: str) -> str:
        patched = quoted
        for (of, field), centers in published.items():
            if of == table:
                patched = (f"CASE WHEN {_kept(centers)} THEN {patched}"
                           f" ELSE json_merge_patch({patched}, '{{\"{field}\": null}}')::VARCHAR END")
        return patched

    cases = " ".join(f"WHEN table_name = '{table}' THEN {without(table)}"
                     for table in sorted({table for table, _ in published}))
    return f"CASE WHEN {quoted} IS NULL THEN NULL {cases} ELSE {quoted} END"


def note(relation: str, column: str, published: Mapping[tuple[str, str], list[str]]) -> str | None:
    """What a withheld column's COMMENT adds, or None."""
    if column in WITHHELD_WHERE.get(relation, {}):
        return WITHHELD_WHERE[relation][column][1]
    schema, table = relation.split(".", 1)
    if schema != "core" or (table, column) not in published:
        return None
    centers = published[table, column]
    return (" Free text: withheld from this snapshot (NULL) except for the centers whose YAML marks it "
            f"reviewed_safe: {', '.join(centers) if centers else 'none'} (audit.withheld_columns).")


def _kept(centers: Sequence[str]) -> str:
    return f"center_id IN ({', '.join(repr(center) for center in centers)})" if centers else "false"
