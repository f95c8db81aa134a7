"""The blocking check only_validated_rows: core holding exactly the rows the gate passed (their fingerprints)
passes; otherwise the whole gate again over core, in SQL and bounded batches, fails as soon as a core row would
be refused. It rechecks only the centers whose core changed since they passed."""

import dagster as dg
import duckdb
import pytest

from assets.validation import passed as passed_rows
from assets.validation.assets import CORE_KEYS, only_validated_rows
from assets.validation.gate import gate_centers
from assets.validation.store import KEY, candidate_table, quarantine_table
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


def _gated_core(path, version: str, **changes) -> None:
    """The candidates of rows.py (with `changes`) as intermediate's, through the gate as validation_gate runs it
    (the fingerprints of what passed recorded), and core.<table> the rows that passed, as the dbt models build it."""
    with duckdb.connect(str(path)) as con:
        load(con, candidates(**changes))
        con.execute("CREATE SCHEMA IF NOT EXISTS intermediate; CREATE SCHEMA IF NOT EXISTS core")
        for table in CORE_KEYS:
            con.execute(f"CREATE OR REPLACE TABLE {candidate_table(table)} AS SELECT * FROM candidates.{table}")
        tallies = gate_centers(con, ["aaa"], TODAY)
        passed_rows.record(con, [(table, tally.fingerprints) for table, tally in tallies.items()])
        for table in CORE_KEYS:
            columns = {column for (column,) in con.execute(
                f"SELECT name FROM pragma_table_info('{candidate_table(table)}')").fetchall()}
            same = " AND ".join(f"refused.{column} IS NOT DISTINCT FROM candidate.{column}"
                                for column in KEY if column in columns)
            con.execute(f"CREATE OR REPLACE TABLE core.{table} AS SELECT *, NULL::VARCHAR AS warnings"
                        f" FROM {candidate_table(table)} AS candidate"
                        f" WHERE NOT EXISTS (SELECT 1 FROM {quarantine_table(table)} AS refused WHERE {same})")
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


def test_core_holding_the_rows_the_gate_passed_is_not_gated_again_and_a_refused_row_let_in_after_it_fails(warehouse):
    _gated_core(warehouse, "v1", labs=changed("labs", 0, value=-5.0, value_raw="-5"))
    evaluations = _recheck(warehouse)
    assert all(evaluation.passed for evaluation in evaluations.values())
    assert evaluations["labs"].metadata["centers_gated_again"].value == ""
    assert evaluations["labs"].metadata["centers_rechecked"].value == "aaa"

    with duckdb.connect(str(warehouse)) as con:  # the row the gate refused reaches core after the gate
        con.execute(f"INSERT INTO core.labs BY NAME SELECT * FROM {candidate_table('labs')} WHERE value < 0")
        versions.record(con, "core", {"aaa": "v2"})
    evaluations = _recheck(warehouse)
    assert not evaluations["labs"].passed and evaluations["labs"].metadata["failing_rows"].value == 1
    assert evaluations["labs"].metadata["centers_gated_again"].value == "aaa"
    assert all(evaluations[table].passed for table in CORE_KEYS if table != "labs")


def test_core_rows_changed_after_the_gate_are_gated_again_and_pass_when_the_gate_would_pass_them(warehouse):
    _gated_core(warehouse, "v1")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE core.labs SET value = value + 1")
        versions.record(con, "core", {"aaa": "v2"})
    evaluations = _recheck(warehouse)
    assert evaluations["labs"].metadata["centers_gated_again"].value == "aaa"
    assert all(evaluation.passed for evaluation in evaluations.values())
