"""A mart's Dagster deps name every core table it reads: its input version is made of those tables' contents
(shared.skip_while_inputs_unchanged), so a table read but not declared would leave the mart stale after that
table changed. Each mart runs here on a copy of the demo warehouse holding only the core tables it declares."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest

import assets.marts
from orchestration.resources import WarehouseResource

# The mart modules' assets as orchestration/definitions.py finds them (its import builds every definition).
MARTS = [asset for asset in dg.load_assets_from_package_module(assets.marts)
         if isinstance(asset, dg.AssetsDefinition)]


@pytest.mark.parametrize("asset", MARTS, ids=lambda asset: asset.node_def.name)
def test_a_mart_reads_only_the_core_tables_it_declares(demo_warehouse, tmp_path, asset):
    # A mart declaring no core table (marts.data_queries reads the findings) runs without any.
    declared = {dep.path[1] for deps in asset.asset_deps.values() for dep in deps if dep.path[0] == "core"}
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        # A declared view (core.lab_draws) keeps its rows as a table: the tables under it are not the mart's reads.
        for (view,) in con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'core'").fetchall():
            con.execute(f'CREATE TABLE core."{view}_rows" AS SELECT * FROM core."{view}"; DROP VIEW core."{view}";'
                        f' ALTER TABLE core."{view}_rows" RENAME TO "{view}"')
        hidden = [table for (table,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'core'").fetchall() if table not in declared]
        for table in hidden:
            con.execute(f'DROP TABLE core."{table}"')
        con.execute("DELETE FROM audit.build_versions WHERE center_id = ''")  # no mart skips its work
    assert hidden, "the copy lacks some core table"
    result = dg.materialize([asset], resources={"warehouse": WarehouseResource(path=str(copy))},
                            raise_on_error=False)
    failures = [event.event_specific_data.error.message for event in result.get_step_failure_events()]
    assert result.success, failures
