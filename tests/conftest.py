"""Every test's deliveries are synthetic: they opt in to the public pseudonym key (orchestration/pseudonym_key.py),
as a user does with BLINA_PSEUDONYM_KEY=demo. Tests of the refusal remove the variable themselves.

The tiers: `make test` runs the fast one (every test not marked `slow` or `e2e`, for every commit);
`make test-all` (CI, .ci/run) runs them all. A module whose tests build warehouses (dbt, the validation gate,
Dagster runs) says `pytestmark = pytest.mark.slow`; a test reading the marts' demo warehouse is slow by its
fixture, which materializes the whole asset graph once per session."""

import os
import shutil
import tempfile

import pytest

# The session fixtures that build the demo warehouse (tests/marts/conftest.py).
WAREHOUSE_FIXTURES = frozenset({"demo_build", "demo_warehouse"})
# The session's scratch Dagster instance (pytest_configure), removed when the session ends.
DAGSTER_HOME = pytest.StashKey[str]()


def pytest_configure(config) -> None:
    os.environ.setdefault("BLINA_PSEUDONYM_KEY", "demo")
    # `make test` exports DAGSTER_HOME=.dagster_home (the Makefile's, for `make run` and `make ui`): a test that
    # runs orchestration.run records its runs in a scratch instance instead, never in the repository's.
    os.environ["DAGSTER_HOME"] = config.stash[DAGSTER_HOME] = tempfile.mkdtemp(prefix="blina_dagster_home_")


def pytest_unconfigure(config) -> None:
    if DAGSTER_HOME in config.stash:
        shutil.rmtree(config.stash[DAGSTER_HOME], ignore_errors=True)


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if WAREHOUSE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_addoption(parser) -> None:
    parser.addoption("--no-skips", action="store_true",
                     help="a skipped test fails the run (make test-all, CI): nothing passes by not running")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if config.getoption("--no-skips") and skipped:
        terminalreporter.write_line(f"FAILED: {len(skipped)} test(s) skipped under --no-skips", red=True)


def pytest_sessionfinish(session, exitstatus) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if session.config.getoption("--no-skips") and reporter and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
