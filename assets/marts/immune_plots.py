"""Figures of the immune and cytokine marts as PNG bytes: values per patient across timepoints (Figures 1 and
3: one panel per marker, a grey line joining each patient's values, the median as a bar) and changes by group
(Figure 2). Plus how an asset shows them: files beside the warehouse, markdown data-URI images for Dagster
(which has no image metadata type).

matplotlib is imported inside the functions (Agg backend: no display on a server). Points are spread by their
rank, not at random, and the PNG carries no software metadata: the same values give the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import polars as pl

COLUMNS_PER_ROW = 4
GROUP_COLORS = ("#c0392b", "#1f4e79", "#2e8b57")
SPREAD = 0.12  # half-width of a column of points, in x units
# Panel titles at a fixed height: left to matplotlib, placing them measures every tick of every panel.
TITLE_Y = 1.0


def _p_label(p_value: float | None) -> str:
    if p_value is None:
        return "no test"
    return "P < 0.0001" if p_value < 0.0001 else f"P = {p_value:.3g}"


def _grid(n_panels: int, title: str, panel_size: tuple[float, float] = (2.6, 2.4)):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    columns = max(1, min(COLUMNS_PER_ROW, n_panels))
    rows = max(1, math.ceil(n_panels / columns))
    width, height = panel_size[0] * columns, panel_size[1] * rows + 0.5
    figure = Figure(figsize=(width, height), dpi=90)
    # Fixed margins (inches) for tick labels, two-line panel titles and the figure title: tight_layout
    # measured every text of every panel and took most of a figure's second.
    figure.subplots_adjust(left=0.5 / width, right=1 - 0.15 / width, bottom=0.35 / height, top=1 - 0.75 / height,
                           wspace=0.45, hspace=0.55)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for unused in axes[n_panels:]:
        unused.set_axis_off()
    if not n_panels:  # an empty mart still gets its figure, saying so
        axes[0].text(0.5, 0.5, "no values", ha="center", va="center", transform=axes[0].transAxes)
    figure.suptitle(title, fontsize=11)
    return figure, axes[:n_panels]


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _offsets(n: int) -> list[float]:
    """Positions inside a column of n points, by rank: deterministic, no overlap at small n."""
    return [0.0] if n == 1 else [SPREAD * (2 * i / (n - 1) - 1) for i in range(n)]


def _panels(markers: pl.Series, order: Sequence[str]) -> list[str]:
    """The markers present, those named in `order` first and in its order (the paper's panels), then the rest."""
    present = set(markers.unique())
    return [m for m in order if m in present] + sorted(present - set(order))


def timepoint_figure(values: pl.DataFrame, timepoints: Sequence[tuple[str, str]], p_values: Mapping[str, float | None],
                     title: str, order: Sequence[str] = (), log_scale: bool = False) -> bytes:
    """One panel per marker of `values` (subject_id, marker, timepoint, value), the `timepoints` (timepoint,
    label) as columns, each patient's values joined by a line, a black bar at each column's median; the panel
    title carries the marker's P-value (p_values[marker])."""
    from matplotlib.collections import LineCollection

    markers = _panels(values["marker"], order)
    figure, axes = _grid(len(markers), title)
    labels = [label for _, label in timepoints]
    for panel, marker in zip(axes, markers):
        wide = (values.filter(pl.col("marker") == marker)
                .pivot("timepoint", index="subject_id", values="value").sort("subject_id"))
        columns = [timepoint for timepoint, _ in timepoints if timepoint in wide.columns]
        positions = {timepoint: i for i, (timepoint, _) in enumerate(timepoints)}
        offsets = _offsets(wide.height)
        # One line collection and one scatter per panel: an artist per patient costs seconds to draw.
        lines, points = [], []
        for offset, row in zip(offsets, wide.select(columns).iter_rows()):
            line = [(positions[c] + offset, v) for c, v in zip(columns, row) if v is not None]
            lines.append(line)
            points.extend(line)
        panel.add_collection(LineCollection(lines, colors="#b0b0b0", linewidths=0.6, zorder=1))
        if points:
            panel.scatter(*zip(*points), s=9, color="#1f4e79", zorder=2)
        for column in columns:
            known = wide[column].drop_nulls()
            if known.len():
                x = positions[column]
                panel.hlines(known.median(), x - 1.6 * SPREAD, x + 1.6 * SPREAD, color="black", linewidth=2, zorder=3)
        panel.set_xticks(range(len(labels)), labels, fontsize=7)
        panel.set_xlim(-0.5, len(labels) - 0.5)
        if log_scale:
            panel.set_yscale("log")
        panel.tick_params(labelsize=7)
        panel.set_title(f"{marker}\n{_p_label(p_values.get(marker))}", fontsize=8, y=TITLE_Y)
    return _png(figure)


def change_figure(changes: pl.DataFrame, groups: Sequence[tuple[str, str]], p_values: Mapping[str, float | None],
                  title: str, order: Sequence[str] = ()) -> bytes:
    """One panel per marker of `changes` (marker, group, change): the changes of each of `groups` (group, label)
    as a column of points with a bar at the median, a dashed line at no change; P-value in the panel title."""
    markers = _panels(changes["marker"], order)
    figure, axes = _grid(len(markers), title)
    for panel, marker in zip(axes, markers):
        for x, (group, _) in enumerate(groups):
            values = changes.filter((pl.col("marker") == marker) & (pl.col("group") == group))["change"].sort()
            color = GROUP_COLORS[x % len(GROUP_COLORS)]
            panel.scatter([x + o for o in _offsets(values.len())] if values.len() else [], values.to_list(), s=9,
                          color=color, zorder=2)
            if values.len():
                panel.hlines(values.median(), x - 1.6 * SPREAD, x + 1.6 * SPREAD, color="black", linewidth=2, zorder=3)
        panel.axhline(0, color="#808080", linestyle="--", linewidth=0.6, zorder=1)
        panel.set_xticks(range(len(groups)), [label for _, label in groups], fontsize=7)
        panel.set_xlim(-0.5, len(groups) - 0.5)
        panel.tick_params(labelsize=7)
        panel.set_title(f"{marker}: change\n{_p_label(p_values.get(marker))}", fontsize=8, y=TITLE_Y)
    return _png(figure)


