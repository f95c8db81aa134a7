"""Dagster resources: the DuckDB warehouse file and the centers' drop zone."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from orchestration import settings


class WarehouseResource(dg.ConfigurableResource):
    """The one DuckDB file holding the schemas raw, staging, core, quarantine, marts and audit."""

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator["duckdb.DuckDBPyConnection"]:  # noqa: F821
        import duckdb

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only)
        try:
            yield con
        finally:
            # Closed even on errors: dbt, the next writer, cannot open a file another connection holds.
            con.close()


class DeliveryResource(dg.ConfigurableResource):
    """The drop zone (data/landing/<center_id>/) and the YAML files mapping each center onto the contract."""

    landing_dir: str
    centers_dir: str

    def centers(self) -> list:
        """Every center's parsed YAML (CenterConfig), sorted by center_id."""
        from assets.landing.center_config import load_centers

        return list(load_centers(Path(self.centers_dir)).values())


def build_resources() -> dict[str, object]:
    """Resources configured from the environment at the time of the call (tests point them at temp dirs)."""
    from orchestration.dbt import dbt_resource

    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_dir() / settings.WAREHOUSE_FILE)),
        "delivery": DeliveryResource(
            landing_dir=str(settings.landing_dir()), centers_dir=str(settings.centers_dir())
        ),
        "dbt": dbt_resource(),
    }
