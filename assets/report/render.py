"""The page: Jinja2 templates (templates/) filled with a study's context; tables rendered from their polars frames
by great_tables, figures embedded as SVG data URIs (no file beside the page, no network: it opens from a USB
stick). Written aside and renamed into place, as the snapshot is: a reader never opens half a page."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import polars as pl

from assets.marts.plot_style import format_p, marker_label
from assets.report.context import Block, FigureBlock, Provenance, Section

TEMPLATES = Path(__file__).with_name("templates")
MISSING = "—"  # a cell without a value: never an empty number cell


@cache
def environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["data_uri"] = lambda svg: "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    env.tests["figure"] = lambda block: isinstance(block, FigureBlock)
    return env


def display_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """What the reader sees in the cells: markers by name and unit (plot_style.marker_label), P-values in the one
    format (plot_style.format_p), other decimals by format_number, booleans as yes/no, dates and times as ISO
    text; integers stay numbers for great_tables."""
    if "published_p" in frame.columns and "p_value" in frame.columns:
        # The paper's P and its mark right beside the computed P; the test's key is for SQL, not for the reader.
        rest = [name for name in frame.columns if name not in ("published_p", "p_match", "test_id")]
        at = rest.index("p_value") + 1
        frame = frame.select(*rest[:at], "published_p", "p_match", *rest[at:])
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if name in ("marker", "analyte") and dtype == pl.Utf8:  # a reader's name, with its unit
            column = column.map_elements(marker_label, return_dtype=pl.Utf8, skip_nulls=True)
        elif name.endswith("p_value") and dtype.is_numeric():
            column = column.map_elements(format_p, return_dtype=pl.Utf8, skip_nulls=True)
        elif dtype.is_float() or isinstance(dtype, pl.Decimal):
            column = column.cast(pl.Float64).map_elements(format_number, return_dtype=pl.Utf8, skip_nulls=True)
        elif dtype == pl.Boolean:
            column = pl.when(column).then(pl.lit("yes")).when(column.not_()).then(pl.lit("no"))
        elif dtype.is_temporal() or isinstance(dtype, (pl.List, pl.Struct)):
            column = column.cast(pl.Utf8) if dtype.is_temporal() else column.map_elements(str, return_dtype=pl.Utf8)
        columns.append(column.alias(name))
    return frame.select(columns)


def table_html(frame: pl.DataFrame, table_id: str) -> str:
    """The great_tables HTML of `frame` (its CSS scoped to `table_id`, no external resource)."""
    import great_tables as gt

    shown = display_frame(frame)
    table = gt.GT(shown, id=table_id)
    numbers = [name for name, dtype in frame.schema.items() if dtype.is_numeric()]
    integers = [name for name, dtype in shown.schema.items() if dtype.is_integer()]
    if numbers:
        table = table.cols_align("right", columns=numbers)
    if integers:
        table = table.fmt_integer(columns=integers)
    # A P-value and a match mark are read whole: never broken over two lines.
    unbroken = [name for name in shown.columns if name.endswith(("p_value", "p_match")) or name == "reproduces"]
    if unbroken:
        table = table.tab_style(style=gt.style.text(whitespace="nowrap"), locations=gt.loc.body(columns=unbroken))
    labels = {name: _label(name) for name in shown.columns}
    table = table.cols_label(**labels).sub_missing(missing_text=MISSING)
    table = table.tab_options(table_font_size="14px", column_labels_font_weight="bold", table_margin_left="0")
    return table.as_raw_html(inline_css=False)


def format_number(value: float) -> str:
    """A decimal as a reader reads it: whole numbers without decimals, otherwise at most three decimals, and
    three significant digits below 0.01 (a hazard ratio of 0.004 is not 0)."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value)}"  # no thousands separator: the reference codes dates as numbers (20220229)
    if abs(value) >= 0.01:
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _label(name: str) -> str:
    if name.endswith("p_value"):
        return (name[: -len("p_value")].replace("_", " ") + "P").strip()
    return {"published_p": "published P", "p_match": "P as published"}.get(name, name.replace("_", " "))


def render_page(study: str, title: str, provenance: Provenance, summary: Block, sections: Sequence[Section],
                quality: Sequence[Block]) -> str:
    """The whole page, as text."""
    tables: dict[int, str] = {}
    blocks = [provenance.deliveries, summary, *(b for s in sections for b in s.blocks), *quality]
    for index, block in enumerate(blocks):
        if isinstance(block, Block) and block.frame is not None:
            tables[id(block)] = table_html(block.frame, f"t{index}")
    return environment().get_template("page.html.j2").render(
        study=study, title=title, provenance=provenance, summary=summary, sections=sections, quality=quality,
        table_of=lambda block: tables.get(id(block)),
    )


def write_atomically(path: Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file beside it, renamed into place (one rename: a reader sees
    the old page or the new one, never part of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        aside.write_text(text, encoding="utf-8")
        os.replace(aside, path)
    finally:
        aside.unlink(missing_ok=True)
    return path
