"""The description of every snapshot table and column, from the first source that has one: the warehouse's
own COMMENTs (the marts write them), then dbt's YAML (the manifest: its models and seeds, and the sources,
which describe the tables the Python layers write: the validation gate's findings and the audit tables,
dbt_project/models/core/_gate_sources.yml)."""

from collections.abc import Mapping

from orchestration.dbt_docs import TableDoc


def warehouse_docs(con) -> dict[str, TableDoc]:
    """`schema.table` -> the COMMENTs the warehouse already holds (NULL and empty ones left out)."""
    tables = con.execute("SELECT schema_name, table_name, comment FROM duckdb_tables()"
                         " WHERE database_name = current_database()").fetchall()
    columns = con.execute("SELECT schema_name, table_name, column_name, comment FROM duckdb_columns()"
                          " WHERE database_name = current_database() AND comment <> ''").fetchall()
    docs = {f"{schema}.{table}": TableDoc(comment or None, {}) for schema, table, comment in tables}
    for schema, table, column, comment in columns:
        docs[f"{schema}.{table}"].columns[column] = comment
    return docs


def describe(relation: str, columns: list[str], sources: list[Mapping[str, TableDoc]]) -> TableDoc:
    """`relation`'s description and its columns', each from the first source with one; a column no source
    describes is left out (the caller reports it)."""
    docs = [source.get(relation, TableDoc()) for source in sources]
    description = next((doc.description for doc in docs if doc.description), None)
    described = {}
    for column in columns:
        text = next((doc.columns[column] for doc in docs if doc.columns.get(column)), None)
        if text:
            described[column] = text
    return TableDoc(description, described)
