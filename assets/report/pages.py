"""What each study's page holds, in its paper's order: sections of tables (context.read_block, with the paper's
printed values beside the computed ones) and figures (figures.figure). Every block is read here; a missing or
empty mart becomes a block that says so, never an exception."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from assets.marts.safety_lab_grades import ORDER as CYTOPENIA_ORDER
from assets.report.context import Block, Section, read_block, reproduction_block, with_published_p
from assets.report.figures import figure

STUDIES = ("multicenter", "case_series")
SURVIVAL = "marts.survival_curves"  # the Kaplan-Meier figures are drawn by the survival marts' step
TITLES = {
    "multicenter": "Blinatumomab in children with B-ALL: the multicenter study",
    "case_series": "Blinatumomab in children with B-ALL: the three-case series",
}


def _table(con, title: str, mart: str, query: str | None = None, **kwargs) -> Block:
    return read_block(con, title, f"marts.{mart}", query, **kwargs)


def _tested(con, title: str, mart: str, where: str = "true") -> Block:
    """A mart with a test_id per row, its paper's P and match mark beside its P."""
    return read_block(con, title, f"marts.{mart}", f"SELECT * FROM ({with_published_p(f'marts.{mart}')}) WHERE {where}",
                      requires=("marts.paper_reproduction",))


def multicenter(con: duckdb.DuckDBPyConnection, warehouse: Path) -> list[Section]:
    study = "multicenter"

    def paper(*marts: str) -> Block:
        return reproduction_block(con, "The paper's numbers beside the warehouse's", study, marts)

    km = [("rr_vs_not", "efs", "Figure 4A"), ("rr_vs_not", "os", "Figure 4B"), ("three_groups", "efs", "Figure 4C"),
          ("three_groups", "os", "Figure 4D")]
    more_km = ["overall", "rr_mrdpos_by_mrd_response", "rr_by_mrd_response", "cr_mrdpos_by_mrd_response",
               "cycle1_status", "cytogenetic_risk"]
    return [
        Section("cohort", "Cohort (Table 1)", "Patients by status at the first blinatumomab cycle: R/R + CR-MRDpos "
                "vs CR-MRDneg.", [
                    _table(con, "Cohort counts", "cohort_counts"),
                    _tested(con, "Table 1. Characteristics of the patients", "cohort_characteristics"),
                    paper("cohort_characteristics")]),
        Section("response", "Response", "Complete remission and MRD negativity after blinatumomab, with 95 % CIs.", [
            _table(con, "Response rates", "response_rates"), paper("response_rates")]),
        Section("risk-factors", "Risk factors (Table 2)", "", [
            _tested(con, "Table 2. Risk factors of response and relapse", "risk_factors"), paper("risk_factors")]),
        Section("cox", "Cox models", "Hazard ratios with 95 % CIs; the proportional-hazards test per term.", [
            _table(con, "Cox proportional-hazards models", "cox_models"), paper("cox_models")]),
        Section("survival", "Survival (Figure 4)", "Kaplan-Meier estimates with 95 % confidence bands, each group's "
                "median, the log-rank P and the numbers at risk.", [
                    *(figure(warehouse, f"km_{endpoint}_{grouping}.png", f"{panel}. {endpoint.upper()}", SURVIVAL)
                      for grouping, endpoint, panel in km),
                    _table(con, "Survival by group: n, events, median (days) and 1-year estimate", "survival_summary"),
                    _table(con, "Events after the first infusion", "survival_events"),
                    paper("survival"),
                    *(figure(warehouse, f"km_{endpoint}_{grouping}.png", f"{endpoint.upper()}: {grouping}", SURVIVAL)
                      for grouping in more_km for endpoint in ("efs", "os"))]),
        Section("immune", "Immune reconstitution (Figures 1-2)", "Cycle 1, before vs after (Wilcoxon matched pairs), "
                "and the change by status at cycle 1 (Mann-Whitney).", [
                    figure(warehouse, "figure1_immune_paired.png",
                           "Figure 1. Lymphocyte subsets before and after cycle 1", "marts.immune_paired"),
                    _tested(con, "Lymphocyte subsets, before vs after (Supplementary Table S1)", "immune_paired"),
                    figure(warehouse, "figure2_immune_group_deltas.png", "Figure 2. Change over cycle 1 by group",
                           "marts.immune_group_deltas"),
                    _tested(con, "Change over cycle 1 by group (Supplementary Table S2)", "immune_group_deltas"),
                    figure(warehouse, "immunoglobulins_paired.png", "Immunoglobulins before and after cycle 1",
                           "marts.immunoglobulins"),
                    _tested(con, "Immunoglobulins", "immunoglobulins"),
                    paper("immune", "immune_paired", "immune_group_deltas", "immunoglobulins")]),
        Section("cytokines", "Cytokines (Figure 3) and Table 4", "Serum cytokines (pg/mL) before, at CRS onset and at "
                "the end of cycle 1; Table 4: the ICANS episodes.", [
                    figure(warehouse, "figure3_cytokines_crs.png", "Figure 3. Serum cytokines in cycle 1, CRS",
                           "marts.cytokines"),
                    _tested(con, "Cytokines before vs at CRS onset", "cytokines"),
                    _cases(con, "Table 4. ICANS episodes: cytokines in serum and CSF", "icans_cytokines",
                           "episode, analyte"),
                    paper("cytokines")]),
        Section("safety", "Safety (Table 3)", "Adverse events per cycle as reported (CTCAE grades), cytopenias "
                "graded from the labs beside the reported grades, and ICANS.", [
                    figure(warehouse, "table3_adverse_events.png", "Adverse events per cycle (Table 3)",
                           "marts.safety_adverse_events"),
                    _table(con, "Table 3. Adverse events per blinatumomab cycle", "safety_adverse_events"),
                    _table(con, "Cytopenias: CTCAE grade from the labs beside the reported grade (cycles)",
                           "safety_cytopenia_grades",
                           "SELECT term, table3_group AS \"group\", coalesce(lab_grade::VARCHAR, 'no lab value') AS "
                           "lab_grade, coalesce(reported_grade::VARCHAR, 'not reported') AS reported_grade, "
                           "count(*) AS cycles, count(*) FILTER (WHERE discrepancy IS NOT NULL) AS discrepant "
                           "FROM marts.safety_cytopenia_grades GROUP BY ALL ORDER BY ALL"),
                    _table(con, "Where the labs and the reported grade disagree", "safety_grade_discrepancies",
                           "SELECT * FROM marts.safety_grade_discrepancies ORDER BY "
                           + ", ".join(CYTOPENIA_ORDER),
                           empty="no discrepancy: every reported grade agrees with the labs", empty_is_fine=True),
                    _tested(con, "ICANS: who had it", "safety_icans"),
                    _table(con, "Onset of CRS and ICANS (day of the cycle)", "safety_onset"),
                    paper("safety")]),
    ]


def _cases(con, title: str, mart: str, order: str) -> Block:
    """A case-series mart without its pseudonymised subject_id (the case number names the patient)."""
    return _table(con, title, mart, f"SELECT * EXCLUDE (subject_id) FROM marts.{mart} ORDER BY {order}")


def case_series(con: duckdb.DuckDBPyConnection, warehouse: Path) -> list[Section]:
    def paper(mart: str) -> Block:
        return reproduction_block(con, "The report's numbers beside the warehouse's", "case_series", [mart])

    return [
        Section("cases", "The cases", "One row per case, as the report describes them.", [
            _cases(con, "Cases", "case_series_patients", "case_no"), paper("case_series_patients")]),
        Section("trajectories", "MRD and fusion transcript (Figure 1)", "", [
            figure(warehouse, "case_series_trajectories.png", "Figure 1. MRD and fusion transcript per case",
                   "marts.case_series_trajectories"),
            _cases(con, "Marrow time points", "case_series_trajectories", "case_no, time_point_no, measure"),
            paper("case_series_trajectories")]),
        Section("treatment", "Treatment timeline", "", [
            figure(warehouse, "treatment_timeline_case_series.png", "Treatment of the case series",
                   "marts.treatment_timeline"),
            _table(con, "Phases of treatment", "treatment_timeline",
                   "SELECT center_id, seq, kind, phase, regimen, start_date, end_date FROM marts.treatment_timeline "
                   "WHERE study = 'case_series' ORDER BY subject_id, seq",
                   empty="marts.treatment_timeline holds no phase of the case series")]),
    ]


PAGES: dict[str, Callable[[duckdb.DuckDBPyConnection, Path], list[Section]]] = {
    "multicenter": multicenter, "case_series": case_series}
