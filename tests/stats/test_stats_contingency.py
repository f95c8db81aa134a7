"""Fisher and chi-square against textbook answers and every categorical P the paper publishes."""

from __future__ import annotations

import pytest

from assets.marts.stats import chi_square, fisher_exact_2x2, matches_published


def test_tea_tasting():
    """R's ?fisher.test example: P = 0.4857, conditional MLE odds ratio 6.408309, 95 % CI
    0.2117329 - 621.9337505 (R finds the limits with uniroot's loose default tolerance, so only the
    lower limit agrees closely; scipy solves more tightly)."""
    result = fisher_exact_2x2([[3, 1], [1, 3]])
    assert result.p_value == pytest.approx(0.4857142857, abs=1e-9)
    assert result.estimate == pytest.approx(6.408309, rel=1e-5)
    assert result.ci_lower == pytest.approx(0.2117329, rel=1e-4)
    assert result.ci_upper == pytest.approx(621.9337505, rel=0.01)


@pytest.mark.parametrize("table", [
    [[3, 1], [1, 3]], [[34, 17], [30, 24]], [[1, 41], [4, 5]], [[22, 56], [52, 1]], [[0, 51], [1, 53]],
    [[42, 9], [0, 5]], [[5, 0], [3, 4]], [[2, 0], [0, 2]], [[310, 290], [280, 330]],
])
def test_conditional_odds_ratio_is_scipy_s(table):
    """The estimate and interval are scipy's conditional odds ratio (R's fisher.test), computed faster."""
    from scipy.stats.contingency import odds_ratio

    result = fisher_exact_2x2(table)
    scipy = odds_ratio(table, kind="conditional")
    interval = scipy.confidence_interval(0.95)
    assert result.estimate == pytest.approx(scipy.statistic, rel=1e-12)
    assert (result.ci_lower, result.ci_upper) == pytest.approx((interval.low, interval.high), rel=1e-12)


def test_a_registry_sized_table_has_its_odds_ratio():
    """100,000 patients: the conditional MLE sits beside the sample odds ratio, inside its interval."""
    result = fisher_exact_2x2([[20000, 28000], [26000, 24000]])
    assert result.estimate == pytest.approx(20000 * 24000 / (28000 * 26000), rel=1e-3)
    assert result.ci_lower < result.estimate < result.ci_upper


def test_chi_square_yates_only_when_asked():
    table = [[12, 5], [3, 9]]
    assert chi_square(table).p_value < chi_square(table, correction=True).p_value
    assert chi_square([[41, 9, 24], [21, 17, 8]]).df == 2


def counts(published, measure, group):
    return int(published[(measure, group, "n")]["value"])


def _yes_no(published, measure, groups, totals):
    """2x2 of (yes, no) rows per group, from a count row and the group's size."""
    yes = [counts(published, measure, g) for g in groups]
    return [[k, n - k] for k, n in zip(yes, totals)]


def _grade0_vs_any(published, term):
    return [
        [counts(published, f"table3.{term}.g0", g),
         counts(published, f"table3.{term}.g1_2", g) + counts(published, f"table3.{term}.g3_4", g)]
        for g in ("mrdneg", "rr_mrdpos")
    ]


def _tables(published):
    """Each p3 row's table, built from the published counts (explicit where only a note gives them)."""
    table1 = ("rr_mrdpos", "mrdneg"), [counts(published, "table1.n", g) for g in ("rr_mrdpos", "mrdneg")]
    table2 = ("cr", "nr"), [counts(published, "table2.n", g) for g in ("cr", "nr")]
    markers = ["bcr_abl1", "kmt2ar", "tcf3_hlf", "etv6_runx1", "tcf3_pbx1", "znf384r", "pax5r"]
    tables = {f"table1.{m}": _yes_no(published, f"table1.{m}", *table1) for m in markers}
    tables |= {f"table2.{m}": _yes_no(published, f"table2.{m}", *table2)
               for m in ["poor_cytogenetics", "kmt2ar", "etv6_runx1", "bcr_abl1"]}
    for table, groups in (("table1", table1[0]), ("table2", table2[0])):
        sex = f"{table}.sex"
        tables[sex] = [[int(published[(sex, g, s)]["value"]) for s in ("male", "female")] for g in groups]
    responders = [
        counts(published, "response.rr.cr", "rr"),
        counts(published, "response.cr_mrdpos.mrd_cr", "cr_mrdpos"),
    ]
    treated = [counts(published, "cycle1_status.rr", ""), counts(published, "cycle1_status.cr_mrdpos", "")]
    tables["response.rr_vs_mrdpos"] = [[r, n - r] for r, n in zip(responders, treated)]
    tables["response.bridging"] = [[19, 3], [6, 2]]  # notes: 19/22 bridged vs 6/8 not
    tables["response.cyclophosphamide"] = [[7, 1], [18, 4]]  # notes: 7/8 vs 18/22
    for term in ("crs", "icans", "thrombocytopenia"):
        tables[f"table3.{term}"] = _grade0_vs_any(published, term)
    mrdneg_cycles = counts(published, "cycle1_status.mrdneg_cycles", "")
    cycles = (mrdneg_cycles, counts(published, "cohort.cycles", "") - mrdneg_cycles)
    tables["table3.infection"] = _yes_no(published, "table3.infection.any", ("mrdneg", "rr_mrdpos"), cycles)
    return tables


def test_every_published_categorical_p_value_reproduces(published):
    p3_rows = {key[0]: row for key, row in published.items() if row["match"] == "p3"}
    tables = _tables(published)
    neutropenia = [[counts(published, f"table3.neutropenia.{band}", g) for band in ("g0", "g1_2", "g3_4")]
                   for g in ("mrdneg", "rr_mrdpos")]
    # every p3 row is tested, and nothing else
    assert set(p3_rows) == set(tables) | {"table3.neutropenia"}
    for measure, table in tables.items():
        p_value = fisher_exact_2x2(table).p_value
        assert matches_published(p_value, p3_rows[measure]["value"], "p3"), (measure, table, p_value)
    p_value = chi_square(neutropenia).p_value
    assert matches_published(p_value, p3_rows["table3.neutropenia"]["value"], "p3"), p_value
