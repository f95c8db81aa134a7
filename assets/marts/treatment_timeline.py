"""marts.treatment_timeline: every patient's treatment, phase by phase, in order (docs/marts.md, Treatment timeline).

One row per phase: each delivered therapy line (core.therapy_lines), the bridging chemotherapy a cycle is
flagged with (core.cycles.bridging_chemo, for patients whose center delivers no therapy lines: the multicenter
cohort), each blinatumomab cycle (core.cycles) and each HSCT (core.events). Computed in DuckDB over the whole
registry; only the case series' rows (a handful) come to Python, for the swimmer plot.

Order: by the phase's date (therapy lines: start, else end; cycles: start, else end; HSCT: its date). A phase
without a date takes the date of the next dated phase of its kind (a line: the next dated line; a cycle: the
last dated cycle before it), and a therapy line with no dated line after it is placed just before the first
blinatumomab cycle: the contract's lines are the chemotherapy before blinatumomab unless dated otherwise. Ties:
therapy lines, then cycles (a cycle's bridging before its infusion), then HSCT; within a kind by its number.

Free text (the `detail` of therapy lines and HSCT events) is carried only for the centers whose YAML marks the
field reviewed_safe (docs/privacy.md): the marts are published to analysts whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from assets.marts import shared
from assets.marts.treatment_timeline_plot import swimmer_plot
from orchestration.metadata import png_markdown
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    import duckdb

MART = "treatment_timeline"
CORE_TABLES = ("patients", "therapy_lines", "cycles", "events", "assessments")
CASE_SERIES = "case_series"
FIGURE = "treatment_timeline_case_series.png"
# The free-text fields the mart carries, where the center reviewed them.
DETAIL_FIELDS = (("therapy_lines", "detail"), ("events", "detail"))
REVIEWED_TEXT = ("raw", "center_reviewed_text")
DESCRIPTION = (
    "Each patient's treatment in order, one row per phase: the delivered therapy lines (core.therapy_lines), "
    "the bridging chemotherapy flagged on a blinatumomab cycle (where the center delivers no therapy lines), "
    "each blinatumomab cycle (core.cycles) and each HSCT (core.events). Validated rows only: a cycle held in "
    "quarantine is not here. Dates are NULL where unknown; seq orders the phases regardless (docs/marts.md)."
)
COLUMNS = {
    "study": "The patient's study (core.patients.study): multicenter or case_series.",
    "center_id": "The center that delivered the phase.",
    "subject_id": "Pseudonymised subject id.",
    "seq": "Order of the phase in the patient's treatment, 1 = first (docs/marts.md: undated phases).",
    "kind": "chemotherapy (a therapy line or bridging), blinatumomab (a cycle) or hsct.",
    "phase": "The therapy line's phase code (seeds/vocabulary.csv, therapy_lines.phase); bridging for a cycle's "
             "bridging chemotherapy; blinatumomab; hsct.",
    "regimen": "The therapy line's regimen as delivered (PVDL, CAT, DEAL, ...); for a blinatumomab cycle its "
               "regimen code (14d, 21_28d; core.cycles.regimen); for bridging 'with cyclophosphamide' where the "
               "cycle says so; else NULL.",
    "protocol": "The therapy line's protocol as delivered (e.g. CCCG-ALL-2020); NULL for the other kinds.",
    "start_date": "First day of the phase (HSCT: its date); NULL when unknown.",
    "end_date": "Last day of the phase (HSCT: its date); NULL when unknown.",
    "source_table": "The core table the phase comes from: therapy_lines, cycles or events.",
    "source_no": "The delivered number: line_no of a therapy line, cycle_no of a cycle (and of its bridging); "
                 "NULL for HSCT.",
    "detail": "Free text of the therapy line or HSCT event (donor, HLA match, ...), only for the centers whose "
              "YAML marks that field reviewed_safe; NULL otherwise (docs/privacy.md).",
}
# The preview's order (shared.table_metadata): per study, patient by patient, each patient's phases in time.
ORDER = ("study", "subject_id", "seq")


def _published_for(centers: list[str]) -> str:
    """SQL: the row's center marked the field reviewed_safe."""
    return f"center_id IN ({', '.join(shared.sql_text(center) for center in centers)})" if centers else "false"


def timeline_sql(reviewed: dict[tuple[str, str], list[str]]) -> str:
    """The mart's rows over core; `reviewed`: (table, field) -> the centers that marked it reviewed_safe."""
    line_detail = _published_for(reviewed.get(("therapy_lines", "detail"), []))
    event_detail = _published_for(reviewed.get(("events", "detail"), []))
    return f"""
WITH first_cycle AS (
    SELECT subject_id, min(coalesce(start_date, end_date)) AS first_date FROM core.cycles GROUP BY subject_id
),
lines AS (
    SELECT subject_id, center_id, 'chemotherapy' AS kind, phase, regimen, protocol, start_date, end_date,
        'therapy_lines' AS source_table, line_no AS source_no, CASE WHEN {line_detail} THEN detail END AS detail,
        coalesce(min(coalesce(start_date, end_date)) OVER (PARTITION BY subject_id ORDER BY line_no
                     ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING),
                 first_cycle.first_date) AS anchor,
        1 AS grp, 0 AS sub
    FROM core.therapy_lines LEFT JOIN first_cycle USING (subject_id)
),
cycles AS (
    SELECT *, coalesce(start_date, end_date, max(coalesce(start_date, end_date)) OVER (
                   PARTITION BY subject_id ORDER BY cycle_no ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
               AS anchor
    FROM core.cycles
),
bridging AS (
    SELECT subject_id, center_id, 'chemotherapy' AS kind, 'bridging' AS phase,
        CASE WHEN cyclophosphamide THEN 'with cyclophosphamide' END AS regimen, NULL AS protocol,
        NULL::DATE AS start_date, NULL::DATE AS end_date, 'cycles' AS source_table, cycle_no AS source_no,
        NULL AS detail, anchor, 2 AS grp, 0 AS sub
    FROM cycles
    WHERE bridging_chemo AND subject_id NOT IN (SELECT subject_id FROM core.therapy_lines)
),
blinatumomab AS (
    SELECT subject_id, center_id, 'blinatumomab' AS kind, 'blinatumomab' AS phase, regimen, NULL AS protocol,
        start_date, end_date, 'cycles' AS source_table, cycle_no AS source_no, NULL AS detail, anchor,
        2 AS grp, 1 AS sub
    FROM cycles
),
hsct AS (
    SELECT subject_id, center_id, 'hsct' AS kind, 'hsct' AS phase, NULL AS regimen, NULL AS protocol,
        event_date AS start_date, event_date AS end_date, 'events' AS source_table, NULL::INTEGER AS source_no,
        CASE WHEN {event_detail} THEN detail END AS detail, event_date AS anchor, 3 AS grp, 0 AS sub
    FROM core.events WHERE event_type = 'hsct'
),
phases AS (
    SELECT * FROM lines UNION ALL BY NAME SELECT * FROM bridging UNION ALL BY NAME SELECT * FROM blinatumomab
    UNION ALL BY NAME SELECT * FROM hsct
)
SELECT patient.study, phases.center_id, phases.subject_id,
    row_number() OVER (PARTITION BY phases.subject_id ORDER BY phases.anchor NULLS FIRST, phases.grp,
                       phases.source_no NULLS LAST, phases.sub, phases.start_date NULLS LAST) AS seq,
    phases.kind, phases.phase, phases.regimen, phases.protocol, phases.start_date, phases.end_date,
    phases.source_table, phases.source_no, phases.detail
FROM phases JOIN core.patients AS patient USING (subject_id)
ORDER BY patient.study, phases.subject_id, seq
"""


# Where an undated marrow assessment sits on its phase's bar (fraction of the bar): the phase its time point
# names; a cycle's own assessments on that cycle's bar.
TICKS_SQL = """
WITH phase AS (
    SELECT *, row_number() OVER (PARTITION BY subject_id, phase ORDER BY seq) AS nth,
        row_number() OVER (PARTITION BY subject_id, phase ORDER BY seq DESC) AS nth_last
    FROM marts.treatment_timeline WHERE study = $study
),
placed AS (
    SELECT assessment.subject_id, assessment.timepoint, assessment.assessment_date, assessment.mrd_pct_raw,
        CASE assessment.timepoint WHEN 'pre_cycle' THEN 0.05 WHEN 'day15' THEN 0.5 WHEN 'end_of_cycle' THEN 0.95
            WHEN 'induction_d19' THEN 0.45 WHEN 'induction_d46' THEN 0.9 ELSE 0.95 END::DOUBLE AS position,
        CASE WHEN assessment.cycle_no IS NOT NULL THEN 'blinatumomab'
            WHEN assessment.timepoint LIKE 'induction_%' THEN 'frontline_induction'
            WHEN assessment.timepoint = 'follow_up' THEN 'maintenance'
            ELSE assessment.timepoint END AS phase,
        assessment.cycle_no
    FROM core.assessments AS assessment
    WHERE assessment.subject_id IN (SELECT subject_id FROM core.patients WHERE study = $study)
)
SELECT placed.subject_id, placed.timepoint, placed.assessment_date, placed.mrd_pct_raw,
    coalesce(cycle.seq, first_phase.seq, last_phase.seq) AS seq, placed.position
FROM placed
LEFT JOIN phase AS cycle ON cycle.subject_id = placed.subject_id AND cycle.source_table = 'cycles'
    AND cycle.kind = 'blinatumomab' AND cycle.source_no = placed.cycle_no
LEFT JOIN phase AS first_phase ON placed.cycle_no IS NULL AND placed.timepoint <> 'follow_up'
    AND first_phase.subject_id = placed.subject_id AND first_phase.phase = placed.phase AND first_phase.nth = 1
LEFT JOIN phase AS last_phase ON placed.cycle_no IS NULL AND placed.timepoint = 'follow_up'
    AND last_phase.subject_id = placed.subject_id AND last_phase.phase = placed.phase AND last_phase.nth_last = 1
ORDER BY ALL
"""


def reviewed_details(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """(table, field) -> the centers whose YAML marks it reviewed_safe, for DETAIL_FIELDS."""
    from assets.landing.mappings import reviewed_text

    marked = reviewed_text(con)
    return {key: marked.get(key, []) for key in DETAIL_FIELDS}


def _reviewed_version(con: duckdb.DuckDBPyConnection) -> str:
    """Besides core: which centers' free text the mart may carry (a changed marking rebuilds it)."""
    return repr(sorted(reviewed_details(con).items()))


def case_series_frames(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The case series' phases and their assessments' ticks (small: the figure's input only)."""
    phases = pl.DataFrame(con.sql(f"SELECT * FROM {shared.SCHEMA}.{MART} WHERE study = $study ORDER BY subject_id, seq",
                                  params={"study": CASE_SERIES}))
    ticks = pl.DataFrame(con.sql(TICKS_SQL, params={"study": CASE_SERIES}))
    return phases, ticks


@shared.mart_asset(MART, DESCRIPTION, CORE_TABLES, extra=_reviewed_version, extra_deps=[REVIEWED_TEXT])
def treatment_timeline_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        shared.write_query(con, MART, timeline_sql(reviewed_details(con)), DESCRIPTION, COLUMNS)
        phases, ticks = case_series_frames(con)
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{MART}", ORDER)
    pngs = {FIGURE: swimmer_plot(phases, ticks)} if phases.height else {}
    folder = shared.save_figures(warehouse.path, pngs)
    return dg.MaterializeResult(metadata={**metadata, "figures_dir": str(folder),
                                          "figures": dg.MetadataValue.md(png_markdown(pngs) or "none")})
