"""The count-based entry points (`*_from_counts`) against the value-based functions, R's reference answers,
brute-force enumeration and scipy / lifelines, on the reference data and on seeded random data with ties
and zeros, below and above the exact caps."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from assets.marts.stats import (
    kaplan_meier,
    kaplan_meier_from_counts,
    logrank_from_counts,
    logrank_test,
    mann_whitney,
    mann_whitney_from_counts,
    median_survival,
    survival_at,
    wilcoxon_paired,
    wilcoxon_paired_from_counts,
)
from tests.stats.conftest import load_reference, reference_names
from tests.stats.test_stats_rank_tests import paired, two_groups

SEEDS = range(8)
# (n_x, n_y): exact, exact at the product cap's edge, past the product cap, past the smaller-group cap, large
RANK_SUM_SIZES = [(4, 6), (30, 45), (40, 210), (50, 160), (101, 150), (1500, 2500)]
PAIR_SIZES = [8, 60, 199, 200, 3000]


def survival_counts(subjects: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return subjects.group_by(keys).agg(events=pl.col("event").sum().cast(pl.Int64), total=pl.len().cast(pl.Int64))


def rank_sum_counts(x, y) -> pl.DataFrame:
    """Settled values with their counts in x and in y, in no particular order."""
    tagged = pl.DataFrame({
        "value": np.round(np.concatenate([x, y]).astype(float), 10),
        "from_x": np.repeat([True, False], [len(x), len(y)]),
    })
    return tagged.group_by("value").agg(
        n_x=pl.col("from_x").sum().cast(pl.Int64), n_y=(~pl.col("from_x")).sum().cast(pl.Int64)
    )


def difference_counts(pre, post) -> tuple[pl.DataFrame, int]:
    difference = np.round(np.asarray(post, dtype=float) - np.asarray(pre, dtype=float), 10)
    table = pl.DataFrame({"difference": difference[difference != 0]}).group_by(
        abs_diff=pl.col("difference").abs()
    ).agg(
        n_positive=(pl.col("difference") > 0).sum().cast(pl.Int64),
        n_negative=(pl.col("difference") < 0).sum().cast(pl.Int64),
    )
    return table, int((difference == 0).sum())


def tied_values(rng: np.random.Generator, size: int, shift: float = 0.0) -> np.ndarray:
    """Values on a coarse grid (ties), about 5 % of them and the first exactly 0."""
    values = np.round(rng.normal(shift, 2, size=size), int(rng.integers(0, 2)))
    values[(rng.random(size) < 0.05) | (np.arange(size) == 0)] = 0.0
    return values


# --- Kaplan-Meier and log-rank -----------------------------------------------------------------------------

GEHAN_ANSWER, GEHAN = load_reference("gehan.km.json")


@pytest.mark.parametrize("group", [group["group"] for group in GEHAN_ANSWER["groups"]])
def test_curve_from_counts_is_survfit_and_the_value_based_curve(group):
    subjects = GEHAN.filter(pl.col("group") == group)
    assert subjects.height
    curve = kaplan_meier_from_counts(survival_counts(subjects, ["time"]))
    assert curve.equals(kaplan_meier(subjects["time"], subjects["event"]), null_equal=True)
    expected = next(g for g in GEHAN_ANSWER["groups"] if g["group"] == group)
    assert curve["survival"].to_list() == pytest.approx(expected["curve"]["surv"], abs=1e-10)
    assert curve["n_at_risk"].to_list() == expected["curve"]["n.risk"]
    median = median_survival(curve)
    assert (median.median, median.ci_lower) == (expected["median_ci"]["loglog"]["median"],
                                                 expected["median_ci"]["loglog"]["lower"])
    assert survival_at(curve, 10).survival == pytest.approx(expected["at"][0]["surv"], abs=1e-10)


def test_logrank_from_counts_is_survdiff_and_the_value_based_test():
    result = logrank_from_counts(survival_counts(GEHAN, ["group", "time"]))
    assert result == logrank_test(GEHAN["time"], GEHAN["event"], GEHAN["group"])
    expected = GEHAN_ANSWER["logrank"]
    assert result.statistic == pytest.approx(expected["chisq"], rel=1e-9)
    assert result.extras["expected"] == pytest.approx(expected["expected"], rel=1e-12)


def random_subjects(seed: int) -> pl.DataFrame:
    """1 to 499 subjects: times with ties, 0/1 events."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 500))
    return pl.DataFrame({
        "time": np.round(rng.exponential(200, size=size), int(rng.integers(-2, 1))),
        "event": (rng.random(size) < rng.random()).astype(np.int64),
    })


@pytest.mark.parametrize("seed", SEEDS)
def test_curve_from_counts_equals_the_value_based_curve(seed):
    subjects = random_subjects(seed)
    counts = survival_counts(subjects, ["time"]).sample(fraction=1.0, shuffle=True, seed=seed)
    expected = kaplan_meier(subjects["time"], subjects["event"])
    assert kaplan_meier_from_counts(counts).equals(expected, null_equal=True)
    assert kaplan_meier_from_counts(counts.with_columns(group=pl.lit("ignored"))).equals(expected, null_equal=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_logrank_from_counts_equals_the_value_based_test_and_lifelines(seed):
    from lifelines.statistics import multivariate_logrank_test

    rng = np.random.default_rng(seed)
    size, k = int(rng.integers(10, 2000)), int(rng.integers(2, 9))
    subjects = pl.DataFrame({
        "group": rng.choice([f"g{i}" for i in range(k)], size=size),
        "time": np.round(rng.exponential(100, size=size)),
        "event": (rng.random(size) < 0.6).astype(np.int64),
    })
    result = logrank_from_counts(survival_counts(subjects, ["group", "time"]))
    assert result == logrank_test(subjects["time"], subjects["event"], subjects["group"])
    lifelines = multivariate_logrank_test(subjects["time"], subjects["group"], subjects["event"])
    assert result.statistic == pytest.approx(lifelines.test_statistic, rel=1e-9)
    assert result.n == size and sum(result.extras["n"]) == size


def lifelines_curve(counts: pl.DataFrame) -> pl.DataFrame:
    """lifelines' KaplanMeierFitter on survival counts as weighted rows: per time one event row weighted
    `events` and one censored row weighted `total - events`."""
    from lifelines import KaplanMeierFitter

    counts = counts.sort("time")
    time, events = counts["time"].to_numpy(), counts["events"].to_numpy()
    weights = np.concatenate([events, counts["total"].to_numpy() - events])
    rows = weights > 0
    with np.errstate():  # lifelines switches numpy's divide / invalid warnings off process-wide
        fitter = KaplanMeierFitter().fit(np.concatenate([time, time])[rows], np.repeat([1, 0], time.size)[rows],
                                         weights=weights[rows])
    table = fitter.event_table
    observed = table["removed"].to_numpy() > 0  # lifelines adds a row at time 0 when no one has it
    interval = fitter.confidence_interval_.to_numpy()[observed]
    return pl.DataFrame({
        "time": table.index.to_numpy()[observed],
        "n_at_risk": table["at_risk"].to_numpy()[observed],
        "events": table["observed"].to_numpy()[observed],
        "censored": table["censored"].to_numpy()[observed],
        "survival": fitter.survival_function_.to_numpy()[observed, 0],
        "ci_lower": interval[:, 0],
        "ci_upper": interval[:, 1],
    })


def assert_lifelines_curve(curve: pl.DataFrame, counts: pl.DataFrame) -> None:
    """lifelines gives our (R's) curve to 1e-12, except R's null interval where S is 1 or 0, where lifelines
    reports 1 to 1 and 0 to 0. (Greenwood's std_err is not in lifelines' public API.)"""
    theirs = lifelines_curve(counts)
    for column in ("time", "n_at_risk", "events", "censored"):
        assert curve[column].to_list() == theirs[column].to_list(), column
    assert curve["survival"].to_numpy() == pytest.approx(theirs["survival"].to_numpy(), rel=0, abs=1e-12)
    interior = curve["ci_lower"].is_not_null().to_numpy()
    assert (interior == ((theirs["survival"] > 0) & (theirs["survival"] < 1)).to_numpy()).all()
    for column in ("ci_lower", "ci_upper"):
        ours = curve[column].to_numpy()[interior]
        assert ours == pytest.approx(theirs[column].to_numpy()[interior], rel=0, abs=1e-12), column
        edge = theirs.filter(~pl.Series(interior))
        assert (edge[column] == edge["survival"].round()).all()  # 1 where S = 1, 0 where S = 0


@pytest.mark.parametrize("group", [group["group"] for group in GEHAN_ANSWER["groups"]])
def test_curve_is_lifelines_kaplan_meier_from_weighted_rows(group):
    counts = survival_counts(GEHAN.filter(pl.col("group") == group), ["time"])
    assert_lifelines_curve(kaplan_meier_from_counts(counts), counts)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_curve_is_lifelines_kaplan_meier_from_weighted_rows(seed):
    counts = survival_counts(random_subjects(seed), ["time"])
    assert_lifelines_curve(kaplan_meier_from_counts(counts), counts)


def test_logrank_where_lifelines_departs_from_survdiff():
    """lifelines' chi-square is survdiff's, but its df is always k - 1 and it gives P = 1 without events.
    R 4.2.2, survival 3.5-3: survdiff(Surv(time, event) ~ group) below is chisq 0.48648648648648662 on 1 df,
    p 0.4854988026442823: c, censored before the first event, has no expected events and no df."""
    from lifelines.statistics import multivariate_logrank_test

    time, event, group = [1, 3, 5, 2, 4, 6, 0.5], [1, 1, 0, 1, 0, 1, 0], ["a", "a", "a", "b", "b", "b", "c"]
    result = logrank_test(time, event, group)
    lifelines = multivariate_logrank_test(time, group, event)
    assert result.statistic == pytest.approx(0.48648648648648662, rel=1e-12)
    assert lifelines.test_statistic == pytest.approx(0.48648648648648662, rel=1e-12)
    assert (result.df, result.p_value) == (1.0, pytest.approx(0.4854988026442823, rel=1e-12))
    assert lifelines.degrees_of_freedom == 2 and lifelines.p_value == pytest.approx(0.7841, abs=1e-4)
    # no event: survdiff's P is NaN (ours undefined, test_stats_undefined.py); lifelines' is 1
    none = multivariate_logrank_test([5, 6, 7, 8], ["a", "a", "b", "b"], [0, 0, 0, 0])
    assert (none.test_statistic, none.p_value) == (0, 1)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"time": [1.0, 1.0], "events": [1, 0], "total": [1, 1]}, "more than one row"),
        ({"time": [1.0, 2.0], "events": [2, 0], "total": [1, 1]}, "events <= total"),
        ({"time": [1.0, 2.0], "events": [0, 0], "total": [0, 1]}, "total >= 1"),
        ({"time": [-1.0, 2.0], "events": [1, 0], "total": [1, 1]}, "negative"),
        ({"time": [None, 2.0], "events": [1, 0], "total": [1, 1]}, "missing"),
        ({"time": [1.0, 2.0], "events": [1.0, 0.0], "total": [1, 1]}, "integer"),
        ({"time": [1.0, 2.0], "total": [1, 1]}, "no column"),
    ],
)
def test_survival_counts_that_would_distort_a_curve_are_refused(counts, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier_from_counts(pl.DataFrame(counts))


def test_logrank_from_counts_needs_two_groups():
    with pytest.raises(ValueError, match="two groups"):
        logrank_from_counts(pl.DataFrame({"group": ["a"], "time": [1.0], "events": [1], "total": [2]}))


# --- Rank tests from frequency tables ----------------------------------------------------------------------

@pytest.mark.parametrize("name", reference_names("mannwhitney"))
def test_rank_sum_from_counts_is_the_reference_answer(name):
    answer, x, y = two_groups(name)
    exact = answer["exact_conditional"]
    table = rank_sum_counts(x, y)
    result = mann_whitney_from_counts(table)
    assert result == mann_whitney(x, y)
    assert result.statistic == answer["U_x"]
    assert result.p_value == pytest.approx(exact["p_two_sided_central"], abs=1e-6)
    assert mann_whitney_from_counts(table, "less").p_value == pytest.approx(exact["p_less"], abs=1e-6)


@pytest.mark.parametrize("name", reference_names("wilcoxon"))
def test_signed_rank_from_counts_is_the_reference_answer(name):
    answer, pre, post = paired(name)
    exact = answer["exact_conditional_zeros_dropped"]
    table, n_zero = difference_counts(pre, post)
    result = wilcoxon_paired_from_counts(table, n_zero)
    assert result == wilcoxon_paired(pre, post)
    assert result.statistic == answer["V_post_minus_pre"]
    assert result.p_value == pytest.approx(exact["p_two_sided_central"], abs=1e-6)
    assert wilcoxon_paired_from_counts(table, n_zero, "greater").p_value == pytest.approx(exact["p_greater"], abs=1e-6)
    assert result.extras["n_zero_diff"] == answer["n_zero_diff"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n_x", "n_y"), RANK_SUM_SIZES)
def test_rank_sum_from_counts_equals_the_value_based_test(n_x, n_y, seed):
    rng = np.random.default_rng(seed)
    x, y = tied_values(rng, n_x), tied_values(rng, n_y, shift=0.4)
    table = rank_sum_counts(x, y)
    assert table.height < n_x + n_y  # there are ties (x and y start with 0)
    for alternative in ("two-sided", "less", "greater"):
        assert mann_whitney_from_counts(table, alternative) == mann_whitney(x, y, alternative)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", PAIR_SIZES)
def test_signed_rank_from_counts_equals_the_value_based_test(n, seed):
    rng = np.random.default_rng(seed)
    pre = tied_values(rng, n)
    post = np.where(rng.random(n) < 0.2, pre, pre + tied_values(rng, n, shift=0.3))
    table, n_zero = difference_counts(pre, post)
    assert n_zero > 0  # the first difference is 0
    for alternative in ("two-sided", "less", "greater"):
        assert wilcoxon_paired_from_counts(table, n_zero, alternative) == wilcoxon_paired(pre, post, alternative)


@pytest.mark.parametrize("seed", SEEDS)
def test_exact_rank_sum_from_counts_is_the_enumerated_permutation_test(seed):
    """Every way of choosing x's members among the values, ties included: P(|W - E W| >= |w - E W|)."""
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 4, size=int(rng.integers(1, 6))), rng.integers(1, 5, size=int(rng.integers(1, 7)))
    pooled = np.concatenate([x, y]).astype(float)
    midranks = np.array([(pooled < v).sum() + ((pooled == v).sum() + 1) / 2 for v in pooled])
    sums = np.array([midranks[list(members)].sum() for members in itertools.combinations(range(pooled.size), x.size)])
    observed, center = midranks[: x.size].sum(), sums.mean()
    expected = np.mean(np.abs(sums - center) >= abs(observed - center) - 1e-9)
    result = mann_whitney_from_counts(rank_sum_counts(x, y))
    assert result.extras["exact"] and result.p_value == pytest.approx(expected, abs=1e-12)
    assert result.statistic == observed - x.size * (x.size + 1) / 2


@pytest.mark.parametrize("seed", SEEDS)
def test_exact_signed_rank_from_counts_is_the_enumerated_permutation_test(seed):
    """Every sign pattern of the non-zero |differences|, ties included."""
    rng = np.random.default_rng(seed)
    difference = rng.integers(-3, 4, size=int(rng.integers(1, 13))).astype(float)
    nonzero = difference[difference != 0]
    size = np.abs(nonzero)
    midranks = np.array([(size < v).sum() + ((size == v).sum() + 1) / 2 for v in size])
    sums = np.array([midranks[list(signs)].sum() for signs in itertools.product([False, True], repeat=size.size)])
    observed, center = midranks[nonzero > 0].sum(), size.size * (size.size + 1) / 4
    expected = np.mean(np.abs(sums - center) >= abs(observed - center) - 1e-9)
    result = wilcoxon_paired_from_counts(*difference_counts(np.zeros_like(difference), difference))
    assert result.extras["exact"] and result.p_value == pytest.approx(expected, abs=1e-12)
    assert result.extras["n_zero_diff"] == int((difference == 0).sum())


@pytest.mark.parametrize("seed", SEEDS)
def test_above_the_caps_the_rank_tests_are_r_normal_approximations(seed):
    """scipy's asymptotic tests use R's tie and continuity corrections."""
    from scipy.stats import mannwhitneyu, wilcoxon

    rng = np.random.default_rng(seed)
    x, y = tied_values(rng, 1200), tied_values(rng, 900, shift=0.1)
    rank_sum = mann_whitney_from_counts(rank_sum_counts(x, y))
    reference = mannwhitneyu(x, y, use_continuity=True, method="asymptotic")
    assert rank_sum.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert rank_sum.statistic == reference.statistic
    post = x + tied_values(rng, x.size, shift=0.05)
    signed_rank = wilcoxon_paired_from_counts(*difference_counts(x, post))
    settled = np.round(post - x, 10)  # as the rule settles them: float noise would break ties
    reference = wilcoxon(settled, zero_method="wilcox", correction=True, method="asymptotic")
    assert signed_rank.p_value == pytest.approx(reference.pvalue, rel=1e-9)


def test_the_rank_tests_say_which_exact_cap_they_passed():
    rng = np.random.default_rng(1)
    assert mann_whitney(rng.normal(size=101), rng.normal(size=400)).extras["exact_cap"] == "smaller group 101 > 100"
    assert (mann_whitney(rng.normal(size=2345), rng.normal(size=3000)).extras["exact_cap"]
            == "smaller group 2,345 > 100")
    assert (mann_whitney(rng.normal(size=50), rng.normal(size=160)).extras["exact_cap"]
            == "smaller x total 50 x 210 > 10,000")
    assert "exact_cap" not in mann_whitney(rng.normal(size=40), rng.normal(size=210)).extras
    pre = rng.normal(size=200)
    assert wilcoxon_paired(pre, pre + 1).extras["exact_cap"] == "non-zero pairs 200 > 199"
    assert "exact_cap" not in wilcoxon_paired(pre[:199], pre[:199] + 1).extras


def test_rows_that_settle_to_one_value_are_one_value():
    # 0.3 - 0.1 and 0.5 - 0.3 are one change of 0.2, whether in one row or two
    one_row = pl.DataFrame({"abs_diff": [0.2, 1.0], "n_positive": [2, 1], "n_negative": [0, 0]})
    two_rows = pl.DataFrame({"abs_diff": [0.3 - 0.1, 0.5 - 0.3, 1.0], "n_positive": [1, 1, 1], "n_negative": [0, 0, 0]})
    assert wilcoxon_paired_from_counts(two_rows, 0) == wilcoxon_paired_from_counts(one_row, 0)
    assert wilcoxon_paired_from_counts(two_rows, 0).extras["has_ties"]
    split = pl.DataFrame({"value": [0.3 - 0.1, 0.5 - 0.3, 1.0], "n_x": [1, 0, 1], "n_y": [0, 1, 1]})
    merged = pl.DataFrame({"value": [0.2, 1.0], "n_x": [1, 1], "n_y": [1, 1]})
    assert mann_whitney_from_counts(split) == mann_whitney_from_counts(merged)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"value": [1.0, None], "n_x": [1, 1], "n_y": [1, 1]}, "missing"),
        ({"value": [1.0, 2.0], "n_x": [1, -1], "n_y": [1, 1]}, "non-negative integer"),
        ({"value": [1.0, 2.0], "n_x": [1.0, 1.0], "n_y": [1, 1]}, "non-negative integer"),
        ({"value": [1.0, 2.0], "n_x": [0, 0], "n_y": [1, 1]}, "at least one value"),
        ({"value": [1.0, 2.0], "n_x": [1, 1]}, "no column"),
    ],
)
def test_frequency_tables_that_are_not_counts_are_refused(table, message):
    with pytest.raises(ValueError, match=message):
        mann_whitney_from_counts(pl.DataFrame(table))


def test_zero_differences_belong_in_n_zero():
    with_zero = pl.DataFrame({"abs_diff": [0.0, 1.0], "n_positive": [1, 1], "n_negative": [0, 0]})
    with pytest.raises(ValueError, match="n_zero"):
        wilcoxon_paired_from_counts(with_zero, 0)
    with pytest.raises(ValueError, match="n_zero"):
        wilcoxon_paired_from_counts(with_zero.slice(1), -1)
