"""The centers' answers to data queries: corrections declared per center in data/corrections/<center_id>.yaml.

A data manager never edits delivered data. A quarantined value raises a query to its center; the center's
answer is a correction of one field of one delivered row: the value delivered, the value to use, why, who
answered and when. Landing only reads and checks the files into raw.center_corrections; staging applies the
corrections that still match their delivered row (dbt model audit.corrections, macros/current_rows.sql), and
the corrected rows pass the same validation gate as every other row (docs/data-quality.md).

A correction that cannot be applied as written is kept with its refusal, a sentence naming the file, the
entry and the problem; the center's other corrections still apply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from assets.landing.contract import FREE_TEXT_FIELDS, TABLE_FIELDS

if TYPE_CHECKING:
    import duckdb

TABLE = "raw.center_corrections"
KEYS = ("query", "table", "file", "row", "field", "delivered", "corrected", "reason", "answered_by", "answered_on")
OPTIONAL_KEYS = ("source_column",)  # wide labs: the delivered column the value came from
# Not correctable: the record number decides which patient a row is (a wrong one is a re-delivery), and free
# text can carry names, which a correction file would copy into the audit trail (docs/privacy.md).
NOT_CORRECTABLE = {table: {"mrn", *FREE_TEXT_FIELDS.get(table, ())} for table in TABLE_FIELDS}


@dataclass(frozen=True)
class Correction:
    """One declared correction, as landed in raw.center_corrections (`refusal`: why it is not applied)."""

    center_id: str
    corrections_file: str
    entry: int  # 1-based position in the file's `corrections:` list (0: the file itself)
    query_id: str | None
    table_name: str | None
    source_file: str | None
    source_row: int | None
    source_column: str | None
    field: str | None
    delivered_value: str | None
    corrected_value: str | None
    reason: str | None
    answered_by: str | None
    answered_on: dt.date | None
    refusal: str | None


COLUMNS = ("center_id VARCHAR, corrections_file VARCHAR, entry INTEGER, query_id VARCHAR, table_name VARCHAR,"
           " source_file VARCHAR, source_row BIGINT, source_column VARCHAR, field VARCHAR, delivered_value VARCHAR,"
           " corrected_value VARCHAR, reason VARCHAR, answered_by VARCHAR, answered_on DATE, refusal VARCHAR")


def corrections_dir_of(centers_dir: Path) -> Path:
    """Where the corrections live by default: data/corrections beside data/centers."""
    return Path(centers_dir).parent / "corrections"


def load_corrections(directory: Path) -> list[Correction]:
    """Every correction of every <center_id>.yaml in `directory` (none if it does not exist), refused ones
    included with their sentence."""
    if not Path(directory).is_dir():
        return []
    return [correction for path in sorted(Path(directory).glob("*.yaml")) for correction in load_file(path)]


def load_file(path: Path) -> list[Correction]:
    center_id, name = path.stem, path.name
    try:
        # Every scalar as text (the base loader): a delivered value is compared as the cell's text, and
        # 2022.02.29 or 0.10 must not turn into numbers on the way.
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CBaseLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        return [_file_refusal(center_id, name, f"not valid YAML ({' '.join(str(error).split())})")]
    if not isinstance(doc, dict) or set(doc) - {"center_id", "corrections"}:
        return [_file_refusal(center_id, name, "must be a mapping with the keys center_id and corrections")]
    if doc.get("center_id") != center_id:
        return [_file_refusal(center_id, name, f"center_id {doc.get('center_id')!r} must match the file name")]
    entries = doc.get("corrections") or []
    if not isinstance(entries, list):
        return [_file_refusal(center_id, name, "corrections must be a list")]
    corrections, seen = [], {}
    for number, entry in enumerate(entries, start=1):
        correction = _correction(center_id, name, number, entry)
        if correction.refusal is None:
            cell = (correction.table_name, correction.source_file, correction.source_row, correction.source_column,
                    correction.field)
            if cell in seen:
                correction = _refused(correction, f"corrects the same field of the same row as entry {seen[cell]}, "
                                                  "which applies")
            else:
                seen[cell] = number
        corrections.append(correction)
    return corrections


def _correction(center_id: str, name: str, number: int, entry: Any) -> Correction:
    where = f"data/corrections/{name} entry {number}"
    if not isinstance(entry, dict):
        return _file_refusal(center_id, name, f"entry {number} is not a mapping", entry=number)
    values = {key: entry.get(key) for key in (*KEYS, *OPTIONAL_KEYS)}
    correction = Correction(
        center_id=center_id, corrections_file=name, entry=number, query_id=_text(values["query"]),
        table_name=_text(values["table"]), source_file=_text(values["file"]),
        source_row=int(values["row"]) if str(values["row"]).strip().isdigit() else None,
        source_column=_text(values["source_column"]), field=_text(values["field"]),
        delivered_value=_text(values["delivered"]), corrected_value=_text(values["corrected"]),
        reason=_text(values["reason"]), answered_by=_text(values["answered_by"]),
        answered_on=_date(values["answered_on"]), refusal=None)
    problem = _problem(entry, values, correction)
    return _refused(correction, f"{where} (query {correction.query_id}): {problem}") if problem else correction


def _problem(entry: dict, values: dict, correction: Correction) -> str | None:
    """What makes the entry unusable, in words; None when it is a valid correction."""
    unknown = sorted(set(map(str, entry)) - {*KEYS, *OPTIONAL_KEYS})
    if unknown:
        return f"unknown key(s) {', '.join(unknown)}; a correction has {', '.join(KEYS)} (and source_column)"
    # `delivered` may be empty (a cell delivered blank); every other key must say something.
    missing = [key for key in KEYS if key != "delivered" and _text(values[key]) is None] + (
        [] if "delivered" in entry else ["delivered"])
    if missing:
        return f"missing {', '.join(missing)}"
    if correction.table_name not in TABLE_FIELDS:
        return f"table {correction.table_name!r} is not a contract table ({', '.join(TABLE_FIELDS)})"
    fields = TABLE_FIELDS[correction.table_name]
    if correction.field not in fields:
        return (f"field {correction.field!r} is not in the {correction.table_name} contract "
                f"({', '.join(fields)})")
    if correction.field in NOT_CORRECTABLE[correction.table_name]:
        return (f"field {correction.field!r} is not corrected by a query: "
                + ("the record number decides the patient; re-deliver the row" if correction.field == "mrn"
                   else "free text can carry names; re-deliver the row"))
    if correction.source_row is None or correction.source_row < 1:
        return f"row {values['row']!r} is not a data row number (1 is the first row under the header)"
    if correction.answered_on is None:
        return f"answered_on {values['answered_on']!r} is not a date (YYYY-MM-DD)"
    if correction.corrected_value == correction.delivered_value:
        return f"the corrected value {correction.corrected_value!r} is the delivered value"
    return None


def _text(value: Any) -> str | None:
    """A YAML scalar as the text a delivered cell would hold, trimmed as staging trims (None for empty)."""
    return str(value).strip() or None if isinstance(value, str) else None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _refused(correction: Correction, refusal: str) -> Correction:
    return Correction(*astuple(correction)[:-1], refusal=refusal)


def _file_refusal(center_id: str, name: str, problem: str, entry: int = 0) -> Correction:
    return Correction(center_id, name, entry, *([None] * 11), refusal=f"data/corrections/{name}: {problem}")


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({COLUMNS})")


def land_corrections(con: duckdb.DuckDBPyConnection, corrections: Iterable[Correction]) -> int:
    """Replace raw.center_corrections with `corrections` (the files as they are now); returns its row count."""
    rows = [astuple(correction) for correction in corrections]
    con.execute("BEGIN TRANSACTION")
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} ({COLUMNS})")
    if rows:
        con.executemany(f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    con.execute("COMMIT")
    return len(rows)
