"""Dagster assets of the landing layer: one per contract table, the centers' mappings, raw.current_files."""

from pathlib import Path

import dagster as dg

from assets.landing import store
from assets.landing.contract import TABLE_FIELDS
from assets.landing.delivery import DeliveryResource
from assets.landing.mappings import MAPPING_TABLES
from orchestration import settings
from orchestration.metadata import column_schema, markdown_table
from orchestration.resources import WarehouseResource

GROUP = "landing"
# DuckDB allows one writing process per file: every asset that writes the warehouse shares this pool.
POOL = "warehouse"


def center_partitions() -> dg.StaticPartitionsDefinition:
    """One partition per center YAML, read when the definitions load: a new center needs a reload anyway."""
    from assets.landing.center_config import load_centers

    # An invalid YAML is left out here too: center_mappings reports it, the other centers go on.
    return dg.StaticPartitionsDefinition(list(load_centers(settings.centers_dir(), errors=[])))


def centers_to_land(context: dg.AssetExecutionContext, centers: list) -> list:
    """The run's centers: one (a delivery), a range (the nightly run: all), or every center when the run
    has no partition at all (`dg.materialize` without a partition key, as the tests do)."""
    if not context.has_partition_key and not context.has_partition_key_range:
        return centers
    wanted = set(context.partition_keys)
    return [center for center in centers if center.center_id in wanted]


def raw_table_asset(table: str, centers: dg.StaticPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", table],
        group_name=GROUP,
        kinds={"duckdb", "polars"},
        pool=POOL,
        partitions_def=centers,
        # A backfill of several centers is one run: DuckDB takes one writer at a time anyway.
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=f"Every center's `{table}` file, landed as delivered text with provenance; "
                    "every version kept, raw.current_files names the one staging reads.",
    )
    def land(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
             delivery: DeliveryResource) -> dg.MaterializeResult:
        from assets.landing.ingest import land_table

        partitioned = context.has_partition_key or context.has_partition_key_range
        with warehouse.connect() as con:
            centers = centers_to_land(context, delivery.centers())
            loads = land_table(con, table, centers, Path(delivery.landing_dir), store.utc_now(),
                               warehouse.temp_directory)
            counted = store.count_rows_by_center(con, table)
            all_versions = sum(rows for rows, _ in counted.values())
            current = sum(rows for _, rows in counted.values())
            by_center = ({center: counted.get(center, (0, 0)) for center in context.partition_keys}
                         if partitioned else {})
            columns = column_schema(con, "raw", table)
        for load in loads:
            if load.outcome == store.FAILED:
                context.log.warning(load.message)
        # A partition's materialization counts its center's rows (Dagster records one per partition of the run,
        # and this metadata replaces the whole table's there); the whole table's stay in rows_in_table.
        for center_id, (center_all, center_current) in by_center.items():
            context.add_asset_metadata({
                "dagster/row_count": center_current, "rows_all_versions": center_all,
                "rows_loaded_now": sum(load.rows for load in loads
                                       if load.outcome == store.LOADED and load.center_id == center_id),
            }, partition_key=center_id)
        return dg.MaterializeResult(metadata={
            "rows_in_table": current,
            "dagster/row_count": current,
            **columns,
            "rows_all_versions": all_versions,
            "rows_loaded_now": sum(load.rows for load in loads if load.outcome == store.LOADED),
            "files": dg.MetadataValue.md(markdown_table(
                ["center", "file", "outcome", "rows", "sha256", "message"],
                [(load.center_id, load.source_file, load.outcome, load.rows, (load.file_sha256 or "")[:12],
                  load.message) for load in loads],
            )),
        })

    return land


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("every_delivered_file_loaded", asset=dg.AssetKey(["raw", table]),
                             description="The latest sighting of every file the centers' YAMLs list loaded "
                                         "(or was unchanged).")
           for table in TABLE_FIELDS],
)
def every_delivered_file_loaded(warehouse: WarehouseResource, delivery: DeliveryResource):
    from assets.landing.ingest import listed_files

    # One step for the six raw tables: Dagster's per-step cost outweighs the checks' own. A failed file stops
    # failing once a loadable version is delivered, or once the center's YAML no longer lists it.
    listed = listed_files(delivery.centers())
    with warehouse.connect(read_only=True) as con:
        failures = {table: store.latest_failures(con, table, listed) for table in TABLE_FIELDS}
    for table, failed in failures.items():
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(["raw", table]), check_name="every_delivered_file_loaded",
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "failed_files": len(failed),
                "failures": dg.MetadataValue.md(markdown_table(["center", "file", "message"], failed)),
            },
        )


@dg.multi_asset(
    specs=[dg.AssetSpec(["raw", name], group_name=GROUP, kinds={"duckdb"},
                        description=f"raw.{name}: the centers' YAML mappings, for dbt staging")
           for name in MAPPING_TABLES],
    check_specs=[dg.AssetCheckSpec("every_center_yaml_loads", asset=["raw", "center_settings"],
                                   description="Every center YAML is valid. An invalid one fails alone: its "
                                               "center's files are not landed and its data stays as it was.")],
    pool=POOL,
)
def center_mappings(context: dg.AssetExecutionContext, warehouse: WarehouseResource, delivery: DeliveryResource):
    from assets.landing.mappings import land_mappings

    errors = delivery.config_errors()
    for _, message in errors:
        context.log.warning(message)
    with warehouse.connect() as con:
        store.ensure_warehouse(con)
        counts = land_mappings(con, delivery.centers(), keep=[center for center, _ in errors])
        store.record_config_errors(con, errors)
        schemas = {name: column_schema(con, "raw", name) for name in counts}
    for name, rows in counts.items():
        yield dg.MaterializeResult(asset_key=["raw", name], metadata={"dagster/row_count": rows, **schemas[name]})
    yield dg.AssetCheckResult(
        check_name="every_center_yaml_loads", asset_key=["raw", "center_settings"], passed=not errors,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"invalid_yamls": len(errors),
                  "errors": dg.MetadataValue.md(markdown_table(["center", "problem"], errors))})


@dg.asset(
    key=["raw", "center_corrections"],
    group_name=GROUP,
    kinds={"duckdb"},
    pool=POOL,
    description="The centers' answers to data queries (data/corrections/<center_id>.yaml), one row per declared "
                "correction, refused ones with their sentence; staging applies the rest (audit.corrections).",
)
def center_corrections(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                       delivery: DeliveryResource) -> dg.MaterializeResult:
    from assets.landing.corrections import land_corrections

    corrections = delivery.corrections()
    refused = [correction for correction in corrections if correction.refusal]
    for correction in refused:
        context.log.warning(correction.refusal)
    with warehouse.connect() as con:
        store.ensure_warehouse(con)
        rows = land_corrections(con, corrections)
        columns = column_schema(con, "raw", "center_corrections")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        **columns,
        "refused": len(refused),
        "corrections": dg.MetadataValue.md(markdown_table(
            ["center", "query", "table", "file", "row", "field", "refusal"],
            [(c.center_id, c.query_id, c.table_name, c.source_file, c.source_row, c.field, c.refusal or "")
             for c in corrections])),
    })


@dg.asset(
    key=["raw", "current_files"],
    deps=[dg.AssetKey(["raw", table]) for table in TABLE_FIELDS],
    group_name=GROUP,
    kinds={"duckdb"},
    pool=POOL,
    description="The version of each delivered file that staging reads: a view over audit.loads.",
)
def current_files(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        store.ensure_warehouse(con)
        rows = con.execute(
            "SELECT center_id, source_file, left(file_sha256, 12) FROM raw.current_files ORDER BY ALL"
        ).fetchall()
        columns = column_schema(con, "raw", "current_files")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rows),
        **columns,
        "files": dg.MetadataValue.md(markdown_table(["center", "file", "sha256"], rows)),
    })


def landing_assets(centers: dg.StaticPartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The raw table assets, partitioned by `centers` (center_partitions()), and the pooled raw assets."""
    return [*(raw_table_asset(table, centers) for table in TABLE_FIELDS), center_mappings, center_corrections,
            current_files]


LANDING_CHECKS = [every_delivered_file_loaded]
