"""The validation gate: every candidate core row passes explicit clinical checks or goes to quarantine.

`gate_centers` gates the rows of the centers it is given (those whose candidates changed; every rule stays
within one subject, and a subject belongs to one center, so the other centers' findings stand), the seven
tables in the order GATING gives: patients, events and cycles first (the others are compared with their rows
that passed), then assessments, adverse events and therapy lines, the lab values last. For one table:

1. its candidate rows of those centers are numbered `_row` by their rowid (no sort: where the order of rows
   matters, the rules order by the delivered file and row): the rows of a table as they are, those of a
   view (the intermediate models) copied into a temporary table first;
2. the row-local checks (failures.py: parse errors, the rules of schemas/ as SQL, future dates) run in one
   DuckDB pass; only their failure rows are kept, in a temporary table;
3. the checks between rows and tables (relations.py) run as DuckDB queries into the same table;
4. the refused rows' `_row`s are kept for the next tables (their passed rows are the rest); the row-local
   failures get their value and problem in words in Python (failures.explain), fetched at most
   `rows_per_batch` failing rows at a time; then each row's findings, its sentence and its row as JSON are
   assembled in DuckDB into temporary tables: most refused rows (refused for their patient or cycle) never
   reach Python;
5. of the table's rows only what later tables read stays (`_release`).

Once every table is gated, the findings replace those centers' rows of the findings tables, in one
transaction, and a candidate table that keeps the gate's verdict (store.MARKS: intermediate.int_labs, whose
core.labs is a view) has every row of those centers marked refused or not, with its warnings.

Python holds one batch of failing rows at a time: memory does not grow with the table; passed rows, and
rows refused only by the rules between rows, never leave DuckDB.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import polars as pl

from assets.landing.store import put_in_raw
from assets.validation import passed as passed_rows
from assets.validation import relations
from assets.validation.corrected import note_corrections
from assets.validation.failures import (
    HARD,
    PARSED,
    RELATIONS,
    ROW,
    RowCheck,
    catalog_rows,
    explain,
    parse_failures_sql,
    row_checks,
    row_failures_sql,
)
from assets.validation.store import (
    KEY,
    MARKS,
    REFUSED,
    SUPERSEDED,
    WARNED,
    append,
    candidate_table,
    ensure_findings_table,
    ensure_superseded_table,
    marked,
    quarantine_table,
    same_row,
    warnings_table,
)
from orchestration.batches import center_batches
from orchestration.catalog import relation_exists
from schemas import TABLES
from schemas.limits import SUBSET_PCT_SUM_MAX
from schemas.reasons import ERROR, WARNING, sentence
from schemas.rules import listed, literal

if TYPE_CHECKING:
    import duckdb

ORDER = ("patients", "events", "cycles", "assessments", "labs", "adverse_events", "therapy_lines")
# The order the gate goes through them: patients, events and cycles first (the other tables are compared with
# their passed rows), the lab values last: their findings, by far the largest (1.1 M refused rows at 1,000,000
# patients with 1 % bad rows), wait in memory for the final transaction, and no other table is gated then.
GATING = (*(table for table in ORDER if table != "labs"), "labs")
# Failing rows handed to Python at once: ~16 columns of a lab row make a 250,000-row batch some 100 MB in
# polars, whatever the delivery's size, while keeping per-batch overhead negligible.
ROWS_PER_BATCH = 250_000
# Candidate rows the cross-row checks (relations.py) read at once, whole centers at a time (each rule stays
# within one subject, so within one center): their groupings and windows hold state per row. At 1,000,000
# patients (45.9 M lab rows) the duplicate check over every center at once spilled past the 2 GB memory
# limit: 17.5 s, against 7.3-8.7 s in batches of one, two or four centers (5.7-23 M rows).
ROWS_PER_RELATION_BATCH = 12_000_000
SEPARATOR = "; "
FAILURES = "gate_failures"
CATALOG = "gate_checks"  # the row-local checks of the table being gated, by number
# The day each gated file's current version was delivered (first landed): a date after it is in the future,
# whatever day the gate runs, so that re-gating a delivery gives the answer it gave (failures.row_checks).
DELIVERED, DELIVERED_ON = "gate_delivered", "delivered_on"
DATE_COLUMN = {"cycles": "start_date", "assessments": "assessment_date", "labs": "sample_date",
               "adverse_events": "onset_date", "events": "event_date", "therapy_lines": "start_date"}
DATE_LABEL = {"cycles": "infusion start", "assessments": "aspiration date", "labs": "sample date",
              "adverse_events": "onset", "events": "event date", "therapy_lines": "line start"}
BASELINES = {"assessments": ("pre_cycle",), "labs": ("baseline",), "adverse_events": ()}


@dataclass(frozen=True)
class Tally:
    """What the gate did with some candidate rows."""

    candidates: int = 0
    quarantined: int = 0
    warned: int = 0
    # center_id -> the fingerprint of the rows it passed (passed.py), what core is compared with
    fingerprints: Mapping[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return self.candidates - self.quarantined


def rows_of(table: str) -> str:
    """The gated centers' candidate rows, numbered `_row` (a temporary view)."""
    return f"gate_{table}"


def copied_of(table: str) -> str:
    """The temporary table of the gated centers' candidate rows, where the source is a view."""
    return f"gate_copied_{table}"


def kept_of(table: str) -> str:
    """The temporary table of the columns of the passed rows of `table` that later tables read (_release)."""
    return f"gate_kept_{table}"


def refused_of(table: str) -> str:
    """The temporary table of the `_row`s of the gated rows of `table` the gate refused."""
    return f"gate_refused_{table}"


def passed_of(table: str) -> str:
    return f"gate_passed_{table}"


def warned_of(table: str) -> str:
    """The temporary table of the `_row`s of the gated rows of `table` the gate passed with warnings, and their
    sentence: what a marked candidate table (store.MARKS) is marked with."""
    return f"gate_warned_{table}"


def staged_of(sink: str) -> str:
    """The temporary table collecting the findings bound for `sink` until every table is gated."""
    return "gate_staged_" + sink.replace(".", "_")


def gate_centers(con: "duckdb.DuckDBPyConnection", centers: Sequence[str], today: date,
                 source: Callable[[str], str] = candidate_table,
                 sinks: tuple[Callable[[str], str], Callable[[str], str]] = (quarantine_table, warnings_table),
                 rows_per_batch: int = ROWS_PER_BATCH, keep_superseded: bool = True) -> dict[str, Tally]:
    """The rows of `source(table)` of each of `centers` through the gate; the centers' findings replace their
    rows in `sinks` (quarantine, warnings), the other centers' rows stay. With `keep_superseded`, a finding
    the gate no longer gives (its row was superseded by a re-delivery, or a rule changed) moves, reason and
    all, to audit.superseded_findings."""
    tallies = dict.fromkeys(ORDER, Tally())
    marks = {table: source(table) for table in ORDER if marked(con, source(table))}
    _delivery_days(con, centers)
    for table in ORDER:
        for sink in sinks:
            con.execute(f"DROP TABLE IF EXISTS {staged_of(sink(table))}")
            ensure_findings_table(con, staged_of(sink(table)))
    # Every center at once: each rule stays within one subject, so gating the centers together is exact, and
    # a table costs its queries once rather than once per center (the demo's gate took 5x as long); only the
    # cross-row checks of a table past ROWS_PER_RELATION_BATCH rows go a batch of centers at a time.
    for table in GATING:
        tallies[table] = _gate(con, table, centers, today, source(table),
                               tuple(staged_of(sink(table)) for sink in sinks), rows_per_batch, table in marks)
        note_corrections(con, table, [staged_of(sink(table)) for sink in sinks])
        _release(con, table)
    # Into the warehouse in one transaction: readers see the old findings or the new ones, and DuckDB writes
    # (and checkpoints) them once rather than batch by batch.
    if keep_superseded:
        ensure_superseded_table(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ORDER:
            for sink in sinks:
                ensure_findings_table(con, sink(table))
                if keep_superseded:
                    con.execute(_SUPERSEDED_SQL.format(sink=sink(table), staged=staged_of(sink(table))),
                                [datetime.now(UTC).replace(tzinfo=None), list(centers)])
                con.execute(f"DELETE FROM {sink(table)} WHERE list_contains(?, center_id)", [list(centers)])
                con.execute(f"INSERT INTO {sink(table)} SELECT * FROM {staged_of(sink(table))}")
        for table, relation in marks.items():
            con.execute(_MARK_SQL.format(relation=relation, refused=refused_of(table), warned=warned_of(table)),
                        [list(centers)])
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    for table in ORDER:  # each table's rows and copy went with _release
        con.execute(f"DROP VIEW IF EXISTS {passed_of(table)}")
        for temporary in (refused_of(table), warned_of(table), kept_of(table),
                          *(staged_of(sink(table)) for sink in sinks)):
            con.execute(f"DROP TABLE IF EXISTS {temporary}")
    for scratch in (FAILURES, CATALOG, DELIVERED):
        con.execute(f"DROP TABLE IF EXISTS {scratch}")
    return tallies


# The centers' findings that the new ones do not repeat (same delivered row, same reason).
_SUPERSEDED_SQL = f"""
INSERT INTO {SUPERSEDED}
SELECT earlier.*, ? AS superseded_at FROM {{sink}} AS earlier
WHERE list_contains(?, earlier.center_id) AND NOT EXISTS (
    SELECT 1 FROM {{staged}} AS now
    WHERE {same_row('now', 'earlier')} AND now.reason = earlier.reason)
"""


# A marked candidate table's verdict on the gated centers' rows, every one of them: a row of a center the run
# rebuilt (NULL) and one the gate judged before alike (~0.3 s for 4.6 M lab rows at 100,000 patients).
_MARK_SQL = f"""
UPDATE {{relation}} AS candidate
SET {REFUSED} = candidate.rowid IN (SELECT {ROW} FROM {{refused}}),
    {WARNED} = (SELECT warned.reason FROM {{warned}} AS warned WHERE warned.{ROW} = candidate.rowid)
WHERE list_contains(?, candidate.center_id)
"""


def _gate(con, table: str, centers: Sequence[str], today: date, source: str, staged: tuple[str, str],
          batch: int, marks: bool = False) -> Tally:
    schema, rows = TABLES[table], rows_of(table)
    # Numbering the rows with a window (row_number) instead took 5 times as long as a copy on 4.9 M lab rows.
    gated = f"list_contains({literal(list(centers))}, center_id)"
    if not _is_table(con, source):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {copied_of(table)} AS SELECT * FROM {source} WHERE {gated}")
        source, gated = copied_of(table), "true"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {rows} AS SELECT rowid AS {ROW}, * FROM {source} WHERE {gated}")
    per_center = con.execute(f"SELECT center_id, count(*) FROM {rows} GROUP BY ALL ORDER BY 1").fetchall()
    candidates = sum(count for _, count in per_center)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FAILURES} ({ROW} BIGINT, step INTEGER, seq BIGINT,"
                " check_name VARCHAR, column_name VARCHAR, value VARCHAR, severity VARCHAR, problem VARCHAR)")
    types = {column: kind for column, kind in con.execute(f"SELECT name, type FROM pragma_table_info('{rows}')")
             .fetchall() if column not in MARKS}
    checks = row_checks(schema, types, today, DELIVERED_ON)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CATALOG} (id INTEGER, step INTEGER, seq BIGINT, check_name VARCHAR,"
                " column_name VARCHAR, severity VARCHAR)")
    con.executemany(f"INSERT INTO {CATALOG} VALUES (?, ?, ?, ?, ?, ?)", catalog_rows(checks))
    # Row-local failures get their value and problem in words later, for the failing rows only.
    for query in (parse_failures_sql(rows, types), row_failures_sql(_with_delivery(rows), checks, CATALOG)):
        con.execute(f"INSERT INTO {FAILURES} SELECT {ROW}, step, seq, check_name, column_name, NULL, severity, NULL"
                    f" FROM ({query})")
    batches = center_batches(per_center, ROWS_PER_RELATION_BATCH)
    for batch_centers in batches:
        # One batch reads the rows as they are: a filter keeping every row would only skew DuckDB's estimates.
        batch_rows = rows
        if len(batches) > 1:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {BATCH} AS SELECT * FROM {rows}"
                        f" WHERE center_id IN ({listed(batch_centers)})")
            batch_rows = BATCH
        for step, query in enumerate(_relations(table, batch_rows, list(types)), start=RELATIONS):
            con.execute(f"INSERT INTO {FAILURES} SELECT {ROW}, {step}, 0, check_name, column_name, value, severity,"
                        f" problem FROM ({query})")
    con.execute(f"DROP VIEW IF EXISTS {BATCH}")
    # A value that did not parse is also NULL: report the parse error, not a second 'is missing'.
    con.execute(f"DELETE FROM {FAILURES} AS missing WHERE check_name = 'not_nullable' AND EXISTS ("
                f"SELECT 1 FROM {FAILURES} AS unparsed WHERE unparsed.{ROW} = missing.{ROW}"
                " AND unparsed.column_name = missing.column_name AND unparsed.check_name LIKE 'parses:%')")
    refused = refused_of(table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {refused} AS SELECT DISTINCT {ROW} FROM {FAILURES}"
                f" WHERE severity = '{ERROR}'")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {passed_of(table)} AS SELECT * FROM {rows}"
                f" WHERE {ROW} NOT IN (SELECT {ROW} FROM {refused})")
    fingerprints = passed_rows.fingerprints(con, passed_of(table), {column: kind for column, kind in types.items()
                                                                     if column != ROW}, centers)
    _word(con, table, checks, batch)

    def get(column: str) -> str:  # a column of the candidate row as SQL text (schemas.reasons.Get)
        return f'CAST(candidate."{column}" AS VARCHAR)' if column in types else "CAST(NULL AS VARCHAR)"

    content = [column for column in types if column != ROW]
    quarantined = _write_findings(con, table, ERROR, staged[0], get, content, batch)
    warned = _write_findings(con, table, WARNING, staged[1], get, content, batch,
                             without=f"SELECT {ROW} FROM {refused}")
    if marks:
        same = same_row("staged", "candidate", [column for column in KEY if column in types])
        # One sentence per row, whatever the key (the mark is a scalar subquery of it).
        con.execute(f"CREATE OR REPLACE TEMP TABLE {warned_of(table)} AS SELECT candidate.{ROW},"
                    f" min(staged.reason) AS reason FROM {rows} AS candidate JOIN {staged[1]} AS staged ON {same}"
                    f" WHERE candidate.{ROW} IN (SELECT {ROW} FROM {FAILURES} WHERE severity = '{WARNING}')"
                    f" GROUP BY candidate.{ROW}")
    return Tally(candidates, quarantined, warned, fingerprints)


BATCH = "gate_batch"  # the candidate rows of the centers of one batch of the cross-row checks


def _release(con, table: str) -> None:
    """Once `table` is gated, of its rows only what the tables gated after it read stays: the columns
    relations.READ_LATER names of its passed rows. The copies of the candidate views (every column of every
    row) held 1.4 GB of the 2 GB memory limit by the time 1,000,000 patients' lab values were gated, which then
    spilled to disk."""
    kept = relations.READ_LATER.get(table)
    if kept:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {kept_of(table)} AS SELECT {', '.join(kept)}"
                    f" FROM {passed_of(table)}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {passed_of(table)} AS SELECT * FROM {kept_of(table)}")
    else:
        con.execute(f"DROP VIEW IF EXISTS {passed_of(table)}")
    con.execute(f"DROP VIEW IF EXISTS {rows_of(table)}")
    con.execute(f"DROP TABLE IF EXISTS {copied_of(table)}")


def _delivery_days(con, centers: Sequence[str]) -> None:
    """DELIVERED: the (UTC) day the current version of each of the centers' files first landed (audit.loads),
    empty where the warehouse keeps no loads (candidates gated on their own): the day of validation then."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {DELIVERED} (center_id VARCHAR, source_file VARCHAR,"
                f" {DELIVERED_ON} DATE)")
    if relation_exists(con, "audit.loads") and relation_exists(con, "raw.current_files"):
        con.execute(f"""
            INSERT INTO {DELIVERED}
            SELECT current.center_id, current.source_file, CAST(min(load.seen_at) AS DATE)
            FROM raw.current_files AS current
            JOIN audit.loads AS load USING (center_id, source_file, file_sha256)
            WHERE {put_in_raw("load")} AND list_contains(?, current.center_id)
            GROUP BY ALL""", [list(centers)])


def _with_delivery(rows: str) -> str:
    """`rows` with the day its file was delivered (DELIVERED_ON, NULL where unknown)."""
    return (f"(SELECT candidate.*, delivered.{DELIVERED_ON} FROM {rows} AS candidate LEFT JOIN {DELIVERED} AS delivered"
            " ON delivered.center_id = candidate.center_id AND delivered.source_file = candidate.source_file)")


def _is_table(con, relation: str) -> bool:
    schema, _, name = relation.rpartition(".")
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                            [schema or "main", name]).fetchall()[0][0])


def _relations(table: str, rows: str, columns: list[str]) -> list[str]:
    """The cross-row and cross-table checks of `table`, against the rows of patients, events and cycles that
    passed (gated before `table`)."""
    queries = relations.duplicates(table, rows, columns)
    column, label = DATE_COLUMN.get(table), DATE_LABEL.get(table)
    if table != "patients":
        queries.append(relations.missing_patient(rows, passed_of("patients")))
    if column:
        queries.append(relations.before_diagnosis(rows, column, label, passed_of("patients")))
    if column:
        # Events: only deaths from event rows without row-level errors may refuse other events.
        deaths_from = (f"(SELECT * FROM {rows} WHERE {ROW} NOT IN (SELECT {ROW} FROM {FAILURES}"
                       f" WHERE step IN ({PARSED}, {HARD})))") if table == "events" else passed_of("events")
        queries.append(relations.after_death(rows, column, label, deaths_from))
    if table == "therapy_lines":
        queries.append(relations.after_death(rows, "end_date", "line end", passed_of("events")))
        queries.append(relations.line_order(rows))
    if table == "cycles":
        queries.append(relations.cycle_order(rows))
    if table in BASELINES:
        queries.append(relations.missing_cycle(rows, passed_of("cycles")))
        timepoint = None if table == "adverse_events" else "timepoint"
        queries += relations.timing_in_cycle(rows, column, label, passed_of("cycles"), BASELINES[table], timepoint)
    if table == "adverse_events":
        queries.append(relations.onset_long_after_cycle(rows, passed_of("cycles")))
    if table == "labs":
        queries.append(relations.subset_percentages(rows, SUBSET_PCT_SUM_MAX))
    return queries


def _word(con, table: str, checks: list[RowCheck], batch: int) -> None:
    """The value and the problem in words of every row-local failure (failures.explain, in Python): only the
    rows with such failures come to Python, at most `batch` of them at a time."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {LOCAL} AS
        SELECT {ROW}, (row_number() OVER (ORDER BY {ROW}) - 1) // {batch} AS batch,
               list({{'step': step, 'seq': seq, 'check_name': check_name, 'column_name': column_name}}) AS _failures
        FROM {FAILURES} WHERE problem IS NULL GROUP BY {ROW}""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {WORDED} ({ROW} BIGINT, step INTEGER, seq BIGINT, value VARCHAR,"
                " problem VARCHAR)")
    [(batches,)] = con.execute(f"SELECT coalesce(max(batch) + 1, 0) FROM {LOCAL}").fetchall()
    for number in range(batches):
        frame = pl.DataFrame(con.sql(f"SELECT candidate.*, local._failures FROM {_with_delivery(rows_of(table))}"
                                     f" AS candidate JOIN {LOCAL} AS local USING ({ROW}) WHERE local.batch = {number}"))
        worded = [(row[ROW], failure["step"], failure["seq"], *explain(TABLES[table], checks, failure, row))
                  for row in frame.iter_rows(named=True) for failure in row["_failures"]]
        append(con, WORDED, pl.DataFrame(worded, orient="row", schema={
            ROW: pl.Int64, "step": pl.Int32, "seq": pl.Int64, "value": pl.String, "problem": pl.String}))
    con.execute(f"UPDATE {FAILURES} AS failure SET value = worded.value, problem = worded.problem"
                f" FROM {WORDED} AS worded"
                f" WHERE failure.{ROW} = worded.{ROW} AND failure.step = worded.step AND failure.seq = worded.seq")
    con.execute(f"DROP TABLE {LOCAL}; DROP TABLE {WORDED}")


LOCAL, WORDED = "gate_local", "gate_worded"


def _write_findings(con, table: str, severity: str, staged: str, get, content: list[str], batch: int,
                    without: str = "") -> int:
    """Append to `staged` one finding per row with failures of `severity` (`without`: rows not to report):
    every check, column, value and problem listed in order, each distinct failure once, the sentence
    (schemas.reasons.sentence) and the row as JSON; in DuckDB, at most `batch` rows a query (the ordered
    aggregates hold a query's failures in memory)."""
    failing = f"severity = '{severity}'" + (f" AND {ROW} NOT IN ({without})" if without else "")
    ranges = con.execute(f"""
        SELECT min({ROW}), max({ROW}) FROM (
            SELECT {ROW}, (row_number() OVER (ORDER BY {ROW}) - 1) // {batch} AS batch
            FROM (SELECT DISTINCT {ROW} FROM {FAILURES} WHERE {failing}))
        GROUP BY batch ORDER BY batch""").fetchall()
    schema, written = TABLES[table], 0
    for first, last in ranges:
        [(inserted,)] = con.execute(_FINDINGS_SQL.format(
            staged=staged, failures=FAILURES, row=ROW, failing=f"{failing} AND {ROW} BETWEEN {first} AND {last}",
            rows=rows_of(table), table=table, severity=severity, separator=SEPARATOR,
            check_name=_listed("check_name"), column_name=_listed("column_name"), value=_listed("value"),
            source_column=get("source_column"), reason=sentence(schema.describe(get), get, _listed("problem")),
            row_json="to_json({" + ", ".join(f"'{column}': candidate.\"{column}\"" for column in content) + "})",
            within=f"candidate.{ROW} BETWEEN {first} AND {last}",
        )).fetchall()
        written += inserted
    return written


def _listed(field: str) -> str:
    """SQL: one field of a row's failures (_FINDINGS_SQL's `failures`), joined by SEPARATOR."""
    return f"array_to_string(list_transform(failures, lambda failure: failure.{field}), '{SEPARATOR}')"


# Each distinct failure once, at its first place (step, then seq: ids and parse positions stay below 10^6);
# then one ordered list per row, which the listed columns read (one sort, not one per column). The list is
# sorted after it is built (structs compare field by field: place, then the texts): an ordered aggregate,
# list(... ORDER BY ...), took 1.7 times as long (2.2 s against 1.3 s per 250,000 refused lab rows).
_FINDINGS_SQL = """
INSERT INTO {staged} BY NAME
WITH failure AS (
    SELECT {row}, check_name, column_name, coalesce(value, '') AS value, problem,
        min(step * 1000000 + seq) AS place
    FROM {failures} WHERE {failing}
    GROUP BY {row}, check_name, column_name, value, problem
),
grouped AS (
    SELECT {row}, count(*) AS n_failures,
        list_sort(list({{'place': place, 'check_name': check_name, 'column_name': column_name, 'value': value,
                         'problem': problem}})) AS failures
    FROM failure GROUP BY {row}
)
SELECT '{table}' AS table_name, candidate.subject_id, candidate.center_id, candidate.source_file,
    candidate.source_row, {source_column} AS source_column,
    {check_name} AS check_name, {column_name} AS column_name, {value} AS value,
    '{severity}' AS severity, grouped.n_failures, {reason} AS reason, {row_json} AS row_json
FROM {rows} AS candidate JOIN grouped USING ({row})
WHERE {within}
"""
