"""Row-local failures as DuckDB queries, derived from the table's rules in schemas/: which row (`_row`, its
position in delivery order), check, column and severity. The checks that need other rows are relations.py.

Sources, in the order a row's reasons are listed:
- the parse errors staging recorded (`parse_errors`: 'end_date:invalid_date, ...');
- the hard pandera schema (`TableSchema.model`): per column, not-null, then its checks; then the row rules;
- the soft one (`TableSchema.unusual`), alike;
- dates in the future: after the day the row's file was delivered, where the caller knows it (`delivered_on`),
  else after the day of validation.
A pandera column check becomes SQL by its name and statistics (`_COMPARISONS`); a row rule is SQL already.
NULL passes a check, as pandera's `ignore_na` has it. The value and the problem in words are filled in
Python, and only for the failing rows (`explain`), when the gate writes its findings.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from schemas import TableSchema
from schemas.cycles import FLAT_UNIT
from schemas.reasons import ERROR, WARNING, Label, column_problem, shown
from schemas.rules import listed, literal

ROW = "_row"
# The producer of a failure row: a row's reasons are listed in this order, by `seq` within one producer.
PARSED, HARD, SOFT, FUTURE, RELATIONS = 0, 1, 2, 3, 4
# Staging recorded the field's text in `<field>_raw`, except for identifying fields, which stop at staging:
# their reasons name the field, not the value.
WITHHELD = ("birth_date",)
FLOATS = ("DOUBLE", "FLOAT", "REAL")


@dataclass(frozen=True)
class RowCheck:
    """One row-local check: it fails where `fails` (SQL) is true; `problem` words a failing row."""

    step: int
    check: str
    column: str
    severity: str
    fails: str
    problem: Callable[[Mapping], str]


def row_checks(schema: TableSchema, types: Mapping[str, str], today: date,
               delivered_on: str | None = None) -> list[RowCheck]:
    """The table's row-local checks, in pandera's order (columns in model order, each not-null first, then the
    row rules), over a relation with these columns and DuckDB types. A date is in the future after the day
    its file was delivered, the relation's column `delivered_on` (a delivery judged the same whenever it is
    validated), or after `today` where that is NULL or not given."""
    checks = []
    for step, pandera_schema, severity in ((HARD, schema.model, ERROR), (SOFT, schema.unusual, WARNING)):
        for column, spec in pandera_schema.columns.items():
            if column not in types:
                if spec.required:  # the dbt model changed, not the data
                    raise ValueError(f"{schema.name} has no column {column}, which its pandera model checks")
                continue
            label = schema.labels.get(column) or Label(column.replace("_", " "))
            if not spec.nullable:
                nan = f" OR isnan({column})" if types[column] in FLOATS else ""
                checks.append(RowCheck(step, "not_nullable", column, severity, f"{column} IS NULL{nan}",
                                       _column_problem(schema, "not_nullable", column, label, generic=True)))
            for check in spec.checks:
                name = check.error or check.name
                checks.append(RowCheck(step, name, column, severity, f"NOT coalesce({_holds(column, check)}, true)",
                                       _column_problem(schema, name, column, label)))
        checks += [RowCheck(step, name, rule.column, severity, f"NOT coalesce(({rule.holds}), true)",
                            rule.sentence) for name, rule in schema.row_rules.items() if rule.severity == severity]
    day = f"coalesce({delivered_on}, {literal(today)})" if delivered_on else literal(today)
    for column in schema.dates:
        label = schema.labels[column].name
        checks.append(RowCheck(FUTURE, "not_in_future", column, ERROR, f"{column} > {day}",
                               lambda row, column=column, label=label:
                               f"{label} {row[column]} is in the future ({_judged_against(row, delivered_on, today)})"))
    return checks


def _judged_against(row: Mapping, delivered_on: str | None, today: date) -> str:
    delivered = row.get(delivered_on) if delivered_on else None
    return f"its file was delivered on {delivered}" if delivered else f"validated on {today}"


_COMPARISONS = {"greater_than_or_equal_to": ">=", "greater_than": ">", "less_than_or_equal_to": "<=",
                "less_than": "<", "equal_to": "=", "not_equal_to": "<>"}


def _holds(column: str, check) -> str:
    """A pandera built-in column check as SQL, true where the value passes."""
    stats = check.statistics
    if check.name in _COMPARISONS:
        [bound] = stats.values()
        return f"{column} {_COMPARISONS[check.name]} {literal(bound)}"
    if check.name == "in_range":
        low = ">=" if stats.get("include_min", True) else ">"
        high = "<=" if stats.get("include_max", True) else "<"
        return (f"{column} {low} {literal(stats['min_value'])} AND {column} {high} {literal(stats['max_value'])}")
    if check.name in ("isin", "notin"):
        negation = "NOT " if check.name == "notin" else ""
        values = stats["allowed_values" if check.name == "isin" else "forbidden_values"]
        return f"{column} {negation}IN ({listed(values)})"
    raise NotImplementedError(f"the pandera check {check.error or check.name} on {column} has no SQL translation"
                              " (assets/validation/failures.py)")


def _column_problem(schema: TableSchema, check: str, column: str, label: Label, generic: bool = False):
    if column in schema.column_problems and not generic:
        return schema.column_problems[column]
    return lambda row: column_problem(check, label, row.get(column))


def row_failures_sql(rows: str, checks: list[RowCheck], catalog: str) -> str:
    """Failure rows (_row, id into `catalog`) of the checks: one pass over `rows`, which lists the failed
    checks of only the rows where some check failed."""
    failed = ", ".join(f"CASE WHEN {check.fails} THEN {number} END" for number, check in enumerate(checks))
    any_failed = " OR ".join(f"coalesce({check.fails}, false)" for check in checks)
    return (f"SELECT {ROW}, failure.* EXCLUDE (id) FROM (SELECT {ROW}, unnest(list_filter([{failed}],"
            f" lambda id: id IS NOT NULL)) AS id FROM {rows} WHERE {any_failed}) JOIN {catalog} AS failure USING (id)")


def catalog_rows(checks: list[RowCheck]) -> list[tuple]:
    """The rows of the checks' catalog: id, step, seq (the id again: `explain` finds the check by it),
    check_name, column_name, severity."""
    return [(number, check.step, number, check.check, check.column, check.severity)
            for number, check in enumerate(checks)]


def parse_failures_sql(rows: str, columns: Mapping[str, str]) -> str:
    """Every delivered value staging could not parse: an error per field of `parse_errors`, in its order."""
    # A flat ug/day dose has no per-m2 conversion, so staging names its unit unparsed: valid, see flat_dose_cap.
    flat = (f"AND NOT (field = 'dose_unit' AND dose_unit_raw IS NOT DISTINCT FROM '{FLAT_UNIT}')"
            if "dose_unit_raw" in columns else "")
    unit = ", dose_unit_raw" if "dose_unit_raw" in columns else ""
    return f"""
        SELECT {ROW}, {PARSED} AS step, seq, 'parses:' || reason AS check_name, field AS column_name,
            '{ERROR}' AS severity
        FROM (
            SELECT {ROW}{unit}, seq, trim(split_part(error, ':', 1)) AS field, trim(split_part(error, ':', 2)) AS reason
            FROM (SELECT {ROW}{unit}, unnest(string_split(parse_errors, ',')) AS error,
                         generate_subscripts(string_split(parse_errors, ','), 1) AS seq
                  FROM {rows} WHERE parse_errors IS NOT NULL))
        WHERE true {flat}"""


def explain(schema: TableSchema, checks: list[RowCheck], failure: Mapping, row: Mapping) -> tuple[str | None, str]:
    """The value and the problem in words of one row-local failure of `row` (a parse error, or the check
    numbered `seq` in `checks`)."""
    if failure["step"] == PARSED:
        column = failure["column_name"]
        value = None if column in WITHHELD else row.get(f"{column}_raw")
        label = schema.labels.get(column) or Label(column.replace("_", " "))
        return value, _parse_problem(label, failure["check_name"].removeprefix("parses:"), value, row)
    check = checks[failure["seq"]]
    return as_text(row.get(check.column)), check.problem(row)


def as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_problem(label: Label, reason: str, value: str | None, row: Mapping) -> str:
    delivered = f"{label.name} {shown(value)}" if value is not None else label.name
    if reason == "invalid_date":
        if _is_iso_date(value):
            return f"{delivered} is a date, but not in the center's declared date_format (its YAML)"
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


def _is_iso_date(value: str | None) -> bool:
    try:
        date.fromisoformat(value or "")
    except ValueError:
        return False
    return True


def _number_hint(value: str | None) -> str:
    if value and value.endswith("%"):
        return ": a percent sign, but this measure is not a percentage"
    if value and "," in value:
        return ": a decimal comma, but the center's YAML declares a decimal point"
    if value and (value[0] in "<>" or value.upper() == "ND"):
        return ": detection markers are accepted for lab and marrow values only"
    return ""
