"""The match rules of published_results.csv (docs/published-results.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from assets.marts.stats import date_number, matches_published


@pytest.mark.parametrize(
    ("value", "published", "match", "expected"),
    [
        (105, "105", "exact", True),
        (104, "105", "exact", False),
        (81.818, "81.8", "pct1", True),
        (81.85, "81.8", "pct1", False),  # half-up: 81.85 prints as 81.9
        (0.3497, "0.35", "p3", True),  # the paper printed 2 decimals
        (0.3449, "0.35", "p3", False),
        (0.0135, "0.014", "p3", True),
        (0.9995, "1.0", "p3", True),  # the paper's 1.000
        (0.9994, "1.0", "p3", False),
        (0.00009, "<0.0001", "sig", True),
        (0.0002, "<0.0001", "sig", False),
        (0.2, ">=0.05", "sig", True),
        (0.03, "0.046", "sig", True),
        (0.06, "0.046", "sig", False),
        (None, "0.5", "dp1", False),
        (2.0, "2", "inconsistent", None),
    ],
)
def test_match_rules(value, published, match, expected):
    assert matches_published(value, published, match) is expected


def test_unknown_rule_raises():
    with pytest.raises(ValueError):
        matches_published(1.0, "1", "approximately")


def test_a_date_is_the_number_yyyymmdd():
    assert date_number(dt.date(2022, 2, 28)) == 20220228 and date_number(dt.date(2021, 12, 8)) == 20211208
    assert date_number(None) is None
    assert matches_published(date_number(dt.date(2022, 3, 22)), "20220322", "exact")
    assert not matches_published(date_number(dt.date(2022, 3, 21)), "20220322", "exact")
