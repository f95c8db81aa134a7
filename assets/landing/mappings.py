"""The centers' YAML mappings as raw tables, so that dbt staging interprets codes, units and dates without YAML.

Rebuilt whole on every landing: they describe how the files are read now, not a history.
"""

from collections.abc import Collection
from typing import TYPE_CHECKING

from orchestration.catalog import insert_columns

if TYPE_CHECKING:
    import duckdb

    from assets.landing.center_config import CenterConfig

MAPPING_TABLES: dict[str, str] = {
    "center_code_maps": "center_id VARCHAR, table_name VARCHAR, field VARCHAR, source_code VARCHAR, code VARCHAR",
    "center_units": "center_id VARCHAR, table_name VARCHAR, measure VARCHAR, unit VARCHAR",
    "center_settings": "center_id VARCHAR, center_name VARCHAR, study VARCHAR, table_name VARCHAR,"
                       " date_format VARCHAR, decimal VARCHAR",
    # The kit's limit of detection per analyte, in the analyte's canonical unit.
    "center_detection_limits": "center_id VARCHAR, table_name VARCHAR, analyte VARCHAR, detection_limit DOUBLE",
    # The free-text fields the center reviewed as safe to publish (read by the snapshot, not by dbt).
    "center_reviewed_text": "center_id VARCHAR, table_name VARCHAR, field VARCHAR",
}


def mapping_rows(centers: list["CenterConfig"]) -> dict[str, list[tuple]]:
    """The rows of each mapping table, in YAML order."""
    rows: dict[str, list[tuple]] = {name: [] for name in MAPPING_TABLES}
    for center in centers:
        for table in center.tables.values():
            key = (center.center_id, table.name)
            rows["center_settings"].append(
                (center.center_id, center.center_name, center.study, table.name, table.date_format, table.decimal))
            rows["center_code_maps"] += [(*key, field, source_code, code)
                                         for field, codes in _with_unit_aliases(table).items()
                                         for source_code, code in codes.items()]
            rows["center_units"] += [(*key, measure, table.unit_aliases.get(unit, unit))
                                     for measure, unit in table.units.items()]
            rows["center_detection_limits"] += [(*key, analyte, limit)
                                                for analyte, limit in table.detection_limits.items()]
            rows["center_reviewed_text"] += [(*key, field) for field in sorted(table.reviewed_safe)]
    return rows


def reviewed_text(con: "duckdb.DuckDBPyConnection") -> dict[tuple[str, str], list[str]]:
    """(table, field) -> the centers whose YAML marks the free-text field reviewed_safe (raw.center_reviewed_text),
    for the fields some center marked; empty before the first landing."""
    [(landed,)] = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw'"
                              " AND table_name = 'center_reviewed_text'").fetchall()
    marked = con.execute("SELECT table_name, field, list(center_id ORDER BY center_id) FROM raw.center_reviewed_text"
                         " GROUP BY ALL").fetchall() if landed else []
    return {(table, field): centers for table, field, centers in marked}


def _with_unit_aliases(table) -> dict[str, dict[str, str]]:
    """The table's code maps, its unit columns' maps extended by its unit_aliases (an explicit code wins)."""
    from assets.landing.center_config import UNIT_FIELDS
    from assets.landing.contract import TABLE_FIELDS

    unit_fields = [field for field in UNIT_FIELDS if field in TABLE_FIELDS[table.name]] if table.unit_aliases else []
    return {**table.codes, **{field: {**table.unit_aliases, **table.codes.get(field, {})} for field in unit_fields}}


def land_mappings(con: "duckdb.DuckDBPyConnection", centers: list["CenterConfig"],
                  keep: Collection[str] = ()) -> dict[str, int]:
    """Replace raw.center_* with the current YAMLs, except the rows of the centers in `keep` (whose YAML does
    not load: their data stays as their last valid YAML read it); returns the row count of each table."""
    rows = mapping_rows(centers)
    con.execute("BEGIN TRANSACTION")
    for name, columns in MAPPING_TABLES.items():
        declared = [column.split() for column in columns.split(",")]  # [name, type]
        present = [column for (column,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ?"
            " ORDER BY column_index", [name]).fetchall()]
        if present == [column for column, _ in declared]:
            con.execute(f"DELETE FROM raw.{name} WHERE NOT list_contains(?, center_id)", [list(keep)])
        else:  # new, or laid out by an earlier version of this code
            con.execute(f"CREATE OR REPLACE TABLE raw.{name} ({columns})")
        if rows[name]:
            # One statement, a list per column (~0.1 s less a run than executemany's INSERT per row).
            insert_columns(con, f"raw.{name}", list(zip((kind for _, kind in declared), map(list, zip(*rows[name])))))
    con.execute("COMMIT")
    return {name: con.execute(f"SELECT count(*) FROM raw.{name}").fetchall()[0][0] for name in MAPPING_TABLES}
