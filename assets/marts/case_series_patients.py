"""marts.case_series_patients: the three-case series' Table 1, one row per case (docs/marts.md, Case series).

Everything is read from core, the study's rows filtered first (core.patients.study = 'case_series'), in one
DuckDB query: the case (case_series_cases: its number is the row of the center's patients file), its first
blinatumomab cycle (core.cycles), the marrow before and after that cycle (core.assessments: pre_cycle and
end_of_cycle of cycle 1, MRD and fusion transcript), the worst CTCAE grade of each toxicity term over its cycles
(core.adverse_events) and its transplant and last contact (core.events). What core does not hold (a cycle the
validation gate quarantined, a dose the report does not give) is NULL, not filled in. No free text of the contract
(events.detail: the donor; adverse_events.description) is carried: the snapshot withholds it from core.events
for centers that did not review it (assets/snapshot/withheld.py), and a mart must not publish it past that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from assets.marts import shared
from assets.marts.case_series_cases import CASES_SQL, IN_CASES_SQL, STUDY, case_group, check_case_numbers
from assets.marts.stats import date_number
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    import duckdb

MART = "case_series_patients"
CORE_TABLES = ("patients", "cycles", "assessments", "adverse_events", "events")
DESCRIPTION = (
    "The case series (study case_series, Shenzhen Children's Hospital): its Table 1, one row per case. Case "
    "number = the row of the center's patients file (the report's numbering; the MRN stops at staging). First "
    "blinatumomab cycle, marrow MRD and fusion transcript before and after it, toxicity grades (CTCAE v5.0), HSCT "
    "and last follow-up. NULL where core holds nothing (a quarantined cycle, a value the report does not give)."
)
COLUMNS = {
    "case_no": "The report's case number: the row of the center's patients file (source_row; header = 0).",
    "subject_id": "Pseudonymised subject id (core.patients).",
    "center_id": "The center (szch).",
    "age_at_diagnosis_months": "Completed months of age at diagnosis, as the report gives it.",
    "sex": "M / F.",
    "cytogenetics": "Contract cytogenetics codes (kmt2ar, etv6_runx1, ...; ';'-separated); NULL: not stated.",
    "fusion_gene": "Cytogenetics / fusion gene as delivered (e.g. KMT2A-AFF1); NULL: not stated.",
    "frontline_protocol": "Frontline protocol (CCCG-ALL-2015, CCCG-ALL-2020).",
    "prior_lines": "Lines of therapy before blinatumomab that core records: the frontline protocol (when known) "
                   "plus bridging chemotherapy before cycle 1 (core.cycles.bridging_chemo true; NULL or a "
                   "quarantined cycle counts as none recorded).",
    "prior_therapy": "Those lines in words: 'frontline <protocol>'; 'bridging chemotherapy' (with "
                     "cyclophosphamide when recorded).",
    "indication": "Why blinatumomab was given: relapse, mrd_positive, ... (core.patients.indication).",
    "indication_group": "rr, cr_mrdpos, cr_mrdneg (core.patients.indication_group).",
    "blinatumomab_cycles": "Blinatumomab cycles in core.cycles (quarantined cycles are not counted).",
    "mrd_before_pct": "Flow MRD, %, before cycle 1 (its pre_cycle marrow); `<x` gives x (see mrd_before_below_lod).",
    "mrd_before_below_lod": "MRD before cycle 1 delivered as `<x` or ND (below detection).",
    "fusion_before_pct": "Fusion-gene transcript (qPCR), %, before cycle 1; NULL when not measured or ND.",
    "dose_ug_m2_day": "Cycle 1's dose, ug/m2/day (core.cycles.dose_target, else dose_start); NULL: not given.",
    "blinatumomab_start": "First day of cycle 1's infusion.",
    "blinatumomab_end": "Last day of cycle 1's infusion (inclusive).",
    "infusion_days": "end - start + 1; NULL without both dates.",
    "mrd_after_pct": "Flow MRD, %, at the end of cycle 1; `<x` gives x (see mrd_after_below_lod).",
    "mrd_after_below_lod": "End-of-cycle-1 MRD delivered as `<x` or ND.",
    "mrd_negative_after": "End-of-cycle-1 MRD < 0.01 % (core.cycles.mrd_negative_after).",
    "fusion_after_pct": "Fusion-gene transcript, %, at the end of cycle 1; NULL when not measured or ND.",
    "fusion_after_below_lod": "End-of-cycle-1 transcript delivered as ND or `<x` (undetectable); NULL: not measured.",
    "response": "Cycle 1's response (core.cycles.response: cr, nr, ...); cr from CR-MRDpos is an MRD CR.",
    "fever_grade": "Worst CTCAE v5.0 grade of fever over the case's blinatumomab cycles; NULL: not reported.",
    "crs_grade": "Worst CTCAE grade of cytokine release syndrome (0: solicited, none); NULL: not reported.",
    "icans_grade": "Worst CTCAE grade of ICANS / neurotoxicity (0: solicited, none); NULL: not reported.",
    "toxicities": "Every reported term with its worst grade, 'term grade' separated by '; '.",
    "hsct_date": "Date of the first HSCT (core.events event_type hsct).",
    "last_follow_up": "Last contact (core.events last_contact, the latest).",
    "status_at_last_follow_up": "dead (a death event), relapsed (a relapse on or after the first infusion, any "
                                "relapse when that date is unknown), alive_no_relapse; NULL without a last contact.",
}
# The preview's order (shared.table_metadata): the cases as the paper numbers them.
ORDER = ("case_no",)

# The worst grade of each solicited toxicity term, a column each.
TOXICITY_TERMS = {"fever_grade": "fever", "crs_grade": "crs", "icans_grade": "icans"}

PATIENTS_SQL = f"""
WITH cases AS ({CASES_SQL}),
cycles AS (
    SELECT * FROM core.cycles WHERE {IN_CASES_SQL}
),
cycle_counts AS (
    SELECT subject_id, count(*) AS blinatumomab_cycles FROM cycles GROUP BY subject_id
),
cycle1 AS (
    -- core.cycles.cycle_no is 1, 2, ... in order of start
    SELECT * FROM cycles WHERE cycle_no = 1
),
marrow AS (
    SELECT subject_id,
           any_value(mrd_pct) FILTER (WHERE timepoint = 'pre_cycle') AS mrd_before_pct,
           any_value(mrd_pct_below_lod) FILTER (WHERE timepoint = 'pre_cycle') AS mrd_before_below_lod,
           any_value(fusion_transcript_pct) FILTER (WHERE timepoint = 'pre_cycle') AS fusion_before_pct,
           any_value(mrd_pct) FILTER (WHERE timepoint = 'end_of_cycle') AS mrd_after_pct,
           any_value(mrd_pct_below_lod) FILTER (WHERE timepoint = 'end_of_cycle') AS mrd_after_below_lod,
           any_value(fusion_transcript_pct) FILTER (WHERE timepoint = 'end_of_cycle') AS fusion_after_pct,
           any_value(fusion_transcript_pct_below_lod) FILTER (WHERE timepoint = 'end_of_cycle')
               AS fusion_after_below_lod
    FROM core.assessments
    WHERE {IN_CASES_SQL} AND cycle_no = 1
    GROUP BY subject_id
),
toxicity AS (
    SELECT subject_id,
           {", ".join(f"max(grade) FILTER (WHERE term = '{term}') AS {column}"
                      for column, term in TOXICITY_TERMS.items())},
           string_agg(term || ' ' || grade, '; ' ORDER BY term) AS toxicities
    FROM (SELECT subject_id, term, max(grade) AS grade FROM core.adverse_events
          WHERE {IN_CASES_SQL} AND grade IS NOT NULL GROUP BY subject_id, term)
    GROUP BY subject_id
),
events AS (
    SELECT event.subject_id,
           min(event_date) FILTER (WHERE event_type = 'hsct') AS hsct_date,
           max(event_date) FILTER (WHERE event_type = 'last_contact') AS last_follow_up,
           bool_or(event_type = 'death') AS died,
           bool_or(event_type = 'relapse' AND (cases.first_infusion_date IS NULL
                                               OR event_date >= cases.first_infusion_date)) AS relapsed
    FROM core.events AS event JOIN cases USING (subject_id)
    WHERE event.{IN_CASES_SQL}
    GROUP BY event.subject_id
)
SELECT cases.case_no, cases.subject_id, cases.center_id,
       CAST(cases.age_at_diagnosis_months AS INTEGER) AS age_at_diagnosis_months, cases.sex, cases.cytogenetics,
       cases.cytogenetics_raw AS fusion_gene, cases.protocol AS frontline_protocol,
       CAST(cases.protocol IS NOT NULL AS INTEGER) + CAST(coalesce(cycle1.bridging_chemo, false) AS INTEGER)
           AS prior_lines,
       nullif(concat_ws('; ', 'frontline ' || cases.protocol,
                        CASE WHEN cycle1.bridging_chemo THEN 'bridging chemotherapy'
                             || CASE WHEN cycle1.cyclophosphamide THEN ' with cyclophosphamide' ELSE '' END END),
              '') AS prior_therapy,
       cases.indication, cases.indication_group,
       coalesce(cycle_counts.blinatumomab_cycles, 0) AS blinatumomab_cycles,
       marrow.mrd_before_pct, marrow.mrd_before_below_lod, marrow.fusion_before_pct,
       coalesce(cycle1.dose_target, cycle1.dose_start) AS dose_ug_m2_day,
       cycle1.start_date AS blinatumomab_start, cycle1.end_date AS blinatumomab_end,
       CAST(cycle1.infusion_days AS INTEGER) AS infusion_days,
       marrow.mrd_after_pct, marrow.mrd_after_below_lod, cycle1.mrd_negative_after,
       marrow.fusion_after_pct, marrow.fusion_after_below_lod, cycle1.response,
       {", ".join(f"toxicity.{column}" for column in TOXICITY_TERMS)}, toxicity.toxicities,
       events.hsct_date, events.last_follow_up,
       CASE WHEN events.died THEN 'dead' WHEN events.relapsed THEN 'relapsed'
            WHEN events.last_follow_up IS NOT NULL THEN 'alive_no_relapse' END AS status_at_last_follow_up
FROM cases
LEFT JOIN cycle_counts USING (subject_id)
LEFT JOIN cycle1 USING (subject_id)
LEFT JOIN marrow USING (subject_id)
LEFT JOIN toxicity USING (subject_id)
LEFT JOIN events USING (subject_id)
ORDER BY cases.case_no
"""


def write_patients(con: duckdb.DuckDBPyConnection, study: str = STUDY) -> None:
    """marts.case_series_patients from core (PATIENTS_SQL), after checking the case numbers."""
    check_case_numbers(con, study)
    shared.write_query(con, MART, PATIENTS_SQL, DESCRIPTION, COLUMNS, {"study": study})


# Reference rows of a case: (id, statistic, the mart's column, as a number). Dates as yyyymmdd (date_number).
CASE_VALUES = (
    ("case_series.age_at_diagnosis", "months", "age_at_diagnosis_months", float),
    ("case_series.blinatumomab_cycles", "n", "blinatumomab_cycles", float),
    ("case_series.blinatumomab_dose", "ug_m2_day", "dose_ug_m2_day", float),
    ("case_series.blinatumomab_start", "date", "blinatumomab_start", date_number),
    ("case_series.blinatumomab_end", "date", "blinatumomab_end", date_number),
    ("case_series.blinatumomab_days", "n", "infusion_days", float),
    ("case_series.fever", "grade", "fever_grade", float),
    ("case_series.crs", "grade", "crs_grade", float),
    ("case_series.icans", "grade", "icans_grade", float),
    ("case_series.hsct", "date", "hsct_date", date_number),
    ("case_series.last_follow_up", "date", "last_follow_up", date_number),
)
# The paper's two errors: (id, case, statistic): the warehouse's value beside the printed one (an `inconsistent`
# row of the reference file), whose target row (statistic without `_as_printed`) holds the corrected value.
AS_PRINTED = (
    ("case_series.blinatumomab_end", 1, "date_as_printed", "blinatumomab_end", date_number),
    ("case_series.blinatumomab_dose", 2, "ug_m2_day_as_printed", "dose_ug_m2_day", float),
)


def published_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The reference rows of the case series' patients (case_series.*, docs/published-results.md), read from
    marts.case_series_patients: each case's facts, the series' counts."""
    cases = {row["case_no"]: row for row in
             shared.read_relation(con, f"{shared.SCHEMA}.{MART}").iter_rows(named=True)}

    def number(value, as_number):
        return None if value is None else as_number(value)

    rows = [(reference_id, case_group(case_no), statistic, number(case[column], as_number))
            for case_no, case in cases.items() for reference_id, statistic, column, as_number in CASE_VALUES]
    rows += [(reference_id, case_group(case_no), statistic, number(cases[case_no][column], as_number))
             for reference_id, case_no, statistic, column, as_number in AS_PRINTED if case_no in cases]
    rows += [
        ("case_series.patients", None, "n", len(cases)),
        ("case_series.mrd_negative_after", None, "n", sum(bool(case["mrd_negative_after"]) for case in cases.values())),
        ("case_series.fusion_undetectable_after", None, "n",
         sum(bool(case["fusion_after_below_lod"]) for case in cases.values())),
        ("case_series.hsct", None, "n", sum(case["hsct_date"] is not None for case in cases.values())),
    ]
    return shared.published_frame(rows).sort("id", "group", "statistic", nulls_last=True)


@shared.mart_asset(MART, DESCRIPTION, CORE_TABLES)
def case_series_patients_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        write_patients(con)
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{MART}", ORDER)
    return dg.MaterializeResult(metadata=metadata)
