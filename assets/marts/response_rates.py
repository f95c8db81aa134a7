"""marts.response_rates: response to blinatumomab, each rate with its 95 % Wilson confidence interval.

Response is cycle 1's (core.cycles.response, derived from its end-of-cycle marrow): `cr` is a cytological CR
from R/R, an MRD CR from CR-MRDpos, MRD staying negative from CR-MRDneg; `mrd_negative` is the end-of-cycle
MRD < 0.01 %. Rates by status at cycle 1, overall for the 51 R/R + CR-MRDpos, by cycle 1's regimen, by
bridging and by cyclophosphamide among the 30 R/R by indication; the cycles given in MRD negativity that
stayed negative; and what became of the non-responders. Counted in DuckDB over first_cycle's relation;
intervals and tests from the counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
import polars as pl

from assets.marts import shared
from assets.marts.aggregates import group_counts
from assets.marts.first_cycle import FIRST_CYCLES, create_first_cycles
from assets.marts.stats import fisher_exact_2x2, proportion_ci
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    import duckdb

MART = "response_rates"
CI_METHOD = "wilson"
SCHEMA = {
    "measure": pl.Utf8, "population": pl.Utf8, "group": pl.Utf8, "k": pl.Int64, "n": pl.Int64,
    "pct": pl.Float64, "ci_lower_pct": pl.Float64, "ci_upper_pct": pl.Float64, "ci_method": pl.Utf8,
}
DESCRIPTION = (
    "Response rates after blinatumomab with 95 % confidence intervals (Wilson score): CR and MRD-negative "
    "CR after cycle 1 by status at cycle 1, overall, by regimen, by bridging and cyclophosphamide among the "
    "R/R by indication; cycles in MRD negativity that stayed negative; the course of cycle-1 non-responders "
    "(k of n, no interval: categories, not rates). P-values in marts.statistical_tests (mart response_rates)."
)
COLUMNS = {
    "measure": "cr (response to cycle 1), mrd_negative (end-of-cycle-1 MRD < 0.01 %), remained_mrd_negative "
               "(a cycle given in MRD negativity with no relapse after it), nr_course (what became of the "
               "non-responders to cycle 1).",
    "population": "Who is counted: status_at_cycle1, rr_mrdpos (R/R + CR-MRDpos at cycle 1), rr_indication "
                  "(R/R by indication), mrdneg_cycles (cycles in Table 3's mrdneg column), nr_cycle1.",
    "group": "The subgroup of the population the rate is for.",
    "k": "Patients (cycles for mrdneg_cycles) with the outcome.",
    "n": "Patients (cycles) in the group with a known outcome.",
    "pct": "100 k / n.",
    "ci_lower_pct": "Lower 95 % confidence limit, %.",
    "ci_upper_pct": "Upper 95 % confidence limit, %.",
    "ci_method": "wilson (score interval, R's prop.test(correct = FALSE)); NULL for nr_course categories.",
}
# The preview's order (shared.table_metadata): as written, per population and group, its measures.
ORDER = shared.AS_WRITTEN
# What became of a non-responder to cycle 1, first match wins (the paper's paragraph on the nine).
NR_COURSE = ("second_blina_cycle", "hsct", "died", "continued_chemo")


# (population, group, condition over first_cycle's relation) of every rate of cycle-1 response.
SUBGROUPS = (
    *(("status_at_cycle1", status, f"status = '{status}'") for status in ("rr", "cr_mrdpos", "cr_mrdneg")),
    ("rr_mrdpos", "all", "table1_group = 'rr_mrdpos'"),
    *(("rr_mrdpos", f"regimen_{regimen}", f"table1_group = 'rr_mrdpos' AND regimen = '{regimen}'")
      for regimen in ("14d", "21_28d")),
    ("rr_indication", "bridged", "indication_group = 'rr' AND bridging_chemo"),
    ("rr_indication", "unbridged", "indication_group = 'rr' AND NOT bridging_chemo"),
    ("rr_indication", "cyclophosphamide", "indication_group = 'rr' AND cyclophosphamide"),
    # The paper's comparison group: everyone without cyclophosphamide, bridged or not.
    ("rr_indication", "no_cyclophosphamide", "indication_group = 'rr' AND NOT coalesce(cyclophosphamide, false)"),
)
# measure -> its outcome over first_cycle's relation (NULL: unknown, not counted)
OUTCOMES = {"cr": "response = 'cr'", "mrd_negative": "mrd_negative_after"}


def _rate(measure: str, population: str, group: str, k: int, n: int) -> dict:
    ci = proportion_ci(k, n, CI_METHOD)

    def percent(value: float | None) -> float | None:
        return None if value is None else 100 * value

    return {"measure": measure, "population": population, "group": group, "k": ci.k, "n": ci.n,
            "pct": percent(ci.proportion), "ci_lower_pct": percent(ci.lower), "ci_upper_pct": percent(ci.upper),
            "ci_method": CI_METHOD}


def _subgroup_rates(con: duckdb.DuckDBPyConnection, population: str, group: str, condition: str) -> list[dict]:
    """A subgroup's rate of each of OUTCOMES, from the counts of its patients' outcome combinations."""
    outcomes = ", ".join(f"{outcome} AS {measure}" for measure, outcome in OUTCOMES.items())
    counts = group_counts(con, f"SELECT {outcomes} FROM {FIRST_CYCLES} WHERE {condition}", list(OUTCOMES))
    rows = []
    for measure in OUTCOMES:
        known = counts.filter(pl.col(measure).is_not_null())
        rows.append(_rate(measure, population, group, int(known.filter(pl.col(measure))["n"].sum()),
                          int(known["n"].sum())))
    return rows


def remained_negative(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The cycles of first_cycle's patients in Table 3's mrdneg column (core.cycles.table3_group):
    subject_id, cycle_no, `remained` (no relapse of the patient on or after the cycle's start). The paper:
    "of the 74 MRD-negative cycles, 73 remained MRD negative until the follow-up day; one CNS relapse 14
    months later"."""
    return con.sql(f"""
        SELECT cycle.subject_id, cycle.cycle_no,
               NOT EXISTS (SELECT 1 FROM core.events AS relapse
                           WHERE relapse.subject_id = cycle.subject_id AND relapse.event_type = 'relapse'
                             AND relapse.event_date >= cycle.start_date) AS remained
        FROM core.cycles AS cycle
        WHERE cycle.table3_group = 'mrdneg' AND cycle.subject_id IN (SELECT subject_id FROM {FIRST_CYCLES})
    """)


def nr_course(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Each cycle-1 non-responder with `course`, the first of NR_COURSE that applies: a second
    blinatumomab cycle; else HSCT after the first infusion; else death; else continued chemotherapy."""

    def had(event_type: str) -> str:
        return (f"EXISTS (SELECT 1 FROM core.events AS event WHERE event.subject_id = patient.subject_id "
                f"AND event.event_type = '{event_type}' AND event.event_date >= patient.first_infusion_date)")

    return con.sql(f"""
        SELECT subject_id,
               CASE WHEN n_cycles >= 2 THEN 'second_blina_cycle'
                    WHEN {had("hsct")} THEN 'hsct'
                    WHEN {had("death")} THEN 'died'
                    ELSE 'continued_chemo' END AS course
        FROM {FIRST_CYCLES} AS patient
        WHERE response = 'nr'
    """)


def response_rates(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The mart (SCHEMA), from first_cycle's relation, core.cycles and core.events."""
    rows = [row for subgroup in SUBGROUPS for row in _subgroup_rates(con, *subgroup)]
    stayed = group_counts(con, remained_negative(con), ["remained"])
    rows.append(_rate("remained_mrd_negative", "mrdneg_cycles", "all",
                      int(stayed.filter(pl.col("remained"))["n"].sum()), int(stayed["n"].sum())))
    courses = dict(group_counts(con, nr_course(con), ["course"]).iter_rows())
    rows.extend(
        {"measure": "nr_course", "population": "nr_cycle1", "group": course, "k": courses.get(course, 0),
         "n": sum(courses.values())}
        for course in NR_COURSE
    )
    return pl.DataFrame(rows, schema=SCHEMA)


# (test_id, description, the two subgroups of SUBGROUPS compared: (population, group) each).
COMPARISONS = (
    ("response.rr_vs_mrdpos", "CR after cycle 1: R/R vs CR-MRDpos at cycle 1",
     ("status_at_cycle1", "rr"), ("status_at_cycle1", "cr_mrdpos")),
    ("response.regimen", "CR after cycle 1 among R/R + CR-MRDpos: 14-day vs 21-28-day infusion",
     ("rr_mrdpos", "regimen_14d"), ("rr_mrdpos", "regimen_21_28d")),
    ("response.bridging", "CR among the R/R by indication: bridging chemotherapy or not",
     ("rr_indication", "bridged"), ("rr_indication", "unbridged")),
    ("response.cyclophosphamide", "CR among the R/R by indication: cyclophosphamide-containing bridging or not",
     ("rr_indication", "cyclophosphamide"), ("rr_indication", "no_cyclophosphamide")),
)


def response_tests(rates: pl.DataFrame) -> pl.DataFrame:
    """Fisher's exact test of the CR rate for each of COMPARISONS, from the mart's counts."""
    cr = rates.filter(pl.col("measure") == "cr")

    def counts(population: str, group: str) -> list[int]:
        row = cr.filter((pl.col("population") == population) & (pl.col("group") == group)).row(0, named=True)
        return [row["k"], row["n"] - row["k"]]

    rows = []
    for test_id, description, first, second in COMPARISONS:
        table = [counts(*first), counts(*second)]
        if all(sum(row) for row in table):
            rows.append(shared.test_row(test_id, MART, description, (first[1], second[1]), fisher_exact_2x2(table)))
    return shared.tests_frame(rows)


# Reference ids of the rates: (measure, population, group) -> (id, group in the CSV).
PUBLISHED_RATES = {
    ("cr", "status_at_cycle1", "rr"): ("response.rr.cr", "rr"),
    ("mrd_negative", "status_at_cycle1", "rr"): ("response.rr.mrdneg_cr", "rr"),
    ("cr", "status_at_cycle1", "cr_mrdpos"): ("response.cr_mrdpos.mrd_cr", "cr_mrdpos"),
    ("cr", "rr_mrdpos", "all"): ("response.overall", "rr_mrdpos"),
    ("cr", "rr_mrdpos", "regimen_14d"): ("response.regimen_14d.cr", None),
    ("cr", "rr_mrdpos", "regimen_21_28d"): ("response.regimen_21_28d.cr", None),
    ("cr", "rr_indication", "bridged"): ("response.bridging.cr", "rr_indication_bridged"),
    ("cr", "rr_indication", "unbridged"): ("response.no_bridging.cr", "rr_indication_unbridged"),
    ("cr", "rr_indication", "cyclophosphamide"): ("response.cyclophosphamide.cr", None),
    ("cr", "rr_indication", "no_cyclophosphamide"): ("response.no_cyclophosphamide.cr", None),
}


def published_values(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The reference rows this mart covers (response.*, except the P-values), read from marts.response_rates."""
    rates = {(rate["measure"], rate["population"], rate["group"]): rate
             for rate in shared.read_relation(con, f"{shared.SCHEMA}.{MART}").iter_rows(named=True)}
    rows = [
        row
        for key, (reference_id, group) in PUBLISHED_RATES.items()
        for row in ((reference_id, group, "pct", rates[key]["pct"]), (reference_id, group, "n", rates[key]["k"]))
    ]
    course = {group: rate for (measure, _, group), rate in rates.items() if measure == "nr_course"}
    rows += [
        ("response.regimen_14d", None, "n", rates[("cr", "rr_mrdpos", "regimen_14d")]["n"]),
        ("response.regimen_21_28d", None, "n", rates[("cr", "rr_mrdpos", "regimen_21_28d")]["n"]),
        ("response.mrdneg_cycles_remaining_neg", None, "n",
         rates[("remained_mrd_negative", "mrdneg_cycles", "all")]["k"]),
        ("response.nr_after_cycle1", None, "n", course["hsct"]["n"]),
        *((f"response.nr.{name}", None, "n", course[name]["k"]) for name in NR_COURSE),
    ]
    return shared.published_frame(rows).sort("id", "group", "statistic")


@shared.mart_asset(MART, DESCRIPTION, ("patients", "cycles", "events"))
def response_rates_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        create_first_cycles(con)
        rates = response_rates(con)
        tests = response_tests(rates)
        shared.write_mart(con, MART, rates, DESCRIPTION, COLUMNS)
        shared.replace_tests(con, MART, tests)
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{MART}", ORDER, tests=tests.height)
    return dg.MaterializeResult(metadata=metadata)
