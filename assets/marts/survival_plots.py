"""Kaplan-Meier plots of the survival mart, numbers at risk under the axis, as PNG bytes.

matplotlib is imported inside the function (Agg backend: no display on a server), so importing the marts
stays cheap. The same curves give the same bytes: the PNG carries no software-version or date metadata.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import polars as pl

from assets.marts.stats import survival_at
from assets.marts.survival_groupings import Grouping

DAYS_PER_MONTH = 365.25 / 12
TICK_MONTHS = 6
_AT_RISK_TOP = -0.2  # axes fraction: the at-risk table starts under the axis label
COLORS = ("#1f4e79", "#c0392b", "#2e8b57", "#8e44ad", "#d68910", "#566573")


def _step(curve: pl.DataFrame) -> tuple[list[float], list[float]]:
    """The step function from time 0 (S = 1) to the last observed time, in months."""
    months = [0.0, *(curve["time"] / DAYS_PER_MONTH).to_list()]
    return months, [1.0, *curve["survival"].to_list()]


def km_plot(
    curves: pl.DataFrame, title: str, ylabel: str, labels: dict[str, str] | None = None, dpi: int = 100
) -> bytes:
    """One panel: a step curve per `group` of `curves` (the rows of one endpoint and grouping), '+' at
    censored times, and the number at risk per group every TICK_MONTHS months under the time axis.
    `labels` renames groups for display."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    groups = sorted(curves["group"].unique().to_list())
    last_month = max(curves["time"].max() / DAYS_PER_MONTH, 1.0)
    ticks = list(range(0, int(last_month) + 1, TICK_MONTHS))
    names = [(labels or {}).get(group, group) for group in groups]
    figure = Figure(figsize=(6.4, 4.4 + 0.2 * len(groups)), dpi=dpi)
    axes = figure.add_axes((0.15, 0.2 + 0.045 * len(groups), 0.8, 0.72 - 0.045 * len(groups)))
    for index, (group, name) in enumerate(zip(groups, names)):
        curve = curves.filter(pl.col("group") == group).sort("time")
        color = COLORS[index % len(COLORS)]
        months, survival = _step(curve)
        axes.step(months, survival, where="post", color=color, label=name, linewidth=1.6)
        censored = curve.filter(pl.col("censored") > 0)
        axes.plot(censored["time"] / DAYS_PER_MONTH, censored["survival"], "+", color=color, markersize=7)
        at_risk = [survival_at(curve, month * DAYS_PER_MONTH).n_at_risk for month in ticks]
        row_y = _AT_RISK_TOP - 0.08 * (index + 1)
        axes.text(-0.02, row_y, name, transform=axes.transAxes, ha="right", va="center", color=color,
                  fontsize=7)
        for month, n in zip(ticks, at_risk):
            axes.text(month, row_y, str(n), transform=axes.get_xaxis_transform(), ha="center", va="center",
                      fontsize=7)
    axes.set_xlim(0, ticks[-1] + TICK_MONTHS / 2)
    axes.set_xticks(ticks)
    axes.set_ylim(0, 1.03)
    axes.set_xlabel("Months", fontsize=8, labelpad=2)
    axes.set_ylabel(ylabel, fontsize=9)
    axes.set_title(title, fontsize=10, y=1.0)  # a fixed y: matplotlib would measure every tick to place it
    axes.tick_params(labelsize=8)
    axes.legend(loc="lower left", fontsize=7, frameon=False)
    axes.text(-0.02, _AT_RISK_TOP, "At risk", transform=axes.transAxes, ha="right", va="center", fontsize=7,
              fontweight="bold")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


YLABELS = {"efs": "Event-free survival", "os": "Overall survival"}


def figure_name(endpoint: str, grouping: str) -> str:
    return f"km_{endpoint}_{grouping}.png"


def survival_figures(curves: pl.DataFrame, groupings: Sequence[Grouping]) -> dict[str, bytes]:
    """A PNG per endpoint and grouping of `curves`, keyed by file name (figure_name), titled with the
    paper's figure panel where there is one."""
    figures = {}
    for grouping in groupings:
        for endpoint in sorted(curves.filter(pl.col("grouping") == grouping.name)["endpoint"].unique()):
            panel = curves.filter((pl.col("grouping") == grouping.name) & (pl.col("endpoint") == endpoint))
            title = f"{endpoint.upper()}: {grouping.title}"
            if endpoint in grouping.figures:
                title = f"{grouping.figures[endpoint]}. {title}"
            figures[figure_name(endpoint, grouping.name)] = km_plot(
                panel, title, YLABELS.get(endpoint, "Survival"), grouping.labels
            )
    return figures
