"""The blocking check only_validated_rows: the whole gate again over core, in SQL and bounded batches, fails
as soon as a core row would be refused, and rechecks only the centers whose core changed since they passed."""

import dagster as dg
import duckdb
import pytest

from assets.validation.assets import CORE_KEYS, only_validated_rows
from orchestration import versions
from orchestration.resources import WarehouseResource
from tests.validation.gating import load
from tests.validation.rows import TODAY, candidates, changed

pytestmark = pytest.mark.slow  # builds warehouses: make test-all


def _recheck(path) -> dict[str, dg.AssetCheckEvaluation]:
    defs = dg.Definitions(
        assets=[dg.AssetSpec(key) for key in CORE_KEYS.values()], asset_checks=[only_validated_rows],
        jobs=[dg.define_asset_job("recheck", selection=dg.AssetSelection.checks(only_validated_rows))],
        resources={"warehouse": WarehouseResource(path=str(path))})
    result = defs.resolve_job_def("recheck").execute_in_process(raise_on_error=False)  # the check blocks
    return {evaluation.asset_key.path[-1]: evaluation for evaluation in result.get_asset_check_evaluations()}


def _core(path, version: str, **changes) -> None:
    """core.<table> holding the candidates of rows.py (with `changes`), built from `version` for center aaa."""
    with duckdb.connect(str(path)) as con:
        load(con, candidates(**changes))
        con.execute("CREATE SCHEMA IF NOT EXISTS core")
        for table in CORE_KEYS:
            con.execute(f"CREATE OR REPLACE TABLE core.{table} AS SELECT * FROM candidates.{table}")
        versions.record(con, "core", {"aaa": version})


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    monkeypatch.setattr("assets.validation.assets._today", lambda: TODAY)
    return tmp_path / "warehouse.duckdb"


def test_a_core_row_the_gate_would_refuse_fails_the_check_until_core_is_clean(warehouse):
    _core(warehouse, "v1", labs=changed("labs", 0, value=-5.0, value_raw="-5"))
    evaluations = _recheck(warehouse)
    assert not evaluations["labs"].passed and evaluations["labs"].metadata["failing_rows"].value == 1
    assert all(evaluations[table].passed for table in CORE_KEYS if table != "labs")

    _core(warehouse, "v2")
    evaluations = _recheck(warehouse)
    assert all(evaluation.passed for evaluation in evaluations.values())
    assert evaluations["labs"].metadata["centers_rechecked"].value == "aaa"
