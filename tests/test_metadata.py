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
