"""Which laboratory values the immune and cytokine marts compare: cycle 1's draws of core.lab_draws, the value a
draw below the limit of detection stands for, and the end of treatment; chosen in DuckDB (TEMP tables of the
asset's connection), so Python sees only the summaries and test inputs computed from them.

* **pre** is cycle 1's `baseline` draw; **end** of treatment is the last scheduled draw inside cycle 1's
  infusion (`day14`, `day21` or `day28` whose day is within `infusion_days`: day 14 for a 14-day cycle, day 28
  for a 28-day one). A missing end draw is a missing value, never replaced by an earlier draw.
* **Below the limit of detection** (core.labs.below_lod) a value is taken as observed, at the floor: `<x` and a
  value at the kit's floor are x; `ND` is the kit's declared floor, or 0 where no floor is declared (an
  undetectable B-cell count is a measured zero). Values at the floor tie (docs/statistics.md).
* Several deliveries of one draw: the last by sample date, then delivered file and row, with a value
  (chosen once for every mart by the dbt model core.lab_draws).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from assets.marts import per_center, shared
from assets.marts.aggregates import quoted

# Scheduled on-treatment draws and their day of infusion (day 1 = first infusion day).
END_DRAWS = (("day14", 14), ("day21", 21), ("day28", 28))
PRE, END = "baseline", "end"
# The CD4/CD8 ratio is derived per draw: from the flow percentages of the one sample (the counts may rest on
# a separate lymphocyte count, and carry its rounding), else from the absolute counts; undefined when CD8 is 0.
RATIO = "cd4_cd8_ratio"
RATIO_SOURCES = (("cd4_pct", "cd8_pct"), ("cd4_abs", "cd8_abs"))

# SQL over core.lab_draws: the value under the limit-of-detection rule. `ND` (value NULL, below_lod) is the kit's
# declared floor, else a measured 0 (shared.MEASURED_VALUE_SQL); every other value as delivered.
OBSERVED_VALUE_SQL = (f"CASE WHEN value IS NULL AND below_lod AND detection_limit IS NOT NULL THEN detection_limit "
                      f"ELSE {shared.MEASURED_VALUE_SQL} END")


def end_of_treatment(infusion_days: str) -> str:
    """SQL: the timepoint of the last scheduled draw within an infusion of `infusion_days` (NULL under 14)."""
    cases = " ".join(f"WHEN ({infusion_days}) >= {day} THEN '{timepoint}'" for timepoint, day in reversed(END_DRAWS))
    return f"CASE {cases} END"


def latest_sql(where: str, keys: Sequence[str]) -> str:
    """SQL: `keys`, `value` (OBSERVED_VALUE_SQL) and `below_lod` of the draws of core.lab_draws (the last
    delivery of each, with a value) matching `where`; `keys` with `where` must name one draw."""
    return f"""
        SELECT {", ".join(keys)}, {OBSERVED_VALUE_SQL} AS value, below_lod
        FROM core.lab_draws
        WHERE {where}
    """


def _ratio_sql(draws: str) -> str:
    """SQL: a RATIO row per patient and timepoint of `draws` where its sources are known (RATIO_SOURCES)."""
    analytes = [analyte for pair in RATIO_SOURCES for analyte in pair]
    wide = ", ".join(f"max(value) FILTER (analyte = '{analyte}') AS {analyte}" for analyte in analytes)
    ratios = ", ".join(f"CASE WHEN {cd8} > 0 THEN {cd4} / {cd8} END" for cd4, cd8 in RATIO_SOURCES)
    return f"""
        SELECT center_id, subject_id, timepoint, '{RATIO}' AS analyte, coalesce({ratios}) AS value,
               false AS below_lod
        FROM (SELECT center_id, subject_id, timepoint, {wide} FROM {draws} GROUP BY ALL)
        WHERE coalesce({ratios}) IS NOT NULL
    """


def marker_draws_sql(markers: Mapping[str, str]) -> str:
    """SQL: center_id, subject_id, timepoint, marker, value, below_lod, one row per patient of $study (of the
    centers $centers: per_center.in_centers), cycle-1 timepoint and marker, for the analytes `markers` maps
    each marker to in $specimen (RATIO: derived per draw). The end-of-treatment draw's timepoint is relabelled
    `end` (the other on-treatment draws keep theirs; crs_onset and icans_onset too)."""
    analytes = {analyte for analyte in markers.values() if analyte != RATIO}
    sources = sorted({analyte for pair in RATIO_SOURCES for analyte in pair})
    ratios = f"UNION ALL {_ratio_sql(f'({_study_draws(sources)})')}" if RATIO in markers.values() else ""
    by_analyte = ", ".join(f"({shared.sql_text(analyte)}, {shared.sql_text(marker)})"
                           for marker, analyte in markers.items())
    # The study's patients with their end-of-treatment timepoint: one join of the draws with a table of one
    # row per patient does both the study filter and the relabelling (at 100,000 patients 0.55 s, where a
    # semi join and a join of the 1.8 M blood draws took 1.3 s). The ratio's four analytes are read again
    # rather than every draw held for a second pass.
    return f"""
        WITH study_patients AS (
            SELECT patient.center_id, patient.subject_id,
                   {end_of_treatment("cycle.infusion_days")} AS end_timepoint
            FROM core.patients AS patient
            LEFT JOIN core.cycles AS cycle ON cycle.subject_id = patient.subject_id AND cycle.cycle_no = 1
            WHERE patient.study = $study AND {per_center.in_centers("patient.center_id")}
        )
        SELECT center_id, subject_id, timepoint, markers.marker, CAST(value AS DOUBLE) AS value, below_lod
        FROM ({_study_draws(analytes)} {ratios})
        JOIN (VALUES {by_analyte}) AS markers(analyte, marker) USING (analyte)
    """


def _study_draws(analytes) -> str:
    """SQL over marker_draws_sql's `study_patients`: center_id, subject_id, timepoint (`end` for the
    end-of-treatment draw), analyte, value (OBSERVED_VALUE_SQL) and below_lod of cycle 1's draws of `analytes`
    in $specimen."""
    chosen = latest_sql(f"cycle_no = 1 AND specimen = $specimen AND {per_center.in_centers()} AND analyte IN "
                        f"({', '.join(map(shared.sql_text, sorted(analytes)))})",
                        ["subject_id", "timepoint", "analyte"])
    return f"""
        SELECT center_id, subject_id, CASE WHEN timepoint = end_timepoint THEN '{END}' ELSE timepoint END AS timepoint,
               analyte, value, below_lod
        FROM ({chosen}) JOIN study_patients USING (subject_id)
    """


def pairs_sql(draws: str, sides: Mapping[str, str]) -> str:
    """SQL: `draws` (marker_draws_sql's columns, as a relation or a parenthesised query) side by side:
    center_id, marker, subject_id, and for each of `sides` (column -> timepoint) the value and
    <column>_below_lod (NULL: not drawn); one row per marker and patient drawn."""
    columns = ", ".join(
        f"max(value) FILTER (timepoint = {shared.sql_text(timepoint)}) AS {quoted(column)}, "
        f"bool_or(below_lod) FILTER (timepoint = {shared.sql_text(timepoint)}) AS {quoted(column + '_below_lod')}"
        for column, timepoint in sides.items())
    return f"""
        SELECT center_id, marker, subject_id, {columns}
        FROM {draws}
        GROUP BY center_id, marker, subject_id
    """
