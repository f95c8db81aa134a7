"""Figures of the immune and cytokine marts (PNG and SVG, plot_style.render): the distribution of values across
timepoints (Figures 1 and 3) or of changes by group (Figure 2), one panel per marker. They draw quantiles computed
in DuckDB (aggregates.quantiles), not a point per patient: a registry's figure costs what the demo's does.

Each panel is titled with its marker's name and unit (plot_style.marker_label), its y axis with the unit, its P-value
in the one format (plot_style.format_p); the plot_style palette and text sizes. Neither format carries software
metadata: the same values give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import polars as pl

from assets.marts import plot_style

COLUMNS_PER_ROW = 4
GROUP_COLORS = plot_style.PALETTE[:3]
SPREAD = 0.12  # half-width of a box, in x units
# Panel titles at a fixed height: left to matplotlib, placing them measures every tick of every panel.
TITLE_Y = 1.0
PANEL_TITLE_CHARS = 30


def _grid(n_panels: int, title: str, panel_size: tuple[float, float] = (3.0, 2.8)):
    columns = max(1, min(COLUMNS_PER_ROW, n_panels))
    rows = max(1, math.ceil(n_panels / columns))
    width, height = panel_size[0] * columns, panel_size[1] * rows + 0.5
    figure = plot_style.new_figure(figsize=(width, height), dpi=90)
    # Fixed margins (inches) for tick labels, two-line panel titles and the figure title: tight_layout
    # measured every text of every panel and took most of a figure's second.
    figure.subplots_adjust(left=0.6 / width, right=1 - 0.15 / width, bottom=0.35 / height, top=1 - 1.0 / height,
                           wspace=0.55, hspace=0.95)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for unused in axes[n_panels:]:
        unused.set_axis_off()
    if not n_panels:  # an empty mart still gets its figure, saying so
        axes[0].text(0.5, 0.5, "no values", ha="center", va="center", transform=axes[0].transAxes)
    figure.suptitle(title)
    return figure, axes[:n_panels]


def _panels(markers: pl.Series, order: Sequence[str]) -> list[str]:
    """The markers present, those named in `order` first and in its order (the paper's panels), then the rest."""
    present = set(markers.unique())
    return [m for m in order if m in present] + sorted(present - set(order))


def distribution_figure(quantiles: pl.DataFrame, columns: Sequence[tuple[str, str]],
                        p_values: Mapping[str, float | None], title: str, order: Sequence[str] = (),
                        panel_title: str = "{label}", log_scale: bool = False,
                        connect: bool = False) -> plot_style.Rendered:
    """One panel per marker of `quantiles` (aggregates.quantiles by marker and column), the `columns` (column,
    label) side by side: a whisker from minimum to maximum, a box over the quartiles, a black bar at the median
    and the number of values under it; `connect` joins the medians (the same patients across timepoints), else
    a dashed line marks no change. The panel title (`panel_title` with the marker's label, plot_style.marker_label)
    carries its P-value; the y axis its unit."""
    with plot_style.style():
        return plot_style.render(_distribution(quantiles, columns, p_values, title, order, panel_title, log_scale,
                                               connect))


def _distribution(quantiles, columns, p_values, title, order, panel_title, log_scale, connect):
    from matplotlib.patches import Rectangle

    markers = _panels(quantiles["marker"], order)
    figure, axes = _grid(len(markers), title)
    positions = {column: x for x, (column, _) in enumerate(columns)}
    for panel, marker in zip(axes, markers):
        rows = [row for row in quantiles.filter(pl.col("marker") == marker).iter_rows(named=True)
                if row["column"] in positions]
        rows.sort(key=lambda row: positions[row["column"]])
        for row in rows:
            x = positions[row["column"]]
            color = GROUP_COLORS[x % len(GROUP_COLORS)]
            panel.vlines(x, row["q0"], row["q100"], color=color, linewidth=0.8, zorder=1)
            panel.add_patch(Rectangle((x - SPREAD, row["q25"]), 2 * SPREAD, row["q75"] - row["q25"], facecolor=color,
                                      alpha=0.35, edgecolor=color, zorder=2))
            panel.hlines(row["q50"], x - 1.6 * SPREAD, x + 1.6 * SPREAD, color="black", linewidth=2, zorder=3)
            panel.annotate(f"n={row['n']}", (x, 0), xycoords=("data", "axes fraction"), xytext=(0, 2),
                           textcoords="offset points", ha="center", va="bottom", fontsize=plot_style.SMALL_PT)
        if connect and rows:
            panel.plot([positions[row["column"]] for row in rows], [row["q50"] for row in rows], color="#808080",
                       linewidth=0.8, zorder=2)
        elif not connect:
            panel.axhline(0, color="#808080", linestyle="--", linewidth=0.6, zorder=1)
        panel.set_xticks(range(len(columns)), [label for _, label in columns])
        panel.set_xlim(-0.5, len(columns) - 0.5)
        if log_scale:
            panel.set_yscale("symlog", linthresh=1.0)  # values at a kit's floor may be 0
        panel.set_ylabel(plot_style.marker_unit(marker) or "value", fontsize=plot_style.SMALL_PT)
        label = panel_title.format(label=plot_style.marker_label(marker))
        if len(label) > PANEL_TITLE_CHARS:  # the unit on a line of its own: a panel is 3 inches wide
            label = label.replace(" (", "\n(", 1) if "(" in label else label
        panel.set_title(f"{label}\n{plot_style.format_p(p_values.get(marker))}", fontsize=plot_style.BODY_PT,
                        y=TITLE_Y)
    return figure
