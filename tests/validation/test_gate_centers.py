"""The gate at registry scale: batches and centers change nothing in the findings. Python sees a center's
rows a bounded batch at a time, and re-gating one center leaves every other center's findings rows as they
were (not rewritten identically: the same rows, at the same row ids)."""

from datetime import date

import duckdb
import polars as pl
import pytest

from assets.validation import gate
from assets.validation.gate import ORDER, gate_centers
from assets.validation.store import drop_vanished, quarantine_table, unmarked_centers, warnings_table
from tests.validation.gating import candidates as candidate_table
from tests.validation.gating import gate_frames, load
from tests.validation.rows import SUBJECT, TODAY, candidates, changed, clean

pytestmark = pytest.mark.slow  # builds warehouses: make test-all


def _two_centers(**changes) -> dict[str, pl.DataFrame]:
    """Center aaa as `changes` say, and center bbb: the same rows of another subject, with a bad lab value
    and an exact duplicate of its cycle."""
    first = candidates(**changes)
    second = candidates(labs=changed("labs", 0, value=1200.0, value_raw="1200"),
                        cycles=clean("cycles") + [{**clean("cycles")[0], "source_row": 9}])
    other = {"center_id": pl.lit("bbb"), "subject_id": pl.lit("b" * 64)}
    return {table: pl.concat([first[table], second[table].with_columns(**other)]) for table in ORDER}


def _messy_labs() -> list[dict]:
    """Failures spread over the rows: a count in cells/uL, a missing value, a soft-ceiling warning, and a
    lineage sum above 100 % whose three rows fall into different batches of 2."""
    labs = changed("labs", 0, value=1200.0, value_raw="1200")
    labs[1] = {**labs[1], "value": 90.0, "value_raw": "90"}
    labs[4] = {**labs[4], "value": 9.0, "value_raw": "9"}
    labs[7] = {**labs[7], "value": None, "value_raw": None}
    return labs + [{**clean("labs")[0], "source_row": 20}]  # a repeated measurement: a warning


def test_batches_of_two_rows_give_the_findings_of_one_batch():
    events = clean("events") + [{**clean("events")[0], "source_row": 2, "event_type": "hsct",
                                 "event_date": date(2030, 1, 1)}]
    frames = candidates(labs=_messy_labs(), events=events,
                        assessments=changed("assessments", 1, mrd_pct=150.0, assessment_date=date(2021, 2, 1)))
    whole, batched = gate_frames(frames, TODAY), gate_frames(frames, TODAY, rows_per_batch=2)
    assert whole["labs"].quarantine.height == 5 and whole["labs"].warnings.height == 2
    for table in ORDER:
        assert batched[table].quarantine.equals(whole[table].quarantine), table
        assert batched[table].warnings.equals(whole[table].warnings), table
        assert batched[table].passed.equals(whole[table].passed), table


def test_cross_row_checks_center_by_center_give_the_findings_of_every_center_at_once(monkeypatch):
    # Both centers with a repeated cycle and a repeated lab value (cross-row checks), bbb also a bad value.
    doubled = {"cycles": clean("cycles") + [{**clean("cycles")[0], "source_row": 9}], "labs": _messy_labs()}
    frames = _two_centers(**doubled)
    whole = gate_frames(frames, TODAY)
    monkeypatch.setattr(gate, "ROWS_PER_RELATION_BATCH", 1)  # a batch per center
    by_center = gate_frames(frames, TODAY)
    assert {row["center_id"] for row in whole["cycles"].quarantine.iter_rows(named=True)} == {"aaa", "bbb"}
    assert whole["labs"].warnings.filter(pl.col("check_name").str.contains("duplicate")).height == 1
    for table in ORDER:
        assert by_center[table].quarantine.equals(whole[table].quarantine), table
        assert by_center[table].warnings.equals(whole[table].warnings), table


def _findings(con: duckdb.DuckDBPyConnection, center: str) -> dict[str, list[tuple]]:
    """Every findings row of `center`, with its DuckDB row id: a rewritten row gets a new one."""
    return {relation: con.execute(f"SELECT rowid, * FROM {relation} WHERE center_id = ? ORDER BY rowid",
                                  [center]).fetchall()
            for table in ORDER for relation in (quarantine_table(table), warnings_table(table))}


def test_gating_one_center_leaves_the_other_centers_findings_untouched():
    with duckdb.connect() as con:
        load(con, _two_centers())
        gate_centers(con, ["aaa", "bbb"], TODAY, source=candidate_table)
        before = _findings(con, "bbb")
        assert len(before["quarantine.labs"]) == 1 and len(before["quarantine.cycles"]) == 1
        assert _findings(con, "aaa")["quarantine.labs"] == []

        load(con, _two_centers(labs=changed("labs", 1, value=-5.0, value_raw="-5")))
        gate_centers(con, ["aaa"], TODAY, source=candidate_table)
        assert _findings(con, "bbb") == before
        [(reason,)] = con.execute("SELECT reason FROM quarantine.labs WHERE center_id = 'aaa'").fetchall()
        assert reason.startswith(f"Lab value cd3_pct (blood, cycle 1 baseline) of subject {SUBJECT[:8]}…")


def test_a_superseded_rows_findings_keep_their_reason_in_the_audit():
    with duckdb.connect() as con:
        load(con, _two_centers(labs=changed("labs", 1, value=-5.0, value_raw="-5")))
        gate_centers(con, ["aaa", "bbb"], TODAY, source=candidate_table)
        [(refused,)] = con.execute("SELECT reason FROM quarantine.labs WHERE center_id = 'aaa'").fetchall()
        load(con, _two_centers())  # aaa re-delivers its labs corrected
        gate_centers(con, ["aaa"], TODAY, source=candidate_table)
        assert con.execute("SELECT count(*) FROM quarantine.labs WHERE center_id = 'aaa'").fetchone() == (0,)
        assert con.execute("SELECT center_id, source_row, reason FROM audit.superseded_findings").fetchall() == [
            ("aaa", 2, refused)]
        gate_centers(con, ["aaa", "bbb"], TODAY, source=candidate_table)  # nothing changed: nothing more kept
        assert con.execute("SELECT count(*) FROM audit.superseded_findings").fetchone() == (1,)


def test_a_center_that_no_longer_delivers_loses_its_findings():
    with duckdb.connect() as con:
        load(con, _two_centers(labs=changed("labs", 1, value=-5.0, value_raw="-5")))
        gate_centers(con, ["aaa", "bbb"], TODAY, source=candidate_table)
        kept = _findings(con, "aaa")
        assert len(kept["quarantine.labs"]) == 1
        load(con, candidates(labs=changed("labs", 1, value=-5.0, value_raw="-5")))  # center bbb is gone
        for table in ORDER:
            drop_vanished(con, (quarantine_table(table), warnings_table(table)), candidate_table(table))
        assert all(rows == [] for rows in _findings(con, "bbb").values())
        assert _findings(con, "aaa") == kept


def test_a_gated_center_is_not_looked_up_again():
    with duckdb.connect() as con:
        load(con, _two_centers(labs=changed("labs", 1, value=-5.0, value_raw="-5")))
        gate_centers(con, ["aaa", "bbb"], TODAY, source=candidate_table)
        kept = {center: _findings(con, center) for center in ("aaa", "bbb")}
        # A candidate table that fails for any center looked up: the gated ones are not.
        con.execute("CREATE VIEW no_candidates AS SELECT 'x' AS center_id WHERE error('looked up')")
        for table in ORDER:
            drop_vanished(con, (quarantine_table(table), warnings_table(table)), "no_candidates", ["aaa", "bbb"])
        assert {center: _findings(con, center) for center in ("aaa", "bbb")} == kept


def _marks(con: duckdb.DuckDBPyConnection) -> dict[tuple, tuple]:
    """(center, row, column) -> (refused, warnings) of every lab candidate."""
    return {row[:3]: row[3:] for row in con.execute(
        "SELECT center_id, source_row, source_column, refused, warnings FROM candidates.labs").fetchall()}


def test_a_candidate_table_that_keeps_the_verdict_has_every_row_of_the_gated_centers_marked():
    """As intermediate.int_labs (core.labs is the view of its rows marked not refused): each row of the gated
    centers is marked refused exactly when quarantined, with its warnings' sentence; another center's marks
    stay; a center with a row not judged yet (a rebuild) is one to gate again."""
    with duckdb.connect() as con:
        load(con, _two_centers(labs=_messy_labs()))
        con.execute("ALTER TABLE candidates.labs ADD COLUMN refused BOOLEAN")
        con.execute("ALTER TABLE candidates.labs ADD COLUMN warnings VARCHAR")
        every_table = [candidate_table(table) for table in ORDER]
        assert unmarked_centers(con, every_table) == ["aaa", "bbb"]
        gate_centers(con, ["aaa", "bbb"], TODAY, source=candidate_table)
        assert unmarked_centers(con, every_table) == []
        refused = {row for row in con.execute("SELECT center_id, source_row, source_column FROM quarantine.labs")
                   .fetchall()}
        warned = {row[:3]: row[3] for row in con.execute(
            "SELECT center_id, source_row, source_column, reason FROM audit.labs_warnings").fetchall()}
        assert {key[0] for key in refused} == {"aaa", "bbb"} and {key[0] for key in warned} == {"aaa"}
        expected = {key: (key in refused, warned.get(key)) for key in _marks(con)}
        assert _marks(con) == expected
        # The verdict is not part of the candidate: the refused rows' JSON leaves it out.
        assert not con.execute("SELECT count(*) FROM quarantine.labs WHERE row_json LIKE '%refused%'"
                               " OR row_json LIKE '%warnings%'").fetchone()[0]

        # aaa's labs rebuilt (not judged yet); bbb's marks replaced by ones the gate would not give.
        con.execute("UPDATE candidates.labs SET refused = NULL, warnings = NULL WHERE center_id = 'aaa'")
        con.execute("UPDATE candidates.labs SET warnings = 'left as it was' WHERE center_id = 'bbb'")
        assert unmarked_centers(con, every_table) == ["aaa"]
        gate_centers(con, ["aaa"], TODAY, source=candidate_table)
        assert _marks(con) == {key: (expected[key][0], "left as it was") if key[0] == "bbb" else value
                               for key, value in expected.items()}


def test_a_gate_that_fails_half_way_leaves_every_finding_as_it_was(monkeypatch):
    """A center's findings are replaced all at once: a failure after every table's new findings were found
    leaves its earlier findings, and every other center's, as they were."""
    with duckdb.connect() as con:
        load(con, _two_centers(labs=_messy_labs()))
        gate_centers(con, ["aaa", "bbb"], TODAY, source=candidate_table)
        before = {center: _findings(con, center) for center in ("aaa", "bbb")}
        assert before["aaa"]["quarantine.labs"] and before["bbb"]["quarantine.cycles"]
        note = gate.note_corrections

        def failing(con, table, findings):
            note(con, table, findings)
            if table == gate.GATING[-1]:
                raise duckdb.OutOfMemoryException("out of memory")

        monkeypatch.setattr(gate, "note_corrections", failing)
        load(con, _two_centers())  # aaa's labs corrected: its lab findings would go
        with pytest.raises(duckdb.OutOfMemoryException):
            gate_centers(con, ["aaa"], TODAY, source=candidate_table)
        assert {center: _findings(con, center) for center in ("aaa", "bbb")} == before
        assert con.execute("SELECT count(*) FROM audit.superseded_findings").fetchone() == (0,)


def test_regating_one_center_leaves_the_correction_notes_of_another_as_they_were():
    """A finding on a corrected row ends with the correction (corrected.py); gating another center again
    does not append it a second time."""
    with duckdb.connect() as con:
        load(con, _two_centers())
        [(source_file, source_row)] = con.execute(
            "SELECT source_file, source_row FROM candidates.labs WHERE center_id = 'bbb' AND value = 1200").fetchall()
        con.execute("CREATE SCHEMA audit; CREATE TABLE audit.corrections AS SELECT 'bbb' AS center_id,"
                    " ? AS source_file, ? AS source_row, NULL::VARCHAR AS source_column, 'labs' AS table_name,"
                    " 'value' AS field, '1.2' AS delivered_value, '1200' AS corrected_value, 'Q-1' AS query_id,"
                    " 'applied' AS status", [source_file, source_row])
        gate_centers(con, ["aaa", "bbb"], TODAY, source=candidate_table)
        [(reason,)] = con.execute("SELECT reason FROM quarantine.labs WHERE center_id = 'bbb'").fetchall()
        assert reason.endswith(" Corrected by the center: value '1.2' -> '1200' (query Q-1).")
        gate_centers(con, ["aaa"], TODAY, source=candidate_table)
        assert con.execute("SELECT reason FROM quarantine.labs WHERE center_id = 'bbb'").fetchall() == [(reason,)]
