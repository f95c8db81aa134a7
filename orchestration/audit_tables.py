"""The DDL of the tables the Python layers write (the gate's findings, the audit log, the build records, the
run failures), derived from their one statement: the dbt sources `quarantine` and `audit`
(dbt_project/models/core/_gate_sources.yml), where each column has its description, its `data_type` and its
constraints (dbt's format: not_null, primary_key, unique, check, custom). A key over several columns is the
table's `meta: {primary_key: [...]}` (dbt sources take no table constraints).

Read from the YAML, not from dbt's manifest: landing creates audit.loads before dbt has parsed anything.
"""

from functools import cache

import yaml

from orchestration import settings

SOURCES = settings.DBT_PROJECT_DIR / "models" / "core" / "_gate_sources.yml"
# dbt's column constraint types -> their DuckDB column DDL
_CONSTRAINTS = {"not_null": "NOT NULL", "primary_key": "PRIMARY KEY", "unique": "UNIQUE"}


@cache
def _tables() -> dict[str, dict]:
    """schema.table -> its source table entry."""
    return {f"{source['schema']}.{table['name']}": table
            for source in yaml.safe_load(SOURCES.read_text())["sources"] for table in source["tables"]}


def column_types(relation: str) -> dict[str, str]:
    """column -> data_type of a table the Python layers write, in the documented order."""
    columns = _tables()[relation]["columns"]
    untyped = [column["name"] for column in columns if not column.get("data_type")]
    if untyped:
        raise ValueError(f"{relation}: no data_type for {', '.join(untyped)} in {SOURCES.name}")
    return {column["name"]: column["data_type"] for column in columns}


def create_table(relation: str, name: str | None = None, *, replace: bool = False, temporary: bool = False) -> str:
    """CREATE TABLE for `relation` as documented, named `name` (default: the relation itself): IF NOT EXISTS,
    or OR REPLACE with `replace`; TEMP with `temporary`."""
    table = _tables()[relation]
    types = column_types(relation)
    definitions = [" ".join([column["name"], types[column["name"]],
                             *(_constraint(relation, column["name"], constraint)
                               for constraint in column.get("constraints", ()))])
                   for column in table["columns"]]
    key = table.get("meta", {}).get("primary_key")
    if key:
        definitions.append(f"PRIMARY KEY ({', '.join(key)})")
    create = "CREATE OR REPLACE" if replace else "CREATE"
    exists = "" if replace else " IF NOT EXISTS"
    return f"{create}{' TEMP' if temporary else ''} TABLE{exists} {name or relation} ({', '.join(definitions)})"


def _constraint(relation: str, column: str, constraint: dict) -> str:
    kind = constraint["type"]
    if kind in _CONSTRAINTS:
        return _CONSTRAINTS[kind]
    if kind == "check":
        return f"CHECK ({constraint['expression']})"
    if kind == "custom":
        return constraint["expression"]
    raise ValueError(f"{relation}.{column}: constraint {kind} has no DDL here (orchestration/audit_tables.py)")
