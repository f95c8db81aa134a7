"""dbt inside the process (orchestration/dbt_runner.py): one parse state serves every warehouse."""

import shutil
from pathlib import Path

import pytest

from orchestration import dbt_runner, settings
from orchestration.dbt import dbt_project

FULL_PARSE = "Unable to do partial parsing"


@pytest.mark.slow
def test_a_new_warehouse_parses_partially_from_another_warehouses_state(tmp_path, monkeypatch):
    """dbt keys its partial-parse state to the rendered profile, the warehouse's path among it: parsed with
    each warehouse's own variables, every new warehouse (a benchmark's, a test's) paid a full parse (~5 s at
    registry size). Parsed with the one parse environment, a warehouse reuses the state another one left."""
    project = dbt_project()
    project_dir, manifest_path = Path(project.project_dir), Path(project.manifest_path)
    monkeypatch.setattr(dbt_runner, "_manifests", {})
    first = tmp_path / "first" / "parse"
    with settings.environment({"BLINA_WAREHOUSE_DIR": str(tmp_path / "first")}):
        dbt_runner._parsed(project_dir, manifest_path, first)

    second = tmp_path / "second" / "parse"
    second.mkdir(parents=True)
    shutil.copy(first / dbt_runner.PARTIAL_PARSE_FILE, second / dbt_runner.PARTIAL_PARSE_FILE)
    monkeypatch.setattr(dbt_runner, "_manifests", {})
    with settings.environment({"BLINA_WAREHOUSE_DIR": str(tmp_path / "second"), "BLINA_DUCKDB_THREADS": "1"}):
        manifest = dbt_runner._parsed(project_dir, manifest_path, second)

    log = (second / "dbt.log").read_text()
    assert FULL_PARSE not in log, [line for line in log.splitlines() if FULL_PARSE in line]
    assert "model.blina_warehouse.labs" in manifest.nodes
