"""snapshot/analytics: the analyst snapshot (analytics.duckdb beside warehouse.duckdb), after every table it copies."""

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from assets.landing.assets import POOL
from assets.landing.delivery import DeliveryResource
from assets.snapshot.publish import SCHEMAS
from orchestration import settings, versions
from orchestration.catalog import database_path
from orchestration.incremental import skip_when_unchanged
from orchestration.metadata import markdown_table
from orchestration.resources import WarehouseResource

KEY = dg.AssetKey(["snapshot", "analytics"])
# What the snapshot's tables are computed by, besides core: every layer's code after landing.
SNAPSHOT_CODE = ("dbt_project", "schemas", "assets/validation", "assets/marts", "assets/snapshot")
CHECK = "every_column_described"
DELIVERIES_CHECK = "every_delivery_published"
# The centers' reviewed_safe markings (raw), which decide what free text the snapshot publishes.
REVIEWED_TEXT = dg.AssetKey(["raw", "center_reviewed_text"])


def snapshot_asset(upstream: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """The snapshot asset, downstream of every asset of `upstream` that writes a schema it copies."""
    deps = sorted({key for asset in upstream for key in asset.keys if key.path[0] in SCHEMAS} | {REVIEWED_TEXT},
                  key=str)

    @dg.asset(
        key=KEY,
        group_name="snapshot",
        deps=deps,
        kinds={"duckdb"},
        pool=POOL,
        owners=["team:data-engineering"],
        description=f"{settings.ANALYTICS_FILE}: the schemas {', '.join(SCHEMAS)} of the warehouse, every table "
                    "and column with its description, replaced in one rename (analysts read it with `make sql`).",
        check_specs=[dg.AssetCheckSpec(CHECK, asset=KEY, description="Every snapshot table and column carries "
                                       "a description (COMMENT ON), the analysts' data dictionary.")],
    )
    @skip_when_unchanged("snapshot.analytics", SNAPSHOT_CODE, extra=_published_inputs, missing=_missing)
    def analytics(warehouse: WarehouseResource) -> dg.MaterializeResult:
        from assets.snapshot.descriptions import describe, warehouse_docs
        from assets.snapshot.publish import publish
        from orchestration.dbt_docs import project_docs

        target = Path(warehouse.path).with_name(settings.ANALYTICS_FILE)
        with warehouse.connect() as con:
            sources = [warehouse_docs(con), project_docs()]
            published = publish(con, target, lambda relation, columns: describe(relation, columns, sources))
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(target)),
                "refreshed": "everything" if published.refreshed_centers is None
                             else "the rows of " + (", ".join(published.refreshed_centers) or "no center"),
                "tables": len(published.rows),
                "unchanged_tables_kept": dg.MetadataValue.md(", ".join(published.kept) or "none"),
                "views": ", ".join(published.views) or "none",
                "dagster/row_count": sum(published.rows.values()),
                "rows": dg.MetadataValue.md(markdown_table(["table", "rows"], sorted(published.rows.items()))),
            },
            check_results=[dg.AssetCheckResult(
                check_name=CHECK,
                passed=not published.undocumented,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"undocumented": dg.MetadataValue.md("\n".join(
                    f"- {name}" for name in published.undocumented) or "none")},
            )],
        )

    return analytics


@dg.asset_check(
    asset=KEY, name=DELIVERIES_CHECK, blocking=True,
    description="Every file the centers' YAMLs list, and every center YAML, reached the snapshot: none failed to "
                "load or is held. Blocking, on the last asset: a run that built everything it could but left a "
                "delivery out ends failed, in the UI as in `make run`'s exit code.",
)
def every_delivery_published(warehouse: WarehouseResource, delivery: DeliveryResource) -> dg.AssetCheckResult:
    # Evaluated every run, never carried over: the snapshot can be unchanged while a new file fails.
    from assets.landing.ingest import listed_files
    from assets.landing.store import incomplete_deliveries

    with warehouse.connect(read_only=True) as con:
        missing = incomplete_deliveries(con, listed_files(delivery.centers()))
    return dg.AssetCheckResult(
        passed=not missing,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if not missing else (
            f"{len(missing)} deliver{'y' if len(missing) == 1 else 'ies'} failed to load or held: "
            + "; ".join(f"{center}: {file}" for center, file, _ in missing)),
        metadata={"deliveries_left_out": len(missing),
                  "left_out": dg.MetadataValue.md(markdown_table(["center", "file", "message"], missing))},
    )


def _published_inputs(con) -> str:
    """Besides core: the failed files its audit shows, and the free text it may publish."""
    from assets.snapshot.withheld import reviewed

    return versions.landing_failures(con) + "|" + repr(sorted(reviewed(con).items()))


def _missing(con) -> bool:
    """A deleted snapshot is published again, whatever changed."""
    return not database_path(con).with_name(settings.ANALYTICS_FILE).exists()
