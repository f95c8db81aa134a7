"""The one Dagster code location of the warehouse (workspace.yaml loads this module)."""

import inspect
import warnings

import dagster as dg

import assets.marts
from assets.landing.assets import LANDING_CHECKS, POOL, center_partitions, landing_assets
from assets.landing.delivery import DeliveryResource
from assets.marts.paper_reproduction import paper_reproduction_asset
from assets.report.assets import REPORT_ASSETS
from assets.snapshot.assets import every_delivery_published, snapshot_asset
from assets.validation.assets import VALIDATION_ASSETS, VALIDATION_CHECKS
from orchestration import settings
from orchestration.dbt import build_dbt_assets, dbt_resource
from orchestration.jobs import build_jobs, side_by_side_executor
from orchestration.resources import WarehouseResource
from orchestration.schedules import nightly_schedule
from orchestration.sensors import drop_zone_sensor, run_failure_sensor

# Single-run backfills of the center partitions (one run, one DuckDB writer) are chosen knowingly; Dagster
# would warn that the parameter is in beta at every import.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
# Likewise the code references (the UI's link from an asset to its code), beta too, warned once per asset.
for _beta in ("Class `CodeReferencesMetadataValue`", "Class `LocalFileCodeReference`"):
    warnings.filterwarnings("ignore", message=_beta, category=dg.BetaWarning)

# Who answers for each layer in the UI: engineers for the pipeline, data managers for what validation refuses,
# biostatisticians for the marts. Set here once, by group, rather than on every asset.
OWNERS = {"landing": "team:data-engineering", "staging": "team:data-engineering",
          "intermediate": "team:data-engineering", "core": "team:data-engineering",
          "seeds": "team:data-engineering", "validation": "team:data-management",
          "accounting": "team:data-management", "marts": "team:biostatistics"}


def _owned(spec: dg.AssetSpec) -> dg.AssetSpec:
    owner = OWNERS.get(spec.group_name or "")
    return spec.replace_attributes(owners=[owner]) if owner and not spec.owners else spec


def with_code_references(definitions: list) -> list:
    """dg.with_source_code_references, but pointing at the function a decorator wraps (skip_when_unchanged):
    Dagster's takes the wrapper's file and the wrapped function's line. A reference already set (dagster-dbt's
    model file) stays first."""
    def referenced(definition):
        compute = getattr(definition.node_def, "compute_fn", None)
        function = inspect.unwrap(getattr(compute, "decorated_fn", compute)) if compute else None
        if function is None:
            return definition
        code = dg.LocalFileCodeReference(file_path=inspect.getsourcefile(function),
                                         line_number=inspect.getsourcelines(function)[1])

        def add(spec: dg.AssetSpec) -> dg.AssetSpec:
            known = spec.metadata.get("dagster/code_references")
            references = [*(known.code_references if known else []), code]
            return spec.replace_attributes(metadata={
                **spec.metadata, "dagster/code_references": dg.CodeReferencesMetadataValue(code_references=references)})

        return definition.map_asset_specs(add)

    return [referenced(definition) for definition in definitions]


def build_resources() -> dict[str, object]:
    """Resources configured from the environment at the time of the call (tests point them at temp dirs)."""
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_dir() / settings.WAREHOUSE_FILE),
                                       memory_limit=settings.memory_limit(), threads=settings.threads()),
        "delivery": DeliveryResource(
            landing_dir=str(settings.landing_dir()), centers_dir=str(settings.centers_dir()),
            corrections_dir=str(settings.corrections_dir()),
        ),
        "dbt": dbt_resource(),
    }


def mart_assets() -> list[dg.AssetsDefinition]:
    """Every asset the mart modules define (assets/marts/*.py: they write the marts and marts.statistical_tests),
    found by Dagster's loader, and marts.paper_reproduction over them: a new mart module is registered, and
    reproduced, without wiring."""
    marts = dg.load_assets_from_package_module(assets.marts)
    return [*marts, paper_reproduction_asset(marts)]


def build_definitions() -> dg.Definitions:
    """Everything, from the environment at the time of the call: the center partitions are the centers'
    YAMLs in BLINA_CENTERS_DIR (tests point it, and the other BLINA_* variables, at temp dirs)."""
    centers = center_partitions()
    warehouse_assets = dg.map_asset_specs(_owned, [
        *landing_assets(centers), *build_dbt_assets(POOL, centers), *VALIDATION_ASSETS, *mart_assets()])
    return dg.Definitions(
        # The study reports (report/<study>) come last, after the snapshot and the paper reproduction. Every
        # asset's code reference in the UI: the function that builds it (and a dbt model's own SQL file).
        assets=with_code_references([*warehouse_assets, snapshot_asset(warehouse_assets), *REPORT_ASSETS]),
        asset_checks=[*LANDING_CHECKS, *VALIDATION_CHECKS, every_delivery_published],
        jobs=build_jobs(centers),
        schedules=[nightly_schedule],
        sensors=[drop_zone_sensor, run_failure_sensor],
        resources=build_resources(),
        # Also for materializations launched from the UI: see orchestration/jobs.py.
        executor=side_by_side_executor,
    )


defs = build_definitions()
