"""Read one delivered table file, as its center's YAML describes it, as a DuckDB query of text rows.

Values are never converted here (codes, units, dates and detection markers stay as delivered; staging
interprets them). Only the shape changes: headers are renamed to contract fields, wide labs are unpivoted,
unknown extra columns are folded into one JSON column `extra`. xlsx cells are rendered as text the way the sheet
shows them: numbers without a trailing ".0"; a date cell, which holds a date and no text, in the table's declared
`date_format` (a date cell is a date whatever format the center's typed dates follow; its time of day, if
any, is dropped).

A lab extract runs to hundreds of megabytes, so the file is read where it lies, never whole into Python:
- CSV: DuckDB's own reader (every cell as text, nothing sniffed) streams the file into the one SQL mapping
  (_mapping_sql). Python reads the header record and surveys the bytes in bounded chunks (_survey), because
  DuckDB skips blank lines without counting them (their row numbers must not be reused) and takes a record
  with extra empty fields at its end for a whole one. An encoding DuckDB does not read (GBK) is first decoded
  strictly, chunk by chunk, into a temporary UTF-8 file beside the warehouse.
- xlsx: fastexcel renders the sheet as text (at most 1,048,576 rows), which goes through the same mapping.
Where the survey cannot rule out a blank line or a record of the wrong width, and when DuckDB refuses a file,
Python's csv module reads it once more, streamed (_scan_records), to number the blank lines and name the row
at fault: that exact pass costs several times DuckDB's, so it runs only there.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from assets.landing.center_config import CenterConfig, TableConfig
from assets.landing.contract import REQUIRED_FIELDS, TABLE_FIELDS

if TYPE_CHECKING:
    import duckdb

DATE_CELL = r"^(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}:\d{2}$"  # how fastexcel renders a date cell as text
CHUNK = 16 << 20  # bytes per read of a streamed pass: Python holds a few of these at most
NATIVE_ENCODINGS = ("utf-8",)  # declared encodings DuckDB's CSV reader decodes (and validates) itself
# Where a blank line may be: an empty line, or two line breaks in a quoted field (the exact pass tells them apart).
# Two patterns, not one alternation: the regex engine finds a single literal start ten times faster.
BLANK_LINE, BLANK_LINE_CR = re.compile(rb"\n\r?\n"), re.compile(rb"\r\r")  # the second: files without "\n"
CELLS, BLANK_RUNS = "delivered_cells", "delivered_blank_runs"  # temporary tables while a file is read


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


@dataclass(frozen=True)
class Delivered:
    """A delivered file opened for reading: `sql` selects its rows, as text, in the contract's shape.

    Columns: the mapped contract fields, (wide labs) `analyte` and `value`, `source_row` (the header is row 0,
    data rows count from 1, blank lines keep their numbers), (wide labs) `source_column`, `extra` (JSON of the
    unknown columns, keys in file order; NULL when there are none). Rows with no value at all are left out.
    """

    file: str
    sql: str
    rows_sql: str  # the non-blank data records before wide labs are unpivoted
    order: str  # ORDER BY of the file's order (source_row, then the YAML's analyte order)
    unknown: tuple[str, ...]  # headers of the unknown columns, in file order
    # (field or wide-lab analyte code, its header) of each column the YAML maps that the file lacks
    missing: tuple[tuple[str, str], ...] = ()

    def check_rows(self, con: duckdb.DuckDBPyConnection, rows: int) -> None:
        """Reject a file without data rows; `rows` is what `sql` yielded (wide labs: 0 when every cell is empty)."""
        if rows == 0 and con.execute(f"SELECT count(*) FROM ({self.rows_sql})").fetchone()[0] == 0:
            raise DeliveryError(self.file, "the file has a header but no data rows")


def list_tables(center: CenterConfig) -> list[str]:
    """The contract tables the center delivers, in the contract's order."""
    return list(center.tables)


@contextmanager
def delivered_rows(con: duckdb.DuckDBPyConnection, center: CenterConfig, table: str, path: Path,
                   scratch: Path) -> Iterator[Delivered]:
    """The file opened for `con` as a Delivered query, valid inside the `with` block.

    `scratch` holds the temporary UTF-8 copy of a file in another encoding; it is deleted on leaving. A DuckDB
    error raised inside the block by reading the file becomes the DeliveryError naming its row.
    """
    import duckdb

    config = center.table(table)
    path = Path(path)
    file = f"{path.name}#{config.sheet}" if config.format == "xlsx" else path.name
    if not path.is_file():
        raise DeliveryError(file, f"the file is missing from {path.parent}")
    with ExitStack() as stack:
        for table_name in (CELLS, BLANK_RUNS):
            stack.callback(con.execute, f"DROP TABLE IF EXISTS temp.{table_name}")
        if config.format == "xlsx":
            header, cells = _xlsx_cells(con, path, config, file)
            source = None
        else:
            source = stack.enter_context(_utf8_source(path, config.encoding, file, scratch))
            survey = _survey(source, config.delimiter)
            if survey.mixed_line_ends:
                source = stack.enter_context(_copy(scratch, f"{path.stem}.lf", _line_ends_made_lf(source)))
            header, cells = _csv_cells(con, source, path, config, file, survey)
        try:
            yield _mapped(con, cells, header, config, file)
        except duckdb.Error as error:
            # Only the CSV reader's own errors are the file's fault; running out of memory is the run's.
            if source is None or isinstance(error, duckdb.OutOfMemoryException) or "CSV" not in str(error):
                raise
            _scan_records(source, path, config, file)  # raises the DeliveryError naming the row
            raise _refused(file, error) from error


def read_table(center: CenterConfig, table: str, path: Path) -> pl.DataFrame:
    """The table's rows as landing lands them (without the provenance of the load), in file order.

    For tests and inspection of small files: the rows are fetched into Python.
    """
    import duckdb

    with duckdb.connect() as con, tempfile.TemporaryDirectory() as scratch, \
            delivered_rows(con, center, table, path, Path(scratch)) as delivered:
        result = con.execute(f"SELECT * FROM ({delivered.sql}) ORDER BY {delivered.order}")
        names = [column[0] for column in result.description]
        rows = result.fetchall()
        delivered.check_rows(con, len(rows))
    schema = {name: pl.Int64 if name == "source_row" else pl.String for name in names}
    return pl.DataFrame(rows, schema=schema, orient="row")


def unknown_columns(frame: pl.DataFrame) -> list[str]:
    """Headers of the unknown extra columns a `read_table` frame carries in `extra`, in file order."""
    first = frame.get_column("extra").drop_nulls().head(1).to_list()
    return list(json.loads(first[0])) if first else []


# --- The mapping: one query for CSV and xlsx cells ----------------------------------------------------------------

def _mapped(con: duckdb.DuckDBPyConnection, cells: str, header: list[str], config: TableConfig,
            file: str) -> Delivered:
    """Rename mapped headers to contract fields, fold unknown columns into `extra`, unpivot wide labs.

    `cells` selects the file's records as c0, c1, ... (text) and `record` (the header is record 0). A column
    with neither a header nor a value (a trailing delimiter, a formatted but empty spreadsheet column) is
    dropped; one with values but no header is kept as an unknown column named "".
    """
    try:
        return _plan(con, cells, header, config, file)
    except DeliveryError:
        # A file that is also malformed or empty is refused for that, as the readers always have: one more pass.
        if not con.execute(f"SELECT count(*) FROM ({_data_rows(cells, len(header))})").fetchone()[0]:
            raise DeliveryError(file, "the file has a header but no data rows") from None
        raise


def _plan(con: duckdb.DuckDBPyConnection, cells: str, header: list[str], config: TableConfig,
          file: str) -> Delivered:
    unnamed = [index for index, name in enumerate(header) if not name]
    filled = set()
    if unnamed:  # whether an unnamed column holds a value: one more pass, only for files with such a column
        counts = ", ".join(f"count(c{index})" for index in unnamed)
        found = con.execute(f"SELECT {counts} FROM ({cells}) WHERE record > 0").fetchone()
        filled = {index for index, count in zip(unnamed, found) if count}
    columns: dict[str, int] = {}  # header -> cells column, the dropped columns left out
    for index, name in enumerate(header):
        if name in columns:
            raise DeliveryError(file, "the header repeats a column name", row=0, column=name)
        if name or index in filled:
            columns[name] = index
    for fld in sorted(REQUIRED_FIELDS[config.name] & set(config.columns)):
        if config.columns[fld] not in columns:
            raise DeliveryError(file, f"the required column for `{fld}` is missing", row=0,
                                column=config.columns[fld])
    analytes = {code: header for code, header in config.analytes.items() if header in columns}
    if config.layout == "wide" and not analytes:
        raise DeliveryError(file, f"none of the analyte columns {list(config.analytes.values())} is present", row=0)
    fields = {fld: config.columns[fld] for fld in TABLE_FIELDS[config.name] if config.columns.get(fld) in columns}
    unknown = [name for name in columns if name not in {*fields.values(), *analytes.values()}]
    missing = tuple((name, mapped) for name, mapped in (*config.columns.items(), *config.analytes.items())
                    if mapped not in columns)
    return replace(_mapping_sql(file, cells, len(header), columns, fields, analytes, unknown), missing=missing)


def _mapping_sql(file: str, cells: str, width: int, columns: dict[str, int], fields: dict[str, str],
                 analytes: dict[str, str], unknown: list[str]) -> Delivered:
    """The Delivered query: `columns` maps a header to its cells column, `fields` a contract field to its header,
    `analytes` (wide labs, in the YAML's order) an analyte code to its header."""
    def cell(header: str) -> str:
        return f"c{columns[header]}"

    extra = (f"json_object({', '.join(f'{_literal(name)}, {cell(name)}' for name in unknown)})"
             if unknown else "NULL::JSON")
    rows = (f"SELECT {''.join(f'{cell(header)} AS {fld}, ' for fld, header in fields.items())}"
            f"record AS source_row, {extra} AS extra{''.join(f', {cell(h)} AS {code}' for code, h in analytes.items())}"
            f" FROM ({_data_rows(cells, width)})")
    if not analytes:
        return Delivered(file, rows, rows, "source_row", tuple(unknown))
    # UNPIVOT leaves out the empty cells; an analyte's column is named by its code, its header goes along.
    source_column = " ".join(f"WHEN {_literal(code)} THEN {_literal(h)}" for code, h in analytes.items())
    sql = (f"SELECT {''.join(f'{fld}, ' for fld in fields)}analyte, value, source_row, "
           f"CASE analyte {source_column} END AS source_column, extra "
           f"FROM (UNPIVOT ({rows}) ON {', '.join(analytes)} INTO NAME analyte VALUE value)")
    return Delivered(file, sql, rows, f"source_row, list_position({_list(analytes)}, analyte)", tuple(unknown))


def _data_rows(cells: str, width: int) -> str:
    """The records after the header that hold a value (a record of empty cells is skipped like a blank line)."""
    cells_of_record = ", ".join(f"c{index}" for index in range(width))
    return f"SELECT * FROM ({cells}) WHERE record > 0 AND coalesce({cells_of_record}) IS NOT NULL"


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """`frame` as a temporary table of `con`: a registered Arrow stream could be scanned only once."""
    # Through the Arrow C stream: duckdb cannot scan a polars frame directly without pyarrow.
    con.register(f"{name}_stream", con.from_arrow(frame.__arrow_c_stream__()))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_stream")
    finally:
        con.unregister(f"{name}_stream")


def _not_a_glob(path: Path) -> str:
    """The path for read_csv, which takes * ? [ as a glob (labs[1].csv would read labs1.csv): each in brackets."""
    return re.sub(r"([*?\[])", r"[\1]", str(path))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list(texts) -> str:
    return f"[{', '.join(map(_literal, texts))}]"


# --- xlsx ------------------------------------------------------------------------------------------------------------

def _xlsx_cells(con: duckdb.DuckDBPyConnection, path: Path, config: TableConfig,
                file: str) -> tuple[list[str], str]:
    """(stripped headers, cells query) of the sheet, copied into `con` as the temporary table CELLS."""
    import fastexcel  # only xlsx centers pay the import

    try:
        workbook = fastexcel.read_excel(path)
    except fastexcel.FastExcelError as error:
        raise DeliveryError(file, f"the file is not a readable xlsx workbook ({error})".splitlines()[0]) from error
    if config.sheet not in workbook.sheet_names:
        raise DeliveryError(file, f"the workbook has no sheet {config.sheet!r} (sheets: {workbook.sheet_names})",
                            value=config.sheet)
    sheet = _shown_as_percent(workbook.load_sheet_by_name(config.sheet, header_row=None, dtypes="string").to_polars(),
                              path, config.sheet)
    cells = sheet.select(_cell_text(pl.col(column), config.date_format).alias(f"c{index}")
                         for index, column in enumerate(sheet.columns)).with_row_index("record")
    header = _header_names(cells.row(0)[1:] if cells.height else (), file)
    _temp_table(con, CELLS, cells)
    return header, f"SELECT * FROM temp.{CELLS}"


def _shown_as_percent(sheet: pl.DataFrame, path: Path, name: str) -> pl.DataFrame:
    """The sheet with its percent-formatted number cells as the sheet shows them (`74.9%`, not 0.749)."""
    from assets.landing.xlsx_formats import as_percent, percent_cells

    cells, (first_row, first_column) = percent_cells(path, name)
    by_column: dict[int, list[int]] = {}
    for row, column in cells:
        if 0 <= row - first_row < sheet.height and 0 <= column - first_column < sheet.width:
            by_column.setdefault(column - first_column, []).append(row - first_row)
    for column, rows in by_column.items():
        values = sheet.to_series(column).to_list()
        for row in rows:
            values[row] = as_percent(values[row])
        sheet = sheet.with_columns(pl.Series(sheet.columns[column], values, dtype=pl.String))
    return sheet


def _cell_text(cell: pl.Expr, date_format: str) -> pl.Expr:
    """A cell as text: a date cell in `date_format`, an empty cell NULL."""
    date = cell.str.extract(DATE_CELL, 1).str.to_date("%Y-%m-%d", strict=False)
    return pl.when(date.is_not_null()).then(date.dt.strftime(date_format)).otherwise(cell.replace("", None))


def _header_names(cells, file: str) -> list[str]:
    header = ["" if cell is None else cell.strip() for cell in cells]
    if not any(header):
        raise DeliveryError(file, "the file is empty (no header row)")
    return header


# --- CSV -------------------------------------------------------------------------------------------------------------

def _csv_cells(con: duckdb.DuckDBPyConnection, source: Path, path: Path, config: TableConfig, file: str,
               survey: _Survey) -> tuple[list[str], str]:
    """(stripped headers, cells query) of a CSV file, `source` being its UTF-8 text (the file itself or a copy)."""
    with _text(source, path, config.encoding, file) as text:
        header = _header_names(next(_records(text, config.delimiter, file), ()), file)
    # DuckDB's reader skips blank lines without counting them and, strict as it is, takes a record with extra
    # empty fields at its end (a trailing delimiter) for a whole one: where the survey cannot rule either out,
    # the exact pass numbers the blank lines and checks every record.
    exact = survey.blank or survey.delimiters != (len(header) - 1) * survey.records
    blanks = _scan_records(source, path, config, file) if exact else []
    # DuckDB's serial reader drops a quoted field left open at the end of the file without a word; its parallel
    # reader refuses it. Serial wherever that cannot happen (no quotes, or the exact pass read the file): the
    # parallel one leaves partial row groups that the next checkpoint rewrites, which on two cores costs more
    # (~0.7 s per 570,000 rows) than its parsing saves.
    parallel = "true" if survey.quoted and not exact else "false"
    columns = ", ".join(f"c{index}: 'VARCHAR'" for index in range(len(header)))
    read = (f"read_csv({_literal(_not_a_glob(source))}, header = false, auto_detect = false, all_varchar = true, "
            f"columns = {{{columns}}}, delim = {_literal(config.delimiter)}, quote = '\"', escape = '\"', "
            "strict_mode = true, null_padding = false, allow_quoted_nulls = false, encoding = 'utf-8', "
            f"parallel = {parallel})")
    # The reader keeps the file's order; row_number() OVER () is DuckDB's streaming, order-keeping window.
    record = "row_number() OVER () - 1"
    if not blanks:
        return header, f"SELECT *, {record} AS record FROM {read}"
    # Shift each record past the blank lines before it: an ASOF join on a small table.
    _temp_table(con, BLANK_RUNS, _blank_runs(blanks))
    return header, (f"SELECT cells.* EXCLUDE (line), cells.line + coalesce(runs.blank_lines, 0) AS record "
                    f"FROM (SELECT *, {record} AS line FROM {read}) AS cells "
                    f"ASOF LEFT JOIN temp.{BLANK_RUNS} AS runs ON cells.line >= runs.line")


def _blank_runs(blanks: list[int]) -> pl.DataFrame:
    """The blank lines (their record numbers) as steps for the ASOF join: from DuckDB's `line` on (its count of
    non-blank records before), `blank_lines` blank lines came before."""
    runs = pl.DataFrame({"record": blanks}, schema={"record": pl.Int64}).with_row_index("before", offset=0)
    return (runs.select((pl.col("record") - pl.col("before")).alias("line"),
                        (pl.col("before") + 1).cast(pl.Int64).alias("blank_lines"))
            .group_by("line").agg(pl.col("blank_lines").max()))


@contextmanager
def _utf8_source(path: Path, encoding: str, file: str, scratch: Path) -> Iterator[Path]:
    """The file itself when DuckDB reads its encoding, else a temporary UTF-8 copy in `scratch`, deleted after.

    The copy is decoded strictly, CHUNK bytes at a time (a character split across two chunks is completed by
    the incremental decoder); nothing the center delivered is changed.
    """
    if encoding in NATIVE_ENCODINGS:
        yield path
        return
    chunks = (text.encode("utf-8") for text in _decoded_chunks(path, encoding, file))
    with _copy(scratch, f"{path.stem}.utf-8", chunks) as copy:
        yield copy


@contextmanager
def _copy(scratch: Path, name: str, chunks: Iterator[bytes]) -> Iterator[Path]:
    """A temporary file in `scratch` written from `chunks`, deleted on leaving (or when writing it fails)."""
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=scratch, prefix=f"{name}.", suffix=".csv", delete=False) as created:
        target = Path(created.name)
    try:
        with target.open("wb") as copy:
            for chunk in chunks:
                copy.write(chunk)
        yield target
    finally:
        target.unlink(missing_ok=True)


def _line_ends_made_lf(source: Path) -> Iterator[bytes]:
    """The file with every \\r\\n outside quotes made \\n, CHUNK bytes at a time: DuckDB's reader refuses a
    file that mixes the two. Quotes are counted to tell outside from inside (a quoted \\r\\n is a value)."""
    inside, carry = False, b""
    with source.open("rb") as text:
        while chunk := text.read(CHUNK):
            chunk, carry = carry + chunk, b""
            if chunk.endswith(b"\r"):  # its \n may begin the next chunk
                chunk, carry = chunk[:-1], b"\r"
            parts = chunk.split(b'"')  # part k is inside quotes when `inside` differs from k being odd
            yield b'"'.join(part.replace(b"\r\n", b"\n") if (index % 2 == 1) == inside else part
                            for index, part in enumerate(parts))
            inside ^= len(parts) % 2 == 0
    yield carry


def _decoded_chunks(path: Path, encoding: str, file: str) -> Iterator[str]:
    """The file's text, CHUNK bytes at a time, decoded strictly: a byte that does not decode is a DeliveryError
    naming its offset in the file, its row (line breaks before it) and the bytes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0  # bytes read so far
    with path.open("rb") as delivered:
        while True:
            chunk = delivered.read(CHUNK)
            offset += len(chunk)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:  # error.object: the bytes held back from before, then this chunk
                start = offset - len(error.object) + error.start
                raise DeliveryError(file, f"the bytes at offset {start} do not decode as {encoding}",
                                    row=_line_breaks(path, start),
                                    value=error.object[error.start:error.end].hex()) from error
            if text:
                yield text
            if not chunk:
                return


def _line_breaks(path: Path, end: int) -> int:
    """The number of line breaks in the file's first `end` bytes, counted CHUNK bytes at a time."""
    count = 0
    with path.open("rb") as delivered:
        while end > 0 and (chunk := delivered.read(min(CHUNK, end))):
            count += chunk.count(b"\n")
            end -= len(chunk)
    return count


@contextmanager
def _text(source: Path, path: Path, encoding: str, file: str) -> Iterator[Iterator[str]]:
    """`source` (UTF-8, a byte order mark skipped) as lines for the csv module; a byte that does not decode is
    the DeliveryError of _decoded_chunks on the delivered file `path`."""
    with source.open(encoding="utf-8-sig", newline="") as text:
        try:
            yield text
        except UnicodeDecodeError as error:
            for _ in _decoded_chunks(path, encoding, file):
                pass
            raise DeliveryError(file, f"the file does not decode as {encoding} ({error})") from error


@dataclass(frozen=True)
class _Survey:
    records: int  # line breaks ("\n"; "\r" in a file without "\n"), plus an unterminated last line
    delimiters: int  # every delimiter byte, quoted or not
    blank: bool  # two line breaks follow each other somewhere: a blank line, or a quoted pair of line breaks
    quoted: bool  # the file has a quote character
    mixed_line_ends: bool  # "\n" without "\r" before it in a file of "\r\n" (or quoted in one)


def _survey(source: Path, delimiter: str) -> _Survey:
    """Byte counts of the file, in one bounded pass of C-speed searches (no parsing).

    Without quoted delimiters or line breaks, every record has the header's width if and only if the file has
    (width - 1) delimiters per record, given that DuckDB refuses any record with too few fields.
    """
    records = delimiters = crlf = 0
    blank = quoted = carriage_returns = False
    tail = b""
    separator = delimiter.encode("utf-8")
    with source.open("rb") as text:
        while chunk := text.read(CHUNK):
            records += chunk.count(b"\n")
            delimiters += chunk.count(separator)
            quoted = quoted or b'"' in chunk
            pattern = BLANK_LINE if b"\n" in chunk else BLANK_LINE_CR
            blank = blank or bool(pattern.search(tail + chunk[:2]) or pattern.search(chunk))
            if carriage_returns or b"\r" in chunk:  # counted only in files that have them
                carriage_returns = True
                crlf += chunk.count(b"\r\n") + (tail[-1:] == b"\r" and chunk[:1] == b"\n")
            tail = chunk[-2:]
    if not records and tail:  # old Mac line breaks: no count, the exact pass decides
        return _Survey(0, delimiters, True, quoted, False)
    return _Survey(records + (tail[-1:] not in (b"", b"\n")), delimiters, blank, quoted, 0 < crlf < records)


def _refused(file: str, error: Exception) -> DeliveryError:
    """The DeliveryError of a file DuckDB's reader refuses although every record is whole (the exact pass)."""
    return DeliveryError(file, f"DuckDB's CSV reader refuses the file ({str(error).splitlines()[0]})")


def _scan_records(source: Path, path: Path, config: TableConfig, file: str) -> list[int]:
    """The record numbers of the blank lines, the header being record 0, having checked every record.

    Python's csv module reads the whole file, one record at a time: a quote left open is refused first, then
    the first non-blank record without the header's number of fields (named "a truncated file?" when it is the
    last one). DuckDB's reader cannot say either: it takes a record with extra empty fields at its end for a
    whole one, and its errors name a line, not whether more records follow.
    """
    blanks: list[int] = []
    width, bad, followed = None, None, False
    with _text(source, path, config.encoding, file) as text:
        for number, record in enumerate(_records(text, config.delimiter, file)):
            if not record:
                blanks.append(number)
            elif bad:
                followed = True
            elif width is None:
                width = len(record)
            elif len(record) != width:
                bad = (number, len(record))
    if bad:
        last = "" if followed else " (a truncated file?)"
        raise DeliveryError(file, f"the row has {bad[1]} fields but the header has {width}{last}", row=bad[0])
    return blanks


def _records(text: Iterator[str], delimiter: str, file: str) -> Iterator[list[str]]:
    """The csv module's records of `text` (a blank line is []), streamed: it holds one record at a time.

    A quote left open (at the end of the file) is a DeliveryError naming the record it opens.
    """
    records = csv.reader(text, delimiter=delimiter, strict=True)
    read = 0
    try:
        for record in records:
            yield record
            read += 1
    except csv.Error as error:
        raise DeliveryError(file, f"the file is malformed or truncated at line {records.line_num} ({error})",
                            row=read) from error
