"""median (range), rounding for display, and proportion confidence intervals."""

from __future__ import annotations

import math

import pytest

from assets.marts.stats import median_range, proportion_ci, round_half_up


def test_median_range_even_count_and_missing_values():
    summary = median_range([5, None, 210, 73, float("nan"), 74])
    assert (summary.median, summary.min, summary.max, summary.n, summary.n_missing) == (73.5, 5, 210, 4, 2)


def test_median_range_of_nothing_is_null():
    summary = median_range([None])
    assert (summary.median, summary.n, summary.n_missing) == (None, 0, 1)


def test_rounding_is_half_up_as_printed():
    assert round_half_up(2.45, 1) == 2.5
    assert round_half_up(0.125, 2) == 0.13  # round() would give 0.12 (half to even)
    assert round_half_up(2.675, 2) == 2.68  # stored as 2.67499..., written as 2.675
    assert median_range([0.0041, 0.0049], decimals=3).median == 0.005


def test_clopper_pearson_zero_successes_has_closed_form():
    ci = proportion_ci(0, 10, "exact")
    assert (ci.lower, ci.upper) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9))


@pytest.mark.parametrize(("k", "n"), [(9, 11), (33, 40), (0, 6), (26, 26)])
def test_wilson_interval_formula(k, n):
    z = 1.959963984540054
    center = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    ci = proportion_ci(k, n, "wilson")
    assert ci.lower == pytest.approx(center - half, abs=1e-12)
    assert ci.upper == pytest.approx(center + half, abs=1e-12)
    assert ci.proportion == k / n


def test_proportion_of_nobody_is_null_and_bad_counts_raise():
    assert proportion_ci(0, 0).lower is None
    with pytest.raises(ValueError):
        proportion_ci(5, 4)
    with pytest.raises(ValueError):
        proportion_ci(1, 4, "wald")
