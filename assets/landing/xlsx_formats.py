"""The percent-formatted cells of an xlsx sheet, which fastexcel (calamine) renders by value alone.

A cell shown as `74.9%` holds 0.749: read by its value it would land 100 times too low. fastexcel does not
expose number formats, so the workbook's XML is read here, as far as needed: the styles whose number format
is a percentage (built-in formats 9 and 10, or a custom format with a `%` outside quotes), then, only if the
sheet uses such a style, the references of the cells that carry it (one regular-expression pass over the
sheet's XML, no per-cell Python for the other cells).
"""

import re
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath

PERCENT_FORMAT_IDS = {9, 10}  # 0% and 0.00%
_SHEET = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_RELATION = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_NUMBER_FORMAT = re.compile(rb'<numFmt\b[^>]*?\bnumFmtId="(\d+)"[^>]*?\bformatCode="([^"]*)"')
_CELL_FORMATS = re.compile(rb"<cellXfs\b[^>]*>(.*?)</cellXfs>", re.S)
_FORMAT_ID = re.compile(rb'<xf\b[^>]*?\bnumFmtId="(\d+)"')
_REFERENCE = re.compile(rb'\br="([A-Z]+)(\d+)"')
_ROW = re.compile(rb"<row\b[^>]*>(.*?)</row>", re.S)


def percent_cells(path: Path, sheet: str) -> tuple[set[tuple[int, int]], tuple[int, int]]:
    """((row, column) of every percent-formatted cell, (row, column) of the sheet's first used cell), both
    0-based as in the sheet (A1 is (0, 0)); fastexcel's frame starts at that first cell."""
    with zipfile.ZipFile(path) as workbook:
        styles = _percent_styles(workbook.read("xl/styles.xml")) if "xl/styles.xml" in workbook.namelist() else set()
        if not styles:
            return set(), (0, 0)
        xml = workbook.read(_sheet_path(workbook, sheet))
    styled = re.compile(rb'<c\b[^>]*?\bs="(?:' + b"|".join(str(style).encode() for style in sorted(styles))
                        + rb')"[^>]*>')
    cells = {_position(match.group(0)) for match in styled.finditer(xml)} - {None}
    return cells, _first_cell(xml) if cells else (0, 0)


def as_percent(text: str | None) -> str | None:
    """The text a percent-formatted number cell shows, exactly: '0.749' -> '74.9%' (other text unchanged)."""
    try:
        shown = Decimal(text) * 100
    except (InvalidOperation, TypeError):
        return text
    return f"{shown:f}".rstrip("0").rstrip(".") + "%" if "." in f"{shown:f}" else f"{shown:f}%"


def _percent_styles(styles: bytes) -> set[int]:
    custom = {int(number) for number, code in _NUMBER_FORMAT.findall(styles)
              if "%" in re.sub(r'"[^"]*"|\\.', "", code.decode("utf-8", "replace").replace("&quot;", '"'))}
    formats = _CELL_FORMATS.search(styles)
    ids = [int(number) for number in _FORMAT_ID.findall(formats.group(1))] if formats else []
    return {style for style, number in enumerate(ids) if number in PERCENT_FORMAT_IDS | custom}


def _sheet_path(workbook: zipfile.ZipFile, sheet: str) -> str:
    relation = dict(_SHEET.findall(workbook.read("xl/workbook.xml")))[sheet.encode("utf-8")]
    target = dict(_RELATION.findall(workbook.read("xl/_rels/workbook.xml.rels")))[relation].decode()
    return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)


def _position(tag: bytes) -> tuple[int, int] | None:
    reference = _REFERENCE.search(tag)
    if not reference:  # a cell without its (optional) reference: not placed
        return None
    column, row = reference.groups()
    number = 0
    for letter in column:
        number = number * 26 + letter - ord("A") + 1
    return int(row) - 1, number - 1


def _first_cell(xml: bytes) -> tuple[int, int]:
    """The first row holding cells, and its leftmost cell (the header row of a delivered table)."""
    row = _ROW.search(xml)
    cells = [_position(match.group(0)) for match in _REFERENCE.finditer(row.group(1))] if row else []
    return min(cells) if cells else (0, 0)
