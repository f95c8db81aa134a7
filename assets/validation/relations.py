"""Checks that need other rows or other tables, as DuckDB queries feeding the gate's failure rows.

Each function returns one SELECT of failure rows (_row, check_name, column_name, value, severity, problem)
over `rows`, the relation of the gated centers' candidate rows of a table numbered by `_row` (gate.py). `patients`,
`cycles` and `events` name the rows of those tables that already passed the gate, so a row is only ever
compared with validated rows: the gate runs patients, events, cycles, then everything else. Every rule stays
within one subject, and a subject belongs to one center, so gating only some centers is exact.
"""

from assets.validation.failures import ROW
from schemas.reasons import ERROR, WARNING

ADVERSE_EVENT_WINDOW_DAYS = 30  # treatment-emergent: up to 30 days after the last infusion (admiral)
ONE_PER_PATIENT = ("death", "last_contact")
# Rows with the same key are the same fact delivered twice. Exact copies double-count it (the later copies are
# quarantined); copies that disagree are quarantined together where no one value can be trusted (ERROR) and
# kept as repeated measurements where several are legitimate (WARNING).
DUPLICATE_KEYS = {
    "patients": (("subject_id",), ERROR),
    "cycles": (("subject_id", "cycle_no"), ERROR),
    "adverse_events": (("subject_id", "cycle_no", "term"), ERROR),
    "events": (("subject_id", "event_type", "event_day"), ERROR),
    "assessments": (("subject_id", "cycle_no", "timepoint", "assessment_date"), WARNING),
    "labs": (("subject_id", "cycle_no", "timepoint", "specimen", "analyte", "sample_date"), WARNING),
    "therapy_lines": (("subject_id", "line_no"), ERROR),
}
NOT_CONTENT = ("source_file", "source_row", "source_column", ROW)
# The columns of a table's passed rows that the checks of the tables gated after it read: all the gate keeps of
# the table once it is gated.
READ_LATER = {
    "patients": ("subject_id", "diagnosis_date"),
    "events": ("subject_id", "event_type", "event_date"),
    "cycles": ("subject_id", "cycle_no", "start_date", "end_date"),
}


def _text(sql: str) -> str:
    return f"CAST({sql} AS VARCHAR)"


def _quoted(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _failures(relation: str, check: str, column: str, severity: str, problem: str, where: str = "true") -> str:
    """Failure rows for the rows of `relation` that satisfy `where`; `problem` is a SQL text expression."""
    return (f"SELECT {ROW}, '{check}' AS check_name, '{column}' AS column_name, {_text(column)} AS value,"
            f" '{severity}' AS severity, {problem} AS problem FROM {relation} WHERE {where}")


def duplicates(table: str, rows: str, columns: list[str]) -> list[str]:
    """Exact copies after the first (no_duplicate) and copies that disagree (no_conflicting_duplicate): one
    query, as a row is one or the other."""
    if table not in DUPLICATE_KEYS:
        return []
    key, conflict_severity = DUPLICATE_KEYS[table]
    content = [column for column in columns if column not in NOT_CONTENT]
    # One death and one last contact per patient, whatever their dates.
    event_day = (f", CASE WHEN event_type IN ({_quoted(ONE_PER_PATIENT)}) THEN NULL ELSE event_date END AS event_day"
                 if table == "events" else "")
    by = ", ".join(key)
    column = key[-1] if table != "events" else "event_type"
    needed = dict.fromkeys((*key, column))  # only what the windows read
    # File order (wide labs: then column order); `_row` only makes the order total.
    delivery_order = ", ".join(f"{name} NULLS FIRST" for name in ("source_file", "source_row", "source_column", ROW)
                               if name in columns or name == ROW)
    # The rows whose key repeats (few; a grouping finds them, cheaper than a window over every row); among
    # them the first copy in file order; the copies agree when their contents hash alike (min = max). The
    # grouping over every row is on one 64-bit hash of the key (half the time of the key's own columns on
    # 4.4 M lab rows); a hash two keys share only lets both through to the grouping on the key itself.
    every_keyed = f"(SELECT *{event_day} FROM {rows} WHERE subject_id IS NOT NULL)"
    keyed_rows = (f"(SELECT * FROM {every_keyed} WHERE hash({by}) IN (SELECT hash({by}) AS key_hash"
                  f" FROM {every_keyed} GROUP BY key_hash HAVING count(*) > 1))")
    same_key = " AND ".join(f"candidate.{name} IS NOT DISTINCT FROM repeated.{name}" for name in key)
    keyed = f"""(
        SELECT *,
            first_value(source_file) OVER copies AS first_file,
            first_value(source_row) OVER copies AS first_row,
            {ROW} = first_value({ROW}) OVER copies AS is_first,
            min(content_hash) OVER copies_of <> max(content_hash) OVER copies_of AS disagree
        FROM (SELECT {ROW},
                     {", ".join(name for name in ("source_file", "source_row", "source_column") if name in columns)},
                     {", ".join(f"candidate.{name}" for name in needed)}, n_copies,
                     hash({", ".join(f"candidate.{name}" for name in content)}) AS content_hash
              FROM {keyed_rows} AS candidate
              JOIN (SELECT {by}, count(*) AS n_copies FROM {keyed_rows} GROUP BY ALL HAVING count(*) > 1) AS repeated
              ON {same_key})
        WINDOW copies_of AS (PARTITION BY {by}),
            copies AS (PARTITION BY {by} ORDER BY {delivery_order})
        QUALIFY disagree OR NOT is_first
    )"""
    first = "first_file || ' row ' || first_row"
    kept = ("none is kept until the center corrects them" if conflict_severity == ERROR
            else "all are kept as repeated measurements")
    return [f"SELECT {ROW},"
            " CASE WHEN disagree THEN 'no_conflicting_duplicate' ELSE 'no_duplicate' END AS check_name,"
            f" '{column}' AS column_name, {_text(column)} AS value,"
            f" CASE WHEN disagree THEN '{conflict_severity}' ELSE '{ERROR}' END AS severity,"
            f" CASE WHEN disagree THEN 'delivered ' || n_copies || ' times with different values (first at ' || {first}"
            f" || '); {kept}' ELSE 'repeats ' || {first} || ' exactly; the first copy is kept' END AS problem"
            f" FROM {keyed}"]


def missing_patient(rows: str, patients: str) -> str:
    """A row of a subject without a validated patient row: its patient was quarantined or never delivered."""
    return _failures(rows, "patient_in_core", "subject_id", ERROR,
                     "'its patient is not in core (quarantined, see quarantine.patients, or never delivered)'",
                     f"subject_id IS NOT NULL AND subject_id NOT IN (SELECT subject_id FROM {patients}"
                     " WHERE subject_id IS NOT NULL)")


def missing_cycle(rows: str, cycles: str) -> str:
    """A row of a cycle that is not in core: the cycle was quarantined or never delivered. An anti join: the
    correlated NOT EXISTS it replaces took 7 times as long on 4.4 M lab rows."""
    orphans = (f"(SELECT * FROM {rows} AS candidate ANTI JOIN {cycles} AS cycle USING (subject_id, cycle_no)"
               " WHERE candidate.cycle_no IS NOT NULL AND candidate.subject_id IS NOT NULL)")
    return _failures(orphans, "cycle_in_core", "cycle_no", ERROR,
                     "'cycle ' || cycle_no || ' of this subject is not in core (quarantined, see quarantine.cycles,"
                     " or never delivered)'")


def before_diagnosis(rows: str, column: str, label: str, patients: str) -> str:
    dated = (f"(SELECT candidate.*, patient.diagnosis_date AS diagnosed FROM {rows} AS candidate"
             f" JOIN {patients} AS patient USING (subject_id))")
    return _failures(dated, "after_diagnosis", column, ERROR,
                     f"'{label} ' || {column} || ' is before the diagnosis on ' || diagnosed", f"{column} < diagnosed")


def after_death(rows: str, column: str, label: str, deaths_from: str) -> str:
    """Death comes last: nothing is dated after the subject's first recorded death (a last contact on the day
    of death is allowed). `deaths_from`: event rows whose deaths count."""
    deaths = (f"(SELECT subject_id, min(event_date) AS death_date FROM {deaths_from}"
              " WHERE event_type = 'death' GROUP BY subject_id)")
    late = f"(SELECT candidate.*, death.death_date FROM {rows} AS candidate JOIN {deaths} AS death USING (subject_id))"
    return _failures(late, "death_last", column, ERROR,
                     f"'{label} ' || {column} || ' is after the subject''s death on ' || death_date",
                     f"{column} > death_date")


def _after_previous(rows: str, number: str, previous_date: str, where: str = "true") -> str:
    """`rows` with the `previous_date` and number of the subject's previous row by `number` (file order breaks
    ties): `previous_date`, `previous_no`."""
    return (f"(SELECT *, lag({previous_date}) OVER previous AS previous_date,"
            f" lag({number}) OVER previous AS previous_no"
            f" FROM {rows} WHERE subject_id IS NOT NULL AND {number} IS NOT NULL AND {where}"
            f" WINDOW previous AS (PARTITION BY subject_id ORDER BY {number}, source_file, source_row, {ROW}))")


def cycle_order(rows: str) -> str:
    """Cycles follow one another: a cycle starts after the previous one (by number) ended."""
    return _failures(_after_previous(rows, "cycle_no", "end_date"), "cycles_in_order", "start_date", ERROR,
                     "'cycle ' || cycle_no || ' starts on ' || start_date || ', before cycle ' || previous_no"
                     " || ' ended on ' || previous_date", "start_date <= previous_date")


def line_order(rows: str) -> str:
    """Therapy lines are numbered in the order they were given: a line that starts before the previous dated
    line (by number) started is numbered or dated wrongly, but which cannot be told (a warning). Undated
    lines are not compared."""
    return _failures(_after_previous(rows, "line_no", "start_date", "start_date IS NOT NULL"), "lines_in_order",
                     "start_date", WARNING, "'line ' || line_no || ' starts on ' || start_date || ', before line '"
                     " || previous_no || ' started on ' || previous_date", "start_date < previous_date")


def _in_cycle(rows: str, cycles: str) -> str:
    return (f"(SELECT candidate.*, cycle.start_date AS cycle_start, cycle.end_date AS cycle_end"
            f" FROM {rows} AS candidate"
            f" JOIN {cycles} AS cycle USING (subject_id, cycle_no))")


def timing_in_cycle(rows: str, column: str, label: str, cycles: str, before_start_ok: tuple[str, ...],
                    timepoint: str | None = "timepoint") -> list[str]:
    """Rows that follow a cycle cannot be dated before it started; baselines cannot be after it ended."""
    dated = _in_cycle(rows, cycles)
    is_baseline = f"{timepoint} IN ({_quoted(before_start_ok)})" if timepoint and before_start_ok else "false"
    return [
        _failures(dated, "after_cycle_start", column, ERROR,
                  f"'{label} ' || {column} || ' is before cycle ' || cycle_no || ' started on ' || cycle_start",
                  f"NOT ({is_baseline}) AND {column} < cycle_start"),
        _failures(dated, "baseline_before_cycle_end", column, ERROR,
                  f"'baseline {label} ' || {column} || ' is after cycle ' || cycle_no || ' ended on ' || cycle_end",
                  f"({is_baseline}) AND {column} > cycle_end"),
    ]


def onset_long_after_cycle(rows: str, cycles: str) -> str:
    return _failures(_in_cycle(rows, cycles), "treatment_emergent", "onset_date", WARNING,
                     f"'onset ' || onset_date || ' is more than {ADVERSE_EVENT_WINDOW_DAYS} days after cycle '"
                     " || cycle_no || ' ended on ' || cycle_end",
                     f"onset_date > cycle_end + {ADVERSE_EVENT_WINDOW_DAYS}")


def subset_percentages(rows: str, ceiling: float) -> str:
    """T (CD3), B (CD19) and NK cells share the lymphocytes: their percentages of one sample cannot sum far
    above 100 %. Every percentage of such a sample is refused: which one is wrong cannot be told. The sum is
    rounded to 9 decimals: in floating point 79.4 + 20.7 + 9.9 is 110.00000000000001 in some orders (DuckDB's
    fsum too), and the order of a window's rows is not fixed (the gate and its re-check over core differed).
    Delivered percentages carry a few decimals at most, so the rounding changes no real sum."""
    shares = (f"(SELECT *,"
              f" round(sum(value) OVER (PARTITION BY subject_id, cycle_no, timepoint, specimen, sample_date), 9)"
              f" AS lineage_total FROM {rows}"
              " WHERE analyte IN ('cd3_pct', 'cd19_pct', 'nk_pct') AND value IS NOT NULL)")
    return _failures(shares, "subset_percentages_sum", "value", ERROR,
                     f"'CD3 + CD19 + NK percentages of this sample sum to ' || round(lineage_total, 1)"
                     f" || ' %, above the possible {ceiling:g} %'", f"lineage_total > {ceiling}")
