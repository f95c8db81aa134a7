"""Row rules: the checks a pandera column check cannot say, each stated once as a DuckDB expression.

A rule reads one row. Its `holds` is a SQL boolean that is true when the row is fine; NULL counts as fine,
as pandera's `ignore_na` has it. The gate evaluates it in the warehouse (assets/validation/failures.py), and
`pandera_schema` makes it a pandera dataframe check by evaluating the same text on the frame being validated,
so the model of a table and the gate can never disagree about a rule.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandera.polars as pa
import polars as pl

# Every core row names its subject and where it was delivered (center, file, row): none may be missing.
IDENTITY = {column: pa.Field(nullable=False) for column in ("subject_id", "center_id", "source_file", "source_row")}


@dataclass(frozen=True)
class RowRule:
    """A row-level check: the column a data manager should look at, whether a failure is an error (quarantine)
    or a warning, when the row holds (SQL), and the sentence for a row where it does not."""

    column: str
    severity: str
    holds: str
    sentence: Callable[[Mapping], str]


def literal(value: object) -> str:
    """A Python constant as a DuckDB literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    raise TypeError(f"no DuckDB literal for {value!r}")


def listed(values) -> str:
    """`a, b, c` for `IN (...)`."""
    return ", ".join(literal(value) for value in values)


def per_value(column: str, mapping: Mapping[str, object]) -> str:
    """The value `mapping` gives the row's `column` (NULL where it gives none), e.g. an analyte's limit."""
    cases = " ".join(f"WHEN {literal(key)} THEN {literal(value)}" for key, value in mapping.items())
    return f"(CASE {column} {cases} END)"


def pandera_schema(name: str, fields: Mapping[str, Any], types: Mapping[str, type[pl.DataType]],
                   rules: Mapping[str, RowRule], severity: str) -> pa.DataFrameSchema:
    """The column checks (`pa.Field`s, each column typed as `types` has it) plus the rules of `severity` as
    dataframe checks, in that order. Values are coerced to their column's type; other columns may be present."""
    untyped = [column for column in fields if column not in types]
    if untyped:
        raise ValueError(f"{name}: no data_type in core's YAML for {', '.join(untyped)}, which the gate checks"
                         " (schemas/column_types.py)")
    return pa.DataFrameSchema(
        {column: pa.Column(**field.column_properties(types[column], name=column)) for column, field in fields.items()},
        checks=[pa.Check(_holds(rule.holds), name=rule_name) for rule_name, rule in rules.items()
                if rule.severity == severity],
        coerce=True, strict=False, name=name)


def _holds(sql: str) -> Callable:
    def check(data) -> pl.LazyFrame:
        import duckdb

        frame = data.lazyframe.collect()
        with duckdb.connect() as con:
            # Through the Arrow C stream: duckdb reads a polars frame without pyarrow this way.
            con.register("frame", con.from_arrow(frame.__arrow_c_stream__()))
            return pl.DataFrame(con.sql(f"SELECT ({sql}) AS holds FROM frame")).lazy()

    return check

