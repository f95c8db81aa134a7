"""Read one delivered table file, as its center's YAML describes it, into a polars frame of text.

Values are never converted here (codes, units, dates and detection markers stay as delivered; staging
interprets them). Only the shape changes: headers are renamed to contract fields, wide labs are unpivoted,
unknown extra columns are folded into one JSON column. xlsx cells are rendered as text the way the sheet shows
them: numbers without a trailing ".0", date cells as ISO dates (`2015-03-04`).

Files are parsed with polars (large lab extracts run to tens of millions of rows); a CSV's record widths are
checked first, because a truncated delivery must be rejected with its row named (see _check_record_widths).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl

from assets.landing.center_config import CenterConfig, TableConfig
from assets.landing.contract import REQUIRED_FIELDS, TABLE_FIELDS

ISO_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"  # how fastexcel renders a date cell as text
UTF8_BOM = b"\xef\xbb\xbf"


class DeliveryError(Exception):
    """A delivered file that cannot be landed: it names the file and, where known, the row, column and value."""

    def __init__(self, file: str, message: str, *, row: int | None = None, column: str | None = None,
                 value: str | None = None) -> None:
        self.file, self.message, self.row, self.column, self.value = file, message, row, column, value
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [f"row {self.row}" if self.row is not None else None,
                 f"column {self.column!r}" if self.column is not None else None,
                 f"value {self.value!r}" if self.value is not None else None]
        located = ", ".join(part for part in where if part)
        return f"{self.file}{f' ({located})' if located else ''}: {self.message}."


def list_tables(center: CenterConfig) -> list[str]:
    """The contract tables the center delivers, in the contract's order."""
    return list(center.tables)


def read_table(center: CenterConfig, table: str, path: Path) -> pl.DataFrame:
    """The table's rows as text: mapped contract fields, `source_row`, (wide labs) `source_column`, `extra`."""
    config = center.table(table)
    path = Path(path)
    file = f"{path.name}#{config.sheet}" if config.format == "xlsx" else path.name
    if not path.is_file():
        raise DeliveryError(file, f"the file is missing from {path.parent}")
    cells = _read_xlsx(path, config, file) if config.format == "xlsx" else _read_csv(path, config, file)
    return _to_contract(_frame(cells, file), config, file)


def unknown_columns(frame: pl.DataFrame) -> list[str]:
    """Headers of the unknown extra columns a `read_table` frame carries in `extra`, in file order."""
    first = frame.get_column("extra").drop_nulls().head(1).to_list()
    return list(json.loads(first[0])) if first else []


def _read_csv(path: Path, config: TableConfig, file: str) -> pl.DataFrame:
    data = _utf8(path.read_bytes(), config.encoding, file)
    if not data.strip():
        raise DeliveryError(file, "the file is empty (no header row)")
    _check_record_widths(data, config.delimiter, file)
    return pl.read_csv(data, has_header=False, separator=config.delimiter, infer_schema=False)


def _utf8(data: bytes, encoding: str, file: str) -> bytes:
    """The file's text as UTF-8 bytes for polars, decoded strictly so a wrong encoding names its first bad byte."""
    bom = len(UTF8_BOM) if encoding == "utf-8" and data.startswith(UTF8_BOM) else 0  # Excel's "CSV UTF-8"
    try:
        text = data[bom:].decode(encoding, errors="strict")
    except UnicodeDecodeError as error:
        offset = error.start + bom
        raise DeliveryError(file, f"the bytes at offset {offset} do not decode as {encoding}",
                            row=data.count(b"\n", 0, offset), value=data[offset:error.end + bom].hex()) from error
    return data[bom:] if encoding == "utf-8" else text.encode("utf-8")


def _check_record_widths(data: bytes, delimiter: str, file: str) -> None:
    """Every non-blank record has the header's number of fields, and no quote is left open.

    polars would pad a short record (a truncated file) with nulls and name no row for an open quote, so the
    widths are checked first: vectorised per line when the file has no quotes (large machine exports), with
    the csv module when quoted fields may hold delimiters or line breaks.
    """
    if b'"' in data or b"\0" in data:
        widths = _quoted_widths(data.decode("utf-8"), delimiter, file)
    else:
        lines = pl.read_csv(data, has_header=False, separator="\0", quote_char=None, infer_schema=False,
                            new_columns=["line"])["line"]
        widths = lines.str.count_matches(delimiter, literal=True) + 1  # null for a blank line
    bad = widths.to_frame("width").with_row_index("row").filter(pl.col("width") != widths[0])
    if bad.height:
        row, width = bad.row(0)
        last = " (a truncated file?)" if row == widths.len() - 1 - widths.reverse().is_null().arg_min() else ""
        raise DeliveryError(file, f"the row has {width} fields but the header has {widths[0]}{last}", row=row)


def _quoted_widths(text: str, delimiter: str, file: str) -> pl.Series:
    """Fields per record (null for a blank line), record 0 being the header."""
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    widths: list[int | None] = []
    try:
        for record in records:
            widths.append(len(record) or None)
    except csv.Error as error:
        raise DeliveryError(file, f"the file is malformed or truncated at line {records.line_num} ({error})",
                            row=len(widths)) from error
    return pl.Series("width", widths, dtype=pl.Int64)


def _read_xlsx(path: Path, config: TableConfig, file: str) -> pl.DataFrame:
    import fastexcel  # only xlsx centers pay the import

    try:
        workbook = fastexcel.read_excel(path)
    except fastexcel.FastExcelError as error:
        raise DeliveryError(file, f"the file is not a readable xlsx workbook ({error})".splitlines()[0]) from error
    if config.sheet not in workbook.sheet_names:
        raise DeliveryError(file, f"the workbook has no sheet {config.sheet!r} (sheets: {workbook.sheet_names})",
                            value=config.sheet)
    cells = workbook.load_sheet_by_name(config.sheet, header_row=None, dtypes="string").to_polars()
    return cells.select(pl.all().str.replace(ISO_MIDNIGHT, "${1}").replace("", None))


def _frame(cells: pl.DataFrame, file: str) -> pl.DataFrame:
    """Row 0 of `cells` as the (stripped) headers, the other rows numbered from 1; blank rows are skipped.

    A column with neither a header nor a value (a trailing delimiter, a formatted but empty spreadsheet
    column) is dropped; one with values but no header is kept as an unknown column named "".
    """
    header = ["" if cell is None else cell.strip() for cell in (cells.row(0) if cells.height else ())]
    if not any(header):
        raise DeliveryError(file, "the file is empty (no header row)")
    body = (cells.slice(1).with_row_index("source_row", offset=1)
            .filter(~pl.all_horizontal(pl.exclude("source_row").is_null())))
    if not body.height:
        raise DeliveryError(file, "the file has a header but no data rows")
    columns: dict[str, str] = {}  # cells column -> header
    for column, name in zip(cells.columns, header):
        if name in columns.values():
            raise DeliveryError(file, "the header repeats a column name", row=0, column=name)
        if name or body[column].null_count() < body.height:
            columns[column] = name
    return body.select(*(pl.col(c).alias(name) for c, name in columns.items()),
                       pl.col("source_row").cast(pl.Int64))


def _to_contract(frame: pl.DataFrame, config: TableConfig, file: str) -> pl.DataFrame:
    """Rename mapped headers to contract fields, fold unknown columns into `extra`, unpivot wide labs."""
    for fld in sorted(REQUIRED_FIELDS[config.name] & set(config.columns)):
        if config.columns[fld] not in frame.columns:
            raise DeliveryError(file, f"the required column for `{fld}` is missing", row=0,
                                column=config.columns[fld])
    analyte_of = {header: code for code, header in config.analytes.items() if header in frame.columns}
    if config.layout == "wide" and not analyte_of:
        raise DeliveryError(file, f"none of the analyte columns {list(config.analytes.values())} is present", row=0)
    fields = [fld for fld in TABLE_FIELDS[config.name] if config.columns.get(fld) in frame.columns]
    mapped = {config.columns[fld] for fld in fields} | set(analyte_of) | {"source_row"}
    unknown = [header for header in frame.columns if header not in mapped]
    extra = pl.struct(unknown).struct.json_encode() if unknown else pl.lit(None, dtype=pl.String)
    contract = frame.select(*(pl.col(config.columns[fld]).alias(fld) for fld in fields), "source_row",
                            extra.alias("extra"), *analyte_of)
    if config.layout == "long":
        return contract
    return (contract.unpivot(on=list(analyte_of), index=[*fields, "source_row", "extra"],
                             variable_name="source_column", value_name="value")
            .drop_nulls("value")
            .sort("source_row", maintain_order=True)
            .select(*fields, pl.col("source_column").replace_strict(analyte_of).alias("analyte"), "value",
                    "source_row", "source_column", "extra"))
