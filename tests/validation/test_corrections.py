"""Corrections through the real pipeline (issue 18): a matching correction lets its row reach core, raw keeps
the delivered value, a correction whose value still fails leaves the row in quarantine saying so, stale and
invalid corrections are listed with their problem and change nothing, and marts.data_queries lists every
query with its status. A center without corrections keeps the same defects in quarantine."""

import shutil

import duckdb
import pytest

from tests.validation.centers import FILES, changed_rows, write_center
from tests.validation.warehouse_job import materialize

pytestmark = pytest.mark.slow  # builds warehouses: make test-all

CYCLES = FILES["cycles"]
# The clean delivery's cycle rows 1 and 2 (tests/validation/centers.py), broken as a site might break them.
DEFECTS = {0: {"end_date": "2021-03-32"}, 1: {"dose_start": "150"}}
ANSWERED = {"answered_by": "site data manager", "answered_on": "2026-12-01", "reason": "checked in the chart"}


def correction(query: str, row: int, field: str, delivered: str, corrected: str, **extra) -> dict:
    return {"query": query, "table": "cycles", "file": CYCLES, "row": row, "field": field,
            "delivered": delivered, "corrected": corrected, **ANSWERED, **extra}


CORRECTIONS = [
    correction("q1", 1, "end_date", "2021-03-32", "2021-03-28"),  # matches: the row passes
    correction("q2", 2, "dose_start", "150", "50"),  # matches, but 50 is no blinatumomab dose either
    correction("q3", 3, "dose_start", "7", "5"),  # stale: row 3 holds 5
    correction("q4", 9, "dose_start", "15", "5"),  # stale: the file has no row 9
    correction("q5", 3, "dose", "5", "15"),  # refused: not a contract field
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{'first': warehouse file after the first run, 'redelivered': after the second}: the second run has both
    centers re-deliver their cycles with row 1 repaired."""
    import yaml

    root = tmp_path_factory.mktemp("corrections")
    warehouse, landing, centers = root / "warehouse", root / "landing", root / "centers"
    for center_id in ("fixed", "unfixed"):
        write_center(landing, centers, center_id, changed_rows("cycles", DEFECTS))
    (root / "corrections").mkdir()
    (root / "corrections" / "fixed.yaml").write_text(
        yaml.safe_dump({"center_id": "fixed", "corrections": CORRECTIONS}, sort_keys=False), encoding="utf-8")
    results = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        materialize(monkeypatch, warehouse, landing, centers)
        shutil.copy(warehouse / "warehouse.duckdb", root / "first.duckdb")
        results["first"] = root / "first.duckdb"
        for center_id in ("fixed", "unfixed"):
            write_center(landing, centers, center_id, changed_rows("cycles", {1: DEFECTS[1]}))
        materialize(monkeypatch, warehouse, landing, centers)
        results["redelivered"] = warehouse / "warehouse.duckdb"
    return results


def query(database, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_each_correction_is_listed_with_its_status(runs):
    rows = query(runs["first"], "SELECT query_id, status, matched_row, problem FROM audit.corrections ORDER BY entry")
    assert [row[:3] for row in rows] == [("q1", "applied", True), ("q2", "applied", True), ("q3", "stale", True),
                                         ("q4", "stale", False), ("q5", "refused", False)]
    problems = {query_id: problem for query_id, _, _, problem in rows}
    assert problems["q1"] is None
    assert f"fixed/{CYCLES} row 3 now holds dose_start '5', not the delivered '7'" in problems["q3"]
    assert f"fixed/{CYCLES} has no row 9 in its current version" in problems["q4"]
    assert problems["q5"].startswith("data/corrections/fixed.yaml entry 5 (query q5): field 'dose' is not in")


def test_a_matching_correction_brings_its_row_to_core_and_raw_keeps_the_delivered_value(runs):
    assert query(runs["first"], "SELECT end_date::VARCHAR, end_date_raw FROM core.cycles"
                                " WHERE center_id = 'fixed' AND source_row = 1") == [("2021-03-28", "2021-03-28")]
    assert query(runs["first"], "SELECT end_date FROM raw.cycles WHERE center_id = 'fixed' AND source_row = 1") == [
        ("2021-03-32",)]
    # The unfixed center's same row stays refused: nothing applies without the center's answer.
    assert query(runs["first"], "SELECT source_row, check_name FROM quarantine.cycles WHERE center_id = 'unfixed'"
                                " ORDER BY source_row") == [(1, "parses:invalid_date"), (2, "isin((5.0, 15.0))")]


def test_a_corrected_value_that_still_fails_stays_in_quarantine_and_says_so(runs):
    [(value, reason)] = query(runs["first"], "SELECT value, reason FROM quarantine.cycles WHERE center_id = 'fixed'")
    assert value == "50"
    assert reason.endswith(" Corrected by the center: dose_start '150' -> '50' (query q2).")


def test_stale_and_refused_corrections_change_nothing(runs):
    assert query(runs["first"], "SELECT dose_start, dose_start_raw FROM core.cycles"
                                " WHERE center_id = 'fixed' AND source_row = 3") == [(5.0, "5")]


def test_every_row_is_still_accounted_for(runs):
    for database in runs.values():
        assert query(database, "SELECT count(*) FROM audit.row_accounting"
                               " WHERE delivered <> passed + quarantined + superseded") == [(0,)]


def test_the_data_queries_mart_lists_each_query_with_its_status(runs):
    sql = ("SELECT center_id, source_row, status, delivered_value, corrected_value, corrections FROM marts.data_queries"
           " WHERE table_name = 'cycles' ORDER BY center_id, source_row, status")
    assert query(runs["first"], sql) == [
        ("fixed", 1, "answered", "end_date: 2021-03-32", "end_date: 2021-03-28", "q1"),
        ("fixed", 2, "open", "dose_start: 150", "dose_start: 50", "q2"),
        ("unfixed", 1, "open", "2021-03-32", None, None),
        ("unfixed", 2, "open", "150", None, None),
    ]
    # Re-delivered with row 1 repaired: the center's own fix supersedes the unfixed query; the fixed center's
    # correction of row 1 no longer matches (stale, in audit.corrections) and its row passes as delivered.
    assert query(runs["redelivered"], sql) == [
        ("fixed", 2, "open", "dose_start: 150", "dose_start: 50", "q2"),
        ("unfixed", 1, "superseded", "2021-03-32", None, None),
        ("unfixed", 2, "open", "150", None, None),
    ]
    assert query(runs["redelivered"], "SELECT status, current_value FROM audit.corrections WHERE query_id = 'q1'") == [
        ("stale", "2021-03-28")]
    assert query(runs["redelivered"], "SELECT end_date::VARCHAR FROM core.cycles"
                                      " WHERE center_id = 'fixed' AND source_row = 1") == [("2021-03-28",)]
