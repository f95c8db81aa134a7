"""Free text never reaches analysts unless the center reviewed it: a name and a record number typed into a
follow-up note and an adverse-event description stay in core (for the data managers) and are withheld from
the snapshot, its quarantine row_json included, until the center's YAML marks the field reviewed_safe, and
then only for that center. A refused file's SHA-256 is not published either."""

import duckdb
import pytest
import yaml

from assets.landing.center_config import load_centers
from tests.validation.centers import changed_rows, write_center

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

NOTE = "seen by Dr Zebulon Quartermaine, MRN-NOTE-4471"


def _build() -> None:
    from orchestration.definitions import build_definitions
    from orchestration.run import built_everything

    assert built_everything(build_definitions().resolve_job_def("warehouse").execute_in_process(raise_on_error=False))


def _found(database, sql: str) -> list:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def _texts_with_note(database) -> set[str]:
    """schema.table.column of every text column holding NOTE's record number."""
    with duckdb.connect(str(database), read_only=True) as con:
        columns = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns()"
                              " WHERE data_type = 'VARCHAR' AND schema_name NOT IN ('information_schema', 'pg_catalog')"
                              " AND table_oid IN (SELECT table_oid FROM duckdb_tables())").fetchall()
        return {f"{s}.{t}.{c}" for s, t, c in columns
                if con.execute(f'SELECT count(*) FROM "{s}"."{t}"'
                               f' WHERE "{c}" LIKE \'%MRN-NOTE-4471%\'').fetchall()[0][0]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("free_text")
    landing, centers, warehouse = root / "landing", root / "centers", root / "warehouse"
    noted = {**changed_rows("events", {0: {"detail": NOTE}, 1: {"death_cause": NOTE, "event_date": "1850-01-01"}}),
             **changed_rows("adverse_events", {0: {"description": NOTE}}),
             **changed_rows("therapy_lines", {0: {"detail": NOTE}})}
    for center in ("notes", "other"):
        write_center(landing, centers, center, noted)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, path in (("LANDING", landing), ("CENTERS", centers), ("WAREHOUSE", warehouse)):
            monkeypatch.setenv(f"BLINA_{name}_DIR", str(path))
        _build()
        before = _texts_with_note(warehouse / "analytics.duckdb"), _texts_with_note(warehouse / "warehouse.duckdb")
        # The center reviews its follow-up and therapy-line notes: they are published, for that center only.
        config = yaml.safe_load((centers / "notes.yaml").read_text())
        config["tables"]["events"]["reviewed_safe"] = ["detail"]
        config["tables"]["therapy_lines"]["reviewed_safe"] = ["detail"]
        (centers / "notes.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        _build()
    return warehouse, before


def test_free_text_stays_in_core_and_out_of_the_snapshot(built):
    warehouse, (published, kept) = built
    assert {"core.events.detail", "core.adverse_events.description", "quarantine.events.row_json",
            "core.therapy_lines.detail"} <= kept
    assert published == set()  # the marts included: marts.treatment_timeline carries no unreviewed detail


def test_the_snapshot_says_what_it_withheld(built):
    warehouse, _ = built
    snapshot = warehouse / "analytics.duckdb"
    assert _found(snapshot, "SELECT * FROM audit.withheld_columns ORDER BY ALL") == [
        ("adverse_events", "description", ""), ("events", "death_cause", ""), ("events", "detail", "notes"),
        ("therapy_lines", "detail", "notes")]
    [(comment,)] = _found(snapshot, "SELECT comment FROM duckdb_columns() WHERE schema_name = 'core'"
                                    " AND table_name = 'events' AND column_name = 'detail'")
    assert "withheld from this snapshot" in comment and "reviewed_safe: notes" in comment


def test_a_reviewed_field_is_published_for_its_center_only(built):
    warehouse, _ = built
    snapshot = warehouse / "analytics.duckdb"
    assert _found(snapshot, "SELECT center_id, detail FROM core.events WHERE detail IS NOT NULL") == [("notes", NOTE)]
    assert _found(snapshot, "SELECT count(description) FROM core.adverse_events") == [(0,)]
    assert _found(snapshot, "SELECT center_id, detail FROM core.therapy_lines WHERE detail IS NOT NULL") == [
        ("notes", NOTE)]
    # The mart recomputed when the markings changed (its input version holds them), for that center only.
    assert _found(snapshot, "SELECT center_id, detail FROM marts.treatment_timeline WHERE detail IS NOT NULL") == [
        ("notes", NOTE)]
    # The quarantined event (dated 1850) of the other center: its death_cause note removed from row_json.
    [(row_json,)] = _found(snapshot, "SELECT row_json FROM quarantine.events WHERE center_id = 'other'")
    assert "death_cause" not in row_json and "event_type" in row_json


def test_reviewed_safe_names_only_free_text_fields(tmp_path):
    write_center(tmp_path / "landing", tmp_path / "centers", "typo", {}, {"events": {"reviewed_safe": ["event_date"]}})
    errors: list = []
    assert load_centers(tmp_path / "centers", errors=errors) == {}
    assert "reviewed_safe lists ['event_date'], which are not free-text fields of events" in str(errors[0])


def test_a_refused_files_fingerprint_stays_in_the_warehouse(tmp_path, monkeypatch):
    landing, centers, warehouse = tmp_path / "landing", tmp_path / "centers", tmp_path / "warehouse"
    write_center(landing, centers, "refused", {"patients.csv": b"this is not the patients table\n"})
    for name, path in (("LANDING", landing), ("CENTERS", centers), ("WAREHOUSE", warehouse)):
        monkeypatch.setenv(f"BLINA_{name}_DIR", str(path))
    _build()
    query = "SELECT file_sha256 IS NULL FROM audit.loads WHERE source_file = 'patients.csv'"
    assert _found(warehouse / "warehouse.duckdb", query) == [(False,)]
    assert _found(warehouse / "analytics.duckdb", query) == [(True,)]
    assert _found(warehouse / "analytics.duckdb", "SELECT count(*) FROM audit.loads WHERE outcome = 'loaded'"
                                                  " AND file_sha256 IS NOT NULL") == [(6,)]


def test_the_study_reports_quote_no_free_text(built):
    """The pages leave the warehouse (a USB stick, an e-mail): no note's words, reviewed or not."""
    warehouse, _ = built
    pages = sorted((warehouse / "report").glob("*.html"))
    assert [page.name for page in pages] == ["case_series.html", "multicenter.html"]
    assert [page.name for page in pages if "MRN-NOTE-4471" in page.read_text(encoding="utf-8")] == []
