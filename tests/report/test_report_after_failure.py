"""SLOW: `make run` (orchestration.run.main) after a mart's step failed: the run exits 1, and the study report
is written again by a run of the `report` job, naming the failed mart and its error instead of keeping the
page of the run before."""

import pytest

from tests.validation.centers import changed, clean_files, write_center

pytestmark = pytest.mark.slow


def test_a_failed_mart_is_named_on_the_page_written_after_the_run(tmp_path, monkeypatch, capsys):
    import assets.marts.cohort_characteristics as cohort
    import orchestration.definitions
    from assets.report.assets import report_path
    from orchestration import run

    landing, centers, warehouse = tmp_path / "landing", tmp_path / "centers", tmp_path / "warehouse"
    write_center(landing, centers, "gzwc", clean_files())
    for name, path in (("LANDING", landing), ("CENTERS", centers), ("WAREHOUSE", warehouse)):
        monkeypatch.setenv(f"BLINA_{name}_DIR", str(path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # an in-memory instance, as without make
    monkeypatch.setattr(orchestration.definitions, "defs", orchestration.definitions.build_definitions())
    assert run.main() == 0
    page = report_path(warehouse / "warehouse.duckdb", "multicenter")
    first = page.read_text(encoding="utf-8")
    assert "failed in run" not in first

    def broken(con, tests):
        raise ValueError("Table 1 cannot be built: a new sex code 'X'")

    monkeypatch.setattr(cohort, "table1", broken)
    write_center(landing, centers, "gzwc", changed("patients", 0, sex="F"))  # Table 1's inputs change
    assert run.main() == 1
    capsys.readouterr()
    html = page.read_text(encoding="utf-8")
    assert html != first
    assert "marts.cohort_characteristics failed in run" in html
    assert "ValueError: Table 1 cannot be built: a new sex code" in html
    assert "Cohort counts" in html  # the rest of the page
