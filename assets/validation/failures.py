"""Row-local failures of one batch of candidate rows: which row (`_row`, its position in delivery order), check,
column, value, severity, and the problem in words. The gate (gate.py) streams a center's candidates through
them in bounded batches and keeps only these rows; the checks that need other rows are SQL (relations.py).

Sources: the parse errors staging recorded, the pandera models of schemas/ (hard and soft), dates in the future.
"""

from collections.abc import Mapping
from datetime import date

import polars as pl

from schemas import TableSchema
from schemas.reasons import ERROR, Label, column_problem, shown

ROW = "_row"
FAILURE_SCHEMA = {ROW: pl.Int64, "check": pl.String, "column": pl.String, "value": pl.String,
                  "severity": pl.String, "problem": pl.String}
# Staging recorded the field's text in `<field>_raw`, except for identifying fields, which stop at staging:
# their reasons name the field, not the value.
WITHHELD = ("birth_date",)
FLAT_UNIT = "ug/day"


def failure_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FAILURE_SCHEMA, orient="row")


def as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def model_failures(schema: TableSchema, frame: pl.DataFrame, severity: str) -> pl.DataFrame:
    """The rows of `frame` that fail the table's hard (severity error) or soft (warning) pandera model."""
    import pandera.errors
    import pandera.polars  # noqa: F401  (registers the polars backend)

    model = schema.model if severity == ERROR else schema.unusual
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return failure_frame([])
    broken = cases.filter(pl.col("index").is_null())
    if broken.height:  # a missing column or a wrong type: the dbt model changed, not the data
        raise ValueError(f"{schema.name} does not fit {model.__name__}: {broken.rows(named=True)}")
    cases = cases.sort("index", maintain_order=True)
    # Only the failing rows become dicts: a batch is mostly clean.
    failing = cases.get_column("index").unique(maintain_order=True).to_list()
    rows = dict(zip(failing, frame.select(pl.all().gather(failing)).rows(named=True), strict=True))
    failures = []
    for case in cases.iter_rows(named=True):
        row = rows[case["index"]]
        column, problem = _explain(schema, case, row)
        failures.append({ROW: row[ROW], "check": case["check"], "column": column, "value": as_text(row.get(column)),
                         "severity": severity, "problem": problem})
    return failure_frame(failures)


def _explain(schema: TableSchema, case: Mapping, row: Mapping) -> tuple[str, str]:
    if case["schema_context"] == "DataFrameSchema":
        rule = schema.row_rules[case["check"]]
        return rule.column, rule.sentence(row)
    column = case["column"]
    if column in schema.column_problems and case["check"] != "not_nullable":
        return column, schema.column_problems[column](row)
    return column, column_problem(case["check"], _label(schema, column), row.get(column))


def _label(schema: TableSchema, field: str) -> Label:
    return schema.labels.get(field) or Label(field.replace("_", " "))


def future_dates(schema: TableSchema, frame: pl.DataFrame, today: date) -> pl.DataFrame:
    return pl.concat([
        frame.filter(pl.col(column) > today).select(
            pl.col(ROW), pl.lit("not_in_future").alias("check"), pl.lit(column).alias("column"),
            pl.col(column).cast(pl.String).alias("value"), pl.lit(ERROR).alias("severity"),
            pl.format(f"{schema.labels[column].name} {{}} is in the future (validated on {today})", pl.col(column))
            .alias("problem")).cast(FAILURE_SCHEMA)
        for column in schema.dates])


def parse_failures(schema: TableSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """Every delivered value staging could not parse (`parse_errors` 'end_date:invalid_date, ...'): an error."""
    failures = []
    for row in frame.filter(pl.col("parse_errors").is_not_null()).iter_rows(named=True):
        for error in row["parse_errors"].split(","):
            field, reason = error.strip().split(":")
            if field == "dose_unit" and row.get("dose_unit_raw") == FLAT_UNIT:
                continue  # a flat adult dose: valid, checked by schemas.cycles (flat_dose_cap)
            value = None if field in WITHHELD else row.get(f"{field}_raw")
            failures.append({ROW: row[ROW], "check": f"parses:{reason}", "column": field, "value": value,
                             "severity": ERROR, "problem": _parse_problem(_label(schema, field), reason, value, row)})
    return failure_frame(failures)


def _parse_problem(label: Label, reason: str, value: str | None, row: Mapping) -> str:
    delivered = f"{label.name} {shown(value)}" if value is not None else label.name
    if reason == "invalid_date":
        return f"{delivered} is not a real date in the center's date format"
    if reason == "not_an_integer":
        return f"{delivered} is not a whole number"
    if reason == "not_a_measurement":
        return f"{delivered} is neither a number nor a detection marker (<x, >x, ND){_number_hint(value)}"
    if reason == "not_a_number":
        return f"{delivered} is not a number{_number_hint(value)}"
    if reason == "unknown_code":
        return f"{delivered} is not a contract code (Y or N after the center's code map)"
    if reason == "unknown_unit":
        return f"unit {shown(value)} has no conversion to the contract's unit for {row.get('analyte') or label.name}"
    return f"{delivered} did not parse ({reason})"


def _number_hint(value: str | None) -> str:
    if value and "," in value:
        return ": a decimal comma, but the center's YAML declares a decimal point"
    if value and (value[0] in "<>" or value.upper() == "ND"):
        return ": detection markers are accepted for lab and marrow values only"
    return ""
