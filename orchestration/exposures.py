"""dbt exposures for what Dagster computes in Python from dbt's tables, the marts and the analyst snapshot, so
that `dbt docs` shows them in its lineage: one exposure per Dagster asset of those schemas, depending on the
dbt models, seeds and sources the asset reads.

Written from the Dagster asset graph, not by hand: `python -m orchestration.exposures` rewrites
dbt_project/models/exposures.yml, and tests/test_exposures.py fails while the file differs from what this
module writes (a mart that reads another core table, a new mart). dbt does not build the marts, so the
exposures carry no columns or types: a mart's columns are what its Python code writes, each described in a
COMMENT (assets/marts/shared.py).
"""

import textwrap
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import yaml

from orchestration import dbt_docs, settings
from orchestration.dbt import WarehouseDbtTranslator, dbt_project

EXPOSED_SCHEMAS = ("marts", "snapshot")
EXPOSURES_FILE = settings.DBT_PROJECT_DIR / "models" / "exposures.yml"
HEADER = ("# Written by `python -m orchestration.exposures` from the Dagster asset graph (the marts and the\n"
          "# analyst snapshot, computed in Python from dbt's tables): do not edit by hand.\n"
          "# tests/test_exposures.py checks it.\n")


def dbt_relations(manifest: Mapping) -> dict[dg.AssetKey, str]:
    """The asset key of every dbt model, seed and source (named by the project's translator, as the dbt assets
    are) -> how an exposure refers to it."""
    key = WarehouseDbtTranslator().get_asset_key
    relations = {key(node): f"ref('{node['name']}')" for node in manifest["nodes"].values()
                 if node["resource_type"] in ("model", "seed")}
    for source in manifest["sources"].values():
        relations[key(source)] = f"source('{source['source_name']}', '{source['name']}')"
    return relations


def _code_file(node) -> str | None:
    references = node.metadata.get("dagster/code_references")
    for reference in references.code_references if references else []:
        path = Path(reference.file_path)
        if path.is_relative_to(settings.PROJECT_ROOT):
            return str(path.relative_to(settings.PROJECT_ROOT))
    return None


def exposures(asset_graph, manifest: Mapping) -> list[dict]:
    """One exposure per asset of EXPOSED_SCHEMAS, by asset key."""
    relations = dbt_relations(manifest)
    exposed = []
    for key in sorted(asset_graph.get_all_asset_keys(), key=lambda key: key.path):
        if key.path[0] not in EXPOSED_SCHEMAS:
            continue
        node = asset_graph.get(key)
        parents = sorted(node.parent_keys, key=lambda parent: parent.path)
        outside = [".".join(parent.path) for parent in parents if parent not in relations]
        code = _code_file(node)
        description = (node.description or "").strip()
        description += (f"\n\nComputed in Python by the Dagster asset {'/'.join(key.path)}"
                        + (f" ({code})" if code else "") + ", not by dbt.")
        if outside:
            description += f" It also reads {', '.join(outside)}, which dbt does not build."
        exposed.append({
            "name": "_".join(key.path),
            "label": ".".join(key.path),
            "type": "analysis",
            "owner": {"name": (node.owners or ["blina-warehouse"])[0]},
            "description": "\n\n".join(textwrap.fill(paragraph, 106) for paragraph in description.split("\n\n")),
            "depends_on": [relations[parent] for parent in parents if parent in relations],
        })
    return exposed


class _Dumper(yaml.SafeDumper):
    """Descriptions (several lines) as literal blocks, the way the project's YAML writes them."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def render(asset_graph, manifest: Mapping) -> str:
    """The text of models/exposures.yml."""
    body = yaml.dump({"version": 2, "exposures": exposures(asset_graph, manifest)}, Dumper=_Dumper,
                     sort_keys=False, width=110, allow_unicode=True)
    return HEADER + "\n" + body


def current_render() -> str:
    """render() for this checkout's Dagster definitions and dbt manifest."""
    from orchestration.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    manifest = dbt_docs.manifest(Path(dbt_project().manifest_path))
    return render(graph, manifest)


if __name__ == "__main__":
    EXPOSURES_FILE.write_text(current_render())
    print(EXPOSURES_FILE)
