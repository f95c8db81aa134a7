"""marts.case_series_trajectories: every marrow MRD and fusion-transcript value of the case series, long format
(one row per case, time point and measure), and the figure of the report's Fig. 1 (case_series_plots).

Read from core.assessments, the study's rows filtered first. Two small code lists stand in for a CASE each:
TIMEPOINT_PHASES gives a time point its treatment phase and its place in the course (the report dates no marrow:
time points are ordered by phase, then by their row in the delivery), MEASURES gives each measure its assay and
the assay's sensitivity. The detection limit of a row is the `<x` it was delivered as, else its assay's
sensitivity (flow MRD: 0.01 %, as the report states); the qPCR fusion transcript has none stated, so ND rows have
a NULL limit. raw.center_detection_limits holds the laboratory kits' limits (cytokines), none for the marrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from assets.marts import shared
from assets.marts.case_series_cases import CASES_SQL, IN_CASES_SQL, STUDY, case_group, check_case_numbers
from assets.marts.case_series_plots import FIGURE, trajectory_png
from orchestration.metadata import png_markdown
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    import duckdb

MART = "case_series_trajectories"
CORE_TABLES = ("patients", "assessments", "events")
DESCRIPTION = (
    "The case series' marrow course (report Fig. 1): every flow MRD and fusion-transcript value of each case, one "
    "row per case, time point and measure, in the order of the course, with the treatment phase, the detection "
    "limit and whether the value was below it. The delivery dates no marrow: dates and days from the first "
    "infusion are NULL until it does."
)
COLUMNS = {
    "case_no": "The report's case number (marts.case_series_patients.case_no).",
    "subject_id": "Pseudonymised subject id.",
    "time_point_no": "1, 2, ... the marrow's place in the case's course: by cycle (frontline first), the phase "
                     "order of TIMEPOINT_PHASES, then the delivery's row. MRD and transcript of one marrow share it.",
    "timepoint": "core.assessments.timepoint (induction_d19, induction_d46, consolidation, maintenance, "
                 "follow_up, pre_cycle, day15, end_of_cycle).",
    "time_point_label": "The time point in words, as the figure's axis shows it.",
    "cycle_no": "The blinatumomab cycle the marrow belongs to; NULL for frontline and off-therapy marrows.",
    "phase": "Treatment phase in force: frontline_induction, frontline_consolidation, frontline_maintenance, "
             "off_therapy_relapse (follow_up outside a cycle), before_blinatumomab, on_blinatumomab, "
             "after_blinatumomab; NULL for a time point the code list does not know.",
    "measure": "mrd (flow cytometry) or fusion_transcript (qPCR of the case's fusion gene).",
    "assay": "flow_cytometry or qpcr.",
    "value_pct": "The value, % (MRD: of nucleated marrow cells; transcript: fusion / control gene). `<x` gives x; "
                 "ND gives NULL.",
    "value_raw": "The value as delivered (e.g. <0.01, ND).",
    "below_detection": "Delivered as `<x` or ND: under the assay's detection limit.",
    "detection_limit_pct": "The detection limit, %: x of a `<x`, else the assay's sensitivity (flow MRD 0.01 %); "
                           "NULL when none is known (qPCR: not stated).",
    "detection_limit_source": "delivered (the `<x` marker) or assay (the report's stated sensitivity); NULL: none.",
    "assessment_date": "Marrow date; NULL: not delivered (the report dates none).",
    "days_from_first_infusion": "assessment_date - the first blinatumomab infusion (core.patients."
                                "first_infusion_date), days; NULL without either date.",
}
# The preview's order (shared.table_metadata): per case, its time points in time, each time point's measures.
ORDER = ("case_no", "time_point_no", "measure")

# (timepoint, within a blinatumomab cycle, phase, order in the course, label). follow_up outside a cycle is the
# case series' relapse off therapy (data/centers/szch.yaml); inside one, a marrow after blinatumomab.
TIMEPOINT_PHASES = (
    ("induction_d19", False, "frontline_induction", 1, "Induction d19"),
    ("induction_d46", False, "frontline_induction", 2, "Induction d46"),
    ("consolidation", False, "frontline_consolidation", 3, "Consolidation"),
    ("maintenance", False, "frontline_maintenance", 4, "Maintenance"),
    ("follow_up", False, "off_therapy_relapse", 5, "Relapse, off therapy"),
    ("pre_cycle", True, "before_blinatumomab", 6, "Before blinatumomab"),
    ("day15", True, "on_blinatumomab", 7, "Blinatumomab day 15"),
    ("end_of_cycle", True, "after_blinatumomab", 8, "After blinatumomab"),
    ("follow_up", True, "after_blinatumomab", 9, "Follow-up"),
)
# (measure, core.assessments column, assay, the assay's sensitivity in %: None when not stated)
MEASURES = (
    ("mrd", "mrd_pct", "flow_cytometry", 0.01),
    ("fusion_transcript", "fusion_transcript_pct", "qpcr", None),
)


def _values(rows: tuple[tuple, ...]) -> str:
    """SQL VALUES of a code list's rows."""
    def literal(value) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        return shared.sql_text(value) if isinstance(value, str) else repr(value)

    return ", ".join("(" + ", ".join(literal(value) for value in row) + ")" for row in rows)


_MEASURE_ROWS = "\n    UNION ALL\n    ".join(
    f"""SELECT subject_id, source_row, cycle_no, timepoint, assessment_date, '{measure}' AS measure,
           {column} AS value_pct, {column}_raw AS value_raw, {column}_below_lod AS below_detection
    FROM core.assessments WHERE {IN_CASES_SQL} AND {column}_raw IS NOT NULL"""
    for measure, column, _, _ in MEASURES
)

TRAJECTORIES_SQL = f"""
WITH cases AS ({CASES_SQL}),
phases(timepoint, in_cycle, phase, phase_order, time_point_label) AS (VALUES {_values(TIMEPOINT_PHASES)}),
assays(measure, assay, sensitivity_pct) AS (VALUES {_values(tuple((m, a, s) for m, _, a, s in MEASURES))}),
marrow AS (
    {_MEASURE_ROWS}
)
SELECT cases.case_no, cases.subject_id,
       dense_rank() OVER (PARTITION BY cases.case_no
                          ORDER BY coalesce(marrow.cycle_no, 0), coalesce(phases.phase_order, 99),
                                   marrow.source_row) AS time_point_no,
       marrow.timepoint, coalesce(phases.time_point_label, marrow.timepoint) AS time_point_label,
       CAST(marrow.cycle_no AS INTEGER) AS cycle_no, phases.phase,
       marrow.measure, assays.assay, marrow.value_pct, marrow.value_raw, marrow.below_detection,
       CASE WHEN marrow.below_detection AND marrow.value_pct IS NOT NULL THEN marrow.value_pct
            ELSE assays.sensitivity_pct END AS detection_limit_pct,
       CASE WHEN marrow.below_detection AND marrow.value_pct IS NOT NULL THEN 'delivered'
            WHEN assays.sensitivity_pct IS NOT NULL THEN 'assay' END AS detection_limit_source,
       marrow.assessment_date,
       CAST(marrow.assessment_date - cases.first_infusion_date AS INTEGER) AS days_from_first_infusion
FROM marrow
JOIN cases USING (subject_id)
JOIN assays USING (measure)
LEFT JOIN phases ON phases.timepoint = marrow.timepoint AND phases.in_cycle = (marrow.cycle_no IS NOT NULL)
ORDER BY cases.case_no, time_point_no, marrow.measure
"""

# SQL: each case's first HSCT date (the figure marks it).
HSCT_SQL = f"""
SELECT cases.case_no, min(event.event_date) AS hsct_date
FROM core.events AS event JOIN ({CASES_SQL}) AS cases USING (subject_id)
WHERE event.{IN_CASES_SQL} AND event.event_type = 'hsct'
GROUP BY cases.case_no
"""


def write_trajectories(con: duckdb.DuckDBPyConnection, study: str = STUDY) -> None:
    """marts.case_series_trajectories from core (TRAJECTORIES_SQL), after checking the case numbers."""
    check_case_numbers(con, study)
    shared.write_query(con, MART, TRAJECTORIES_SQL, DESCRIPTION, COLUMNS, {"study": study})


def hsct_dates(con: duckdb.DuckDBPyConnection, study: str = STUDY) -> pl.DataFrame:
    """case_no, hsct_date of the study's transplanted cases."""
    return pl.DataFrame(con.sql(HSCT_SQL, params={"study": study}))


def published_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The reference rows of the marrow values (docs/published-results.md): `case_series.<measure>.<timepoint>`,
    group case_<n>, statistic `pct` (a `<0.01` is its limit, 0.01) and `below_lod` (1 below detection, else 0).
    Frontline time points and cycle 1's: every case of the series had one cycle (a second cycle's time points
    would repeat the ids, which paper_reproduction refuses)."""
    rows = shared.read_relation(con, f"{shared.SCHEMA}.{MART}", "cycle_no IS NULL OR cycle_no = 1")
    published = []
    for row in rows.iter_rows(named=True):
        reference_id, group = f"case_series.{row['measure']}.{row['timepoint']}", case_group(row["case_no"])
        if row["value_pct"] is not None:
            published.append((reference_id, group, "pct", row["value_pct"]))
        published.append((reference_id, group, "below_lod", float(row["below_detection"])))
    return shared.published_frame(published).sort("id", "group", "statistic")


@shared.mart_asset(MART, DESCRIPTION, CORE_TABLES)
def case_series_trajectories_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        write_trajectories(con)
        trajectories = shared.read_relation(con, f"{shared.SCHEMA}.{MART}")  # the study's few rows, not core
        hsct = hsct_dates(con)
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{MART}", ORDER)
    png = trajectory_png(trajectories, hsct)
    folder = shared.save_figures(warehouse.path, {FIGURE: png})
    return dg.MaterializeResult(metadata={**metadata, "figures_dir": str(folder),
                                          "figures": dg.MetadataValue.md(png_markdown({FIGURE: png}))})
