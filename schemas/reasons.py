"""Severity tiers and the sentences a data manager reads in quarantine (docs/data-quality.md).

A sentence names the row (what it is, whose, where it was delivered) and then what is wrong with it, e.g.
"Cycle 1 of subject 3fa2c01b… (ach/cycles.csv row 12): infusion end date '2022.02.29' is not a real date."
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

ERROR, WARNING = "error", "warning"  # an error quarantines the row; a warning travels with it

SUBJECT_PREFIX = 8  # enough of the pseudonym to find the row, short enough to read


@dataclass(frozen=True)
class Label:
    """How a column is named in a sentence, and its unit (None: unitless)."""

    name: str
    unit: str | None = None


def shown(value: object, unit: str | None = None) -> str:
    """A value as a data manager reads it: text quoted, numbers without a spurious '.0', with the unit."""
    if value is None:
        return "(empty)"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = f"'{value}'" if isinstance(value, str) else str(value)
    return f"{text} {unit}" if unit else text


# The sentence is built in DuckDB for every refused row (most are refused for their patient or cycle and
# need no Python). `describe` of each table module and these read a row's columns as SQL text through
# `get(column)`, which gives NULL text where the relation lacks the column.
Get = Callable[[str], str]


def as_python(text: str) -> str:
    """SQL: text as a Python f-string shows a value that may be None."""
    return f"coalesce({text}, 'None')"


def or_else(text: str, default: str) -> str:
    """SQL: Python's `value or default` on text."""
    return f"coalesce(nullif({text}, ''), '{default}')"


def where(get: Get) -> str:
    """SQL: 'ach/cycles.csv row 12' (wide labs: ', column IL-6')."""
    place = " || '/' || ".join((as_python(get("center_id")), as_python(get("source_file"))))
    column = f"coalesce(', column ' || chr(39) || nullif({get('source_column')}, '') || chr(39), '')"
    return f"{place} || ' row ' || {as_python(get('source_row'))} || {column}"


def subject(get: Get) -> str:
    """SQL: '3fa2c01b…', the start of the pseudonym, or a note that the row has no record number."""
    return f"coalesce(left(nullif({get('subject_id')}, ''), {SUBJECT_PREFIX}) || '…', '(no record number)')"


def sentence(what: str, get: Get, problems: str) -> str:
    """SQL: the full sentence: what the row is, where it came from, what is wrong."""
    return f"{what} || ' (' || {where(get)} || '): ' || rtrim({problems}, '.') || '.'"


_BOUND = re.compile(r"^(?P<name>[a-z_]+)\((?P<args>.*)\)$")


def column_problem(check: str, label: Label, value: str | None) -> str:
    """The problem a pandera column check reports, e.g. 'MRD 120 % is above the possible maximum of 100 %'."""
    failing = shown(value, label.unit) if value is not None else "(empty)"
    if check == "not_nullable":
        return f"{label.name} is missing"
    matched = _BOUND.match(check)
    name, args = (matched["name"], matched["args"]) if matched else (check, "")
    unit = f" {label.unit}" if label.unit else ""
    if name == "greater_than_or_equal_to":
        return f"{label.name} {failing} is below the possible minimum of {args}{unit}"
    if name == "greater_than":
        return f"{label.name} {failing} must be above {args}{unit}"
    if name == "less_than_or_equal_to":
        return f"{label.name} {failing} is above the possible maximum of {args}{unit}"
    if name == "in_range":
        return f"{label.name} {failing} is outside the possible range {args.replace(', ', ' to ')}{unit}"
    if name == "isin":
        return f"{label.name} {failing} is not a contract code (allowed: {args.strip('[]')})"
    return f"{label.name} {failing} fails check {check}"
