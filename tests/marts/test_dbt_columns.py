"""The columns dbt's YAML documents are the columns each model and raw source has in the demo warehouse: none
left undocumented, none documented that the model does not build (tests/test_dbt_docs.py checks that each
documented column has a description)."""

import json
from pathlib import Path

import duckdb

from orchestration.dbt import dbt_project
from orchestration.sensors import RUN_FAILURES_DDL
from tests.test_dbt_docs import documented_relations

# Tables written only when something happens, absent from a demo run that went well: built from their DDL.
WRITTEN_ON_EVENT = {("audit", "run_failures"): RUN_FAILURES_DDL}  # by run_failure_sensor, at the first failure


def test_documented_columns_are_the_built_columns(demo_warehouse: Path):
    manifest = json.loads(Path(dbt_project().manifest_path).read_text())
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        built: dict[tuple[str, str], list[str]] = {}
        for schema, table, column in con.execute(
                "SELECT schema_name, table_name, column_name FROM duckdb_columns()"
                " WHERE database_name = current_database() ORDER BY column_index").fetchall():
            built.setdefault((schema, table), []).append(column)
    with duckdb.connect() as scratch:
        for (schema, table), ddl in WRITTEN_ON_EVENT.items():
            if (schema, table) in built:
                continue
            scratch.execute(ddl)
            built[(schema, table)] = [column for (column,) in scratch.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?"
                " ORDER BY column_index", [schema, table]).fetchall()]
    differences = {}
    for name, node in documented_relations(manifest).items():
        table = node.get("identifier") or node.get("alias") or node["name"]
        columns = built.get((node["schema"], table))
        assert columns is not None, f"{name}: {node['schema']}.{table} is not in the demo warehouse"
        documented = list(node["columns"])
        undocumented = [column for column in columns if column not in documented]
        not_built = [column for column in documented if column not in columns]
        if undocumented or not_built:
            differences[name] = {"undocumented": undocumented, "documented, not built": not_built}
    assert differences == {}
