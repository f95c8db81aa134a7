"""Loaders for the R reference files (tests/reference) and the published numbers (dbt seed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference"
PUBLISHED = ROOT / "dbt_project" / "seeds" / "published_results.csv"


def load_reference(name: str) -> tuple[dict, pl.DataFrame]:
    """An R answer file and the data it was computed from."""
    answer = json.loads((REFERENCE / name).read_text())
    return answer, pl.read_csv(REFERENCE / answer["file"])


def reference_names(suffix: str) -> list[str]:
    return sorted(path.name for path in REFERENCE.glob(f"*.{suffix}.json"))


@pytest.fixture(scope="session")
def published() -> dict[tuple[str, str, str], dict[str, str]]:
    """published_results.csv keyed by (id, group, statistic)."""
    with PUBLISHED.open(newline="") as handle:
        return {(row["id"], row["group"], row["statistic"]): row for row in csv.DictReader(handle)}
