"""The marts and the analyst snapshot, computed in Python by Dagster, appear in dbt's lineage as exposures
(dbt_project/models/exposures.yml, written by orchestration/exposures.py from the Dagster asset graph)."""

import json
from pathlib import Path

import pytest

from orchestration.dbt import dbt_project
from orchestration.exposures import EXPOSURES_FILE, current_render


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(Path(dbt_project().manifest_path).read_text())


def test_the_exposures_file_is_the_one_the_asset_graph_gives():
    """A mart added, or reading another dbt table, changes the file: `python -m orchestration.exposures`."""
    assert EXPOSURES_FILE.read_text() == current_render()


def test_dbt_lineage_leads_from_core_to_every_mart_and_the_snapshot(manifest):
    exposures = {exposure["label"]: exposure for exposure in manifest["exposures"].values()}
    assert {"marts.cox_models", "marts.data_queries", "marts.paper_reproduction", "snapshot.analytics"} <= set(
        exposures)
    assert len([label for label in exposures if label.startswith("marts.")]) >= 20
    # dbt resolved the references: the Cox models read core.time_to_event, the data queries the quarantine.
    assert "model.blina_warehouse.time_to_event" in exposures["marts.cox_models"]["depends_on"]["nodes"]
    assert "source.blina_warehouse.quarantine.cycles" in exposures["marts.data_queries"]["depends_on"]["nodes"]
    assert "model.blina_warehouse.lab_draws" in exposures["snapshot.analytics"]["depends_on"]["nodes"]
