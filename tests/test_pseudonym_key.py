"""The pseudonym key: the public development key only for the bundled demo or on request, a refusal before
anything is written otherwise (in `make run` and in a Dagster run's event log), and a key rotation that changes
every subject_id together and records the key's fingerprint, never the key."""

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import pseudonym_key
from orchestration.pseudonym_key import DEVELOPMENT_KEY, KEY_VARIABLE, KeyMissing
from tests.validation.centers import clean_files, write_center

pytestmark = pytest.mark.slow  # builds warehouses: make test-all


def test_a_set_key_is_used_whatever_the_delivery(monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_VARIABLE, "a real secret")
    assert pseudonym_key.key(tmp_path) == "a real secret"


def test_the_development_key_only_on_request_or_for_the_bundled_demo(monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_VARIABLE, "demo")
    assert pseudonym_key.key(tmp_path) == DEVELOPMENT_KEY
    monkeypatch.delenv(KEY_VARIABLE)
    assert pseudonym_key.key(pseudonym_key.BUNDLED_LANDING) == DEVELOPMENT_KEY
    with pytest.raises(KeyMissing, match=f"{KEY_VARIABLE} is not set.*secrets.token_hex.*{KEY_VARIABLE}=demo"):
        pseudonym_key.key(tmp_path)


def test_the_bundled_folder_with_other_files_is_not_the_demo(monkeypatch, tmp_path):
    """The check is on the files, not the folder: a real delivery dropped into data/landing/ needs the key."""
    demo = tmp_path / "landing"
    shutil.copytree(pseudonym_key.BUNDLED_LANDING, demo)
    monkeypatch.setattr(pseudonym_key, "BUNDLED_LANDING", demo)
    assert pseudonym_key.is_bundled_demo(demo)
    (demo / "sch" / "patients.csv").write_bytes((demo / "sch" / "patients.csv").read_bytes() + b"\n")
    assert not pseudonym_key.is_bundled_demo(demo)
    (demo / "sch" / "patients.csv").unlink()
    shutil.copy(pseudonym_key.MANIFEST.parent / "landing" / "sch" / "patients.csv", demo / "sch" / "patients.csv")
    assert pseudonym_key.is_bundled_demo(demo)
    (demo / "new_center").mkdir()
    (demo / "new_center" / "patients.csv").write_text("mrn\nX1\n")
    assert not pseudonym_key.is_bundled_demo(demo)


def test_the_committed_manifest_lists_the_committed_demo_files():
    assert pseudonym_key.MANIFEST.read_text() == pseudonym_key.manifest(pseudonym_key.BUNDLED_LANDING)


@pytest.fixture
def delivery(tmp_path, monkeypatch):
    """A small real-looking delivery outside the repository; the warehouse folder it would be built in."""
    landing, centers, warehouse = tmp_path / "landing", tmp_path / "centers", tmp_path / "warehouse"
    write_center(landing, centers, "gzwc", clean_files())
    for name, path in (("LANDING", landing), ("CENTERS", centers), ("WAREHOUSE", warehouse)):
        monkeypatch.setenv(f"BLINA_{name}_DIR", str(path))
    return warehouse


def test_make_run_without_a_key_writes_nothing_and_says_how_to_make_one(delivery, monkeypatch, capsys):
    from orchestration.run import main

    monkeypatch.delenv(KEY_VARIABLE)
    assert main() == 3
    out = capsys.readouterr().out
    assert out.startswith(f"NOT RUN: {KEY_VARIABLE} is not set") and "secrets.token_hex(32)" in out
    assert not (delivery / "warehouse.duckdb").exists()


def test_a_dagster_run_without_a_key_fails_before_any_step_with_the_reason_in_its_log(delivery, monkeypatch):
    from orchestration.definitions import build_definitions

    monkeypatch.delenv(KEY_VARIABLE)
    with dg.DagsterInstance.ephemeral() as instance:
        result = build_definitions().resolve_job_def("warehouse").execute_in_process(
            instance=instance, raise_on_error=False)
        assert not result.success
        assert not result.get_step_success_events() and not result.get_asset_materialization_events()
        logged = [entry.dagster_event.event_specific_data for entry in instance.all_logs(result.run_id)
                  if entry.dagster_event and entry.dagster_event.is_failure]
    assert any(f"{KEY_VARIABLE} is not set" in str(data) for data in logged)
    assert not (delivery / "warehouse.duckdb").exists()


def _subject_ids(database: Path) -> set[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {row[0] for table in ("patients", "cycles", "labs") for row in
                con.execute(f"SELECT DISTINCT subject_id FROM core.{table}").fetchall()}


def test_a_new_key_changes_every_subject_id_together_and_is_recorded_by_its_fingerprint(delivery, monkeypatch):
    from orchestration.definitions import build_definitions

    snapshot = delivery / "analytics.duckdb"
    seen = []
    for secret in ("first secret key", "second secret key"):
        monkeypatch.setenv(KEY_VARIABLE, secret)
        assert build_definitions().resolve_job_def("warehouse").execute_in_process().success
        seen.append((_subject_ids(delivery / "warehouse.duckdb"), _subject_ids(snapshot)))
    (first, first_published), (second, second_published) = seen
    assert first == first_published and second == second_published and len(second) == 2
    assert not first & second  # no subject_id of the old key survives, in the warehouse or the snapshot
    with duckdb.connect(str(snapshot), read_only=True) as con:
        recorded = [row[0] for row in con.execute("SELECT fingerprint FROM audit.pseudonym_keys").fetchall()]
    assert sorted(recorded) == sorted(map(pseudonym_key.fingerprint, ("first secret key", "second secret key")))
    assert not any("secret" in fingerprint for fingerprint in recorded)
