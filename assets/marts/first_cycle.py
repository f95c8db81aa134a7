"""One row per patient with the facts of the first blinatumomab cycle: the relation the cohort, response,
risk-factor, Cox and survival marts aggregate, built in DuckDB (a TEMP table of the asset's connection).

The paper groups patients two ways (docs/published-results.md): by indication (`indication_group`, for
survival) and by disease status at cycle 1 (`status`, for response and Tables 1-2). Tables 1-2 split the
latter in two: `rr_mrdpos` (R/R or CR-MRDpos at cycle 1, the 51) and `mrdneg` (CR-MRDneg, the 54).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assets.marts.shared import MULTICENTER, sql_text

if TYPE_CHECKING:
    import duckdb

# The TEMP table create_first_cycles writes: a mart module's SQL names it as a table.
FIRST_CYCLES = "first_cycles"
CYCLE_COLUMNS = (
    "start_date", "end_date", "regimen", "bridging_chemo", "cyclophosphamide", "cyclophosphamide_dose_mg_m2",
    "pre_blasts_pct", "pre_mrd_pct", "response_date", "response", "mrd_negative_after",
)
PATIENT_COLUMNS = (
    "subject_id", "center_id", "sex", "age_months", "indication", "indication_group", "n_cycles",
    "first_infusion_date", "bcr_abl1", "kmt2ar", "tcf3_hlf", "etv6_runx1", "tcf3_pbx1", "znf384r", "pax5r",
    "hypodiploidy", "cytogenetic_risk",
)
# Table 1's columns: the statuses at cycle 1 each column pools.
TABLE1_GROUPS = {"rr_mrdpos": ("rr", "cr_mrdpos"), "mrdneg": ("cr_mrdneg",)}
SEX_LABELS = {"M": "male", "F": "female"}


def create_first_cycles(con: duckdb.DuckDBPyConnection, study: str = MULTICENTER) -> str:
    """TEMP table FIRST_CYCLES: `study`'s core.patients joined to their cycle 1 (core.cycles):
    PATIENT_COLUMNS, `status` (status at cycle 1), `table1_group` (rr_mrdpos / mrdneg, NULL when the status
    is unknown), `sex_label` (male / female, the Tables' sex rows), `poor_cytogenetics` and the cycle's
    CYCLE_COLUMNS. A patient without a cycle 1 keeps a row with NULL cycle facts. Returns its name."""
    patient = ", ".join(f"patient.{column}" for column in PATIENT_COLUMNS)
    cycle = ", ".join(f"cycle.{column}" for column in CYCLE_COLUMNS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {FIRST_CYCLES} AS
        SELECT {patient},
               patient.status_at_first_cycle AS status,
               {table1_group_sql("patient.status_at_first_cycle")} AS table1_group,
               {sex_label_sql("patient.sex")} AS sex_label,
               CASE WHEN patient.cytogenetic_risk IS NOT NULL THEN patient.cytogenetic_risk = 'poor' END
                   AS poor_cytogenetics,
               {cycle}
        FROM core.patients AS patient
        LEFT JOIN core.cycles AS cycle ON cycle.subject_id = patient.subject_id AND cycle.cycle_no = 1
        WHERE patient.study = $study
    """, {"study": study})
    return FIRST_CYCLES


def table1_group_sql(status: str) -> str:
    """SQL: `rr_mrdpos` or `mrdneg` from a status at cycle 1 (the expression `status`); NULL when unknown."""
    cases = " ".join(f"WHEN {status} IN ({', '.join(map(sql_text, statuses))}) THEN {sql_text(group)}"
                     for group, statuses in TABLE1_GROUPS.items())
    return f"CASE {cases} END"


def sex_label_sql(sex: str) -> str:
    cases = " ".join(f"WHEN {sql_text(code)} THEN {sql_text(label)}" for code, label in SEX_LABELS.items())
    return f"CASE {sex} {cases} END"

