"""What changed since the warehouse was last built: the bookkeeping that lets an unchanged input cost nothing.

From staging to core every row belongs to one center, so those layers are rebuilt per center. A center's
*source version* fingerprints everything its rows are computed from: the current version of each file it
delivered (raw.current_files), its YAML mappings and its corrections as landed (raw.center_*), the code of the layers
(dbt models, macros, seeds and project file, the validation gate's schemas/ and assets/validation/) and the
pseudonym key (a fingerprint of it, never the key). Each per-center layer records in `audit.build_versions`
the version it last built each center from, and rebuilds a center when that differs from what its upstream
layer now holds: staging compares with the source version, intermediate with staging's record, and so on. A
layer that fails records nothing, so the next run retries it.

Within staging, intermediate and core, a dirty center rebuilds only the models that read something of it that
changed: each model records, per center, the fingerprints of what it reads from outside its layer
(`input_versions`: the gate's findings by their rows, staging's delivered tables by their current files, a
model of an earlier layer, such as intermediate's staging models or core's candidates, by the inputs that
model recorded), and a model whose inputs are the ones it was built from is kept, unless it reads a model
that is rebuilt (orchestration/dbt.py). A re-delivered lab file rebuilds stg_labs, int_labs and core.labs,
not core.patients.

The assets after core (marts, accounting, snapshot) are built from every center at once: their input version
is core's record of every center (or, for a mart, the contents of the core tables it reads) plus their own
code, and an asset whose input version is the one it last recorded skips its work and says so. The contents
are fingerprinted per table and center whenever core rebuilds a center (`record_contents`): a center that
re-delivered its lab values changes core.labs, not core.patients, and a mart that reads only the latter
is not recomputed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from orchestration import pseudonym_key, settings
from orchestration.audit_tables import create_table
from orchestration.catalog import insert_columns
from schemas.rules import listed

if TYPE_CHECKING:
    import duckdb

TABLE = "audit.build_versions"
CHECKS_TABLE = "audit.check_outcomes"
# The fingerprint of every pseudonym key staging has computed subject_ids with, never the key.
KEYS_TABLE = "audit.pseudonym_keys"
WHOLE = ""  # center_id of the assets built from every center at once
# The per-center layers, each with the layer it is built from (None: the sources themselves).
UPSTREAM = {"staging": None, "intermediate": "staging", "validation": "intermediate", "core": "validation"}
# The code a center's rows from staging to core are computed by: a change rebuilds every center.
CENTER_CODE = ("dbt_project/dbt_project.yml", "dbt_project/macros", "dbt_project/models", "dbt_project/seeds",
               "dbt_project/plugins", "dbt_project/tests", "schemas", "assets/validation")

_DDL = ";\n".join(["CREATE SCHEMA IF NOT EXISTS audit", *map(create_table, (TABLE, KEYS_TABLE, CHECKS_TABLE))])

# Per center: its current files and its landed mappings, as one ordered text each.
_SOURCES_SQL = """
WITH centers AS (
    SELECT center_id FROM raw.center_settings UNION SELECT center_id FROM raw.current_files
),
files AS (
    SELECT center_id, string_agg(source_file || '=' || file_sha256, '|' ORDER BY source_file) AS files
    FROM raw.current_files GROUP BY center_id
),
mappings AS (
    SELECT center_id, string_agg(mapping, '|' ORDER BY mapping) AS mappings
    FROM (
        SELECT center_id, concat_ws(',', 'settings', table_name, center_name, study, date_format, decimal) AS mapping
        FROM raw.center_settings
        UNION ALL
        SELECT center_id, concat_ws(',', 'code', table_name, field, source_code, code) FROM raw.center_code_maps
        UNION ALL
        SELECT center_id, concat_ws(',', 'unit', table_name, measure, unit) FROM raw.center_units
        UNION ALL
        SELECT center_id, concat_ws(',', 'lod', table_name, analyte, detection_limit) FROM raw.center_detection_limits
        UNION ALL
        -- A correction as declared: a new, changed or withdrawn answer rebuilds its center.
        SELECT center_id, concat_ws(',', 'correction', entry, query_id, table_name, source_file, source_row,
                                    source_column, field, delivered_value, corrected_value, reason, answered_by,
                                    answered_on, refusal)
        FROM raw.center_corrections
    )
    GROUP BY center_id
)
SELECT center_id, coalesce(files, ''), coalesce(mappings, '')
FROM centers LEFT JOIN files USING (center_id) LEFT JOIN mappings USING (center_id)
ORDER BY center_id
"""


def digest(*parts: str) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(part.encode())
        hashed.update(b"\0")
    return hashed.hexdigest()


# Folders of what the code writes, not of code: bytecode, and dbt's artifacts (target/ holds a manifest.json
# with a new invocation id at every parse).
BUILT = frozenset({"__pycache__", "target", "logs", "dbt_packages"})


@cache
def code_version(paths: tuple[str, ...]) -> str:
    """Fingerprint of the files under `paths` (relative to the project root): their names and contents."""
    hashed = hashlib.sha256()
    for relative in paths:
        root = settings.PROJECT_ROOT / relative
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for file in files:
            if file.is_file() and not BUILT.intersection(file.relative_to(root).parts):
                hashed.update(str(file.relative_to(settings.PROJECT_ROOT)).encode() + b"\0" + file.read_bytes())
    return hashed.hexdigest()


def key_fingerprint() -> str:
    """Changes with the pseudonym key, reveals nothing of it (a key change must rebuild every subject_id)."""
    return pseudonym_key.fingerprint(pseudonym_key.key())


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


def source_versions(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """center_id -> the version of everything its staging-to-core rows are computed from."""
    code, key = code_version(CENTER_CODE), key_fingerprint()
    return {center: digest(files, mappings, code, key)
            for center, files, mappings in con.execute(_SOURCES_SQL).fetchall()}


def recorded(con: duckdb.DuckDBPyConnection, layer: str) -> dict[str, str]:
    """center_id (WHOLE for whole-warehouse assets) -> the version `layer` was last built from."""
    ensure_table(con)
    return dict(con.execute(f"SELECT center_id, version FROM {TABLE} WHERE layer = ?", [layer]).fetchall())


def record(con: duckdb.DuckDBPyConnection, layer: str, versions: Mapping[str, str]) -> None:
    """`layer` now holds the rows built from `versions` (center_id -> version)."""
    ensure_table(con)
    if versions and UPSTREAM.get(layer, "") is None:  # the layer that computes the subject_ids
        con.execute(f"INSERT OR IGNORE INTO {KEYS_TABLE} VALUES (?, current_timestamp::timestamp)", [key_fingerprint()])
    if versions:
        centers = sorted(versions)
        insert_columns(con, TABLE, [("VARCHAR", [layer] * len(centers)), ("VARCHAR", centers),
                                    ("VARCHAR", [versions[center] for center in centers])],
                       verb="INSERT OR REPLACE", stamped=True)


def forget(con: duckdb.DuckDBPyConnection, layer: str, centers: Sequence[str]) -> None:
    """`layer` no longer holds rows of `centers` (e.g. a center no longer delivering)."""
    if centers:
        con.execute(f"DELETE FROM {TABLE} WHERE layer = ? AND list_contains(?, center_id)", [layer, list(centers)])


@dataclass(frozen=True)
class CenterPlan:
    """What a per-center layer has to rebuild: the `dirty` centers (with the versions to record once they
    are built) among `run_centers`, the ones this run may touch, out of every center the upstream holds."""

    layer: str
    centers: tuple[str, ...]
    run_centers: tuple[str, ...]
    versions: Mapping[str, str]  # of the dirty centers

    @property
    def dirty(self) -> tuple[str, ...]:
        return tuple(sorted(self.versions))

    @property
    def everything(self) -> bool:
        """Every center is rebuilt: the layer's tables can be recreated whole."""
        return bool(self.centers) and set(self.dirty) == set(self.centers)

    def version(self, con: duckdb.DuckDBPyConnection) -> str:
        """The layer's data version once the plan is carried out: what it is built from, center by center."""
        built = {**recorded(con, self.layer), **self.versions}
        return digest(*(f"{center}={built[center]}" for center in sorted(built)))


def plan_centers(con: duckdb.DuckDBPyConnection, layer: str, among: Iterable[str] | None = None,
                 also: Iterable[str] = ()) -> CenterPlan:
    """The centers of `among` (None: every center) whose rows in `layer` are not built from what the layer's
    upstream holds now, and those of `also` (rows the layer must build again whatever their version)."""
    upstream = UPSTREAM[layer]
    every = source_versions(con) if upstream is None else recorded(con, upstream)
    run = every if among is None else {center: every[center] for center in set(among) & set(every)}
    built, also = recorded(con, layer), set(also)
    dirty = {center: version for center, version in run.items() if built.get(center) != version or center in also}
    return CenterPlan(layer, tuple(sorted(every)), tuple(sorted(run)), dirty)


@dataclass(frozen=True)
class AssetPlan:
    """A whole-warehouse asset's input version and whether it is the one its outputs were built from."""

    name: str
    version: str
    unchanged: bool

    def skipped_metadata(self) -> dict[str, str]:
        return {"skipped": "inputs unchanged since the last build", "input_version": self.version[:16]}


def plan_asset(con: duckdb.DuckDBPyConnection, name: str, code: Sequence[str], *extra: str,
               after: str | Sequence[str] | None = "core") -> AssetPlan:
    """`name`'s input version: the per-center layer `after` (None: none; several: e.g. the contents of some
    core tables, "core.labs") as built from every center, the files under `code`, and `extra` facts."""
    layers = [after] if isinstance(after, str) else list(after or ())
    inputs = [f"{layer}:{center}={version}" for layer in layers
              for center, version in sorted(recorded(con, layer).items())]
    version = digest(*inputs, code_version(tuple(code)), *extra)
    return AssetPlan(name, version, recorded(con, name).get(WHOLE) == version)


def contents(schema: str, table: str) -> str:
    """The layer name under which `record_contents` keeps a table's fingerprints (e.g. "core.labs")."""
    return f"{schema}.{table}"


def record_contents(con: duckdb.DuckDBPyConnection, schema: str, centers: Sequence[str],
                    tables: Iterable[str] | None = None) -> None:
    """Fingerprint the rows of `centers` in every per-center table of `schema` (its tables and views with a
    center_id), or only in `tables` of them. A center without rows in a table gets the fingerprint of none.
    One query per table: ~0.5 s for 100,000 patients' lab values."""
    if not centers:
        return
    # Views too (core.lab_draws): a mart that reads one is versioned by what the view gives.
    found = [table for (table,) in con.execute(
        "SELECT table_name FROM duckdb_columns() WHERE schema_name = ? AND column_name = 'center_id'"
        " AND database_name = current_database() ORDER BY 1", [schema]).fetchall()]
    for table in found if tables is None else sorted(set(found) & set(tables)):
        record(con, contents(schema, table), fingerprints(con, f'"{schema}"."{table}"', centers))


def fingerprints(con: duckdb.DuckDBPyConnection, relation: str, centers: Sequence[str]) -> dict[str, str]:
    """center_id -> the fingerprint of its rows in `relation`: the row count and the sum of the rows' hashes,
    which does not depend on the rows' order. A relation without a center_id (a code list) is fingerprinted
    whole, the same for every center. A delivered table (raw, each row with its file's file_sha256) is
    fingerprinted by the current version of each of the center's files: raw keeps every version of a file,
    and staging reads the current ones (raw.current_files)."""
    schema, table = (part.strip('"') for part in relation.split(".", 1))
    columns = {column for (column,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?"
        " AND database_name = current_database()", [schema, table]).fetchall()}
    if schema == "raw" and {"center_id", "file_sha256"} <= columns:
        return _file_versions(con, table, centers)
    if "center_id" not in columns:
        [(rows, hashes)] = con.execute(f"SELECT count(*), sum(hash(content)) FROM {relation} AS content").fetchall()
        return dict.fromkeys(centers, digest(str(rows), str(hashes)))
    return by_center(con, relation, centers)


def by_center(con: duckdb.DuckDBPyConnection, relation: str, centers: Sequence[str],
              row: str = "content") -> dict[str, str]:
    """center_id -> the fingerprint of its rows in `relation` (a table or view with a center_id): the row count
    and the sum of the hashes of `row`, SQL over the relation's rows as `content` (the whole row by default)."""
    if not centers:
        return {}
    # The centers as constants: DuckDB filters the scan itself (the lab values of 1,000,000 patients: 1.65 s
    # with them as parameters, 1.21 s so).
    found = {center: digest(str(rows), str(hashes)) for center, rows, hashes in con.execute(
        f"SELECT center_id, count(*), sum(hash({row})) FROM {relation} AS content"
        f" WHERE center_id IN ({listed(centers)}) GROUP BY center_id").fetchall()}
    return {center: found.get(center, digest("0", "0")) for center in centers}


def _file_versions(con: duckdb.DuckDBPyConnection, table: str, centers: Sequence[str]) -> dict[str, str]:
    """center_id -> the current version of each of its files of the delivered table `table` (audit.loads)."""
    found = dict(con.execute(
        "SELECT current.center_id, string_agg(current.source_file || '=' || current.file_sha256, '|'"
        " ORDER BY current.source_file) FROM raw.current_files AS current"
        " SEMI JOIN audit.loads AS load ON load.center_id = current.center_id"
        " AND load.source_file = current.source_file AND load.table_name = ?"
        " WHERE list_contains(?, current.center_id) GROUP BY ALL", [table, list(centers)]).fetchall())
    return {center: digest(found.get(center, "")) for center in centers}


def inputs_of(relation: str) -> str:
    """The layer name under which a model's input versions are kept (e.g. "inputs of core.labs")."""
    return f"inputs of {relation}"


def input_versions(con: duckdb.DuckDBPyConnection, reads: Mapping[str, Sequence[str]],
                   centers: Sequence[str], built: Iterable[str] = ()) -> dict[str, dict[str, str]]:
    """model -> center_id -> the version of what the model reads for that center: the fingerprints of the
    relations it reads (`reads`: model -> relations) and the code of the per-center layers. Each relation is
    read once, whichever models read it. A relation among `built`, a model that records its own inputs, is
    read as the inputs it was last built from (`inputs_of`), which its rows are computed from with the same
    code: a view such as staging.stg_labs, whose rows would be every lab value parsed again."""
    code = code_version(CENTER_CODE)
    built = set(built)
    found = {relation: built_from(con, relation, centers) if relation in built else fingerprints(con, relation, centers)
             for relation in sorted({relation for relations in reads.values() for relation in relations})}
    return {model: {center: digest(code, *(f"{relation}={found[relation][center]}" for relation in sorted(relations)))
                    for center in centers}
            for model, relations in reads.items()}


def with_parents(inputs: Mapping[str, Mapping[str, str]],
                 parents: Mapping[str, Sequence[str]]) -> dict[str, dict[str, str]]:
    """`inputs` (model -> center_id -> the version of what it reads from outside its layer) with each model's
    version also made of those of the models of its layer it reads (`parents`), theirs of their parents' and so
    on: a model's recorded inputs then stand for everything its rows are computed from (`built_from`)."""
    folded: dict[str, dict[str, str]] = {}

    def fold(model: str) -> dict[str, str]:
        if model not in folded:
            above = {parent: fold(parent) for parent in sorted(parents.get(model, ()))}
            folded[model] = {center: digest(version, *(f"{parent}={built[center]}" for parent, built in above.items()))
                             for center, version in inputs[model].items()}
        return folded[model]

    for model in inputs:
        fold(model)
    return folded


def built_from(con: duckdb.DuckDBPyConnection, relation: str, centers: Sequence[str]) -> dict[str, str]:
    """center_id -> the input version the model `relation` ("schema"."table") last built that center's rows
    from; a center it never built reads as none."""
    built = recorded(con, inputs_of(".".join(part.strip('"') for part in relation.split(".", 1))))
    return {center: built.get(center, "never built") for center in centers}


def record_asset(con: duckdb.DuckDBPyConnection, plan: AssetPlan) -> None:
    record(con, plan.name, {WHOLE: plan.version})


def record_checks(con: duckdb.DuckDBPyConnection, outcomes: Iterable[tuple]) -> None:
    """Keep each check's outcome, (AssetCheckKey, AssetCheckResult) pairs, to be carried over while its data
    stays the same."""
    ensure_table(con)
    rows = [(key.asset_key.to_user_string() + ":" + key.name, result.passed, result.severity.value)
            for key, result in outcomes]
    if rows:
        checks, passed, severities = (list(column) for column in zip(*rows, strict=True))
        insert_columns(con, CHECKS_TABLE, [("VARCHAR", checks), ("BOOLEAN", passed), ("VARCHAR", severities)],
                       verb="INSERT OR REPLACE", stamped=True)


def carried_over_checks(con: duckdb.DuckDBPyConnection, check_keys: Iterable, reason: str) -> list:
    """AssetCheckResults repeating the last recorded outcome of each check (none for a check never recorded)."""
    import dagster as dg

    ensure_table(con)
    outcomes = {name: (passed, severity, at) for name, passed, severity, at in con.execute(
        f"SELECT asset_check, passed, severity, evaluated_at FROM {CHECKS_TABLE}").fetchall()}
    results = []
    for key in sorted(check_keys, key=str):
        name = key.asset_key.to_user_string() + ":" + key.name
        if name in outcomes:
            passed, severity, at = outcomes[name]
            results.append(dg.AssetCheckResult(
                asset_key=key.asset_key, check_name=key.name, passed=passed, severity=dg.AssetCheckSeverity(severity),
                metadata={"skipped": f"{reason}: the outcome of its evaluation of {at:%Y-%m-%d %H:%M} UTC"}))
    return results


def landing_failures(con: duckdb.DuckDBPyConnection) -> str:
    """The files whose latest sighting failed, with why: shown by the accounting and the snapshot, though
    a failed file changes no current version."""
    if not _has_loads(con):
        return ""
    [(failures,)] = con.execute(
        "SELECT coalesce(string_agg(concat_ws(',', center_id, source_file, message), '|'"
        " ORDER BY center_id, source_file), '') FROM ("
        " SELECT center_id, source_file, message FROM audit.loads"
        " QUALIFY row_number() OVER (PARTITION BY center_id, source_file ORDER BY load_id DESC) = 1"
        " AND outcome = 'failed')").fetchall()
    return failures


def _has_loads(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit' AND table_name = 'loads'"
                       ).fetchall()[0][0] > 0
