"""The project's dbt manifest, read once per version of the file, and the descriptions its YAML gives every
relation it knows (its models and seeds, and the sources: the raw layer, and the tables the Python layers
write, the gate's findings and the audit tables). The one place a column is described; the Dagster column
schemas (orchestration/metadata.py) and the analyst snapshot's COMMENTs (assets/snapshot) read it here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from orchestration import settings

MANIFEST = settings.DBT_PROJECT_DIR / "target" / "manifest.json"  # as DbtProject places it (orchestration/dbt.py)


@dataclass(frozen=True)
class TableDoc:
    description: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)


def manifest(path: Path = MANIFEST) -> dict:
    """The manifest at `path` as parsed JSON, read once per version of the file (the asset definitions, the
    previews, the exposures and the descriptions all read it)."""
    return _parsed(path, path.stat().st_mtime)


@cache
def _parsed(path: Path, _modified: float) -> dict:
    return json.loads(path.read_text())


def dbt_docs(parsed: Mapping) -> dict[str, TableDoc]:
    """`schema.table` -> the descriptions of the models, seeds and sources of the parsed manifest."""
    nodes = [node for node in parsed["nodes"].values() if node["resource_type"] in ("model", "seed")]
    docs = {}
    for node in [*nodes, *parsed["sources"].values()]:
        table = node.get("identifier") or node.get("alias") or node["name"]
        docs[f"{node['schema']}.{table}"] = TableDoc(
            node["description"] or None,
            {name: column["description"] for name, column in node["columns"].items() if column["description"]})
    return docs


def project_docs() -> dict[str, TableDoc]:
    """dbt_docs of the project's manifest as it is now (empty before its first parse)."""
    return _docs_of(MANIFEST.stat().st_mtime) if MANIFEST.exists() else {}


@cache
def _docs_of(_modified: float) -> dict[str, TableDoc]:
    return dbt_docs(manifest())
