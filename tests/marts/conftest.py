"""The demo warehouse the marts' end-to-end tests read: the whole asset graph materialized once per session on
the demo extracts (data/landing, or BLINA_LANDING_DIR) into a temp directory."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

MULTICENTER_CENTERS = ("sch", "scmc", "ach", "sph")


class DemoBuild(NamedTuple):
    path: Path  # the DuckDB file
    failed: frozenset[str]  # keys ("marts/immune_paired") of the mart assets that failed


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> DemoBuild:
    """Everything materialized, marts included. Landing, core and validation must succeed; a mart that fails
    is listed in `failed`, so that each test module asserts only the marts it is about."""
    import dagster as dg

    from orchestration import settings

    landing = settings.landing_dir()
    if not all((landing / center).is_dir() for center in MULTICENTER_CENTERS):
        pytest.skip(f"no demo extracts in {landing}: python -m demo_cohort --out data/landing")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BLINA_WAREHOUSE_DIR", str(tmp_path_factory.mktemp("warehouse")))
        from assets.landing.assets import center_partitions
        from orchestration.definitions import build_resources, defs
        from orchestration.jobs import every_center_tags

        resources = build_resources()
        assets = list(defs.assets)
        result = dg.materialize([*assets, *defs.asset_checks], resources=resources, raise_on_error=False,
                                tags=every_center_tags(center_partitions()))
        keys_of_step = {asset.op.name: asset.keys for asset in assets if isinstance(asset, dg.AssetsDefinition)}
        failed = {key.to_user_string() for event in result.get_step_failure_events()
                  for key in keys_of_step.get(event.step_key, {dg.AssetKey(event.step_key)})}
        not_marts = sorted(key for key in failed if not key.startswith("marts/"))
        assert not not_marts, not_marts
        yield DemoBuild(Path(resources["warehouse"].path), frozenset(failed))


@pytest.fixture(scope="session")
def demo_warehouse(demo_build) -> Path:
    """The demo warehouse's DuckDB file (see demo_build: a failed mart leaves its tables out)."""
    return demo_build.path
