"""Asset metadata helpers: small markdown tables and images for the Dagster UI."""

import base64
from collections.abc import Mapping, Sequence


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def png_markdown(pngs: Mapping[str, bytes]) -> str:
    """PNGs as markdown data-URI images, for a MetadataValue.md: Dagster has no image metadata type."""
    return "\n\n".join(f"![{name}](data:image/png;base64,{base64.b64encode(png).decode()})"
                        for name, png in pngs.items())


def column_schema(con, schema: str, table: str, described=None) -> dict:
    """`dagster/column_schema` of the warehouse relation schema.table as built: every column with its DuckDB
    type and its description (from `described`, the asset definition's schema; else dbt's YAML, which describes
    the raw sources and the tables the Python layers write too; else the column's COMMENT, e.g. a mart's).
    Empty when the relation does not exist."""
    import dagster as dg

    from orchestration.dbt_docs import TableDoc, project_docs

    columns = con.execute("SELECT column_name, data_type, comment FROM duckdb_columns()"
                          " WHERE schema_name = ? AND table_name = ? AND database_name = current_database()"
                          " ORDER BY column_index", [schema, table]).fetchall()
    if not columns:
        return {}
    known = ({column.name: column.description for column in described.columns} if described
             else project_docs().get(f"{schema}.{table}", TableDoc()).columns)
    return {"dagster/column_schema": dg.TableSchema(columns=[
        dg.TableColumn(name, data_type.lower(), description=known.get(name) or comment or None)
        for name, data_type, comment in columns])}


# What a skipped asset repeats of its last materialization: what describes its rows, which did not change.
# A per-center view's row count by center: center -> {"version": its layer's version when counted, "rows": n}
# (orchestration/dbt.py: a center counted at the version it still has is not counted again).
ROWS_BY_CENTER = "rows_by_center"
TABLE_METADATA = ("dagster/row_count", "dagster/column_schema", "preview", ROWS_BY_CENTER)
DATA_VERSION_TAG = "dagster/data_version"  # where Dagster keeps a materialization's data version


def carried_over(instance, key, data_version: str) -> dict | None:
    """The row count, column schema and preview of `key`'s last materialization in `instance`, when it was of
    the data version `data_version` (the same rows: a version fingerprints everything they are computed
    from); None when there is none such (another instance, or a warehouse built elsewhere). Counting a view's
    rows again (staging.stg_labs parses every lab value) cost ~1 s of a run with nothing changed."""
    last = last_described(instance, key)
    return last[1] if last is not None and last[0] == data_version else None


def last_described(instance, key) -> tuple[str, dict] | None:
    """The data version of `key`'s last materialization in `instance`, and its row count, column schema and
    preview (None: none, or one without a data version)."""
    entry = instance.get_latest_materialization_event(key)
    materialization = entry.asset_materialization if entry else None
    version = materialization.tags.get(DATA_VERSION_TAG) if materialization else None
    if version is None:
        return None
    return version, {name: value for name, value in materialization.metadata.items() if name in TABLE_METADATA}


def root_cause(error) -> str:
    """A failed step's error (Dagster's SerializableErrorInfo) as the user's own ("ValueError: ..."), not
    Dagster's wrapper around it ("Error occurred while ...")."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()
