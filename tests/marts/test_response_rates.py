"""Response rates, their intervals and comparisons, on cohorts built from the paper's counts, computed by the
marts' SQL on an in-memory DuckDB."""

import math

import polars as pl
import pytest

from assets.marts import response_rates as rr
from assets.marts import shared
from assets.marts.first_cycle import create_first_cycles
from tests.marts.core_db import core_database
from tests.marts.core_frames import counts_cohort, cycle, cycles, event, events, patient, patients

NO_EVENTS = events([])


def cohort_database(people: pl.DataFrame, given: pl.DataFrame, followed: pl.DataFrame = NO_EVENTS):
    """core.patients, core.cycles and core.events in DuckDB, first_cycle's relation created on them."""
    con = core_database(patients=people, cycles=given, events=followed)
    create_first_cycles(con)
    return con


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval written out (Wilson 1927; Newcombe 1998, method 3)."""
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


@pytest.fixture(scope="module")
def paper_cohort():
    """Cycle 1 as the paper counts it: R/R 9/11 CR (8 MRD-negative), CR-MRDpos 33/40; among the 30 R/R by
    indication 19/22 CR with bridging, 6/8 without; cyclophosphamide 7/8."""
    rri = {"indication_group": "rr", "indication": "relapse"}
    bridged = {**rri, "bridging_chemo": True}
    cyclophosphamide = {**bridged, "cyclophosphamide": True}
    return cohort_database(*counts_cohort({
        "rr": [(5, rri), (1, {**rri, "mrd_negative_after": False}), (2, {**rri, "response": "nr"}),
               (1, bridged), (2, cyclophosphamide)],
        "cr_mrdpos": [(4, bridged), (3, cyclophosphamide), (2, {**bridged, "response": "nr"}),
                      (1, {**cyclophosphamide, "response": "nr"}), (26, {}), (4, {"response": "nr"})],
        "cr_mrdneg": [(7, bridged), (2, cyclophosphamide)],
    }))


def rate(rates: pl.DataFrame, measure: str, population: str, group: str) -> dict:
    return rates.filter((pl.col("measure") == measure) & (pl.col("population") == population)
                        & (pl.col("group") == group)).row(0, named=True)


def test_rates_and_wilson_intervals(paper_cohort):
    rates = rr.response_rates(paper_cohort)
    cr_rr = rate(rates, "cr", "status_at_cycle1", "rr")
    assert (cr_rr["k"], cr_rr["n"], round(cr_rr["pct"], 1)) == (9, 11, 81.8)
    assert (cr_rr["ci_lower_pct"] / 100, cr_rr["ci_upper_pct"] / 100) == pytest.approx(wilson(9, 11))
    assert round(rate(rates, "mrd_negative", "status_at_cycle1", "rr")["pct"], 1) == 72.7
    assert round(rate(rates, "cr", "status_at_cycle1", "cr_mrdpos")["pct"], 1) == 82.5
    overall = rate(rates, "cr", "rr_mrdpos", "all")
    assert (overall["k"], overall["n"], round(overall["pct"], 1)) == (42, 51, 82.4)
    assert [rate(rates, "cr", "rr_indication", group)["k"] for group in ("bridged", "unbridged")] == [19, 6]
    assert [rate(rates, "cr", "rr_indication", group)["n"]
            for group in ("cyclophosphamide", "no_cyclophosphamide")] == [8, 22]


def test_comparisons_reproduce_the_paper_p_values(paper_cohort):
    rates = rr.response_rates(paper_cohort)
    p_values = dict(rr.response_tests(rates).select("test_id", "p_value").iter_rows())
    assert round(p_values["response.bridging"], 3) == 0.589
    assert p_values["response.rr_vs_mrdpos"] >= 0.9995 and p_values["response.cyclophosphamide"] >= 0.9995


def test_a_cycle_in_mrd_negativity_stays_negative_unless_a_relapse_follows():
    given = cycles([cycle("a", 2, table3_group="mrdneg"), cycle("b", 2, table3_group="mrdneg"),
                    cycle("b", 1), cycle("c", 2, table3_group="mrdneg")])
    # a relapses after its cycle 2 (which starts on day 42); c relapsed before it
    relapses = events([event("a", "relapse", 400), event("c", "relapse", 10)])
    con = cohort_database(patients([patient(s) for s in "abc"]), given, relapses)
    stayed = pl.DataFrame(rr.remained_negative(con)).sort("subject_id")
    assert stayed.select("subject_id", "remained").rows() == [("a", False), ("b", True), ("c", True)]


def test_each_non_responder_has_one_course_first_match_wins():
    people = patients([patient("two_cycles", n_cycles=2), patient("hsct_then_died"), patient("died"),
                       patient("chemo"), patient("responder")])
    given = cycles([cycle(s, response="nr") for s in ("two_cycles", "hsct_then_died", "died", "chemo")]
                   + [cycle("responder")])
    followed = events([event("two_cycles", "hsct", 90), event("hsct_then_died", "hsct", 60),
                       event("hsct_then_died", "death", 200), event("died", "death", 100),
                       event("chemo", "hsct", -30)])  # before the first infusion: not a course
    courses = pl.DataFrame(rr.nr_course(cohort_database(people, given, followed)))
    assert dict(courses.iter_rows()) == {"two_cycles": "second_blina_cycle", "hsct_then_died": "hsct",
                                         "died": "died", "chemo": "continued_chemo"}


def test_published_values_read_the_mart_and_name_reference_rows(paper_cohort):
    shared.write_mart(paper_cohort, rr.MART, rr.response_rates(paper_cohort), rr.DESCRIPTION, rr.COLUMNS)
    values = rr.published_values(paper_cohort)
    assert values.filter(pl.struct("id", "group", "statistic").is_duplicated()).height == 0
    lookup = {(r["id"], r["group"], r["statistic"]): r["computed_value"] for r in values.iter_rows(named=True)}
    assert round(lookup[("response.bridging.cr", "rr_indication_bridged", "pct")], 1) == 86.4
    assert lookup[("response.nr_after_cycle1", None, "n")] == 9
