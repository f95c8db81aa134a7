"""Table 3 as a figure: per term, the share of assessed cycles in each grade band, by Table 3 column.

matplotlib is imported inside the function (Agg backend), so importing the marts stays cheap; the PNG carries no
software metadata, so the same counts give the same bytes.
"""

from __future__ import annotations

import io

import polars as pl

BANDS = {"g1_2": ("grade 1-2", "#f0b27a"), "g3_4": ("grade 3-4", "#c0392b")}
COLUMNS = {"mrdneg": "CR-MRDneg", "rr_mrdpos": "R/R + CR-MRDpos"}


def table3_figure(counts: pl.DataFrame, dpi: int = 100) -> bytes:
    """Stacked bars of grade 1-2 and 3-4 (% of assessed cycles) per term and column, from the reported rows of
    marts.safety_adverse_events; the denominator under each bar."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    reported = counts.filter((pl.col("source") == "reported") & pl.col("group").is_in(list(COLUMNS)))
    terms = list(dict.fromkeys(reported["term"].to_list()))
    figure = Figure(figsize=(9, 4), dpi=dpi)
    axes = figure.add_subplot()
    width = 0.38
    for offset, (group, label) in zip((-width / 2, width / 2), COLUMNS.items()):
        hatched = group == "rr_mrdpos"  # tells the columns apart without colour
        bottom = [0.0] * len(terms)
        for band, (band_label, color) in BANDS.items():
            rows = reported.filter((pl.col("group") == group) & (pl.col("band") == band))
            pct = dict(zip(rows["term"], rows["pct"].fill_null(0.0)))
            heights = [pct.get(term, 0.0) for term in terms]
            axes.bar([i + offset for i in range(len(terms))], heights, width, bottom=bottom, color=color,
                     edgecolor="black" if hatched else "white", hatch="//" if hatched else None,
                     label=f"{band_label}, {label}")
            bottom = [b + h for b, h in zip(bottom, heights)]
        assessed = dict(reported.filter((pl.col("group") == group) & (pl.col("band") == "g0"))
                        .select("term", "assessed").rows())
        for i, term in enumerate(terms):
            axes.text(i + offset, -4, f"n={assessed.get(term, 0)}", ha="center", va="top", fontsize=7)
    axes.set_xticks(range(len(terms)), terms)
    axes.tick_params(axis="x", pad=14)
    axes.set_ylabel("% of assessed cycles")
    axes.set_ylim(0, 100)
    axes.set_title("Adverse events per blinatumomab cycle (Table 3)")
    axes.legend(fontsize=7, ncols=2, loc="upper right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
