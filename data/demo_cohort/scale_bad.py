"""Bad delivered rows for the scale mode (`--bad-rows FRACTION`): the mistakes hospital extracts make.

The validation gate must quarantine such rows one by one, with a reason, at registry scale, while the file
itself still loads. So a bad row stays well-formed CSV (no quote, delimiter or line break is added; every
text is ASCII, which every center's encoding prints as is) and is wrong in one cell, or is a copy of the row
before it. Kinds (KINDS), each applied only where it fits the table and the row:

- `date`: a date that does not exist (30 February of the row's year) or cannot be (the year typed 1xxx, before
  any patient of the consortium was born); an empty date gets the former.
- `text_in_number`: a note where a number belongs (`pending`, `see note`, `repeat`).
- `out_of_range`: a unit slip, far outside clinical range: platelets in cells/uL under the declared x10^9/L
  (x 1000), a weight in grams under kg (x 1000), marrow blasts converted to percent twice (x 100), a CTCAE
  grade with its digit typed twice (3 -> 33).
- `unknown_code`: a local code the center's YAML does not map (UNKNOWN_CODES).
- `cycle_no`: a cycle number out of range (0, or 99 for "unknown").
- `duplicate`: the row delivered twice in a row.

A delivered row is bad with probability FRACTION; its kind is drawn uniformly among those that fit it. The
draws come from a generator of their own (scale.generate seeds it per chunk), so --bad-rows 0 draws nothing
and leaves the output byte-identical, and a seed gives the same bad rows every run.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from assets.landing.center_config import TableConfig
from demo_cohort.writers import number_text

KINDS = ("date", "text_in_number", "out_of_range", "unknown_code", "cycle_no", "duplicate")
DATE_FIELD = {"patients": "diagnosis_date", "cycles": "start_date", "assessments": "assessment_date",
              "labs": "sample_date", "adverse_events": "onset_date", "events": "event_date"}
NUMBER_FIELD = {"cycles": "weight_kg", "assessments": "bm_blasts_pct", "labs": "value", "adverse_events": "grade"}
CODE_FIELD = {"patients": "indication", "cycles": "bridging_chemo", "assessments": "timepoint", "labs": "timepoint",
              "adverse_events": "term", "events": "event_type"}
# (table, field) -> a code no center maps: a new local code the center did not announce
UNKNOWN_CODES = {("patients", "indication"): "Refractory", ("cycles", "bridging_chemo"): "Unknown",
                 ("assessments", "timepoint"): "Day 8", ("labs", "timepoint"): "Day 7",
                 ("adverse_events", "term"): "Mucositis", ("events", "event_type"): "Lost to follow-up"}
TEXTS = ("pending", "see note", "repeat")
CYCLE_NUMBERS = ("0", "99")
# table -> (field or analyte, factor, the smallest delivered value the slip takes out of range)
SLIPS = {"labs": ("platelets", 1000.0, 2.0), "cycles": ("weight_kg", 1000.0, 0.0),
         "assessments": ("bm_blasts_pct", 100.0, 1.0), "adverse_events": ("grade", 11.0, 1.0)}


def spoil(text: pl.DataFrame, table: TableConfig, fraction: float, rng: np.random.Generator) -> pl.DataFrame:
    """`text` (a delivered table, every cell as the CSV prints it) with about `fraction` of its rows bad."""
    n = text.height
    bad = np.flatnonzero(rng.random(n) < fraction)
    if not len(bad):
        return text
    fits = {kind: mask for kind in KINDS if (mask := _fits(kind, text, table)) is not None}
    kinds = list(fits)
    allowed = np.column_stack([fits[k][bad] for k in kinds])  # every row fits `duplicate` at least
    pick = (rng.random(len(bad)) * allowed.sum(axis=1)).astype(np.int64)
    kind_of = (np.cumsum(allowed, axis=1) > pick[:, None]).argmax(axis=1)
    columns: dict[str, pl.Series] = {}
    for k, kind in enumerate(kinds):
        rows = bad[kind_of == k]
        if kind != "duplicate" and len(rows):
            for header, cells, values in _spoiled(kind, text, table, rows, rng):
                columns[header] = columns.get(header, text[header]).scatter(cells, values)
    text = text.with_columns(columns.values()) if columns else text
    copies = bad[kind_of == kinds.index("duplicate")]
    return text[np.sort(np.concatenate([np.arange(n), copies]), kind="stable")] if len(copies) else text


def _fits(kind: str, text: pl.DataFrame, table: TableConfig) -> np.ndarray | None:
    """Which rows the kind can spoil (None: not this table)."""
    everywhere = np.ones(text.height, dtype=bool)
    name = table.name
    if kind == "duplicate" or (kind == "date" and name in DATE_FIELD) or (kind == "unknown_code"
                                                                           and name in CODE_FIELD):
        return everywhere
    if kind == "cycle_no" and "cycle_no" in table.columns:
        return everywhere
    if kind == "text_in_number" and name in NUMBER_FIELD:
        return everywhere if _wide(table) else _present(text, _header(table, NUMBER_FIELD[name]))
    if kind == "out_of_range" and name in SLIPS:
        field, _, smallest = SLIPS[name]
        number = _number(text, _slip_header(table, field), table.decimal)
        fits = (number > smallest).fill_null(False).to_numpy()
        if name == "labs" and not _wide(table):  # long labs: only the rows of that analyte
            code = table.inverse_codes("analyte").get(field, field)
            fits &= (text[_header(table, "analyte")] == code).fill_null(False).to_numpy()
        return fits
    return None


def _spoiled(kind: str, text: pl.DataFrame, table: TableConfig, rows: np.ndarray,
             rng: np.random.Generator) -> list[tuple[str, np.ndarray, pl.Series]]:
    """(header, rows, their new values) of the cells the kind spoils in `rows` (one cell a row)."""
    name = table.name
    if kind == "date":
        header = _header(table, DATE_FIELD[name])
        old = text[header].gather(rows)
        feb30 = _feb30(old, table.date_format)
        typo = old.str.replace(r"(^|\D)2(\d{3})(\D|$)", "${1}1${2}${3}")
        use_typo = pl.Series(rng.random(len(rows)) < 0.5) & old.is_not_null()
        return [(header, rows, pl.select(pl.when(pl.lit(use_typo)).then(pl.lit(typo)).otherwise(pl.lit(feb30)))
                 .to_series())]
    if kind == "text_in_number":
        notes = pl.Series(TEXTS, dtype=pl.String).gather(rng.integers(0, len(TEXTS), len(rows)))
        return [(header, rows[at], notes.gather(at)) for header, at in _measure_cells(text, table, rows)]
    if kind == "out_of_range":
        field, factor, _ = SLIPS[name]
        header = _slip_header(table, field)
        number = _number(text, header, table.decimal).gather(rows) * factor
        return [(header, rows, pl.select(number_text(pl.lit(number), table.decimal)).to_series())]
    if kind == "unknown_code":
        field = CODE_FIELD[name]
        return [(_header(table, field), rows, pl.repeat(UNKNOWN_CODES[(name, field)], len(rows), eager=True))]
    if kind == "cycle_no":
        values = pl.Series(CYCLE_NUMBERS, dtype=pl.String).gather(rng.integers(0, len(CYCLE_NUMBERS), len(rows)))
        return [(_header(table, "cycle_no"), rows, values)]
    raise ValueError(f"unknown kind of bad row: {kind}")


def _measure_cells(text: pl.DataFrame, table: TableConfig, rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(header, positions in `rows`) of the measure each row gets its note in: the value in a long layout, the
    row's first filled analyte in wide labs."""
    if not _wide(table):
        return [(_header(table, NUMBER_FIELD[table.name]), np.arange(len(rows)))]
    headers = [h for h in table.analytes.values() if h in text.columns]
    first = np.column_stack([text[h].gather(rows).is_not_null().to_numpy() for h in headers]).argmax(axis=1)
    return [(headers[i], np.flatnonzero(first == i)) for i in np.unique(first)]


def _feb30(old: pl.Series, date_format: str) -> pl.Series:
    """30 February of each date's year (2020 for an empty date) in the table's date format."""
    year = old.str.extract(r"(\d{4})").fill_null("2020")
    parts = {"%Y": pl.lit(year), "%m": pl.lit("02"), "%d": pl.lit("30")}
    pieces = [p for p in re.split(r"(%[Ymd])", date_format) if p]
    if any(p.startswith("%") and p not in parts for p in pieces):
        raise ValueError(f"cannot print 30 February in the date format {date_format!r}")
    return pl.select(pl.concat_str([parts.get(p, pl.lit(p)) for p in pieces])).to_series()


def _wide(table: TableConfig) -> bool:
    return table.name == "labs" and table.layout == "wide"


def _header(table: TableConfig, field: str) -> str:
    return table.columns[field]


def _slip_header(table: TableConfig, field: str) -> str:
    return table.analytes[field] if _wide(table) else _header(table, "value" if table.name == "labs" else field)


def _present(text: pl.DataFrame, header: str) -> np.ndarray:
    return text[header].is_not_null().to_numpy()


def _number(text: pl.DataFrame, header: str, decimal: str) -> pl.Series:
    """A text column as numbers (null where it is not one: markers, empty cells)."""
    column = text[header]
    if decimal != ".":
        column = column.str.replace(decimal, ".", literal=True)
    return column.cast(pl.Float64, strict=False)
