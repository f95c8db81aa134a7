"""Change detection (orchestration/versions.py): what makes a center dirty for each per-center layer, and when
a whole-warehouse asset may skip its work."""

import duckdb
import pytest

from assets.landing.corrections import ensure_table as ensure_corrections
from orchestration import versions
from orchestration.pseudonym_key import KEY_VARIABLE


@pytest.fixture
def con():
    """A warehouse with the landing's tables for two centers, a and b."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw; CREATE SCHEMA audit")
    con.execute("CREATE TABLE raw.current_files AS SELECT * FROM (VALUES ('a', 'labs.csv', 'h1'),"
                " ('a', 'patients.csv', 'h2'), ('b', 'labs.csv', 'h3')) AS t(center_id, source_file, file_sha256)")
    con.execute("CREATE TABLE raw.center_settings AS SELECT * FROM (VALUES ('a', 'A', 'multicenter', 'labs',"
                " '%Y-%m-%d', '.'), ('b', 'B', 'multicenter', 'labs', '%d/%m/%Y', '.'))"
                " AS t(center_id, center_name, study, table_name, date_format, decimal)")
    con.execute("CREATE TABLE raw.center_code_maps AS SELECT * FROM (VALUES ('a', 'patients', 'sex', '1', 'M'))"
                " AS t(center_id, table_name, field, source_code, code)")
    con.execute("CREATE TABLE raw.center_units (center_id VARCHAR, table_name VARCHAR, measure VARCHAR, unit VARCHAR)")
    con.execute("CREATE TABLE raw.center_detection_limits (center_id VARCHAR, table_name VARCHAR, analyte VARCHAR,"
                " detection_limit DOUBLE)")
    ensure_corrections(con)
    yield con
    con.close()


def build_all_layers(con) -> None:
    for layer in versions.UPSTREAM:
        plan = versions.plan_centers(con, layer)
        versions.record(con, layer, plan.versions)


def test_a_new_warehouse_builds_every_center_whole(con):
    plan = versions.plan_centers(con, "staging")
    assert plan.dirty == ("a", "b") and plan.everything
    # Downstream layers wait for their upstream's record: nothing to build before staging recorded it.
    assert versions.plan_centers(con, "intermediate").dirty == ()


def test_nothing_changed_nothing_to_build(con):
    build_all_layers(con)
    assert [versions.plan_centers(con, layer).dirty for layer in versions.UPSTREAM] == [()] * 4


@pytest.mark.parametrize("change", [
    "UPDATE raw.current_files SET file_sha256 = 'h9' WHERE center_id = 'b'",  # a re-delivered file
    "INSERT INTO raw.current_files VALUES ('b', 'events.csv', 'h4')",  # a new file
    "UPDATE raw.center_settings SET date_format = '%Y/%m/%d' WHERE center_id = 'b'",  # its YAML changed
    "INSERT INTO raw.center_units VALUES ('b', 'labs', 'wbc', 'cells/uL')",
    # an answer to a data query (assets/landing/corrections.py)
    "INSERT INTO raw.center_corrections (center_id, entry, query_id, table_name, source_file, source_row, field,"
    " delivered_value, corrected_value) VALUES ('b', 1, 'q1', 'labs', 'labs.csv', 3, 'value', '1,2', '1.2')",
])
def test_a_change_at_one_center_rebuilds_that_center_in_every_layer_in_turn(con, change):
    build_all_layers(con)
    con.execute(change)
    for layer in versions.UPSTREAM:
        plan = versions.plan_centers(con, layer)
        assert plan.dirty == ("b",) and not plan.everything, layer
        versions.record(con, layer, plan.versions)
        assert versions.plan_centers(con, layer).dirty == ()


def test_a_run_for_one_center_leaves_the_others_dirty_for_later(con):
    build_all_layers(con)
    con.execute("UPDATE raw.current_files SET file_sha256 = file_sha256 || 'x'")
    plan = versions.plan_centers(con, "staging", among=["a"])
    assert plan.dirty == ("a",) and plan.run_centers == ("a",) and not plan.everything
    versions.record(con, "staging", plan.versions)
    assert versions.plan_centers(con, "staging").dirty == ("b",)


def test_a_new_pseudonym_key_rebuilds_every_center(con, monkeypatch):
    build_all_layers(con)
    monkeypatch.setenv(KEY_VARIABLE, "another key")
    assert versions.plan_centers(con, "staging").everything
    assert "another key" not in versions.key_fingerprint()


def test_an_asset_skips_only_while_core_its_code_and_its_facts_are_unchanged(con):
    build_all_layers(con)
    plan = versions.plan_asset(con, "marts.x", ["orchestration/versions.py"], "fact")
    assert not plan.unchanged
    versions.record_asset(con, plan)
    assert versions.plan_asset(con, "marts.x", ["orchestration/versions.py"], "fact").unchanged
    assert not versions.plan_asset(con, "marts.x", ["orchestration/versions.py"], "other fact").unchanged
    assert not versions.plan_asset(con, "marts.x", ["orchestration/incremental.py"], "fact").unchanged
    versions.record(con, "core", {"a": "rebuilt"})
    assert not versions.plan_asset(con, "marts.x", ["orchestration/versions.py"], "fact").unchanged


def test_check_outcomes_are_carried_over_as_they_were(con):
    import dagster as dg

    key = dg.AssetCheckKey(dg.AssetKey(["core", "labs"]), "only_validated_rows")
    versions.record_checks(con, [(key, dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN))])
    [carried] = versions.carried_over_checks(con, [key, dg.AssetCheckKey(key.asset_key, "never_ran")], "unchanged")
    assert (carried.passed, carried.severity, carried.check_name) == (False, dg.AssetCheckSeverity.WARN,
                                                                      "only_validated_rows")
    assert carried.metadata["skipped"].value.startswith("unchanged: the outcome of its evaluation of")


def core_tables(con) -> None:
    con.execute("CREATE SCHEMA core")
    con.execute("CREATE TABLE core.labs AS SELECT * FROM (VALUES ('a', 's1', 1.0), ('a', 's1', 2.0), ('b', 's2', 3.0))"
                " AS t(center_id, subject_id, value)")
    con.execute("CREATE TABLE core.patients AS"
                " SELECT * FROM (VALUES ('a', 's1'), ('b', 's2')) AS t(center_id, subject_id)")


def mart_plan(con, tables):
    return versions.plan_asset(con, "marts." + "_".join(tables), ["orchestration/versions.py"],
                               after=[versions.contents("core", table) for table in tables])


def test_a_mart_skips_while_the_rows_of_the_core_tables_it_reads_are_unchanged(con):
    core_tables(con)
    versions.record_contents(con, "core", ["a", "b"])
    for tables in (["patients"], ["patients", "labs"]):
        versions.record_asset(con, mart_plan(con, tables))
    # Center a rebuilt with the same rows, in another order: nothing changed.
    con.execute("CREATE OR REPLACE TABLE core.labs AS SELECT * FROM core.labs ORDER BY value DESC")
    versions.record_contents(con, "core", ["a"])
    assert mart_plan(con, ["patients"]).unchanged and mart_plan(con, ["patients", "labs"]).unchanged
    # One of center a's lab values changed: only the mart reading core.labs is stale.
    con.execute("UPDATE core.labs SET value = 2.5 WHERE value = 2.0")
    versions.record_contents(con, "core", ["a"])
    assert mart_plan(con, ["patients"]).unchanged
    assert not mart_plan(con, ["patients", "labs"]).unchanged


def test_content_fingerprints_see_duplicates_and_emptied_centers(con):
    core_tables(con)
    versions.record_contents(con, "core", ["a", "b"])
    versions.record_asset(con, mart_plan(con, ["labs"]))
    con.execute("INSERT INTO core.labs SELECT * FROM core.labs WHERE value = 1.0")  # delivered twice now
    versions.record_contents(con, "core", ["a"])
    assert not mart_plan(con, ["labs"]).unchanged
    versions.record_asset(con, mart_plan(con, ["labs"]))
    con.execute("DELETE FROM core.labs WHERE center_id = 'b'")
    versions.record_contents(con, "core", ["b"])
    assert not mart_plan(con, ["labs"]).unchanged


def test_code_versions_fingerprint_code_not_what_it_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(versions.settings, "PROJECT_ROOT", tmp_path)
    models = tmp_path / "dbt_project" / "models"
    models.mkdir(parents=True)
    (models / "labs.sql").write_text("select 1")
    fingerprint = versions.code_version.__wrapped__  # uncached: the files change within the test
    before = fingerprint(("dbt_project",))
    for built in ("target/manifest.json", "logs/dbt.log", "models/__pycache__/x.pyc"):
        (tmp_path / "dbt_project" / built).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "dbt_project" / built).write_text("a new invocation id")
    assert fingerprint(("dbt_project",)) == before
    (models / "labs.sql").write_text("select 2")
    assert fingerprint(("dbt_project",)) != before


def test_a_models_input_version_changes_with_what_it_reads_of_that_center_only(con):
    """What a core model reads, per center: a changed row of one center changes that center's version, an
    unordered copy of the same rows none; a code list without center_id counts for every center."""
    core_tables(con)
    con.execute("CREATE TABLE core.codes AS SELECT * FROM (VALUES ('CD19', 'blood')) AS t(analyte, specimen)")
    reads = {"core.labs": ['"core"."labs"', '"core"."codes"'], "core.patients": ['"core"."patients"']}
    before = versions.input_versions(con, reads, ["a", "b"])
    assert before["core.labs"]["a"] != before["core.labs"]["b"]
    con.execute("CREATE OR REPLACE TABLE core.labs AS SELECT * FROM core.labs ORDER BY value DESC")
    assert versions.input_versions(con, reads, ["a", "b"]) == before
    con.execute("UPDATE core.labs SET value = 2.5 WHERE value = 2.0")
    changed = versions.input_versions(con, reads, ["a", "b"])
    assert changed["core.labs"]["a"] != before["core.labs"]["a"]
    assert changed["core.labs"]["b"] == before["core.labs"]["b"] and changed["core.patients"] == before["core.patients"]
    con.execute("INSERT INTO core.codes VALUES ('CD3', 'blood')")
    recoded = versions.input_versions(con, reads, ["a", "b"])
    assert all(recoded["core.labs"][center] != changed["core.labs"][center] for center in ("a", "b"))
    assert recoded["core.patients"] == before["core.patients"]


def test_a_delivered_table_is_read_as_the_current_versions_of_its_files(con):
    """What a staging model reads of a delivered table is the current version of each of the center's files
    of that table (raw keeps every version): another table's new file, or an earlier version of this one
    still in raw, changes nothing."""
    con.execute("CREATE TABLE raw.labs AS SELECT * FROM (VALUES ('a', 'labs.csv', 'h0', 1), ('a', 'labs.csv', 'h1', 2),"
                " ('b', 'labs.csv', 'h3', 3)) AS t(center_id, source_file, file_sha256, value)")
    con.execute("CREATE TABLE audit.loads AS SELECT * FROM (VALUES ('a', 'labs.csv', 'labs'), ('a', 'patients.csv',"
                " 'patients'), ('b', 'labs.csv', 'labs')) AS t(center_id, source_file, table_name)")
    before = versions.fingerprints(con, '"raw"."labs"', ["a", "b"])
    assert before["a"] != before["b"]
    con.execute("UPDATE raw.current_files SET file_sha256 = 'h9' WHERE source_file = 'patients.csv'")
    con.execute("INSERT INTO raw.labs VALUES ('a', 'labs.csv', 'h8', 4)")  # landed, not current
    assert versions.fingerprints(con, '"raw"."labs"', ["a", "b"]) == before
    con.execute("UPDATE raw.current_files SET file_sha256 = 'h8' WHERE center_id = 'a' AND source_file = 'labs.csv'")
    after = versions.fingerprints(con, '"raw"."labs"', ["a", "b"])
    assert after["a"] != before["a"] and after["b"] == before["b"]


def test_a_model_read_as_what_it_was_built_from_changes_with_that_only(con):
    """A model that records its inputs (a staging view, whose rows would be every lab value parsed again) is
    read as the inputs it last built each center from: a center it rebuilt from other inputs changes that
    center's version, a center it never built reads as never built."""
    versions.record(con, versions.inputs_of("staging.stg_labs"), {"a": "v1", "b": "v2"})
    reads = {"intermediate.int_labs": ['"staging"."stg_labs"']}
    before = versions.input_versions(con, reads, ["a", "b", "c"], built={'"staging"."stg_labs"'})
    assert len(set(before["intermediate.int_labs"].values())) == 3
    versions.record(con, versions.inputs_of("staging.stg_labs"), {"a": "v3"})
    after = versions.input_versions(con, reads, ["a", "b", "c"], built={'"staging"."stg_labs"'})
    assert after["intermediate.int_labs"]["a"] != before["intermediate.int_labs"]["a"]
    assert {center: after["intermediate.int_labs"][center] for center in "bc"} == \
        {center: before["intermediate.int_labs"][center] for center in "bc"}


def test_a_models_version_holds_those_of_the_models_of_its_layer_it_reads(con):
    """A view reading another model of its layer (int_patients reads int_cycle_response) changes version when
    that model's inputs change, though its own outside inputs do not, and so does what reads it in turn."""
    inputs = {"int_cycle_response": {"a": "r1", "b": "r2"}, "int_patients": {"a": "p1", "b": "p2"},
              "int_cycles": {"a": "c1", "b": "c2"}}
    parents = {"int_patients": ["int_cycle_response"], "int_cycles": ["int_patients"]}
    before = versions.with_parents(inputs, parents)
    after = versions.with_parents({**inputs, "int_cycle_response": {"a": "r3", "b": "r2"}}, parents)
    for model in inputs:
        assert after[model]["a"] != before[model]["a"] and after[model]["b"] == before[model]["b"]
    assert versions.with_parents({**inputs, "int_cycles": {"a": "c9", "b": "c2"}}, parents)["int_patients"] == \
        before["int_patients"]
