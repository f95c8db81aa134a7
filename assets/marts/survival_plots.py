"""Kaplan-Meier plots of the survival mart: each curve with its 95 % confidence band (the mart's ci_lower /
ci_upper), censor marks, each group's n and median in the legend, the log-rank P on the plot and the numbers at
risk at body size under the axis; PNG and SVG (plot_style.render, the mart's 16 figures side by side: render_all).

The same curves give the same bytes: neither format carries software-version or date metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from assets.marts import plot_style
from assets.marts.stats import survival_at
from assets.marts.survival_groupings import Grouping

DAYS_PER_MONTH = 365.25 / 12
TICK_MONTHS = 6
LINESTYLES = ("-", "--", "-.", ":")  # besides colour: groups stay apart in grey print
# Layout in inches: the axes, then the at-risk table a row per group at body size.
WIDTH, AXES_HEIGHT, ROW_HEIGHT, TOP, BOTTOM_GAP = 7.0, 3.6, 0.24, 0.45, 0.75
# Censor marks are drawn once per cell of a MARK_GRID x MARK_GRID grid over the axes (about a pixel at the
# figures' 100 dpi: the axes are about 525 x 360 px; a mark is 11 px wide): a registry's curves censor at
# thousands of times each, marks that overlap into one band, and every one was an element of the SVG. At
# 100,000 patients the 16 figures drew 54,329 marks (5.5 s), now 15,028 (4.8 s); the paper's 105 patients
# keep every mark but where two fall on one pixel.
MARK_GRID = 500


def _step(curve: pl.DataFrame, column: str = "survival") -> tuple[list[float], list[float]]:
    """The step function of `column` from time 0 (1) to the last observed time, in months (NaN where NULL)."""
    months = [0.0, *(curve["time"] / DAYS_PER_MONTH).to_list()]
    return months, [1.0, *curve[column].fill_null(float("nan")).to_list()]


def censor_marks(curve: pl.DataFrame, last_month: float) -> pl.DataFrame:
    """`month`, `survival` of the censored times of `curve`, one per cell of a MARK_GRID grid over an axes of
    0..last_month by 0..1 (the first of each cell, in time order)."""
    censored = curve.filter(pl.col("censored") > 0).sort("time").select(
        (pl.col("time") / DAYS_PER_MONTH).alias("month"), "survival")
    cell = [(pl.col("month") / last_month * MARK_GRID).floor(), (pl.col("survival") * MARK_GRID).floor()]
    return censored.filter(pl.struct(cell).is_first_distinct())


def median_text(median_days: float | None) -> str:
    """A median survival in months, or 'not reached'."""
    return "not reached" if median_days is None else f"{median_days / DAYS_PER_MONTH:.1f} mo"


def km_figure(
    curves: pl.DataFrame, title: str, ylabel: str, labels: dict[str, str] | None = None, dpi: int = 100,
    medians: Mapping[str, float | None] | None = None, p_value: float | None = None, test: str | None = None,
):
    """One panel, a matplotlib Figure: a step curve per `group` of `curves` (the rows of one endpoint and
    grouping) with its 95 % CI band, '+' at censored times, the number at risk per group every TICK_MONTHS
    months under the time axis.
    `labels` renames groups for display; `medians` (group -> days, None: not reached) go into the legend;
    `test` names the comparison whose `p_value` is printed (plot_style.format_p), e.g. 'Log-rank'."""
    groups = sorted(curves["group"].unique().to_list())
    last_month = max((curves["time"].max() or 0) / DAYS_PER_MONTH, 1.0)
    ticks = list(range(0, int(last_month) + 1, TICK_MONTHS))
    names = [(labels or {}).get(group, group) for group in groups]
    table_height = ROW_HEIGHT * (len(groups) + 1)
    height = TOP + AXES_HEIGHT + BOTTOM_GAP + table_height
    with plot_style.style():
        figure = plot_style.new_figure(figsize=(WIDTH, height), dpi=dpi)
        axes = figure.add_axes((1.5 / WIDTH, (BOTTOM_GAP + table_height) / height, 1 - 1.75 / WIDTH,
                                AXES_HEIGHT / height))
        row_step = ROW_HEIGHT / AXES_HEIGHT  # one at-risk row, in axes fractions
        table_top = -(BOTTOM_GAP - 0.05) / AXES_HEIGHT
        for index, (group, name) in enumerate(zip(groups, names)):
            curve = curves.filter(pl.col("group") == group).sort("time")
            color = plot_style.PALETTE[index % len(plot_style.PALETTE)]
            months, survival = _step(curve)
            if "ci_lower" in curve.columns:
                _, lower = _step(curve, "ci_lower")
                _, upper = _step(curve, "ci_upper")
                axes.fill_between(months, lower, upper, step="post", color=color, alpha=0.15, linewidth=0)
            n = curve["n_at_risk"].max() if curve.height else 0
            label = f"{name} (n = {n}" + (f", median {median_text(medians.get(group))})" if medians is not None
                                          else ")")
            axes.step(months, survival, where="post", color=color, label=label, linewidth=1.8,
                      linestyle=LINESTYLES[index % len(LINESTYLES)])
            marks = censor_marks(curve, ticks[-1] + TICK_MONTHS / 2)
            axes.plot(marks["month"], marks["survival"], "+", color=color, markersize=8)
            at_risk = [survival_at(curve, month * DAYS_PER_MONTH).n_at_risk for month in ticks]
            row_y = table_top - row_step * (index + 1)
            axes.text(-0.06, row_y, name, transform=axes.transAxes, ha="right", va="center", color=color,
                      fontsize=plot_style.BODY_PT)
            for month, count in zip(ticks, at_risk):
                axes.text(month, row_y, str(count), transform=axes.get_xaxis_transform(), ha="center", va="center",
                          fontsize=plot_style.BODY_PT)
        axes.set_xlim(0, ticks[-1] + TICK_MONTHS / 2)
        axes.set_xticks(ticks)
        axes.set_ylim(0, 1.03)
        axes.set_xlabel("Time since the first blinatumomab infusion (months)", labelpad=2)
        axes.set_ylabel(f"{ylabel} (proportion)")
        axes.set_title(title, y=1.0)  # a fixed y: matplotlib would measure every tick to place it
        # The P heads the legend: on the plot, where no curve runs through it.
        heading = f"{test} {plot_style.format_p(p_value)}; shaded: 95 % CI" if test else "Shaded: 95 % CI"
        legend = axes.legend(loc="lower left", frameon=False, title=heading, title_fontsize=plot_style.BODY_PT)
        legend._legend_box.align = "left"  # noqa: SLF001 (matplotlib has no public setting for the title's side)
        axes.text(-0.06, table_top, "At risk", transform=axes.transAxes, ha="right", va="center",
                  fontsize=plot_style.BODY_PT, fontweight="bold")
        return figure


YLABELS = {"efs": "Event-free survival", "os": "Overall survival"}


def figure_name(endpoint: str, grouping: str) -> str:
    return f"km_{endpoint}_{grouping}.png"


def survival_figures(curves: pl.DataFrame, groupings: Sequence[Grouping], summary: pl.DataFrame | None = None,
                     tests: pl.DataFrame | None = None) -> dict[str, plot_style.Rendered]:
    """A figure per endpoint and grouping of `curves`, keyed by file name (figure_name), titled with the
    paper's figure panel where there is one; with each group's median from `summary` (marts.survival_summary)
    and the log-rank P from `tests` (its survival.<endpoint>.<grouping> row of marts.statistical_tests)."""
    figures = {}
    for grouping in groupings:
        for endpoint in sorted(curves.filter(pl.col("grouping") == grouping.name)["endpoint"].unique()):
            panel = curves.filter((pl.col("grouping") == grouping.name) & (pl.col("endpoint") == endpoint))
            title = f"{endpoint.upper()}: {grouping.title}"
            if endpoint in grouping.figures:
                title = f"{grouping.figures[endpoint]}. {title}"
            medians = None if summary is None else dict(
                summary.filter((pl.col("grouping") == grouping.name) & (pl.col("endpoint") == endpoint))
                .select("group", "median_days").iter_rows())
            test = None if tests is None else tests.filter(pl.col("test_id") == f"survival.{endpoint}.{grouping.name}")
            figures[figure_name(endpoint, grouping.name)] = km_figure(
                panel, title, YLABELS.get(endpoint, "Survival"), grouping.labels, medians=medians,
                p_value=test["p_value"][0] if test is not None and test.height else None,
                test="Log-rank" if test is not None and test.height else None,
            )
    return plot_style.render_all(figures)
