"""make run's Dagster instance (orchestration.run.instance_of_run): the one at DAGSTER_HOME, created as `make ui`
creates it when the folder is new (a fresh clone), so that `make ui` shows make run's history; in memory only
without DAGSTER_HOME."""

import filecmp

from orchestration import settings


def test_a_new_dagster_home_gets_the_projects_instance_config_and_keeps_the_runs(tmp_path, monkeypatch):
    from orchestration.run import instance_of_run

    home = tmp_path / "fresh_clone" / ".dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with instance_of_run() as instance:
        assert not instance.is_ephemeral
        assert instance.root_directory == str(home)
        # One run at a time, as the UI's and the daemon's runs: orchestration/dagster.yaml as the Makefile copies it.
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
    assert filecmp.cmp(home / "dagster.yaml", settings.PROJECT_ROOT / "orchestration" / "dagster.yaml", shallow=False)


def test_without_dagster_home_the_run_is_kept_in_memory(monkeypatch):
    from orchestration.run import instance_of_run

    monkeypatch.delenv("DAGSTER_HOME")
    with instance_of_run() as instance:
        assert instance.is_ephemeral
