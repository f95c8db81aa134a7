"""The whole asset graph, in process, on the committed demo extracts, into a temp warehouse."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import settings

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

RAW_TABLES = ("patients", "cycles", "assessments", "labs", "adverse_events", "events", "therapy_lines")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """Materialize every asset and check once; yields the warehouse file."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BLINA_WAREHOUSE_DIR", str(tmp_path_factory.mktemp("warehouse")))
        env.delenv("BLINA_LANDING_DIR", raising=False)
        env.delenv("BLINA_CENTERS_DIR", raising=False)
        from assets.landing.assets import center_partitions
        from orchestration.definitions import build_resources, defs
        from orchestration.jobs import every_center_tags

        resources = build_resources()  # now pointing at the temp warehouse
        # Over every center partition, as the warehouse job runs.
        result = dg.materialize([*defs.assets, *defs.asset_checks], resources=resources, raise_on_error=False,
                                tags=every_center_tags(center_partitions()))
        assert result.success, [event.event_specific_data for event in result.get_step_failure_events()]
        yield Path(resources["warehouse"].path), resources, result


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_core_holds_both_studies(warehouse):
    database, _, result = warehouse
    assert dict(query(database, "SELECT study, count(*) FROM core.patients GROUP BY study")) == {
        "multicenter": 105, "case_series": 3}
    assert query(database, "SELECT count(*) FROM core.cycles JOIN core.patients USING (subject_id)"
                           " WHERE study = 'multicenter'") == [(125,)]
    # The dbt assets carry the row counts of the tables they built.
    [patients] = [event.materialization for event in result.get_asset_materialization_events()
                  if event.asset_key == dg.AssetKey(["core", "patients"])]
    assert patients.metadata["dagster/row_count"].value == 108


def test_every_demo_file_loads_and_no_identifier_reaches_core(warehouse):
    database, _, result = warehouse
    assert [evaluation.asset_key for evaluation in result.get_asset_check_evaluations()
            if evaluation.check_name == "every_delivered_file_loaded" and not evaluation.passed] == []
    assert query(database, "SELECT DISTINCT outcome FROM audit.loads") == [("loaded",)]
    core_columns = {row[0] for row in query(
        database, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'core'")}
    assert core_columns.isdisjoint({"mrn", "name", "birth_date"})


def test_landing_the_same_files_again_changes_nothing(warehouse):
    database, resources, _ = warehouse
    from assets.landing.assets import center_partitions, landing_assets

    counts = {table: query(database, f"SELECT count(*) FROM raw.{table}")[0][0] for table in RAW_TABLES}
    loads_before = query(database, "SELECT max(load_id) FROM audit.loads")[0][0]
    assert dg.materialize(landing_assets(center_partitions()), resources=resources).success
    assert {table: query(database, f"SELECT count(*) FROM raw.{table}")[0][0] for table in RAW_TABLES} == counts
    assert query(database, f"SELECT DISTINCT outcome FROM audit.loads WHERE load_id > {loads_before}") == [
        ("unchanged",)]


def test_definitions_wire_dbt_sources_to_the_landing_assets():
    from orchestration.definitions import defs

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    upstream = {key.to_user_string() for key in graph.get(dg.AssetKey(["staging", "stg_patients"])).parent_keys}
    assert {"raw/patients", "raw/current_files"} <= upstream
    assert graph.get(dg.AssetKey(["core", "patients"])).group_name == "core"
    assert graph.get(dg.AssetKey(["intermediate", "int_patients"])).group_name == "intermediate"
    # Every dbt source is an asset the landing layer materializes, not a dangling external key.
    landing = {key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "landing"}
    sources = {key for key in graph.get_all_asset_keys() if key.path[0] == "raw"}
    assert sources == landing and all(graph.get(key).is_materializable for key in sources)


def test_every_asset_has_a_layer_group_and_an_owner():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    layers = {"landing", "staging", "intermediate", "core", "seeds", "validation", "accounting", "marts", "snapshot",
              "report"}
    nodes = [graph.get(key) for key in graph.get_all_asset_keys() if graph.get(key).is_materializable]
    assert {node.group_name for node in nodes} == layers
    assert [node.key for node in nodes if not node.owners] == []
    # The UI's group lineage runs one way: no two groups feed each other.
    feeds = {(graph.get(parent).group_name, node.group_name) for node in nodes for parent in node.parent_keys}
    assert sorted((upstream, downstream) for upstream, downstream in feeds
                  if upstream != downstream and (downstream, upstream) in feeds) == []


def test_every_sensor_says_what_it_does():
    from orchestration.definitions import defs

    assert {sensor.name: bool(sensor.description) for sensor in defs.sensors} == {
        "drop_zone_sensor": True, "run_failure_sensor": True}


def test_every_asset_check_says_what_it_checks():
    from orchestration.dbt import test_description
    from orchestration.definitions import defs

    specs = [spec for definition in [*defs.assets, *defs.asset_checks]
             for spec in getattr(definition, "check_specs", [])]
    assert [f"{spec.asset_key.to_user_string()}:{spec.name}" for spec in specs if not spec.description] == []
    # dbt's tests in words, from their arguments.
    described = {spec.name: spec.description for spec in specs}
    assert described["accepted_values_patients_study__multicenter__case_series"] == (
        "study is one of multicenter, case_series (or NULL).")
    assert described["relationships_cycles_subject_id__subject_id__ref_patients_"] == (
        "every subject_id is found in patients.subject_id.")
    assert test_description({"name": "custom", "kwargs": {"model": "m", "limit": 3}}) == "dbt test custom (limit=3)."


def table_digests(database: Path, schemas: tuple[str, ...]) -> dict[str, str]:
    """schema.table -> a digest of its rows in a canonical order."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name IN"
                             f" ({', '.join('?' * len(schemas))}) ORDER BY ALL", list(schemas)).fetchall()
        return {table: con.execute(f"SELECT md5(coalesce(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR), ''))"
                                   f" FROM {table} AS t").fetchall()[0][0] for table, in tables}


def test_the_case_series_errors_are_answered_by_the_demo_corrections(warehouse):
    """data/corrections/szch.yaml resolves the report's two errors: the cycles of cases 1 and 2 reach core with
    their marrow assessments and adverse events; raw keeps what the report printed."""
    database, _, _ = warehouse
    assert query(database, "SELECT query_id, status FROM audit.corrections ORDER BY query_id") == [
        ("szch-q001", "applied"), ("szch-q002", "applied")]
    assert query(database, "SELECT source_row, end_date::VARCHAR, dose_start, dose_unit FROM core.cycles"
                           " WHERE center_id = 'szch' ORDER BY source_row") == [
        (1, "2022-02-28", 15.0, "ug/m2/day"), (2, None, 15.0, "ug/m2/day"), (3, "2021-12-23", None, "ug/m2/day")]
    assert query(database, "SELECT end_date, dose_unit FROM raw.cycles WHERE center_id = 'szch' ORDER BY source_row"
                           " LIMIT 2") == [("2022.02.29", "ug/m2/day"), (None, "mg/m2/day")]
    for table in RAW_TABLES:
        assert query(database, f"SELECT count(*) FROM quarantine.{table} WHERE center_id = 'szch'") == [(0,)], table
    assert query(database, "SELECT count(*) FROM core.assessments WHERE center_id = 'szch'") == [(15,)]
    assert query(database, "SELECT count(*) FROM core.adverse_events WHERE center_id = 'szch'") == [(9,)]
    assert query(database, "SELECT source_row, status, corrections FROM marts.data_queries"
                           " WHERE center_id = 'szch' ORDER BY source_row") == [
        (1, "answered", "szch-q001"), (2, "answered", "szch-q002")]


def test_every_table_asset_shows_its_columns_with_types(warehouse):
    """The UI's column schema on every asset that is a warehouse table: landing, dbt layers, validation,
    marts and audit alike (the snapshot and the reports are files)."""
    _, _, result = warehouse
    materialized = {event.asset_key: event.materialization.metadata
                    for event in result.get_asset_materialization_events()}
    without = sorted(key.to_user_string() for key, metadata in materialized.items()
                     if key.path[0] not in ("snapshot", "report") and "dagster/column_schema" not in metadata)
    assert without == []
    untyped = sorted(f"{key.to_user_string()}.{column.name}" for key, metadata in materialized.items()
                     if "dagster/column_schema" in metadata
                     for column in metadata["dagster/column_schema"].schema.columns if column.type in ("", "?"))
    assert untyped == []
    # dbt's YAML descriptions survive beside the built table's types.
    [cycles] = [metadata["dagster/column_schema"].schema for key, metadata in materialized.items()
                if key == dg.AssetKey(["core", "cycles"])]
    assert {column.name: column.description for column in cycles.columns}["subject_id"]


def test_every_mart_previews_its_first_rows_in_its_natural_order(warehouse):
    """Every marts table's materialization shows a preview of its first rows, PREVIEW_ROWS at most (the whole
    table when smaller); the survival curves' from the start of the first curve, its times rising
    (tests/test_ui_e2e.py asserts the same through the UI)."""
    from assets.marts.shared import PREVIEW_ROWS

    database, _, result = warehouse
    previews = {event.asset_key.path[1]: event.materialization.metadata.get("preview")
                for event in result.get_asset_materialization_events() if event.asset_key.path[0] == "marts"}
    assert [mart for mart, preview in previews.items() if preview is None] == []
    shown = {mart: [[cell.strip() for cell in line.strip("|").split(" | ")] for line in preview.value.splitlines()]
             for mart, preview in previews.items()}
    counts = {mart: query(database, f"SELECT count(*) FROM marts.{mart}")[0][0] for mart in shown}
    assert {mart: len(lines) - 2 for mart, lines in shown.items()} == {
        mart: min(PREVIEW_ROWS, count) for mart, count in counts.items()}
    header, _, *rows = shown["survival_curves"]
    curves = [dict(zip(header, row)) for row in rows]
    with duckdb.connect(str(database), read_only=True) as con:
        [(start,)] = con.execute('SELECT min(time) FROM marts.survival_curves WHERE endpoint = ? AND grouping = ?'
                                 ' AND "group" = ?', [curves[0][key] for key in ("endpoint", "grouping", "group")]
                                 ).fetchall()
    assert float(curves[0]["time"]) == start
    first = [float(row["time"]) for row in curves if row["group"] == curves[0]["group"]]
    assert len(first) > 1 and first == sorted(first)


def test_a_raw_partition_counts_its_centers_rows(warehouse):
    """The UI's row count of partition `sch` of raw/patients is sch's rows (current file versions), not the
    whole table's: the warehouse run covers every center partition in one run."""
    database, _, result = warehouse
    counted = {event.partition: event.materialization.metadata["dagster/row_count"].value
               for event in result.get_asset_materialization_events()
               if event.asset_key == dg.AssetKey(["raw", "patients"])}
    in_table = dict(query(database, "SELECT center_id, count(*) FROM raw.patients JOIN raw.current_files"
                                    " USING (center_id, source_file, file_sha256) GROUP BY ALL"))
    assert counted == in_table and len(counted) > 1
    assert counted["sch"] < sum(in_table.values())


def test_every_asset_links_to_its_code():
    """The UI's code reference on every asset: a file of this repository that exists, and for a dbt model or
    seed its own file in dbt_project/."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    references = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            value = node.metadata.get("dagster/code_references")
            references[key.to_user_string()] = [Path(ref.file_path) for ref in value.code_references] if value else []
    assert sorted(key for key, paths in references.items() if not paths) == []
    assert all(path.is_file() and path.is_relative_to(settings.PROJECT_ROOT)
               for paths in references.values() for path in paths)
    assert settings.DBT_PROJECT_DIR / "models" / "core" / "patients.sql" in references["core/patients"]
    assert settings.PROJECT_ROOT / "assets" / "landing" / "assets.py" in references["raw/patients"]
    # A mart wrapped by skip_when_unchanged links to its own module, not to the wrapper's.
    assert references["marts/survival_curves"] == [settings.PROJECT_ROOT / "assets" / "marts" / "survival.py"]


# The tests below run the warehouse again on the fixture's warehouse, some on changed deliveries (tests above
# read the fixture's run and its tables): keep them last in this module.

def test_the_nightly_job_twice_on_the_same_deliveries_changes_nothing(warehouse):
    """Nothing is rebuilt: every asset after landing reports itself skipped, and no table changes."""
    database, _, _ = warehouse
    from orchestration.definitions import build_definitions

    before = table_digests(database, ("staging", "core", "quarantine", "marts"))
    result = build_definitions().resolve_job_def("warehouse").execute_in_process()
    assert result.success
    assert table_digests(database, ("staging", "core", "quarantine", "marts")) == before
    rebuilt = [event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
               if event.asset_key.path[0] not in ("raw", "seeds") and "skipped" not in event.materialization.metadata]
    assert rebuilt == []


def _landing_copy(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the demo deliveries the warehouse reads from now on."""
    import shutil

    landing = tmp_path / "landing"
    shutil.copytree(settings.landing_dir(), landing)
    monkeypatch.setenv("BLINA_LANDING_DIR", str(landing))
    return landing


def _delivery_run(center: str) -> dg.ExecuteInProcessResult:
    """The drop-zone sensor's center_delivery job for one center partition."""
    from orchestration.definitions import build_definitions

    result = build_definitions().resolve_job_def("center_delivery").execute_in_process(partition_key=center)
    assert result.success
    return result


def _rebuilt(result, layer: str) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
            if event.asset_key.path[0] == layer and "skipped" not in event.materialization.metadata}


def test_a_center_partition_rebuilds_only_that_centers_rows(warehouse, tmp_path, monkeypatch):
    """A delivery's run for a center whose lab file changed rebuilds that center's lab values and what is built
    from them, layer by layer, and leaves the other centers' rows as they were: rows marked beforehand stay
    marked at `ach` only in the lab tables, and at both centers in core.patients, which reads nothing that
    changed. The marts that read no lab value skip their work; the snapshot is published again."""
    database, _, _ = warehouse
    labs = _landing_copy(tmp_path, monkeypatch) / "sch" / "labs.csv"
    delivered = labs.read_text()
    assert "Blood,CD19+ abs,0.076," in delivered
    labs.write_text(delivered.replace("Blood,CD19+ abs,0.076,", "Blood,CD19+ abs,0.067,", 1))
    marked = {"core.patients": "protocol", "intermediate.int_cycle_response": "pre_mrd_pct_raw",
              "intermediate.int_labs": "unit_raw"}
    with duckdb.connect(str(database)) as con:
        for table, column in marked.items():
            con.execute(f"UPDATE {table} SET {column} = 'marked' WHERE center_id IN ('ach', 'sch')")
    result = _delivery_run("sch")
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert {"raw/labs", "staging/stg_patients", "core/patients", "marts/paper_reproduction",
            "snapshot/analytics"} <= materialized
    assert _rebuilt(result, "staging") == {"staging/stg_subject_keys", "staging/stg_labs"}
    assert _rebuilt(result, "intermediate") == {"intermediate/int_labs"}
    assert _rebuilt(result, "core") == {"core/labs", "core/lab_draw_choices", "core/lab_draws"}
    # core.labs, the view of the int_labs rows the gate passed, shows what int_labs holds.
    still_marked = {table: dict(query(database, f"SELECT center_id, count(*) FILTER ({column} = 'marked') = count(*)"
                                                f" FROM {table} WHERE center_id IN ('ach', 'sch') GROUP BY ALL"))
                    for table, column in {**marked, "core.labs": "unit_raw"}.items()}
    assert still_marked == {"core.patients": {"ach": True, "sch": True},
                            "intermediate.int_cycle_response": {"ach": True, "sch": True},
                            "intermediate.int_labs": {"ach": True, "sch": False},
                            "core.labs": {"ach": True, "sch": False}}
    assert query(database, "SELECT count(*) FROM core.labs WHERE center_id = 'sch' AND value_raw = '0.067'") == [(1,)]
    recomputed = _rebuilt(result, "marts")
    assert "marts/risk_factors" in recomputed  # reads core.lab_draws
    assert not recomputed & {"marts/response_rates", "marts/cox_models", "marts/cohort_characteristics"}


def test_a_change_that_refuses_another_tables_rows_rebuilds_that_table(warehouse, tmp_path, monkeypatch):
    """A death delivered before a patient's lab draws refuses them at the gate: core.labs is rebuilt although
    no lab value changed (it shows the gate's marks, made from its findings), and is rebuilt again, with the values
    back, when the delivery is withdrawn."""
    database, _, _ = warehouse
    original = settings.landing_dir()
    follow_up = _landing_copy(tmp_path, monkeypatch) / "sch" / "follow_up.csv"
    delivered = follow_up.read_text()
    assert "SCH20182636,Last contact,2023-09-25," in delivered
    follow_up.write_text(delivered.replace("SCH20182636,Last contact,2023-09-25,", "SCH20182636,Death,2022-02-01,"))
    subject = ("SELECT subject_id FROM staging.stg_subject_keys WHERE center_id = 'sch' AND mrn = 'SCH20182636'")
    in_core = f"SELECT count(*) FROM core.labs WHERE subject_id = ({subject})"
    [(before,)] = query(database, in_core)
    assert before > 0
    result = _delivery_run("sch")
    assert "core/labs" in _rebuilt(result, "core")
    assert query(database, in_core) == [(0,)]
    assert query(database, f"SELECT count(*) >= {before} FROM quarantine.labs WHERE source_row IN (SELECT source_row"
                           f" FROM intermediate.int_labs WHERE subject_id = ({subject})) AND center_id = 'sch'"
                           " AND source_file = 'labs.csv'") == [(True,)]
    monkeypatch.setenv("BLINA_LANDING_DIR", str(original))
    _delivery_run("sch")
    assert query(database, in_core) == [(before,)]


def test_a_run_out_of_memory_names_the_setting_and_changes_nothing(warehouse, tmp_path, monkeypatch):
    """A re-delivery that cannot fit in BLINA_DUCKDB_MEMORY_LIMIT fails with the step and the setting to
    change, and leaves the warehouse's core and marts and the analysts' snapshot as they were."""
    database, _, _ = warehouse
    import shutil

    from orchestration.definitions import build_definitions

    landing = tmp_path / "landing"
    shutil.copytree(settings.landing_dir(), landing)
    follow_up = landing / "sch" / "follow_up.csv"
    follow_up.write_text(follow_up.read_text() + "\n\n")  # a new file version to land
    monkeypatch.setenv("BLINA_LANDING_DIR", str(landing))
    monkeypatch.setenv("BLINA_DUCKDB_MEMORY_LIMIT", "512KB")
    snapshot = database.parent / settings.ANALYTICS_FILE
    tables, published = table_digests(database, ("core", "marts")), snapshot.read_bytes()
    result = build_definitions().resolve_job_def("center_delivery").execute_in_process(
        partition_key="sch", raise_on_error=False)
    assert not result.success
    [failure, *_] = result.get_step_failure_events()
    assert failure.step_key and "BLINA_DUCKDB_MEMORY_LIMIT=512KB" in failure.event_specific_data.error.message
    assert table_digests(database, ("core", "marts")) == tables
    assert snapshot.read_bytes() == published
