"""The core tables' column types are stated once for dbt and agree with the gate's pandera models.

Every column of every core model declares its `data_type` (models/core/<table>.yml) under an enforced
contract (dbt_project.yml), so dbt refuses to build a model whose SQL returns another type. The validation
gate's pandera models (schemas/) state the types of the columns they check; the two must not drift apart:
a pandera column's type and its core column's data_type are the same kind (an `int` is an INTEGER or a
BIGINT, a `float` a DOUBLE, ...). That dbt's own build honours the contracts, on a full refresh and on a
one-center rebuild, is checked in tests/test_dbt_models.py (slow tier).
"""

import json
from pathlib import Path

import pytest

from orchestration.dbt import dbt_project
from schemas import TABLES

# pandera (polars) dtype -> the DuckDB types a core column of that kind may have.
SQL_TYPES = {"String": {"varchar"}, "Int64": {"integer", "bigint"}, "Float64": {"double"}, "Date": {"date"},
             "Boolean": {"boolean"}}


@pytest.fixture(scope="module")
def core_models() -> dict[str, dict]:
    manifest = json.loads(Path(dbt_project().manifest_path).read_text())
    return {node["name"]: node for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["fqn"][1] == "core"}


def type_differences(core_models: dict[str, dict]) -> dict[str, str]:
    """`table.column` -> how the pandera type and the core YAML's data_type differ, for every column a pandera
    model of the gate states."""
    differences = {}
    for table, schema in TABLES.items():
        columns = core_models[table]["columns"]
        for model in (schema.columns, schema.unusual_columns):
            for name, column in model.to_schema().columns.items():
                pandera_type = str(column.dtype)
                declared = (columns.get(name) or {}).get("data_type")
                if declared is None:
                    differences[f"{table}.{name}"] = f"pandera {pandera_type}, no data_type in core"
                elif declared.lower() not in SQL_TYPES[pandera_type]:
                    differences[f"{table}.{name}"] = f"pandera {pandera_type}, core data_type {declared}"
    return differences


def test_every_core_model_enforces_its_contract(core_models):
    assert set(TABLES) < set(core_models)
    assert [name for name, node in core_models.items() if not node["config"]["contract"]["enforced"]] == []


def test_every_core_column_declares_its_type(core_models):
    untyped = [f"{name}.{column}" for name, node in core_models.items()
               for column, spec in node["columns"].items() if not spec.get("data_type")]
    assert untyped == []


def test_core_types_agree_with_the_gates_pandera_models(core_models):
    assert type_differences(core_models) == {}


def test_a_type_changed_on_one_side_is_reported(core_models):
    changed = {name: {**node, "columns": dict(node["columns"])} for name, node in core_models.items()}
    changed["cycles"]["columns"]["dose_start"] = {**changed["cycles"]["columns"]["dose_start"], "data_type": "varchar"}
    del changed["labs"]["columns"]["value"]
    assert type_differences(changed) == {"cycles.dose_start": "pandera Float64, core data_type varchar",
                                         "labs.value": "pandera Float64, no data_type in core"}
