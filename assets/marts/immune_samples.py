"""Which laboratory values the immune and cytokine marts compare: cycle 1's draws of core.labs, the value a
draw below the limit of detection stands for, and the end of treatment.

* **pre** is cycle 1's `baseline` draw; **end** of treatment is the last scheduled draw inside cycle 1's
  infusion (`day14`, `day21` or `day28` whose day is within `infusion_days`: day 14 for a 14-day cycle, day 28
  for a 28-day one). A missing end draw is a missing value, never replaced by an earlier draw.
* **Below the limit of detection** (core.labs.below_lod) a value is taken as observed, at the floor: `<x` and a
  value at the kit's floor are x; `ND` is the kit's declared floor, or 0 where no floor is declared (an
  undetectable B-cell count is a measured zero). Values at the floor tie (docs/statistics.md).
* Several deliveries of one draw: the last by sample date, then delivered row, with a known value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from assets.marts import shared

# Scheduled on-treatment draws and their day of infusion (day 1 = first infusion day).
END_DRAWS = (("day14", 14), ("day21", 21), ("day28", 28))
PRE, END = "baseline", "end"
# The CD4/CD8 ratio is derived per draw: from the flow percentages of the one sample (the counts may rest on
# a separate lymphocyte count, and carry its rounding), else from the absolute counts; undefined when CD8 is 0.
RATIO = "cd4_cd8_ratio"
RATIO_SOURCES = (("cd4_pct", "cd8_pct"), ("cd4_abs", "cd8_abs"))

DRAW_SCHEMA = {"subject_id": pl.Utf8, "timepoint": pl.Utf8, "analyte": pl.Utf8, "value": pl.Float64,
               "below_lod": pl.Boolean}


def observed_value() -> pl.Expr:
    """core.labs' value under the limit-of-detection rule: `ND` (value NULL, below_lod) is the kit's declared
    floor, else a measured 0 (shared.measured_value); every other value as delivered (`<x` already gives x)."""
    not_detected = pl.col("value").is_null() & pl.col("below_lod")
    return pl.when(not_detected & pl.col("detection_limit").is_not_null()).then(pl.col("detection_limit")).otherwise(
        shared.measured_value())


def end_of_treatment(infusion_days: pl.Expr) -> pl.Expr:
    """The timepoint of the last scheduled draw within an infusion of `infusion_days` (NULL under 14 days)."""
    expr = pl.lit(None, dtype=pl.Utf8)
    for timepoint, day in END_DRAWS:
        expr = pl.when(infusion_days >= day).then(pl.lit(timepoint)).otherwise(expr)
    return expr


def latest(labs: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """One row per `keys` of core.labs rows: `value` (observed_value) and `below_lod` of the last delivery with
    a known value, by sample date, then delivered row."""
    return (
        labs.with_columns(value=observed_value())
        .filter(pl.col("value").is_not_null())
        .sort("sample_date", "source_file", "source_row", nulls_last=False)
        .group_by(*keys)
        .agg(pl.col("value").last(), pl.col("below_lod").last())
    )


def cycle1_draws(labs: pl.DataFrame, cycles: pl.DataFrame, specimen: str, analytes: Sequence[str]) -> pl.DataFrame:
    """DRAW_SCHEMA rows of cycle 1, one per patient, timepoint and analyte, with the end-of-treatment draw's
    timepoint relabelled `end` (the other on-treatment draws keep theirs; crs_onset and icans_onset too)."""
    ends = cycles.filter(pl.col("cycle_no") == 1).select("subject_id", end=end_of_treatment(pl.col("infusion_days")))
    chosen = latest(
        labs.filter((pl.col("cycle_no") == 1) & (pl.col("specimen") == specimen) & pl.col("analyte").is_in(analytes)),
        ["subject_id", "timepoint", "analyte"],
    )
    draws = chosen.join(ends, on="subject_id", how="left").with_columns(
        timepoint=pl.when(pl.col("timepoint") == pl.col("end")).then(pl.lit(END)).otherwise(pl.col("timepoint")))
    return draws.select(DRAW_SCHEMA.keys()).cast(DRAW_SCHEMA).sort("subject_id", "timepoint", "analyte")


def with_ratio(draws: pl.DataFrame) -> pl.DataFrame:
    """`draws` plus a RATIO row per patient and timepoint where its sources are known (see RATIO_SOURCES)."""
    wide = draws.pivot("analyte", index=["subject_id", "timepoint"], values="value")
    candidates = [
        pl.when(pl.col(cd8) > 0).then(pl.col(cd4) / pl.col(cd8))
        for cd4, cd8 in RATIO_SOURCES if {cd4, cd8} <= set(wide.columns)
    ]
    if not candidates:
        return draws
    ratio = wide.select("subject_id", "timepoint", analyte=pl.lit(RATIO), value=pl.coalesce(candidates),
                        below_lod=pl.lit(False)).filter(pl.col("value").is_not_null())
    return pl.concat([draws, ratio.cast(DRAW_SCHEMA)]).sort("subject_id", "timepoint", "analyte")


def marker_draws(labs: pl.DataFrame, cycles: pl.DataFrame, specimen: str, markers: Mapping[str, str]) -> pl.DataFrame:
    """subject_id, timepoint, marker, value, below_lod: cycle1_draws of the analytes `markers` maps each marker to
    (RATIO: derived, see with_ratio)."""
    analytes = [analyte for analyte in markers.values() if analyte != RATIO]
    if RATIO in markers.values():
        analytes += [analyte for pair in RATIO_SOURCES for analyte in pair]
    draws = cycle1_draws(labs, cycles, specimen, analytes)
    if RATIO in markers.values():
        draws = with_ratio(draws)
    by_analyte = {analyte: marker for marker, analyte in markers.items()}
    return draws.filter(pl.col("analyte").is_in(list(by_analyte))).select(
        "subject_id", "timepoint", marker=pl.col("analyte").replace_strict(by_analyte), value="value",
        below_lod="below_lod")


def side(draws: pl.DataFrame, marker: str, timepoint: str) -> pl.DataFrame:
    """subject_id, value of one marker (marker_draws) at one timepoint."""
    return draws.filter((pl.col("marker") == marker) & (pl.col("timepoint") == timepoint)).select("subject_id", "value")


def complete(draws: pl.DataFrame, required: Sequence[str]) -> pl.DataFrame:
    """The rows of `draws` (marker_draws) of each patient and marker measured at every `required` timepoint."""
    have = (draws.filter(pl.col("timepoint").is_in(required)).group_by("subject_id", "marker")
            .agg(pl.col("timepoint").n_unique().alias("n")).filter(pl.col("n") == len(set(required))))
    return draws.join(have.select("subject_id", "marker"), on=["subject_id", "marker"], how="semi")
