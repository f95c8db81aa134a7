"""Severity tiers and the sentences a data manager reads in quarantine (docs/data-quality.md).

A sentence names the row (what it is, whose, where it was delivered) and then what is wrong with it, e.g.
"Cycle 1 of subject 3fa2c01b… (ach/cycles.csv row 12): infusion end date '2022.02.29' is not a real date."
"""

import re
from collections.abc import Mapping
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


def where(row: Mapping) -> str:
    """'ach/cycles.csv row 12' (wide labs: ', column IL-6')."""
    place = f"{row.get('center_id')}/{row.get('source_file')} row {row.get('source_row')}"
    return f"{place}, column '{row['source_column']}'" if row.get("source_column") else place


def subject(row: Mapping) -> str:
    """'3fa2c01b…', the start of the pseudonym, or a note that the row has no record number."""
    subject_id = row.get("subject_id")
    return f"{subject_id[:SUBJECT_PREFIX]}…" if subject_id else "(no record number)"


def sentence(what: str, row: Mapping, problem: str) -> str:
    """The full sentence: what the row is, where it came from, what is wrong."""
    return f"{what} ({where(row)}): {problem.rstrip('.')}."


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
