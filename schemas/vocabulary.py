"""The contract's controlled vocabularies, read from the dbt seeds so that dbt and pandera share one list."""

import csv
from functools import cache
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"


@cache
def codes(table: str, field: str) -> tuple[str, ...]:
    """The contract codes of one coded field (seeds/vocabulary.csv), in seed order."""
    with (SEEDS / "vocabulary.csv").open(encoding="utf-8") as seed:
        found = tuple(row["code"] for row in csv.DictReader(seed)
                      if row["table_name"] == table and row["field"] == field)
    if not found:
        raise KeyError(f"no vocabulary for {table}.{field} in {SEEDS / 'vocabulary.csv'}")
    return found


@cache
def analytes() -> dict[str, dict[str, str]]:
    """analyte -> its seeds/analytes.csv row (label, specimens, canonical_unit, category)."""
    with (SEEDS / "analytes.csv").open(encoding="utf-8") as seed:
        return {row["analyte"]: row for row in csv.DictReader(seed)}
