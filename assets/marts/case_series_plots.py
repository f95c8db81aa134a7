"""The case series' Fig. 1 from marts.case_series_trajectories: one panel per case, flow MRD and fusion transcript
on a log axis in %, each measure's detection limit as a line, blinatumomab shaded and HSCT marked.

The report dates no marrow, so x is the marrow's place in the course (time_point_no), labelled with its time
point. A value below detection is drawn open, at its detection limit, or at the axis floor labelled ND when the
assay states none. HSCT is drawn after the last marrow not dated after it (an undated marrow counts as before:
the report gives the post-transplant marrows only as "persistently negative"). Okabe-Ito colours (safe for
colour-blind readers, plot_style); PNG and SVG without date metadata.
"""

from __future__ import annotations

import polars as pl

from assets.marts import plot_style
from assets.marts.plot_style import OKABE_ITO

FIGURE = "case_series_trajectories.png"
COLORS = {"mrd": OKABE_ITO["blue"], "fusion_transcript": OKABE_ITO["vermillion"]}
MARKERS = {"mrd": "o", "fusion_transcript": "s"}
LABELS = {"mrd": "MRD (flow cytometry)", "fusion_transcript": "Fusion transcript (qPCR)"}
BLINATUMOMAB_COLOR = OKABE_ITO["sky_blue"]
HSCT_COLOR = OKABE_ITO["green"]
FLOOR_PCT = 0.001  # where a value below detection without a known limit (ND) is drawn
BELOW_LABEL = "Below detection (open marker; ND: not detected, no limit stated)"
BEFORE, AFTER = ("before_blinatumomab",), ("on_blinatumomab", "after_blinatumomab")


def _blinatumomab_spans(case: pl.DataFrame) -> list[tuple[float, float]]:
    """Per cycle, the x span from its last marrow before blinatumomab to its first after (half a step beside a
    lone marrow)."""
    spans = []
    for cycle_no in sorted(case["cycle_no"].drop_nulls().unique()):
        cycle = case.filter(pl.col("cycle_no") == cycle_no)
        before = cycle.filter(pl.col("phase").is_in(BEFORE))["time_point_no"]
        after = cycle.filter(pl.col("phase").is_in(AFTER))["time_point_no"]
        if before.len() or after.len():
            start = before.max() if before.len() else after.min() - 0.5
            spans.append((start, after.min() if after.len() else start + 0.5))
    return spans


def _hsct_x(case: pl.DataFrame, hsct_date) -> float:
    """Half a step after the last marrow not dated after the transplant."""
    before = case.filter(pl.col("assessment_date").is_null() | (pl.col("assessment_date") < hsct_date))
    return (before["time_point_no"].max() if before.height else 0) + 0.5


def trajectory_figure(trajectories: pl.DataFrame, hsct: pl.DataFrame, dpi: int = 100):
    """The matplotlib Figure: a panel per case of `trajectories` (the mart's rows), sorted by case_no; `hsct`
    holds case_no, hsct_date."""
    with plot_style.style():
        return _trajectories(trajectories, hsct, dpi)


def _trajectories(trajectories: pl.DataFrame, hsct: pl.DataFrame, dpi: int):
    from matplotlib.lines import Line2D

    cases = sorted(trajectories["case_no"].unique().to_list())
    transplants = dict(hsct.select("case_no", "hsct_date").iter_rows())
    top = max(10.0, 3 * (trajectories["value_pct"].max() or 1.0))
    figure = plot_style.new_figure(figsize=(4.4 * max(len(cases), 1), 5.4), dpi=dpi, layout="constrained")
    panels = figure.subplots(1, max(len(cases), 1), sharey=True, squeeze=False)[0]
    for axes, case_no in zip(panels, cases):
        case = trajectories.filter(pl.col("case_no") == case_no).sort("time_point_no")
        for start, end in _blinatumomab_spans(case):
            axes.axvspan(start, end, color=BLINATUMOMAB_COLOR, alpha=0.3, linewidth=0, label="Blinatumomab")
        for measure, color in COLORS.items():
            rows = case.filter(pl.col("measure") == measure)
            if not rows.height:
                continue
            drawn = pl.when(pl.col("below_detection")).then("detection_limit_pct").otherwise("value_pct")
            y = [FLOOR_PCT if value is None else value for value in rows.select(drawn.alias("y"))["y"]]
            x = rows["time_point_no"].to_list()
            axes.plot(x, y, color=color, linestyle="-" if measure == "mrd" else "--", linewidth=1.4,
                      marker=MARKERS[measure], markersize=6, label=LABELS[measure])
            for xi, yi, below in zip(x, y, rows["below_detection"].to_list()):
                if not below:
                    continue
                axes.plot([xi], [yi], MARKERS[measure], color=color, markersize=6, markerfacecolor="white")
                if yi == FLOOR_PCT:
                    axes.annotate("ND", (xi, yi), textcoords="offset points", xytext=(6, 0), ha="left",
                                  va="center", fontsize=plot_style.SMALL_PT, color=color)
            for limit in rows["detection_limit_pct"].drop_nulls().unique().to_list():
                axes.axhline(limit, color=color, linestyle=":", linewidth=1.0,
                             label=f"{LABELS[measure].split(' (')[0]} detection limit ({limit:g} %)")
        if transplants.get(case_no) is not None:
            x = _hsct_x(case, transplants[case_no])
            axes.axvline(x, color=HSCT_COLOR, linestyle="-.", linewidth=1.4, label="HSCT")
            axes.annotate(f"HSCT\n{transplants[case_no]:%Y-%m-%d}", (x, top), textcoords="offset points",
                          xytext=(-3, -4), ha="right", va="top", fontsize=plot_style.SMALL_PT, color=HSCT_COLOR)
        labels = dict(case.select("time_point_no", "time_point_label").unique().iter_rows())
        axes.set_xticks(sorted(labels), [labels[x] for x in sorted(labels)], rotation=40, ha="right")
        axes.set_xlim(0.5, max(labels, default=1) + 1)
        axes.set_yscale("log")
        axes.set_ylim(FLOOR_PCT / 2, top)
        axes.set_title(f"Case {case_no}")
        axes.set_xlabel("Marrow time point (course order; not dated)")
        axes.tick_params(axis="y", labelsize=8)
    panels[0].set_ylabel("MRD / fusion transcript (%, log scale)")
    handles = {}
    for axes in panels:
        for handle, label in zip(*axes.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    handles[BELOW_LABEL] = Line2D([], [], marker="o", color="#000000", markerfacecolor="white", linestyle="none")
    figure.legend(handles.values(), handles.keys(), loc="outside lower center",
                  ncols=min(len(handles), 4), frameon=False)
    return figure


def trajectory_png(trajectories: pl.DataFrame, hsct: pl.DataFrame) -> plot_style.Rendered:
    """FIGURE's bytes (PNG, with its SVG)."""
    return plot_style.render(trajectory_figure(trajectories, hsct))

