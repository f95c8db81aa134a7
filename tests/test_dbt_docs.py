"""dbt's documentation is complete: every column of the raw sources and of the staging, intermediate and core
models has a description (as `make docs` shows them: dbt's manifest, docs blocks resolved), and the docs
open on the project's overview instead of dbt's welcome page. That the documented columns are the ones each
model builds is checked on the demo warehouse (tests/marts/test_dbt_columns.py, slow tier)."""

import json
from pathlib import Path

import pytest

from orchestration.dbt import PREVIEW_SCHEMAS, dbt_project, preview_orders

# dbt model folders whose every column must be described, and the sources likewise (the landing's raw layer
# and the validation gate's findings).
MODEL_LAYERS = ("staging", "intermediate", "core")
DESCRIBED_SOURCES = ("raw", "quarantine", "audit")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(Path(dbt_project().manifest_path).read_text())


def documented_relations(manifest: dict) -> dict[str, dict]:
    """`layer/model` or `source.table` -> its manifest node, for the layers and sources checked here."""
    models = {f"{node['fqn'][1]}/{node['name']}": node for node in manifest["nodes"].values()
              if node["resource_type"] == "model" and node["fqn"][1] in MODEL_LAYERS}
    sources = {f"{node['source_name']}.{node['name']}": node for node in manifest["sources"].values()
               if node["source_name"] in DESCRIBED_SOURCES}
    return {**models, **sources}


def test_every_layer_and_source_is_checked(manifest):
    relations = documented_relations(manifest)
    assert {name.split("/")[0] for name in relations if "/" in name} == set(MODEL_LAYERS)
    assert {"raw.patients", "quarantine.patients", "audit.patients_warnings", "core/patients"} <= set(relations)


def test_every_model_and_source_lists_its_columns(manifest):
    assert [name for name, node in documented_relations(manifest).items() if not node["columns"]] == []


def test_every_column_has_a_description(manifest):
    undescribed = [f"{name}.{column}" for name, node in documented_relations(manifest).items()
                   for column, spec in node["columns"].items() if not spec["description"].strip()]
    assert undescribed == [], f"columns without a description: {undescribed}"


def test_every_model_and_source_has_a_description(manifest):
    undescribed = [name for name, node in documented_relations(manifest).items() if not node["description"].strip()]
    assert undescribed == []


def test_the_docs_open_on_the_projects_overview(manifest):
    overview = manifest["docs"].get("doc.blina_warehouse.__overview__")
    assert overview, "no {% docs __overview__ %} block: dbt docs would show its default welcome page"
    for layer in ("landing", "raw", "staging", "intermediate", "validation gate", "core", "marts", "snapshot"):
        assert f"| {layer} |" in overview["block_contents"], layer


def test_every_previewed_model_names_the_columns_its_preview_is_sorted_by(manifest):
    models = {(node["schema"], node["name"]): node for node in manifest["nodes"].values()
              if node["resource_type"] == "model" and node["schema"] in PREVIEW_SCHEMAS}
    orders = preview_orders()
    assert models and set(orders) == set(models), f"without a preview_order: {sorted(set(models) - set(orders))}"
    unknown = {relation: [column for column in order if column not in models[relation]["columns"]]
               for relation, order in orders.items()}
    assert {relation: columns for relation, columns in unknown.items() if columns} == {}
