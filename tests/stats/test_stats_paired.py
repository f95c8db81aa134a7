"""Pairing pre and post values: incomplete pairs are counted, duplicates refused."""

from __future__ import annotations

import polars as pl
import pytest

from assets.marts.stats import paired_frame


def test_pairs_and_missing_counts():
    pre = pl.DataFrame({"subject_id": ["a", "b", "c", "e"], "value": [1.0, None, 3.0, float("nan")]})
    post = pl.DataFrame({"subject_id": ["a", "c", "d", "e"], "value": [2.0, 4.0, 5.0, 6.0]})
    pairing = paired_frame(pre, post, "subject_id")
    assert pairing.pairs.to_dicts() == [
        {"subject_id": "a", "pre": 1.0, "post": 2.0},
        {"subject_id": "c", "pre": 3.0, "post": 4.0},
    ]
    # d and e have no usable pre value; b has neither side, so it is in neither count
    assert (pairing.n_pairs, pairing.n_missing_pre, pairing.n_missing_post) == (2, 2, 0)


def test_composite_key():
    pre = pl.DataFrame({"subject_id": ["a", "a"], "cycle_no": [1, 2], "value": [1.0, 2.0]})
    post = pl.DataFrame({"subject_id": ["a"], "cycle_no": [2], "value": [5.0]})
    pairing = paired_frame(pre, post, ["subject_id", "cycle_no"])
    assert (pairing.n_pairs, pairing.n_missing_pre, pairing.n_missing_post) == (1, 0, 1)


def test_duplicate_keys_are_refused():
    pre = pl.DataFrame({"subject_id": ["a", "a"], "value": [1.0, 2.0]})
    with pytest.raises(ValueError, match="more than one row"):
        paired_frame(pre, pre.head(1), "subject_id")
