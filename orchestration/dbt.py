"""The dbt project as Dagster assets: every dbt model, seed and test, downstream of the landing assets.

Asset keys mirror DuckDB relations (`[schema, table]`), so the dbt source `raw.patients` is the landing
asset `raw/patients` and the model `core.patients` is `core/patients`.
"""

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject, dbt_assets

from orchestration import dbt_docs, dbt_runner, pseudonym_key, settings, versions
from orchestration.framework_internals import DbtStep
from orchestration.metadata import ROWS_BY_CENTER, column_schema, last_described, markdown_table
from orchestration.pseudonym_key import KEY_VARIABLE
from orchestration.resources import WarehouseResource

# The parse inputs whose change makes the manifest stale.
_PARSE_INPUTS = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds", "tests")
# Schemas whose tables may be shown as previews: pseudonymised, no names, birth dates or MRNs.
PREVIEW_SCHEMAS = ("core", "marts")
PREVIEW_ROWS = 5
# One group per layer: the intermediate candidates sit between staging and the validation gate, core after it.
_GROUPS = {"staging": "staging", "intermediate": "intermediate", "core": "core"}


@cache
def dbt_project() -> DbtProject:
    """The project with a fresh manifest: `prepare_if_dev()` parses only under `dagster dev`, so parse
    here whenever the manifest is missing or older than the files it is parsed from."""
    project = DbtProject(project_dir=settings.DBT_PROJECT_DIR)
    if _manifest_stale(project.manifest_path):
        dbt_runner.parse_project(Path(project.project_dir))
    return project


def _manifest() -> dict:
    """The project's manifest.json, parsed (read once per version of the file)."""
    return dbt_docs.manifest(Path(dbt_project().manifest_path))


def _manifest_stale(manifest: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for name in _PARSE_INPUTS:
        path = settings.DBT_PROJECT_DIR / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(file.stat().st_mtime > built for file in files if file.is_file()):
            return True
    return False


class DbtResource(dg.ConfigurableResource):
    """The dbt project, run inside this process (orchestration/dbt_runner.py) rather than by dagster-dbt's
    DbtCliResource, which starts a dbt process per invocation."""

    project_dir: str

    def build(self, context: dg.AssetExecutionContext, warehouse: WarehouseResource, target_path: Path,
              args: Sequence[str] = (), only: Sequence[str] | None = None, indirect: str = "eager") -> Iterator[Any]:
        """`dbt build` of what the step selected (or `only` these models, dbt selectors, with the tests dbt's
        `indirect` selection adds: eager, every test that reads one of them), with the extra dbt arguments
        `args`, as Dagster events (Outputs for models and seeds, check results for tests) converted by
        dagster-dbt as for its CLI; raises when dbt itself failed."""
        step = DbtStep(context)
        selection, indirect = step.subset_selection() if only is None else (["--select", *only], indirect)
        # dbt's default (eager) would run a test of a core table together with its seed, before the table
        # exists (Python assets sit between the parts); buildable waits until every parent is built.
        # No JSON artifacts (the project's manifest.json is the one read; dbt.log keeps the run's record),
        # and no listing of every schema up front: dbt looks up the few relations it needs (~0.3 s less).
        # dbt's unit tests (models/*/_unit_tests.yml) check the models' SQL on given rows, which no delivery
        # changes: the test suite runs them (tests/test_dbt_unit_tests.py), a warehouse run does not.
        args = ["build", *selection, "--indirect-selection", indirect or "buildable", "--no-write-json",
                "--no-populate-cache", "--exclude-resource-type", "unit_test", *args]
        log_file = target_path / "dbt.log"
        logged_before = log_file.stat().st_size if log_file.exists() else 0
        with warehouse.released():
            invocation = dbt_runner.invoke(Path(self.project_dir), Path(step.project.manifest_path), target_path,
                                           args, env={**warehouse.duckdb_env(), KEY_VARIABLE: pseudonym_key.key()})
        # dbt's own log of this invocation on the run's page (the file beside the warehouse keeps every run's).
        context.log.info(f"dbt's log ({log_file}):\n{_log_since(log_file, logged_before)}")
        for raw_event in invocation.events:
            yield from step.dagster_events(raw_event, target_path)
        if not invocation.success:
            errors = "\n".join(invocation.errors()) or str(invocation.exception)
            description = (warehouse.out_of_memory(errors) if "Out of Memory Error" in errors
                           else f"dbt {' '.join(args)} failed")
            raise dg.Failure(description=description, metadata={"errors": errors})


def _log_since(log_file: Path, offset: int) -> str:
    """What dbt appended to its log file after `offset` bytes (all of it when dbt rotated the file since)."""
    if not log_file.exists():
        return "(no log written)"
    with log_file.open("rb") as log:
        log.seek(offset if offset <= log_file.stat().st_size else 0)
        return log.read().decode("utf-8", "replace").strip()


def dbt_resource() -> DbtResource:
    return DbtResource(project_dir=str(dbt_project().project_dir))


class WarehouseDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        # Each model's and seed's code reference is its file in dbt_project/ (the UI's "Code" link).
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        table = dbt_resource_props.get("identifier") or dbt_resource_props.get("alias") or dbt_resource_props["name"]
        return dg.AssetKey([dbt_resource_props["schema"], table])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """The layer: the model's folder (audit.corrections is built with staging), else its schema."""
        folder = dbt_resource_props.get("fqn", [None, None])[1:2]
        schema = dbt_resource_props["schema"]
        return _GROUPS.get(folder[0] if folder else None) or _GROUPS.get(schema, schema)

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> dg.AssetCheckSpec | None:
        """dagster-dbt's check for a dbt test, described in words: what the test asserts (the UI shows only
        its generated name otherwise)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        test = manifest["nodes"][unique_id]
        return dg.AssetCheckSpec(
            spec.name, asset=spec.asset_key, additional_deps=spec.additional_deps, metadata=spec.metadata,
            blocking=spec.blocking, automation_condition=spec.automation_condition,
            description=test.get("description") or test_description(test.get("test_metadata", {})))


# What each generic test asserts, from its arguments (dbt_project/tests/generic/ and dbt's built-ins).
_TEST_WORDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "not_null": lambda args: f"{args['column_name']} is never NULL.",
    "unique": lambda args: f"{args['column_name']} is unique.",
    "accepted_values": lambda args: f"{args['column_name']} is one of {', '.join(map(str, args['values']))} (or NULL).",
    "relationships": lambda args: (f"every {args['column_name']} is found in "
                                   f"{args['to'].removeprefix('ref(').removesuffix(')').strip(chr(39))}."
                                   f"{args['field']}."),
    "unique_combination": lambda args: f"one row per ({', '.join(args['columns'])}).",
    "in_vocabulary": lambda args: (f"{args['column_name']} is a code of seeds.vocabulary for "
                                   f"{args['table_name']}.{args['field']} (or NULL)."),
    "expression_is_true": lambda args: f"every row satisfies {args['expression']} (NULL passes).",
    "rows_as_delivered": lambda args: (f"one row per delivered row of raw.{args['table_name']} (current file "
                                       "versions), per center of the run: none lost, none fanned out."),
    "rows_as_validated": lambda args: (f"exactly the {args['table_name']} rows the validation gate passed: none "
                                       "quarantined, none missing."),
}


def test_description(test_metadata: Mapping[str, Any]) -> str:
    """A dbt generic test's assertion in words, from its name and arguments."""
    name, args = test_metadata.get("name"), test_metadata.get("kwargs", {})
    words = _TEST_WORDS.get(name)
    if words:
        return words(args)
    return f"dbt test {name} ({', '.join(f'{k}={v}' for k, v in args.items() if k != 'model')})."


# dbt part -> the per-center layer it builds (orchestration/versions.py); seeds are not per center.
LAYERS = {"dbt_staging": "staging", "dbt_intermediate": "intermediate", "dbt_core": "core"}
# dbt part -> the project's nodes it builds, in the order a run builds them.
_SELECTS = {"dbt_seeds": "path:seeds", "dbt_staging": "path:models/staging",
            "dbt_intermediate": "path:models/intermediate", "dbt_core": "path:models/core"}
SEEDS_CODE = ("dbt_project/seeds", "dbt_project/dbt_project.yml")
# The parts whose models and tests dbt runs side by side, as many at once as DuckDB has threads: staging's small
# models and tests are mostly dbt's own Python and leave a core idle. Not intermediate, whose cost is one model
# (int_labs: beside the others it ran twice as long at 1,000,000 patients), nor core, whose tables of lab draws
# then competed for memory (1,000,000 patients: 41.0-48.3 s against 35.6 s; 100,000: 1.3 s less; docs/scale.md).
_SIDE_BY_SIDE_PARTS = ("dbt_staging",)


def build_dbt_assets(pool: str, centers: dg.StaticPartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The dbt project in one asset definition (one dbt invocation) per layer, in the order a run needs
    them: the validation gate (Python) sits between intermediate and core, and staging is partitioned
    by center, as the landing assets are."""
    # The seeds' tests check committed CSVs, which change only by commit: CI runs them (`dbt build` in
    # tests/test_dbt_models.py); a warehouse run would pay ~0.6 s to learn nothing new.
    return [_dbt_part("dbt_seeds", pool, _SELECTS["dbt_seeds"], exclude="resource_type:test"),
            _dbt_part("dbt_staging", pool, _SELECTS["dbt_staging"], partitions_def=centers),
            _dbt_part("dbt_intermediate", pool, _SELECTS["dbt_intermediate"]),
            _dbt_part("dbt_core", pool, _SELECTS["dbt_core"])]


def _dbt_part(name: str, pool: str, select: str, exclude: str = "",
              partitions_def: dg.PartitionsDefinition | None = None) -> dg.AssetsDefinition:
    @dbt_assets(manifest=dbt_project().manifest_path, project=dbt_project(), name=name, select=select,
                exclude=exclude, dagster_dbt_translator=WarehouseDbtTranslator(), pool=pool,
                partitions_def=partitions_def,
                # A run over several centers is one dbt invocation.
                backfill_policy=dg.BackfillPolicy.single_run() if partitions_def else None)
    def dbt_part(context: dg.AssetExecutionContext, dbt: DbtResource, warehouse: WarehouseResource):
        # One target folder per warehouse and part, not dagster-dbt's new folder per run: concurrent test
        # warehouses never share one, and the last run's artifacts stay beside the warehouse.
        target = Path(warehouse.path).parent / "dbt_target" / name
        with warehouse.connect() as con:
            plan = _plan(con, name, context, partitions_def)
            if name in LAYERS and not plan.unchanged:
                _drop_removed_models(con, LAYERS[name])
            if plan.unchanged:
                yield from _skipped(context, con, context.selected_asset_keys, context.selected_asset_check_keys,
                                    plan.reason, plan.data_version)
                return
        built_first, built, models = _build(context, name, plan, dbt, warehouse, target)
        # Row counts and previews join the models' outputs; dbt has released the file by then.
        with warehouse.connect() as con:
            _record(con, plan, models)
            checked = [(dg.AssetCheckKey(event.asset_key, event.check_name), event)
                       for event in built_first + built if isinstance(event, dg.AssetCheckResult)]
            versions.record_checks(con, checked)
            # In dependency order: the models built first; those that read nothing new (none downstream of
            # a rebuilt one), with the tests no model of this run touched, as last built; the rebuilt ones.
            kept = [] if not models or not models.kept else list(_skipped(
                context, con, models.kept, context.selected_asset_check_keys - {key for key, _ in checked},
                "what the model reads did not change", plan.data_version, as_last=True))
            events = [*(_with_table_metadata(context, con, event, plan.data_version) for event in built_first),
                      *kept, *(_with_table_metadata(context, con, event, plan.data_version) for event in built)]
        yield from events

    return dbt_part


def _drop_removed_models(con, schema: str) -> None:
    """Drop the relations of `schema` that no dbt model builds any more: dbt never drops a removed model, and
    one can hold what must not stay (a removed int_subject_keys mapped record numbers to subject_ids). Only
    dbt writes these schemas."""
    models = _models_by_schema().get(schema, set())
    for relation, kind in con.execute("SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE schema_name = ?"
                                      " UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() WHERE schema_name = ?"
                                      " AND NOT internal", [schema, schema]).fetchall():
        if relation not in models:
            con.execute(f'DROP {kind} "{schema}"."{relation}"')


@cache
def _models_by_schema() -> dict[str, set[str]]:
    """schema -> the relations its dbt models build, from the project's manifest."""
    manifest = _manifest()
    models: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed", "snapshot"):
            models.setdefault(node["schema"], set()).add(node.get("alias") or node["name"])
    return models


@cache
def preview_orders() -> dict[tuple[str, str], list[str]]:
    """(schema, relation) -> the columns a preview of its rows is sorted by (a patient's rows in their order,
    not the storage's), from each model's `meta: preview_order` in its YAML."""
    manifest = _manifest()
    return {(node["schema"], node.get("alias") or node["name"]): node["config"]["meta"]["preview_order"]
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and "preview_order" in node["config"].get("meta", {})}


@dataclass(frozen=True)
class _ModelPlan:
    """The models of a part that read what changed (`rebuilt`, as dbt selectors, and every model downstream
    of one), and the selected asset keys of the others (`kept`: what they read is what they were built from)."""

    rebuilt: tuple[str, ...]
    kept: frozenset[dg.AssetKey]
    relations: tuple[str, ...]  # of the rebuilt models, "schema.table"
    inputs: Mapping[str, Mapping[str, str]]  # "schema.table" of every model -> center_id -> input version
    centers: tuple[str, ...]  # the dirty centers

    def forget(self, con) -> None:
        """Before dbt: a rebuild that fails half way must not leave a model's rows recorded as built."""
        for relation in self.relations:
            versions.forget(con, versions.inputs_of(relation), self.centers)


@dataclass(frozen=True)
class _PartPlan:
    """What one dbt part does this run: nothing (`unchanged`), or dbt with `args`; and what to record."""

    unchanged: bool
    args: list[str]
    data_version: str
    reason: str
    centers: versions.CenterPlan | None = None  # of a per-center layer
    asset: versions.AssetPlan | None = None  # of the seeds


# Parts whose models are rebuilt only where what they read changed: a center that re-delivered its lab values
# rebuilds staging.stg_labs and core.labs and what reads them, not stg_patients or core.patients. Each part
# names the models it builds first, for every dirty center, whose rows the others' plan then reads: every
# staging model reads the subject keys of every delivered table (stg_subject_keys) and the corrections
# (audit.corrections, rebuilt whole). What a part reads from outside it is fingerprinted per center
# (versions.input_versions): the gate's findings by their rows, staging's delivered tables by their current
# files, and a model of another of these parts by the inputs it recorded, which its rows are computed from
# (int_labs reads the view staging.stg_labs, whose rows would be every lab value parsed again, the work a skip
# saves; core reads the candidates, intermediate's models, without hashing their rows).
_BY_MODEL = {"dbt_staging": ("stg_subject_keys", "corrections"), "dbt_intermediate": (), "dbt_core": ()}
# Each staging model reads its own table's rows of it (macros/current_rows.sql), which that table's file
# versions stand for (versions.fingerprints): as a whole it would make every model read every file.
_READ_PER_TABLE = {"source.blina_warehouse.raw.current_files"}


def _plan(con, name: str, context: dg.AssetExecutionContext, partitions_def) -> _PartPlan:
    """Seeds: rebuilt when their CSVs change. A per-center layer: only the centers whose inputs changed
    (orchestration/versions.py): none, some (--vars centers, delete + insert), or every one (--full-refresh);
    in the parts of _BY_MODEL, only the models among them that read what changed (_model_plan)."""
    if name not in LAYERS:
        asset = versions.plan_asset(con, name, SEEDS_CODE, after=None)
        return _PartPlan(asset.unchanged, [], asset.version, "seed files unchanged", asset=asset)
    run_centers = sorted(context.partition_keys) if partitions_def and (
        context.has_partition_key or context.has_partition_key_range) else None
    plan = versions.plan_centers(con, LAYERS[name], among=run_centers)
    args = ["--full-refresh"] if plan.everything else ["--vars", json.dumps({"centers": list(plan.dirty)})]
    if name in _SIDE_BY_SIDE_PARTS:
        args += ["--threads", str(settings.threads())]
    reason = f"no center's inputs changed ({', '.join(plan.run_centers) or 'no center'})"
    return _PartPlan(not plan.dirty, args, plan.version(con), reason, plan)


def _build(context: dg.AssetExecutionContext, name: str, plan: _PartPlan, dbt: DbtResource,
           warehouse: WarehouseResource, target: Path) -> tuple[list, list, _ModelPlan | None]:
    """dbt's events for the part's plan, those of the models built first apart, and, in the parts of
    _BY_MODEL, which models it rebuilt: when some centers changed, the models built first, then only those
    that read what changed (none: no dbt)."""
    if name not in _BY_MODEL:
        return [], list(dbt.build(context, warehouse, target, plan.args)), None
    first = _BY_MODEL[name]
    if plan.centers.everything:  # the tables are recreated whole: every model, one invocation
        events = list(dbt.build(context, warehouse, target, plan.args))
        with warehouse.connect() as con:
            return [], events, _model_plan(con, context, plan.centers, first)
    selected_first = _selectors(context, first)
    # A test that also reads a model of a later part (core's rows_as_validated reads int_labs) runs with that
    # part: eager selection would run it now, against the later part's rows of before this run.
    parts = list(_SELECTS)
    later = [_SELECTS[part] for part in parts[parts.index(name) + 1:]]
    args = [*plan.args, "--exclude", *later] if later else plan.args
    built_first = list(dbt.build(context, warehouse, target, args, only=selected_first, indirect="buildable")) \
        if selected_first else []
    with warehouse.connect() as con:
        models = _model_plan(con, context, plan.centers, first)
        models.forget(con)
    return built_first, list(dbt.build(context, warehouse, target, args, only=models.rebuilt)) \
        if models.rebuilt else [], models


def _selectors(context: dg.AssetExecutionContext, names: Sequence[str]) -> tuple[str, ...]:
    """dbt selectors of the models named `names` that the step selected."""
    translator = WarehouseDbtTranslator()
    return tuple(".".join(node["fqn"]) for node in _manifest()["nodes"].values()
                 if node["resource_type"] == "model" and node["name"] in names
                 and translator.get_asset_key(node) in context.selected_asset_keys)


def _model_plan(con, context: dg.AssetExecutionContext, plan: versions.CenterPlan, first: Sequence[str]) -> _ModelPlan:
    """Which of the step's models (but those built `first`) read something of the dirty centers that is not
    what they were last built from (versions.input_versions: the fingerprints of what they read from outside
    them, the layers' code); they and every model downstream of one are rebuilt. A run over every center
    rebuilds every model (the tables are recreated whole) and records what each read."""
    manifest, translator = _manifest(), WarehouseDbtTranslator()
    nodes = {unique_id: node for unique_id, node in manifest["nodes"].items()
             if node["resource_type"] == "model" and node["name"] not in first
             and translator.get_asset_key(node) in context.selected_asset_keys}
    relation = {unique_id: f"{node['schema']}.{node.get('alias') or node['name']}" for unique_id, node in nodes.items()}

    def read(parent: str) -> str:
        node = manifest["nodes"].get(parent) or manifest["sources"][parent]
        return f'"{node["schema"]}"."{node.get("identifier") or node.get("alias") or node["name"]}"'

    # Seeds change only by commit (the code version); models of the step are handled by `downstream`.
    reads = {relation[unique_id]: [read(parent) for parent in node["depends_on"]["nodes"]
                                   if parent not in nodes and parent not in _READ_PER_TABLE
                                   and not parent.startswith("seed.")]
             for unique_id, node in nodes.items()}
    # Models of earlier per-model parts are read as the inputs they recorded; those of this part fold in.
    read_as_built = {read(parent) for node in nodes.values() for parent in node["depends_on"]["nodes"]
                     if parent not in nodes and _records_inputs(manifest["nodes"].get(parent))}
    parents = {relation[unique_id]: [relation[parent] for parent in node["depends_on"]["nodes"] if parent in nodes]
               for unique_id, node in nodes.items()}
    inputs = versions.with_parents(versions.input_versions(con, reads, plan.dirty, built=read_as_built), parents)

    def built_from_inputs(unique_id: str) -> bool:
        built = versions.recorded(con, versions.inputs_of(relation[unique_id]))
        return all(built.get(center) == version for center, version in inputs[relation[unique_id]].items())

    rebuilt = set(nodes) if plan.everything else {unique_id for unique_id in nodes if not built_from_inputs(unique_id)}
    while downstream := {unique_id for unique_id, node in nodes.items() if unique_id not in rebuilt
                         and rebuilt.intersection(node["depends_on"]["nodes"])}:
        rebuilt |= downstream
    return _ModelPlan(
        rebuilt=tuple(sorted(".".join(nodes[unique_id]["fqn"]) for unique_id in rebuilt)),
        kept=frozenset(translator.get_asset_key(node) for unique_id, node in nodes.items() if unique_id not in rebuilt),
        relations=tuple(sorted(relation[unique_id] for unique_id in rebuilt)), inputs=inputs, centers=plan.dirty)


def _records_inputs(node: Mapping[str, Any] | None) -> bool:
    """A model of another per-model part records what it read (not those built first: every model reads them)."""
    part = next((part for part, layer in LAYERS.items() if node and layer == node["schema"]), None)
    return node is not None and node["resource_type"] == "model" and part in _BY_MODEL \
        and node["name"] not in _BY_MODEL[part]


def _record(con, plan: _PartPlan, models: _ModelPlan | None) -> None:
    """What was built, once dbt succeeded. Seeds: their version. A per-center layer: its version per rebuilt
    center; for core, also the contents of its rebuilt tables, which the marts' versions are made of (a mart
    skips while the core tables it reads hold the same rows); and what each rebuilt model read."""
    centers = plan.centers
    if centers is None:
        versions.record_asset(con, plan.asset)
        return
    versions.record(con, centers.layer, centers.versions)
    if centers.layer == "core":
        versions.record_contents(con, "core", centers.dirty,
                                 None if models is None else [relation.split(".")[1] for relation in models.relations])
    for relation in models.relations if models else ():
        versions.record(con, versions.inputs_of(relation), models.inputs[relation])


def _skipped(context: dg.AssetExecutionContext, con, keys, check_keys, reason: str, data_version: str,
             as_last: bool = False) -> Iterator:
    """A materialization of each of `keys`, in dependency order, and the last outcomes of `check_keys`: the
    tables are as they were built, at `data_version` (`as_last`: at their last materialization's version,
    where there is one)."""
    for key in _in_dependency_order(keys, context.assets_def.asset_deps):
        last = last_described(context.instance, key)
        version = last[0] if as_last and last is not None else data_version
        described = last[1] if last is not None and last[0] == version else None
        yield dg.MaterializeResult(asset_key=key, metadata={
            "skipped": reason, **(_table_metadata(context, con, key) if described is None else described)},
            data_version=dg.DataVersion(version))
    yield from versions.carried_over_checks(con, check_keys, reason)


def _in_dependency_order(keys, deps: Mapping[dg.AssetKey, set[dg.AssetKey]]) -> list[dg.AssetKey]:
    """`keys` with each after those of them it depends on (a multi-asset yields in that order)."""
    ordered: list[dg.AssetKey] = []

    def visit(key: dg.AssetKey) -> None:
        if key not in ordered:
            for dep in sorted(deps.get(key, set()) & set(keys), key=str):
                visit(dep)
            ordered.append(key)

    for key in sorted(keys, key=str):
        visit(key)
    return ordered


def _with_table_metadata(context: dg.AssetExecutionContext, con, event, data_version: str):
    """dagster-dbt's Output of a model as a materialization with the table's row count, preview and the
    layer's data version."""
    if not isinstance(event, dg.Output):
        return event
    key = context.asset_key_for_output(event.output_name)
    return dg.MaterializeResult(asset_key=key, metadata={**event.metadata, **_table_metadata(context, con, key)},
                                data_version=dg.DataVersion(data_version))


def _table_metadata(context: dg.AssetExecutionContext, con, key: dg.AssetKey) -> dict[str, Any]:
    """The row count, the column schema (the YAML's descriptions, the built table's types) and, for
    pseudonymised schemas, a preview."""
    schema, table = key.path
    relation = f'"{schema}"."{table}"'
    described = context.assets_def.metadata_by_key.get(key, {}).get("dagster/column_schema")
    metadata: dict[str, Any] = {**row_count_metadata(context, con, key),
                                **column_schema(con, schema, table, getattr(described, "schema", described))}
    if schema in PREVIEW_SCHEMAS:
        order = ", ".join(f'"{column}"' for column in preview_orders()[(schema, table)])
        preview = con.execute(f"SELECT * FROM {relation} ORDER BY {order} LIMIT {PREVIEW_ROWS}")
        columns = [column[0] for column in preview.description]
        metadata["preview"] = dg.MetadataValue.md(markdown_table(columns, preview.fetchall()))
    return metadata


def row_count_metadata(context: dg.AssetExecutionContext, con, key: dg.AssetKey) -> dict[str, Any]:
    """The relation's row count. A view of a per-center layer (staging.stg_labs, the candidate views,
    core.lab_draws) is counted center by center, and a center whose layer version is the one its count was
    taken at (the last materialization's `rows_by_center`) is not counted again: counting staging.stg_labs
    evaluates the view over every lab value (6.3 s at 1,000,000 patients), on every run that rebuilt any
    center. Every other center, and any row outside them, is counted."""
    schema, table = key.path
    relation = f'"{schema}"."{table}"'
    layer = schema if schema in LAYERS.values() else None
    if layer is None or not con.execute(
            "SELECT count(*) FROM duckdb_views() v JOIN duckdb_columns() c ON c.table_oid = v.view_oid"
            " WHERE v.schema_name = ? AND v.view_name = ? AND c.column_name = 'center_id'",
            [schema, table]).fetchall()[0][0]:
        return {"dagster/row_count": con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]}
    built = versions.recorded(con, layer)
    entry = context.instance.get_latest_materialization_event(key)
    before = entry.asset_materialization.metadata.get(ROWS_BY_CENTER) if entry and entry.asset_materialization \
        else None
    kept = {center: counted["rows"] for center, counted in (before.value if before else {}).items()
            if counted.get("version") is not None and built.get(center) == counted["version"]}
    fresh = dict(con.execute(f"SELECT center_id, count(*) FROM {relation} WHERE center_id IS NULL"
                             " OR NOT list_contains(?::VARCHAR[], center_id) GROUP BY center_id",
                             [sorted(kept)]).fetchall())
    rows = {**{center: {"version": version, "rows": kept[center]} for center, version in built.items()
               if center in kept},
            **{center: {"version": built.get(center), "rows": count} for center, count in fresh.items()
               if center is not None}}
    return {"dagster/row_count": sum(kept.values()) + sum(fresh.values()),
            ROWS_BY_CENTER: dg.MetadataValue.json(rows)}
