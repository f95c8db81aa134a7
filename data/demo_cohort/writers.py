"""Canonical cohort frames -> one center's delivered files, as its YAML describes them.

The inverse of assets/landing/readers.py, driven by the same CenterConfig: contract codes become the center's
codes, canonical units its units, fields its headers, long labs its wide layout; values under an assay's limit
print the way the center's system prints them (`render:` in the YAML). Output is deterministic: numbers are
rounded to 9 decimals and printed in fixed notation, and the xlsx workbook's creation date is fixed, so the same
frames always give the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path
from typing import Protocol

import polars as pl

from assets.landing.center_config import CenterConfig, TableConfig
from assets.landing.contract import ANALYTE_UNITS

# (canonical unit, delivered unit) -> multiply the canonical number by this
UNIT_FACTORS = {("x10^9/L", "cells/uL"): 1000.0, ("g/L", "mg/dL"): 100.0, ("g/L", "mg/L"): 1000.0}
WORKBOOK_CREATED = datetime(2025, 3, 1)  # a fixed document property keeps the workbook's bytes reproducible


class CanonicalCohort(Protocol):
    """The contract frames of demo_cohort.cohort.Cohort (columns: contract fields + center_id)."""

    patients: pl.DataFrame
    cycles: pl.DataFrame
    assessments: pl.DataFrame
    labs: pl.DataFrame  # long: ... analyte, value (Float64, canonical unit), marker (null or "<"), unit
    adverse_events: pl.DataFrame
    events: pl.DataFrame


def write_demo(cohort: CanonicalCohort, out_dir: Path, centers: Iterable[CenterConfig]) -> list[Path]:
    """Write every multicenter center's extracts; the case series (study case_series) is hand-coded, not written."""
    multicenter = [center for center in centers if center.study == "multicenter"]
    return [path for center in multicenter for path in write_center(cohort, center, out_dir)]


def write_center(cohort: CanonicalCohort, center: CenterConfig, out_dir: Path) -> list[Path]:
    """Write the center's rows of every table it delivers into out_dir/<center_id>/; returns the files."""
    folder = Path(out_dir) / center.center_id
    folder.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, list[tuple[TableConfig, pl.DataFrame]]] = {}
    for name, table in center.tables.items():
        canonical = getattr(cohort, name).filter(pl.col("center_id") == center.center_id)
        by_file.setdefault(table.file, []).append((table, deliver_table(canonical, table)))
    for file, parts in by_file.items():
        if parts[0][0].format == "xlsx":
            _write_xlsx(folder / file, parts)
        else:  # one table per csv file (center_config checks it)
            _write_csv(folder / file, *parts[0])
    return [folder / file for file in by_file]


def deliver_table(canonical: pl.DataFrame, table: TableConfig) -> pl.DataFrame:
    """The table as the center delivers it: its headers in its column order, its codes, units and markers.

    Numbers and dates keep their dtypes (the file format decides how to print them); a measure that may print
    a marker (`<0.01`, `ND`, a lab value) becomes text.
    """
    frame = _render_lab_values(canonical, table) if table.name == "labs" else _render_fields(canonical, table)
    frame = frame.with_columns(pl.col(fld).cast(pl.String).replace(table.inverse_codes(fld)) for fld in table.codes)
    if table.layout == "wide":
        return _widen(frame, table)
    return frame.select(pl.col(fld).alias(header) for fld, header in table.columns.items())


def as_text(delivered: pl.DataFrame, table: TableConfig) -> pl.DataFrame:
    """Every cell as the CSV prints it: dates in the table's date_format, numbers in fixed notation."""
    def text(name: str, dtype: pl.DataType) -> pl.Expr:
        column = pl.col(name)
        if dtype == pl.Date:
            return column.dt.strftime(table.date_format)
        if dtype.is_float():
            return number_text(column, table.decimal)
        return column.cast(pl.String)

    return delivered.select(text(name, dtype).alias(name) for name, dtype in delivered.schema.items())


def number_text(number: pl.Expr, decimal: str = ".") -> pl.Expr:
    """Fixed notation, at most 9 decimals, no trailing `.0` (1234.0000000000002 -> "1234")."""
    text = number.round(9).cast(pl.String).str.replace(r"\.0$", "").str.replace(r"^-0$", "0")
    return text.str.replace(".", decimal, literal=True) if decimal != "." else text


def _render_fields(frame: pl.DataFrame, table: TableConfig) -> pl.DataFrame:
    """Fields printed with a marker: under the assay sensitivity as "<limit", zero as the center's word."""
    marked = set(table.render.below_limit) | set(table.render.zero_as)
    return frame.with_columns(
        _marked(pl.col(fld), pl.lit(table.render.below_limit.get(fld)), pl.lit(table.render.zero_as.get(fld)),
                table.decimal).alias(fld)
        for fld in marked if fld in frame.columns)


def _render_lab_values(labs: pl.DataFrame, table: TableConfig) -> pl.DataFrame:
    """Lab values in the center's units, as text with the center's detection markers."""
    _check_floors(labs, table)
    analyte = pl.col("analyte")
    factors = {code: UNIT_FACTORS[(ANALYTE_UNITS[code], unit)] for code, unit in table.units.items()
               if code in ANALYTE_UNITS and unit != ANALYTE_UNITS[code]}
    value = pl.col("value") * analyte.replace_strict(factors, default=1.0, return_dtype=pl.Float64)
    printed_as_floor = (pl.col("marker") == "<") & ~analyte.is_in(sorted(table.render.floor_as_number))
    below = _per_analyte(table.render.below_limit, pl.Float64)
    zero = _per_analyte(table.render.zero_as, pl.String)
    text = (pl.when(printed_as_floor).then(pl.lit("<") + number_text(value, table.decimal))
            .otherwise(_marked(value, below, zero, table.decimal)))
    unit = analyte.replace_strict(table.units, default=pl.col("unit"), return_dtype=pl.String)
    return labs.with_columns(value=text, unit=unit)


def _per_analyte(mapping: dict, dtype: pl.DataType) -> pl.Expr:
    return pl.col("analyte").replace_strict(mapping, default=None, return_dtype=dtype)


def _marked(number: pl.Expr, below: pl.Expr, zero: pl.Expr, decimal: str) -> pl.Expr:
    """number as text, "<below" when under `below`, `zero` when 0 (each null = no such marker)."""
    return (pl.when(number < below).then(pl.lit("<") + number_text(below, decimal))
            .when((number == 0) & zero.is_not_null()).then(zero)
            .otherwise(number_text(number, decimal)))


def _check_floors(labs: pl.DataFrame, table: TableConfig) -> None:
    """A value marked under the detection limit must sit at the floor the YAML declares for that kit."""
    limit = pl.col("analyte").replace_strict(table.detection_limits, default=None, return_dtype=pl.Float64)
    wrong = labs.filter((pl.col("marker") == "<") & ((pl.col("value") - limit).abs() > 1e-9).fill_null(True))
    if wrong.height:
        row = wrong.row(0, named=True)
        raise ValueError(f"{table.name}: {wrong.height} values marked under the detection limit are not at the "
                         f"declared floor, e.g. {row['analyte']} = {row['value']} (detection_limits: "
                         f"{table.detection_limits.get(row['analyte'])})")


def _widen(labs: pl.DataFrame, table: TableConfig) -> pl.DataFrame:
    """One row per id combination (first-appearance order), one column per YAML analyte in YAML order."""
    ids = list(table.columns)
    wide = (labs.with_columns(pl.col("analyte").replace_strict(table.analytes).alias("header"))
            .pivot(on="header", index=ids, values="value", aggregate_function=None))
    absent = [pl.lit(None, dtype=pl.String).alias(h) for h in table.analytes.values() if h not in wide.columns]
    return wide.with_columns(absent).select(*(pl.col(fld).alias(table.columns[fld]) for fld in ids),
                                            *table.analytes.values())


def _write_csv(path: Path, table: TableConfig, delivered: pl.DataFrame) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=table.delimiter, lineterminator="\n")
    writer.writerow(delivered.columns)
    writer.writerows(as_text(delivered, table).iter_rows())
    path.write_bytes(buffer.getvalue().encode(table.encoding))


def _write_xlsx(path: Path, parts: list[tuple[TableConfig, pl.DataFrame]]) -> None:
    """One sheet per table; numbers as number cells, dates as date cells, markers and codes as text."""
    import xlsxwriter  # only xlsx centers pay the import

    workbook = xlsxwriter.Workbook(path)
    workbook.set_properties({"created": WORKBOOK_CREATED})
    date_cell = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for table, delivered in parts:
        sheet = workbook.add_worksheet(table.sheet)
        sheet.write_row(0, 0, delivered.columns)
        measures = _measure_headers(table)
        texts = as_text(delivered, table)
        for col, (name, dtype) in enumerate(delivered.schema.items()):
            for row, (value, text) in enumerate(zip(delivered[name], texts[name]), start=1):
                if value is None:
                    continue
                if isinstance(value, date):
                    sheet.write_datetime(row, col, datetime.combine(value, time()), date_cell)
                elif dtype.is_numeric() or (name in measures and _is_number(text.replace(table.decimal, "."))):
                    sheet.write_number(row, col, float(text.replace(table.decimal, ".")))
                else:
                    sheet.write_string(row, col, text)
    workbook.close()


def _measure_headers(table: TableConfig) -> set[str]:
    """Headers of measures printed as text because they may hold a marker: their plain numbers stay numbers."""
    fields = {"value", *table.render.below_limit, *table.render.zero_as}
    return {table.columns[f] for f in fields if f in table.columns} | set(table.analytes.values())


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
