"""The dbt project as Dagster assets: every dbt model, seed and test, downstream of the landing assets.

Asset keys mirror DuckDB relations (`[schema, table]`), so the dbt source `raw.patients` is the landing
asset `raw/patients` and the model `core.patients` is `core/patients`.
"""

import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from orchestration import settings
from orchestration.metadata import markdown_table
from orchestration.resources import WarehouseResource

# Not on PATH when the daemon or a Make target runs Dagster from an un-activated virtualenv.
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"
# The parse inputs whose change makes the manifest stale.
_PARSE_INPUTS = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds", "tests")
# Schemas whose tables may be shown as previews: pseudonymised, no names, birth dates or MRNs.
PREVIEW_SCHEMAS = ("core", "marts")
PREVIEW_ROWS = 5
_GROUPS = {"staging": "staging", "intermediate": "core", "core": "core"}


@cache
def dbt_project() -> DbtProject:
    """The project with a fresh manifest: `prepare_if_dev()` parses only under `dagster dev`, so parse
    here whenever the manifest is missing or older than the files it is parsed from."""
    project = DbtProject(project_dir=settings.DBT_PROJECT_DIR)
    if _manifest_stale(project.manifest_path):
        settings.export_warehouse_dir()  # profiles.yml requires it, even to parse
        subprocess.run([str(DBT_EXECUTABLE), "parse", "--quiet"], cwd=project.project_dir, check=True)
    return project


def _manifest_stale(manifest: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for name in _PARSE_INPUTS:
        path = settings.DBT_PROJECT_DIR / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(file.stat().st_mtime > built for file in files if file.is_file()):
            return True
    return False


class WarehouseDbtCliResource(DbtCliResource):
    """DbtCliResource without two start-up costs it pays on every run (~3 s idle, over 10 s on a busy
    2-core machine, against a 20 s budget for the whole demo run)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # Instead of `dbt --version` in a subprocess: DBT_EXECUTABLE is this environment's dbt-core.
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        # The in-process adapter (and its import of dbt) only serves fetch_column_metadata, unused here.
        return None


def dbt_resource() -> DbtCliResource:
    # Python assets (the validation gate) sit between dbt models, so a run builds the dbt project in
    # several invocations. dbt's default (eager) would run a test of a core table together with its seed,
    # before the table exists; buildable waits until every parent is built or upstream of the selection.
    os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")
    return WarehouseDbtCliResource(project_dir=dbt_project(), dbt_executable=str(DBT_EXECUTABLE))


class WarehouseDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        table = dbt_resource_props.get("identifier") or dbt_resource_props.get("alias") or dbt_resource_props["name"]
        return dg.AssetKey([dbt_resource_props["schema"], table])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props["schema"]
        return _GROUPS.get(schema, schema)


# The validation gate (Python) reads intermediate and writes what core reads, so dbt runs in two parts.
# Declared here, each part is one dbt invocation; as one @dbt_assets, Dagster would split it itself, into
# three (seeds apart), each paying dbt's start-up.
BEFORE_VALIDATION = "path:seeds path:models/staging path:models/intermediate"


def build_dbt_assets(pool: str) -> list[dg.AssetsDefinition]:
    return [_dbt_part("dbt_before_validation", pool, select=BEFORE_VALIDATION),
            _dbt_part("dbt_after_validation", pool, exclude=BEFORE_VALIDATION)]


def _dbt_part(name: str, pool: str, select: str = "fqn:*", exclude: str = "") -> dg.AssetsDefinition:
    @dbt_assets(manifest=dbt_project().manifest_path, project=dbt_project(), name=name, select=select,
                exclude=exclude, dagster_dbt_translator=WarehouseDbtTranslator(), pool=pool)
    def dbt_part(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
        # One target folder per warehouse and part, not dagster-dbt's new folder per run: dbt's partial
        # parse cache survives between runs, and concurrent test warehouses never share one.
        target = Path(warehouse.path).parent / "dbt_target" / name
        invocation = dbt.cli(["build"], context=context, target_path=target, raise_on_error=False)
        # dbt holds the DuckDB file until it exits: count rows only afterwards, so buffer its events.
        events = list(invocation.stream())
        if any(isinstance(event, dg.Output) for event in events):
            with warehouse.connect(read_only=True) as con:
                events = [_with_table_metadata(context, con, event) for event in events]
        yield from events
        if not invocation.is_successful():
            raise invocation.get_error()

    return dbt_part


def _with_table_metadata(context: dg.AssetExecutionContext, con, event):
    if not isinstance(event, dg.Output):
        return event
    schema, table = context.asset_key_for_output(event.output_name).path
    return event.with_metadata({**event.metadata, **_table_metadata(con, schema, table)})


def _table_metadata(con, schema: str, table: str) -> dict[str, Any]:
    relation = f'"{schema}"."{table}"'
    metadata: dict[str, Any] = {"dagster/row_count": con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]}
    if schema in PREVIEW_SCHEMAS:
        preview = con.execute(f"SELECT * FROM {relation} LIMIT {PREVIEW_ROWS}")
        columns = [column[0] for column in preview.description]
        metadata["preview"] = dg.MetadataValue.md(markdown_table(columns, preview.fetchall()))
    return metadata
