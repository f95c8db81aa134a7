"""The swimmer plot of marts.treatment_timeline: one lane per patient, the phases as bars in order, blinatumomab
and HSCT marked apart, marrow assessments as ticks labelled with their MRD.

The time axis is the calendar when every phase drawn has a start date (days from the patient's first phase);
otherwise, as for the published case series, whose report dates only blinatumomab and HSCT, it is the phases'
order (one unit per phase), the known dates written on the bars. Okabe-Ito colours (safe for colour-blind
readers), blinatumomab also hatched and HSCT also a diamond, so the kinds stay apart in grey print.
Drawn in the plot_style; PNG and SVG carry no software metadata, so the same rows give the same bytes.
"""

from __future__ import annotations

import polars as pl

from assets.marts import plot_style
from assets.marts.plot_style import OKABE_ITO

FRONTLINE = ("frontline_induction", "consolidation", "intensification", "maintenance")
# legend label -> (colour, hatch)
STYLES = {
    "frontline chemotherapy": (OKABE_ITO["sky_blue"], None),
    "relapse / bridging chemotherapy": (OKABE_ITO["orange"], None),
    "blinatumomab": (OKABE_ITO["blue"], "//"),
    "HSCT": (OKABE_ITO["vermillion"], None),
}
BAR_HEIGHT = 0.5


def _style(kind: str, phase: str) -> str:
    if kind == "blinatumomab":
        return "blinatumomab"
    if kind == "hsct":
        return "HSCT"
    return "frontline chemotherapy" if phase in FRONTLINE else "relapse / bridging chemotherapy"


def _label(row: dict) -> str:
    """What a bar says: the regimen, else the phase; the known dates under it."""
    name = row["regimen"] if row["regimen"] and row["kind"] == "chemotherapy" else row["phase"].replace("_", " ")
    dates = [f"{day:%Y-%m-%d}" for day in dict.fromkeys((row["start_date"], row["end_date"])) if day is not None]
    return name + ("\n" + " to ".join(dates) if dates else "")


def swimmer_plot(phases: pl.DataFrame, ticks: pl.DataFrame, title: str = "Treatment of the case series",
                 dpi: int = 100) -> plot_style.Rendered:
    """The figure (PNG, with its SVG) of `phases` (rows of marts.treatment_timeline) and `ticks` (subject_id, seq,
    position, assessment_date, timepoint, mrd_pct_raw: an assessment on its phase's bar)."""
    with plot_style.style():
        return plot_style.render(_swimmer(phases, ticks, title, dpi))


def _swimmer(phases: pl.DataFrame, ticks: pl.DataFrame, title: str, dpi: int):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    subjects = sorted(phases["subject_id"].unique().to_list())
    dated = phases["start_date"].null_count() == 0
    figure = plot_style.new_figure(figsize=(11, 1.3 + 1.25 * len(subjects)), dpi=dpi)
    axes = figure.add_subplot()
    for lane, subject in enumerate(subjects):
        rows = phases.filter(pl.col("subject_id") == subject).sort("seq").to_dicts()
        origin = min(row["start_date"] for row in rows) if dated else None
        spans = {}
        for row in rows:
            if dated:
                left = (row["start_date"] - origin).days
                width = max(((row["end_date"] or row["start_date"]) - row["start_date"]).days + 1, 1)
            else:
                left, width = row["seq"] - 1 + 0.05, 0.9
            spans[row["seq"]] = (left, width)
            color, hatch = STYLES[_style(row["kind"], row["phase"])]
            axes.barh(lane, width, left=left, height=BAR_HEIGHT, color=color, hatch=hatch, edgecolor="black",
                      linewidth=0.6)
            if row["kind"] == "hsct":
                axes.plot(left + 0.1 * width, lane, marker="D", markersize=8, color=OKABE_ITO["vermillion"],
                          markeredgecolor="black", linestyle="none")
            axes.text(left + width / 2, lane, _label(row), ha="center", va="center", fontsize=7,
                      bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        for tick in ticks.filter(pl.col("subject_id") == subject).to_dicts():
            if tick["seq"] not in spans:
                continue  # its phase is not in core (e.g. a quarantined cycle)
            left, width = spans[tick["seq"]]
            x = ((tick["assessment_date"] - origin).days if dated and tick["assessment_date"] is not None
                 else left + width * tick["position"])
            axes.plot([x, x], [lane + BAR_HEIGHT / 2, lane + BAR_HEIGHT / 2 + 0.18], color=OKABE_ITO["black"],
                      linewidth=1.2)
            if tick["mrd_pct_raw"] is not None:
                axes.text(x, lane + BAR_HEIGHT / 2 + 0.2, f"{tick['mrd_pct_raw']} %", ha="center", va="top",
                          fontsize=6)
    axes.set_yticks(range(len(subjects)), [f"subject {subject[:8]}…" for subject in subjects], fontsize=8)
    axes.set_ylim(len(subjects) - 0.3, -0.9)
    axes.set_ylabel("Patient (pseudonymised subject)")
    if dated:
        axes.set_xlabel("Days from the patient's first phase")
    else:
        most = int(phases["seq"].max())
        axes.set_xticks([seq - 0.5 for seq in range(1, most + 1)], [str(seq) for seq in range(1, most + 1)])
        axes.set_xlim(0, most)
        axes.set_xlabel("Phase of treatment, in order (ordinal: not every phase is dated; known dates on the bars)")
    axes.set_title(title)
    handles = [Patch(facecolor=color, hatch=hatch, edgecolor="black", label=label)
               for label, (color, hatch) in STYLES.items()]
    handles.append(Line2D([], [], color=OKABE_ITO["black"], marker="|", linestyle="none", markersize=10,
                          label="marrow assessment (MRD %)"))
    axes.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.02 * len(subjects)),
                ncols=5, frameon=False)
    figure.text(0.01, 0.01, "Validated rows only (core): a blinatumomab cycle held in quarantine is not drawn.",
                fontsize=6)
    figure.tight_layout()
    return figure
