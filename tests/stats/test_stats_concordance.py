"""Harrell's concordance (stats/concordance.py) against lifelines' b-tree, on data full of ties in time and in
risk (the R references, tests/reference/*.cox.json, check it through cox_ph in test_stats_cox.py)."""

import numpy as np
import pytest
from lifelines.utils import concordance_index as lifelines_concordance

from assets.marts.stats import concordance_index


def test_a_hand_counted_example():
    # Comparable pairs (an event, a subject outliving it): (1,2), (1,3), (1,4), (3,4) (censored at 3: outlives
    # the event at 3), (1,5), (3,5). Concordant (the event has the higher risk): (1,2), (1,4), (3,4); tied: (1,3);
    # discordant: (1,5), (3,5).
    time = [1, 2, 3, 3, 5]
    event = [1, 0, 1, 0, 0]
    risk = [2.0, 1.0, 2.0, 1.0, 3.0]
    assert concordance_index(time, event, risk) == pytest.approx((3 + 0.5) / 6)


def test_equals_lifelines_on_ties():
    rng = np.random.default_rng(13)
    for _ in range(200):
        n = int(rng.integers(2, 40))
        time = rng.integers(1, int(rng.integers(2, 12)), n).astype(float)
        event = rng.integers(0, 2, n)
        risk = rng.integers(0, int(rng.integers(1, 5)), n) * 0.5
        try:
            expected = lifelines_concordance(time, -risk, event)
        except ZeroDivisionError:
            with pytest.raises(ZeroDivisionError):
                concordance_index(time, event, risk)
            continue
        assert concordance_index(time, event, risk) == expected


def test_no_comparable_pair():
    with pytest.raises(ZeroDivisionError):
        concordance_index([4, 4], [1, 1], [0.1, 0.2])
