"""Whole centers, a bounded number of rows at a time (orchestration/batches.py)."""

from orchestration.batches import center_batches


def test_centers_fill_each_batch_up_to_its_rows_in_order():
    per_center = [("a", 5), ("b", 4), ("c", 2), ("d", 9), ("e", 1)]
    assert center_batches(per_center, 10) == [["a", "b"], ["c"], ["d", "e"]]


def test_a_center_larger_than_a_batch_is_a_batch_of_its_own():
    assert center_batches([("a", 30), ("b", 1), ("c", 12)], 10) == [["a"], ["b"], ["c"]]


def test_no_center_no_batch():
    assert center_batches([], 10) == []
