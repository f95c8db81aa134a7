"""END TO END (about 2 min): the real `dagster-webserver` and `dagster-daemon` on 127.0.0.1, the nightly job
launched through the UI's GraphQL API and run by the daemon's queue, then the analyst snapshot and the asset
checks as the UI shows them; then a changed delivery in the drop zone, picked up by the drop-zone sensor
under the daemon, runs for that center's partition only. Both processes are stopped whatever happens."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.snapshot.publish import SCHEMAS

pytestmark = pytest.mark.e2e  # the webserver and daemon, driven over HTTP: make test-all

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCATION = "orchestration.definitions"  # workspace.yaml's python_module
STARTUP_SECONDS, RUN_SECONDS = 90, 240

LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on Error { message } } }"""
LOCATIONS = "{ repositoriesOrError { ... on RepositoryConnection { nodes { location { name } jobs { name } } } } }"
RUN = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
RUNS = """query($filter: RunsFilter) { runsOrError(filter: $filter) { ... on Runs { results {
  runId status tags { key value } } } } }"""
SENSOR = {"repositoryLocationName": "orchestration.definitions", "repositoryName": "__repository__",
          "sensorName": "drop_zone_sensor"}
SET_CURSOR = """mutation($selector: SensorSelector!, $cursor: String) { setSensorCursor(sensorSelector: $selector,
  cursor: $cursor) { __typename ... on PythonError { message } } }"""
START_SENSOR = """mutation($selector: SensorSelector!) { startSensor(sensorSelector: $selector) {
  __typename ... on PythonError { message } } }"""
CHECKS = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode {
  assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(url: str, query: str, **variables) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query, "variables": variables})
                                     .encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


@contextmanager
def dagster_processes(tmp_path: Path) -> Iterator[str]:
    """The webserver and the daemon on a temp instance and warehouse; yields the webserver's URL."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    # The instance's storage, created (and migrated) once here: started on an empty DAGSTER_HOME, the webserver
    # and the daemon both created it at the same time, and one of them now and then failed on the other's.
    with dg.DagsterInstance.from_config(str(home)):
        pass
    # A copy of the demo's drop zone, which the test delivers into.
    shutil.copytree(ROOT / "data" / "landing", tmp_path / "landing")
    env = {**os.environ, "DAGSTER_HOME": str(home), "BLINA_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
           "BLINA_LANDING_DIR": str(tmp_path / "landing"), "PYTHONPATH": f"{ROOT}:{ROOT / 'data'}"}
    env.pop("BLINA_CENTERS_DIR", None)
    port = free_port()
    commands = [[BIN / "dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                [BIN / "dagster-daemon", "run", "-w", "workspace.yaml"]]
    processes = []
    try:
        for command, log in zip(commands, ("webserver.log", "daemon.log")):
            # A session of its own: stopping its group also stops the code servers and run workers it starts.
            processes.append(subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                              stdout=(tmp_path / log).open("w"), stderr=subprocess.STDOUT))
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _serves_the_warehouse_job(url), STARTUP_SECONDS, "the code location did not load")
        yield url
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _serves_the_warehouse_job(url: str) -> bool:
    try:
        repositories = graphql(url, LOCATIONS)["repositoriesOrError"].get("nodes", [])
    except OSError:  # not listening yet
        return False
    return any(repository["location"]["name"] == LOCATION and {"name": "warehouse"} in repository["jobs"]
               for repository in repositories)


def wait_until(condition, seconds: float, failure: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    pytest.fail(failure)


def check_statuses(url: str, key: list[str]) -> dict[str, str | None]:
    node = graphql(url, CHECKS, key={"path": key})["assetNodeOrError"]
    return {check["name"]: (check["executionForLatestMaterialization"] or {}).get("status")
            for check in node["assetChecksOrError"]["checks"]}


def wait_for_run(url: str, run_id: str, tmp_path: Path) -> None:
    def finished():
        status = graphql(url, RUN, id=run_id)["runOrError"]["status"]
        return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

    assert wait_until(finished, RUN_SECONDS, f"run {run_id} did not finish") == "SUCCESS", (
        (tmp_path / "daemon.log").read_text()[-3000:])


def deliver_through_the_sensor(url: str, landing: Path) -> dict[str, str]:
    """The sensor started with every center's current files as seen, then one changed file at `sch`: the
    tags of the one run it launches."""
    from orchestration import settings
    from orchestration.sensors import center_fingerprint

    # The demo centers' YAMLs (the daemon runs without BLINA_CENTERS_DIR).
    yamls = settings.PROJECT_ROOT / "data" / "centers"
    seen = {folder.name: (center_fingerprint(folder, yaml_file=yamls / f"{folder.name}.yaml"), 1)
            for folder in sorted(landing.iterdir())}
    assert graphql(url, SET_CURSOR, selector=SENSOR, cursor=json.dumps(seen, sort_keys=True))[
        "setSensorCursor"]["__typename"] == "Sensor"
    patients = landing / "sch" / "patients.csv"
    patients.write_text(patients.read_text(encoding="utf-8").replace("CCCG-ALL-2020", "CCCG-ALL-2020 v2", 1),
                        encoding="utf-8")
    assert graphql(url, START_SENSOR, selector=SENSOR)["startSensor"]["__typename"] == "Sensor"

    def launched():
        runs = graphql(url, RUNS, filter={"pipelineName": "center_delivery"})["runsOrError"]["results"]
        return runs or None

    [run] = wait_until(launched, RUN_SECONDS, "the drop-zone sensor launched no run")
    return {"run_id": run["runId"], **{tag["key"]: tag["value"] for tag in run["tags"]}}


def test_nightly_job_and_a_delivery_through_the_webserver_and_daemon(tmp_path):
    with dagster_processes(tmp_path) as url:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "jobName": "warehouse"}
        launched = graphql(url, LAUNCH, params={"selector": selector, "runConfigData": {}})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        wait_for_run(url, launched["run"]["runId"], tmp_path)
        assert check_statuses(url, ["snapshot", "analytics"]) == {"every_column_described": "SUCCEEDED",
                                                                  "every_delivery_published": "SUCCEEDED"}
        assert check_statuses(url, ["audit", "row_accounting"]) == {"delivered_rows_accounted": "SUCCEEDED"}
        # The demo reproduces every published number (on real data this WARN check may fail; the run goes on).
        assert check_statuses(url, ["marts", "paper_reproduction"])["reproduces_the_paper"] == "SUCCEEDED"

        delivery = deliver_through_the_sensor(url, tmp_path / "landing")
        assert (delivery["dagster/partition"], delivery["center"]) == ("sch", "sch")
        wait_for_run(url, delivery["run_id"], tmp_path)

    with duckdb.connect(str(tmp_path / "warehouse" / "analytics.duckdb"), read_only=True) as con:
        schemas = {schema for schema, in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
        [(patients,)] = con.execute("SELECT count(*) FROM core.patients").fetchall()
        [(columns, undescribed)] = con.execute(
            "SELECT count(*), count(*) FILTER (coalesce(comment, '') = '') FROM duckdb_columns() WHERE NOT internal"
        ).fetchall()
    assert {"core", "marts", "audit"} <= schemas <= set(SCHEMAS)
    assert patients == 108 and columns > 300 and undescribed == 0
    with duckdb.connect(str(tmp_path / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        # The delivery run looked at sch's files only (the others were seen once, by the nightly run) and
        # loaded its changed one; staging has the new value.
        assert con.execute("SELECT count(*) = count(DISTINCT (center_id, source_file)) FROM audit.loads"
                           " WHERE center_id <> 'sch'").fetchall() == [(True,)]
        assert con.execute("SELECT source_file, count(*) FROM audit.loads WHERE center_id = 'sch' AND outcome ="
                           " 'loaded' GROUP BY ALL HAVING count(*) > 1").fetchall() == [("patients.csv", 2)]
        assert con.execute("SELECT count(*) FROM staging.stg_patients WHERE protocol = 'CCCG-ALL-2020 v2'"
                           ).fetchall() == [(1,)]
