"""The report's figures: the SVG each mart wrote beside its PNG (assets/marts/plot_style.render, save_figures),
embedded whole. A figure the mart did not write (it failed, or was last built before it drew SVG) is a box
that says so."""

from __future__ import annotations

from pathlib import Path

from assets.marts.shared import figures_dir
from assets.report.context import FigureBlock


def figure(warehouse_path: str | Path, png_name: str, title: str, drawn_by: str) -> FigureBlock:
    """The SVG of the mart figure `png_name` (its PNG's file name in <warehouse>/figures/), drawn by the step
    of the mart `drawn_by` (a relation, e.g. marts.immune_paired)."""
    svg = figures_dir(str(warehouse_path)) / Path(png_name).with_suffix(".svg").name
    if not svg.is_file():
        return FigureBlock(title, problem=f"figures/{svg.name} is missing: the mart that draws it has not "
                                          "succeeded since figures were written as SVG", source=f"figures/{svg.name}",
                           drawn_by=drawn_by)
    content = svg.read_bytes()
    if not content.lstrip().startswith((b"<?xml", b"<svg")):
        return FigureBlock(title, problem=f"figures/{svg.name} is not an SVG", source=f"figures/{svg.name}",
                           drawn_by=drawn_by)
    return FigureBlock(title, svg=content, source=f"figures/{svg.name}", drawn_by=drawn_by)
