"""Table 3 as a figure: per term, the share of assessed cycles in each grade band, by Table 3 column.

Drawn in the plot_style (Okabe-Ito orange and vermillion for the bands, the second column also hatched, body-size
text); PNG and SVG without software metadata, so the same counts give the same bytes.
"""

from __future__ import annotations

import polars as pl

from assets.marts import plot_style

BANDS = {"g1_2": ("grade 1-2", plot_style.OKABE_ITO["orange"]),
         "g3_4": ("grade 3-4", plot_style.OKABE_ITO["vermillion"])}
COLUMNS = {"mrdneg": "CR-MRDneg", "rr_mrdpos": "R/R + CR-MRDpos"}


def table3_figure(counts: pl.DataFrame, dpi: int = 100) -> plot_style.Rendered:
    """Stacked bars of grade 1-2 and 3-4 (% of assessed cycles) per term and column, from the reported rows of
    marts.safety_adverse_events; the denominator under each bar."""
    with plot_style.style():
        return plot_style.render(_table3(counts, dpi))


def _table3(counts: pl.DataFrame, dpi: int):
    reported = counts.filter((pl.col("source") == "reported") & pl.col("group").is_in(list(COLUMNS)))
    terms = list(dict.fromkeys(reported["term"].to_list()))
    figure = plot_style.new_figure(figsize=(10, 4.8), dpi=dpi)
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
            axes.text(i + offset, -4, f"n={assessed.get(term, 0)}", ha="center", va="top",
                      fontsize=plot_style.SMALL_PT)
    axes.set_xticks(range(len(terms)), terms)
    axes.tick_params(axis="x", pad=22)  # room for the n= line above the term, at body size
    axes.set_ylabel("% of assessed cycles")
    axes.set_ylim(0, 100)
    axes.set_title("Adverse events per blinatumomab cycle (Table 3)")
    axes.set_xlabel("Adverse event (reported grade, CTCAE)")
    axes.legend(ncols=2, loc="upper right")
    figure.tight_layout()
    return figure
