"""The warehouse job, in process, over hand-made centers (tests/validation/centers.py) in temp folders."""

from pathlib import Path

import dagster as dg

# Imported here, not under the test's environment: the module builds the demo's definitions on import.
from orchestration.definitions import build_definitions


def materialize(monkeypatch, warehouse: Path, landing: Path, centers: Path) -> dg.ExecuteInProcessResult:
    monkeypatch.setenv("BLINA_WAREHOUSE_DIR", str(warehouse))
    monkeypatch.setenv("BLINA_LANDING_DIR", str(landing))
    monkeypatch.setenv("BLINA_CENTERS_DIR", str(centers))
    # Definitions of these test centers (their partitions are read from BLINA_CENTERS_DIR), run as the
    # warehouse job runs: over every center partition.
    return build_definitions().resolve_job_def("warehouse").execute_in_process(raise_on_error=False)
