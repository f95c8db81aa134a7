"""END TO END (about 4 min): `make run` (orchestration.run) into a temp Dagster instance, then the real
`dagster-webserver` and `dagster-daemon` on 127.0.0.1 over that instance. The UI walk-through, as its pages'
GraphQL reads it: make run's materializations on every asset, a raw partition's own row count, a mart's
columns, preview, code reference and check results, dbt's log on the run's page. Then the nightly job launched
through the UI's GraphQL API without choosing a partition, run by the daemon's queue over every center; then
a changed delivery in the drop zone, picked up by the drop-zone sensor under the daemon, runs for that center's
partition only. Both processes are stopped whatever happens."""

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
ASSETS = """{ assetNodes { assetKey { path } isMaterializable
  assetMaterializations(limit: 1) { runId } } }"""
MATERIALIZATION = """query($key: AssetKeyInput!, $partitions: [String!]) { assetNodeOrError(assetKey: $key) {
  ... on AssetNode { assetMaterializations(partitions: $partitions, limit: 1) { runId partition metadataEntries {
    label ... on IntMetadataEntry { intValue } ... on MarkdownMetadataEntry { mdStr }
    ... on TableSchemaMetadataEntry { schema { columns { name type description } } } } } } } }"""
DEFINITION = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode {
  metadataEntries { label ... on CodeReferencesMetadataEntry { codeReferences {
    ... on LocalFileCodeReference { filePath } } } }
  assetChecksOrError { ... on AssetChecks { checks { name description } } } } } }"""
PARTITIONS = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode {
  assetPartitionStatuses { ... on DefaultPartitionStatuses { materializedPartitions } } } } }"""
RUN_LOG = """query($id: ID!, $cursor: String) { logsForRun(runId: $id, afterCursor: $cursor) {
  ... on EventConnection { cursor hasMore events { __typename ... on MessageEvent { message stepKey } } } } }"""
JOB_TAGS = """query($selector: PipelineSelector!) { pipelineOrError(params: $selector) { ... on Pipeline {
  tags { key value } } } }"""
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
    # `make run` on the same instance (into a warehouse of its own, which the UI's runs leave alone).
    made = subprocess.run([sys.executable, "-m", "orchestration.run"], cwd=ROOT, capture_output=True, text=True,
                          env={**env, "BLINA_WAREHOUSE_DIR": str(tmp_path / "made")})
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
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


def by_label(entries: list[dict]) -> dict[str, dict]:
    return {entry["label"]: entry for entry in entries}


def latest_materialization(url: str, key: list[str], partition: str | None = None) -> dict:
    node = graphql(url, MATERIALIZATION, key={"path": key}, partitions=[partition] if partition else None)
    [event] = node["assetNodeOrError"]["assetMaterializations"]
    return {**event, "metadata": by_label(event["metadataEntries"])}


def run_messages(url: str, run_id: str) -> list[dict]:
    messages, cursor = [], None
    while True:
        page = graphql(url, RUN_LOG, id=run_id, cursor=cursor)["logsForRun"]
        messages += [event for event in page["events"] if "message" in event]
        if not page["hasMore"]:
            return messages
        cursor = page["cursor"]


def markdown_rows(markdown: str) -> list[dict[str, str]]:
    """A metadata markdown table (orchestration.metadata.markdown_table) as dicts, header -> cell."""
    header, _, *rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in
                        markdown.strip().splitlines()]
    return [dict(zip(header, row)) for row in rows]


def walk_through_make_run(url: str, made: Path) -> str:
    """The UI's pages after `make run`, as their GraphQL reads them; returns make run's run id."""
    [make_run] = graphql(url, RUNS, filter={"pipelineName": "warehouse"})["runsOrError"]["results"]
    assert make_run["status"] == "SUCCESS"
    # Every asset shows make run's materialization: none reads "Never materialized".
    nodes = [node for node in graphql(url, ASSETS)["assetNodes"] if node["isMaterializable"]]
    assert len(nodes) > 60 and [node["assetKey"]["path"] for node in nodes if [
        event["runId"] for event in node["assetMaterializations"]] != [make_run["runId"]]] == []

    with duckdb.connect(str(made / "warehouse.duckdb"), read_only=True) as con:
        rows = dict(con.execute("SELECT center_id, count(*) FROM raw.patients JOIN raw.current_files"
                                " USING (center_id, source_file, file_sha256) GROUP BY ALL").fetchall())
        columns = con.execute("SELECT column_name, lower(data_type) FROM duckdb_columns() WHERE schema_name ="
                              " 'marts' AND table_name = 'survival_curves' ORDER BY column_index").fetchall()
        curve_starts = dict(((endpoint, grouping, group), start) for endpoint, grouping, group, start in con.execute(
            'SELECT endpoint, grouping, "group", min(time) FROM marts.survival_curves GROUP BY ALL').fetchall())
    # A raw partition's row count is its center's rows, not the table's.
    sch = latest_materialization(url, ["raw", "patients"], "sch")
    assert sch["partition"] == "sch" and sch["metadata"]["dagster/row_count"]["intValue"] == rows["sch"]
    assert rows["sch"] < sum(rows.values())

    # A mart's page: its columns with types and descriptions, a preview from the start of its first curve.
    curves = latest_materialization(url, ["marts", "survival_curves"])
    shown = curves["metadata"]["dagster/column_schema"]["schema"]["columns"]
    assert [(column["name"], column["type"]) for column in shown] == columns
    assert [column["name"] for column in shown if not column["description"]] == []
    preview = markdown_rows(curves["metadata"]["preview"]["mdStr"])
    first = preview[0]
    assert float(first["time"]) == curve_starts[(first["endpoint"], first["grouping"], first["group"])]
    curve = [first[name] for name in ("endpoint", "grouping", "group")]
    times = [float(row["time"]) for row in preview if [row["endpoint"], row["grouping"], row["group"]] == curve]
    assert times == sorted(times) and len(times) > 1
    # Its code, and dbt's models' own files.
    for key, file in ((["marts", "survival_curves"], "assets/marts/survival.py"),
                      (["core", "patients"], "dbt_project/models/core/patients.sql")):
        definition = graphql(url, DEFINITION, key={"path": key})["assetNodeOrError"]
        references = by_label(definition["metadataEntries"])["dagster/code_references"]["codeReferences"]
        assert str(ROOT / file) in [reference["filePath"] for reference in references], (key, references)
    # Check results, with names and descriptions that say what they check.
    checks = graphql(url, DEFINITION, key={"path": ["audit", "row_accounting"]})["assetNodeOrError"]
    assert [(check["name"], bool(check["description"])) for check in checks["assetChecksOrError"]["checks"]] == [
        ("delivered_rows_accounted", True)]
    assert check_statuses(url, ["audit", "row_accounting"]) == {"delivered_rows_accounted": "SUCCEEDED"}
    assert check_statuses(url, ["marts", "paper_reproduction"])["reproduces_the_paper"] == "SUCCEEDED"
    # dbt's own log on the run's page, per dbt step.
    dbt_logs = {message["stepKey"]: message["message"] for message in run_messages(url, make_run["runId"])
                if message["message"].startswith("dbt's log (")}
    assert sorted(dbt_logs) == ["dbt_core", "dbt_intermediate", "dbt_seeds", "dbt_staging"]
    assert [step for step, log in dbt_logs.items() if "Finished running" not in log] == []
    return make_run["runId"]


def test_nightly_job_and_a_delivery_through_the_webserver_and_daemon(tmp_path):
    centers = {path.stem for path in (ROOT / "data" / "centers").glob("*.yaml")}
    with dagster_processes(tmp_path) as url:
        walk_through_make_run(url, tmp_path / "made")

        # "Materialize all" without choosing partitions: the job carries the range of every center.
        selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "jobName": "warehouse"}
        tags = {tag["key"]: tag["value"] for tag in graphql(url, JOB_TAGS, selector={
            key.replace("jobName", "pipelineName"): value for key, value in selector.items()})[
            "pipelineOrError"]["tags"]}
        assert {tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]} <= centers
        launched = graphql(url, LAUNCH, params={"selector": selector, "runConfigData": {}})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        wait_for_run(url, run_id, tmp_path)
        # Every center partition of a raw asset, in the one run.
        assert {center: latest_materialization(url, ["raw", "patients"], center)["runId"] for center in centers} == {
            center: run_id for center in centers}
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
