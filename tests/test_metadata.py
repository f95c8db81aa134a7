"""What a skipped asset repeats of its last materialization (orchestration/metadata.py)."""

import dagster as dg

from orchestration.metadata import carried_over

KEY = dg.AssetKey(["marts", "example"])


@dg.asset(key=KEY)
def example() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 3, "preview": dg.MetadataValue.md("| n |"),
                                          "built_in_s": 1.5}, data_version=dg.DataVersion("v1"))


def test_a_skipped_asset_repeats_what_describes_the_rows_of_the_same_data_version_only():
    instance = dg.DagsterInstance.ephemeral()
    assert carried_over(instance, KEY, "v1") is None  # never materialized
    assert dg.materialize([example], instance=instance).success
    carried = carried_over(instance, KEY, "v1")
    assert carried == {"dagster/row_count": dg.MetadataValue.int(3), "preview": dg.MetadataValue.md("| n |")}
    assert carried_over(instance, KEY, "v2") is None  # other rows: counted again


def test_column_schemas_describe_the_tables_python_writes_from_dbts_yaml():
    import duckdb

    from orchestration.metadata import column_schema

    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw; CREATE SCHEMA audit; CREATE SCHEMA marts")
    con.execute("CREATE TABLE raw.patients (center_id VARCHAR, mrn VARCHAR)")  # a dbt source, landed by Python
    con.execute("CREATE TABLE audit.run_failures (run_id VARCHAR, error VARCHAR)")  # written by the sensor
    con.execute("CREATE TABLE marts.example (n INTEGER)")
    con.execute("COMMENT ON COLUMN marts.example.n IS 'Patients.'")  # a mart describes itself
    described = {table: {column.name: column.description
                         for column in column_schema(con, *table.split("."))["dagster/column_schema"].columns}
                 for table in ("raw.patients", "audit.run_failures", "marts.example")}
    assert all(described["raw.patients"].values()) and "Dagster run id" in described["audit.run_failures"]["run_id"]
    assert described["marts.example"] == {"n": "Patients."}


def test_a_per_center_view_is_counted_again_only_for_the_centers_rebuilt_since():
    from types import SimpleNamespace

    import duckdb

    from orchestration import versions
    from orchestration.dbt import row_count_metadata

    con = duckdb.connect()
    con.execute("CREATE SCHEMA intermediate; CREATE TABLE intermediate.t AS SELECT * FROM (VALUES ('a', 1), ('a', 2),"
                " ('b', 3)) AS r(center_id, x); CREATE VIEW intermediate.v AS SELECT * FROM intermediate.t")
    versions.record(con, "intermediate", {"a": "v1", "b": "v1"})
    context, key = SimpleNamespace(instance=dg.DagsterInstance.ephemeral()), dg.AssetKey(["intermediate", "v"])

    def materialized(metadata: dict) -> None:
        @dg.asset(key=key)
        def view() -> dg.MaterializeResult:
            return dg.MaterializeResult(metadata=metadata)

        assert dg.materialize([view], instance=context.instance).success

    first = row_count_metadata(context, con, key)
    assert first["dagster/row_count"] == 3
    materialized(first)
    # Rows under versions that did not change would be a layer's bug; here they show which centers were
    # counted: b, rebuilt, is counted again (2 rows), a keeps the count taken at its version (2, not 3).
    con.execute("INSERT INTO intermediate.t VALUES ('a', 4), ('b', 5)")
    versions.record(con, "intermediate", {"b": "v2"})
    second = row_count_metadata(context, con, key)
    assert second["dagster/row_count"] == 4
    assert second["rows_by_center"].value == {"a": {"version": "v1", "rows": 2}, "b": {"version": "v2", "rows": 2}}
    # A table is counted whole.
    con.execute("CREATE TABLE intermediate.w AS SELECT * FROM intermediate.t")
    assert row_count_metadata(context, con, dg.AssetKey(["intermediate", "w"])) == {"dagster/row_count": 5}
