"""The core tables' column types are stated once, in core's dbt YAML, and the gate's pandera schemas take them
from there.

Every column of every core model declares its `data_type` (models/core/<table>.yml) under an enforced
contract (dbt_project.yml), so dbt refuses to build a model whose SQL returns another type. The validation
gate's pandera schemas (schemas/) state only their checks; each column's type is read from the same YAML
(schemas/column_types.py). That dbt's own build honours the contracts, on a full refresh and on a one-center
rebuild, is checked in tests/test_dbt_models.py (slow tier).
"""

import dataclasses
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from orchestration.dbt import dbt_project
from schemas import TABLES, column_types


@pytest.fixture(scope="module")
def core_models() -> dict[str, dict]:
    manifest = json.loads(Path(dbt_project().manifest_path).read_text())
    return {node["name"]: node for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["fqn"][1] == "core"}


def test_every_core_model_enforces_its_contract(core_models):
    assert set(TABLES) < set(core_models)
    assert [name for name, node in core_models.items() if not node["config"]["contract"]["enforced"]] == []


def test_every_core_column_declares_its_type(core_models):
    untyped = [f"{name}.{column}" for name, node in core_models.items()
               for column, spec in node["columns"].items() if not spec.get("data_type")]
    assert untyped == []


def test_the_gates_column_types_are_the_ones_dbt_parsed(core_models):
    """What schemas/column_types.py reads from the YAML is what dbt parsed from it, column by column."""
    for table, schema in TABLES.items():
        declared = {column: column_types.POLARS_TYPES[spec["data_type"].lower()]
                    for column, spec in core_models[table]["columns"].items()}
        assert column_types.core_types(table) == declared
        for model in (schema.model, schema.unusual):
            assert {name: column.dtype.type for name, column in model.columns.items()} == {
                name: declared[name] for name in model.columns}, table


@pytest.fixture
def core_yaml(tmp_path, monkeypatch) -> Path:
    """A copy of core's YAML that schemas/column_types.py reads instead of the project's."""
    shutil.copytree(column_types.CORE_MODELS, tmp_path / "core")
    monkeypatch.setattr(column_types, "CORE_MODELS", tmp_path / "core")
    column_types.core_types.cache_clear()
    yield tmp_path / "core"
    column_types.core_types.cache_clear()


def test_a_type_changed_in_core_yaml_changes_the_gates_type(core_yaml):
    spec = core_yaml / "cycles.yml"
    document = yaml.safe_load(spec.read_text())
    [dose_start] = [column for model in document["models"] for column in model["columns"]
                    if column["name"] == "dose_start"]
    assert dose_start["data_type"] == "double"
    dose_start["data_type"] = "varchar"
    spec.write_text(yaml.safe_dump(document))
    cycles = dataclasses.replace(TABLES["cycles"])  # its schemas not yet built
    assert cycles.model.columns["dose_start"].dtype.type == pl.String
    assert cycles.model.columns["cycle_no"].dtype.type == pl.Int64


def test_a_checked_column_core_does_not_declare_is_a_clear_error(core_yaml):
    labs = TABLES["labs"]
    labs = dataclasses.replace(labs, columns={**labs.columns, "made_up": labs.columns["value"]})
    with pytest.raises(ValueError, match="labs: no data_type in core's YAML for made_up"):
        assert labs.model is not None
