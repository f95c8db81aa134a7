"""The row-local checks the gate runs in DuckDB (assets/validation/failures.py) are the pandera schemas of
schemas/: on the same rows, both find the same failures, row by row and check by check.

The rows: the clean ones, each column of every model set to values at and beside its bounds, outside its
codes and missing, and rows that break each row rule."""

from datetime import date, timedelta

import duckdb
import pandera.errors
import polars as pl
import pytest

from assets.validation.failures import FUTURE, ROW, catalog_rows, row_checks, row_failures_sql
from schemas import TABLES
from schemas.reasons import ERROR, WARNING
from tests.validation.rows import DTYPES, TODAY, clean, frame

_STEP = 1  # a day or a unit beside a bound
RULE_BREAKERS = {
    "patients": [{"diagnosis_date": date(2021, 3, 2)}, {"cytogenetics": "etv6_runx1;made_up"}, {"cytogenetics": ""},
                 {"sex": None, "indication": None, "age_months": None, "n_cycles": 0}],
    "cycles": [{"end_date": date(2021, 2, 27)}, {"step_up_date": date(2021, 4, 1)},
               {"step_up_date": date(2021, 2, 1), "end_date": None},
               {"dose_unit_raw": "ug/day", "dose_start": None, "dose_start_raw": "9", "dose_target": None,
                "dose_target_raw": "30", "weight_kg": 50.0},
               {"dose_unit_raw": "ug/day", "dose_start": None, "dose_start_raw": "nine", "dose_target": None,
                "dose_target_raw": "-1", "weight_kg": 30.0},
               {"dose_start": None, "dose_start_raw": None}, {"cycle_no": 2, "dose_start": 5.0},
               {"weight_kg": 60.0, "bsa_m2": 2.4}, {"weight_kg": None, "dose_unit_raw": "ug/day"},
               {"start_date": None, "end_date": None, "infusion_days": 40}],
    "assessments": [{"cycle_no": None}, {"cycle_no": None, "timepoint": "follow_up"},
                    {"bm_blasts_pct_raw": None, "mrd_pct_raw": None, "fusion_transcript_pct_raw": None},
                    {"fusion_transcript_pct": 150.0}],
    "labs": [{"value": None, "below_lod": False}, {"value": None, "below_lod": None},
             {"value": None, "below_lod": False, "parse_errors": "value:not_a_number"},
             {"value": 1200.0}, {"value": -0.1}, {"analyte": "il6", "value": 100_001.0},
             {"analyte": "cd3_abs", "value": 6.0}, {"analyte": "igg", "specimen": "csf"},
             {"analyte": "made_up", "value": 1e9}],
    "adverse_events": [{"grade": 3, "onset_date": None}, {"grade": None, "onset_date": None}, {"grade": 6}],
    "events": [{"event_type": "death", "relapse_site": "marrow"}, {"event_type": None, "cd19_status": "negative"},
               {"event_type": "relapse", "relapse_site": "marrow", "cd19_status": "negative"}],
    "therapy_lines": [{"end_date": date(2019, 5, 5)}, {"start_date": None, "line_no": None, "phase": None}],
}


def _values(check) -> list:
    """Values at, just inside and just outside a pandera column check's bounds."""
    stats = check.statistics
    if check.name in ("isin", "notin"):
        allowed = list(stats.get("allowed_values") or stats.get("forbidden_values"))
        return [allowed[0], allowed[-1], "zzz" if isinstance(allowed[0], str) else allowed[0] * 1000]
    bounds = [value for key, value in stats.items() if key in ("min_value", "max_value")]
    beside = []
    for bound in bounds:
        step = timedelta(days=_STEP) if isinstance(bound, date) else _STEP
        beside += [bound - step, bound, bound + step]
    return beside


def variants(table: str) -> list[dict]:
    """The clean rows, then a clean row changed one column (or one rule) at a time."""
    base = clean(table)[0]
    rows = clean(table)
    for schema in (TABLES[table].model, TABLES[table].unusual):
        for column, spec in schema.columns.items():
            values = [None, *(value for check in spec.checks for value in _values(check))]
            rows += [{**base, column: value} for value in values]
    rows += [{**base, **change} for change in RULE_BREAKERS[table]]
    rows += [{**base, column: TODAY + timedelta(days=1)} for column in TABLES[table].dates]
    return [{**row, "source_row": number} for number, row in enumerate(rows)]


def _typed(table: str, rows: list[dict]) -> pl.DataFrame:
    dtype = DTYPES[table]
    # Values of the wrong type for a column (an int bound on a float column) cast as the warehouse would.
    return frame(table, [{column: (float(value) if dtype.get(column) == pl.Float64 and isinstance(value, int)
                                   else int(value) if dtype.get(column) in (pl.Int32, pl.Int64)
                                   and isinstance(value, float) else value)
                          for column, value in row.items() if column in dtype} for row in rows])


def pandera_failures(table: str, rows: pl.DataFrame) -> set[tuple]:
    schema, found = TABLES[table], set()
    for model, severity in ((schema.model, ERROR), (schema.unusual, WARNING)):
        try:
            model.validate(rows, lazy=True)
        except pandera.errors.SchemaErrors as errors:
            for case in errors.failure_cases.iter_rows(named=True):
                assert case["index"] is not None, case  # a missing column or a wrong type
                column = (case["column"] if case["schema_context"] == "Column"
                          else schema.row_rules[case["check"]].column)
                found.add((case["index"], case["check"], column, severity))
    return found


def gate_failures(table: str, rows: pl.DataFrame, today: date) -> set[tuple]:
    with duckdb.connect() as con:
        con.register("frame", con.from_arrow(rows.__arrow_c_stream__()))
        con.execute(f"CREATE TABLE candidates AS SELECT row_number() OVER () - 1 AS {ROW}, * FROM frame")
        types = dict(con.execute("SELECT name, type FROM pragma_table_info('candidates')").fetchall())
        checks = row_checks(TABLES[table], types, today)
        con.execute("CREATE TABLE catalog (id INTEGER, step INTEGER, seq BIGINT, check_name VARCHAR,"
                    " column_name VARCHAR, severity VARCHAR)")
        con.executemany("INSERT INTO catalog VALUES (?, ?, ?, ?, ?, ?)", catalog_rows(checks))
        return {(row, step, check, column, severity) for row, step, _, check, column, severity in con.execute(
            row_failures_sql("candidates", checks, "catalog")).fetchall()}


@pytest.mark.parametrize("table", TABLES)
def test_the_gate_finds_what_the_pandera_schemas_find(table):
    rows = _typed(table, variants(table))
    expected = pandera_failures(table, rows)
    assert {(row, *failure) for row, step, *failure in gate_failures(table, rows, TODAY) if step != FUTURE} == expected
    # The rows exercise both tiers, and every rule of the table fails somewhere.
    assert {severity for *_, severity in expected} >= ({ERROR} if table in ("adverse_events", "events", "therapy_lines")
                                                      else {ERROR, WARNING})
    assert {check for _, check, _, _ in expected} >= set(TABLES[table].row_rules)


def test_dates_after_the_day_of_validation_are_refused():
    rows = _typed("labs", variants("labs"))
    late = set(rows.with_row_index().filter(pl.col("sample_date") > TODAY).get_column("index"))
    future = {(row, check, column)
              for row, step, check, column, _ in gate_failures("labs", rows, TODAY) if step == FUTURE}
    assert late and future == {(row, "not_in_future", "sample_date") for row in late}
    [check] = [check for check in row_checks(TABLES["labs"], {column: "VARCHAR" for column in DTYPES["labs"]}, TODAY)
               if check.step == FUTURE]
    assert check.problem({"sample_date": TODAY}) == f"sample date {TODAY} is in the future (validated on {TODAY})"


def test_a_column_the_model_checks_must_exist():
    with pytest.raises(ValueError, match="no column subject_id"):
        row_checks(TABLES["labs"], {"value": "DOUBLE"}, TODAY)
