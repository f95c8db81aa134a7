"""dbt inside the Dagster process (dbt's programmatic `dbtRunner`), where dagster-dbt starts one dbt process
per invocation.

A dbt process spends about 3 s importing dbt and loading the project before its first query: more than the
demo's models and tests then take, and a run invokes dbt once per layer. In process, dbt is imported once,
the project parsed once per process (partially, from the last parse), and each invocation pays only for its
queries. dbt's events reach a callback as the same dicts as its JSON log lines, so dagster-dbt turns them
into Dagster events exactly as it does for the CLI.
"""

from __future__ import annotations

import contextlib
import gc
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration import settings
from orchestration.framework_internals import close_dbt_duckdb

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# The events dagster-dbt turns into materializations and check results (framework_internals.DbtStep).
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})
# dbt's flags, adapters and event manager are process globals: one invocation at a time.
_LOCK = threading.Lock()
_manifests: dict[tuple[Path, float], Any] = {}
_ran = threading.Event()  # dbt parsed in this process (every invocation follows a parse): it has adapters


@dataclass
class DbtInvocation:
    """What one dbt command did: its events (dicts, as dbt's JSON log lines) and whether it succeeded."""

    success: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    exception: BaseException | None = None

    def errors(self) -> list[str]:
        return [event["info"]["msg"] for event in self.events if event["info"].get("level") == "error"]


def invoke(project_dir: Path, manifest_path: Path, target_path: Path, args: Sequence[str],
           env: Mapping[str, str]) -> DbtInvocation:
    """Run the dbt command `args` (e.g. ["build", "--select", ...]) on the project parsed from
    `project_dir`, with the environment variables `env` (what profiles.yml reads), artifacts and dbt.log
    in `target_path`. The warehouse file is released on return."""
    from dbt.cli.main import dbtRunner

    events: list[dict[str, Any]] = []
    target_path.mkdir(parents=True, exist_ok=True)
    # profiles.yml finds the pseudonym plugin by a path relative to the project, as under the CLI.
    with _LOCK, contextlib.chdir(project_dir):
        manifest = _parsed(project_dir, manifest_path, target_path.parent / "parse")
        runner = dbtRunner(manifest=manifest, callbacks=[lambda message: _keep(message, events)])
        try:
            with settings.environment(env):
                result = runner.invoke([*args, *_common_args(project_dir, target_path)])
        finally:
            close_dbt_duckdb()  # the Python assets' connections to the file would be refused
    return DbtInvocation(result.success, events, result.exception)


def _keep(message, events: list[dict[str, Any]]) -> None:
    """Node results (all dagster-dbt converts) and errors, as dicts; not the ~25 other events of a node."""
    from dbt_common.events.functions import msg_to_dict

    if message.info.name in RESULT_EVENTS or message.info.level == "error":
        events.append(msg_to_dict(message))


def _common_args(project_dir: Path, target_path: Path) -> list[str]:
    # Nothing on stdout (the events carry it all); the log file in the target folder keeps dbt's own record.
    return ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target-path",
            str(target_path), "--log-path", str(target_path), "--log-level", "none", "--log-level-file", "info"]


def parse_project(project_dir: Path) -> Path:
    """Parse the project into its own target/ (manifest.json, the partial-parse state), which the asset
    definitions are built from; keep the Manifest for this process's invocations. Returns manifest.json."""
    target_path = project_dir / "target"
    with _LOCK, contextlib.chdir(project_dir):
        manifest = _parse(project_dir, target_path)
    manifest_path = target_path / "manifest.json"
    _manifests.clear()
    _manifests[(project_dir, manifest_path.stat().st_mtime)] = manifest
    return manifest_path


def _parsed(project_dir: Path, manifest_path: Path, parse_target: Path):
    """The project's Manifest, parsed once per process and version of the project's manifest.json (which
    the asset definitions were built from). The parse starts from the project's partial-parse state, copied
    once per warehouse (dbt rewrites it as it parses; a process per warehouse may parse at the same time)."""
    key = (project_dir, manifest_path.stat().st_mtime)
    if key not in _manifests:
        parse_target.mkdir(parents=True, exist_ok=True)
        project_state = manifest_path.parent / PARTIAL_PARSE_FILE
        if project_state.exists() and not (parse_target / PARTIAL_PARSE_FILE).exists():
            shutil.copy(project_state, parse_target / PARTIAL_PARSE_FILE)
        manifest = _parse(project_dir, parse_target, "--no-write-json")
        _manifests.clear()
        _manifests[key] = manifest
    return _manifests[key]


def parse_environment() -> dict[str, str]:
    """The variables profiles.yml reads, as every parse sees them: one warehouse path and one set of caps.
    dbt keys its partial-parse state to the rendered profile (connection_info: the file's path, its caps) and
    parses again in full (~5 s at registry size, every new warehouse: a benchmark's, a test's) when they
    differ; yet nothing the models compile reads them (the relations' database is the file's stem, and every
    warehouse's file is warehouse.duckdb), so one Manifest serves every warehouse, each invocation run with
    its own warehouse's variables (`invoke`'s env)."""
    placeholder = settings.DEFAULT_WAREHOUSE_DIR
    return {"BLINA_WAREHOUSE_DIR": str(placeholder), "BLINA_DUCKDB_MEMORY_LIMIT": settings.DEFAULT_MEMORY_LIMIT,
            "BLINA_DUCKDB_THREADS": str(settings.DEFAULT_THREADS),
            "BLINA_DUCKDB_TEMP_DIRECTORY": str(placeholder / "tmp")}


def _parse(project_dir: Path, target_path: Path, *args: str):
    from dbt.cli.main import dbtRunner

    _ran.set()
    with settings.environment(parse_environment()):
        result = dbtRunner().invoke(["parse", *args, *_common_args(project_dir, target_path)])
    if not result.success:
        raise RuntimeError(f"dbt could not parse {project_dir}: {result.exception}")
    return result.result


def release() -> None:
    """Drop the parsed manifests and dbt's adapters, and the multiprocessing locks they hold, before the
    process exits without running finalizers (orchestration/run.py): Python's resource tracker would report
    them as leaked. Without a dbt command in the process (a run with nothing changed), there are none: the
    garbage collection alone took 0.2 s."""
    _manifests.clear()
    if _ran.is_set():
        from dbt.adapters.factory import reset_adapters

        reset_adapters()
        gc.collect()
