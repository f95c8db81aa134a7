"""assets/marts/aggregates.py: the SQL aggregates on an in-memory DuckDB equal the same aggregates computed in
polars, feed the count-based statistics to the value-based answers, and reach Python as O(distinct values)
rows at 1,000,000 subjects."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from assets.marts import aggregates
from assets.marts.stats import (
    MedianRange,
    logrank_from_counts,
    logrank_test,
    mann_whitney,
    mann_whitney_from_counts,
    median_range,
    paired_frame,
    wilcoxon_paired,
    wilcoxon_paired_from_counts,
)
from tests.stats.test_stats_counts import difference_counts, rank_sum_counts, survival_counts

SEEDS = range(4)


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        yield connection


def subjects(seed: int, size: int = 3000) -> pl.DataFrame:
    """One row per subject: arm, survival time and event, two lab values with ties, zeros, NaN and nulls."""
    rng = np.random.default_rng(seed)
    pre = np.round(rng.normal(5, 2, size=size), 1)
    post = np.where(rng.random(size) < 0.1, pre, np.round(pre + rng.normal(0.2, 1, size=size), 1))
    pre[rng.random(size) < 0.02] = np.nan
    return pl.DataFrame({
        "subject": np.arange(size),
        "arm": rng.choice(["blina", "chemo", "o'brien \"arm\""], size=size),
        "days": rng.integers(0, 400, size=size),
        "relapsed": rng.random(size) < 0.4,
        "pre": pre,
        "post": post,
    }).with_columns(
        arm=pl.when(pl.col("subject") % 97 == 0).then(None).otherwise(pl.col("arm")),
        post=pl.when(pl.col("subject") % 89 == 0).then(None).otherwise(pl.col("post")),
    )


def loaded(con, frame: pl.DataFrame, tmp_path, name: str = "subjects") -> pl.DataFrame:
    """The frame as a DuckDB table of the same name (through Parquet, which keeps NaN apart from NULL)."""
    path = tmp_path / f"{name}.parquet"
    frame.write_parquet(path)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet($path)", {"path": str(path)})
    return frame


def known(column: str) -> pl.Expr:
    return pl.col(column).is_not_null() & pl.col(column).is_not_nan()


@pytest.mark.parametrize("seed", SEEDS)
def test_survival_counts_are_the_polars_counts_and_give_the_same_tests(con, tmp_path, seed):
    frame = loaded(con, subjects(seed), tmp_path).drop_nulls("arm")
    events = frame.select(group="arm", time=pl.col("days").cast(pl.Float64), event=pl.col("relapsed").cast(pl.Int64))
    counts = aggregates.survival_counts(con, "SELECT * FROM subjects WHERE arm IS NOT NULL", "days", "relapsed", "arm")
    assert counts.equals(survival_counts(events, ["group", "time"]).sort("group", "time"))
    assert counts.schema == pl.Schema({"group": pl.String, "time": pl.Float64, "events": pl.Int64, "total": pl.Int64})
    assert logrank_from_counts(counts) == logrank_test(events["time"], events["event"], events["group"])
    overall = aggregates.survival_counts(con, "SELECT * FROM subjects", "days", "relapsed")
    assert overall.columns == ["time", "events", "total"] and overall["total"].sum() == 3000


def test_survival_counts_refuse_events_that_are_not_0_or_1(con):
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 1), (2, 2)) v(days, event)")
    with pytest.raises(ValueError, match="0 .censored. or 1"):
        aggregates.survival_counts(con, "SELECT * FROM t", "days", "event")
    with pytest.raises(ValueError, match="0 .censored. or 1"):
        aggregates.survival_counts(con, "SELECT days, NULL AS event FROM t", "days", "event")


@pytest.mark.parametrize("seed", SEEDS)
def test_two_group_frequencies_are_the_polars_table_and_give_the_same_test(con, tmp_path, seed):
    frame = loaded(con, subjects(seed), tmp_path)
    x_arm, y_arm = "o'brien \"arm\"", "blina"
    x = frame.filter((pl.col("arm") == x_arm) & known("pre"))["pre"].to_numpy()
    y = frame.filter((pl.col("arm") == y_arm) & known("pre"))["pre"].to_numpy()
    table = aggregates.two_group_frequencies(con, con.table("subjects"), "pre", "arm", x_arm, y_arm)
    assert table.equals(rank_sum_counts(x, y).sort("value"))
    assert table.height < x.size + y.size
    assert mann_whitney_from_counts(table) == mann_whitney(x, y)
    with pytest.raises(ValueError, match="same group"):
        aggregates.two_group_frequencies(con, con.table("subjects"), "pre", "arm", "blina", "blina")


def test_values_are_settled_in_sql_exactly_as_in_python(con):
    """round_even(x, 10) is numpy's round(x, 10) to the bit, where round() (half away from zero) is not."""
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.normal(size=20_000) * 10.0 ** rng.integers(-12, 12, size=20_000),
                             (np.arange(-500, 500) + 0.5) / 1e10, [0.3 - 0.1, 0.5 - 0.3, -1e-12, 1e-12]])
    con.execute("CREATE TABLE t AS SELECT unnest($value) AS value, 'x' AS arm", {"value": values.tolist()})
    table = aggregates.two_group_frequencies(con, "SELECT * FROM t UNION ALL SELECT 1, 'y'", "value", "arm", "x", "y")
    expected = np.unique(np.concatenate([np.round(values, 10), [1.0]]))
    assert (table["value"].to_numpy() == expected).all()
    assert not np.signbit(table["value"].to_numpy()[table["value"].to_numpy() == 0]).any()  # no -0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_paired_differences_are_the_polars_table_and_give_the_same_test(con, tmp_path, seed):
    frame = loaded(con, subjects(seed), tmp_path)
    pairing = paired_frame(frame.select("subject", value="pre"), frame.select("subject", value="post"), "subject")
    paired = aggregates.paired_differences(con, "SELECT * FROM subjects", "pre", "post")
    table, n_zero = difference_counts(pairing.pairs["pre"], pairing.pairs["post"])
    assert paired.differences.equals(table.sort("abs_diff"))
    assert (paired.n_zero, paired.n_missing_pre, paired.n_missing_post) == (
        n_zero, pairing.n_missing_pre, pairing.n_missing_post)
    assert paired.n_zero > 0 and paired.n_missing_pre > 0 and paired.n_missing_post > 0
    result = wilcoxon_paired_from_counts(paired.differences, paired.n_zero)
    assert result == wilcoxon_paired(pairing.pairs["pre"], pairing.pairs["post"])


@pytest.mark.parametrize("seed", SEEDS)
def test_group_summaries_are_median_range(con, tmp_path, seed):
    frame = loaded(con, subjects(seed, size=int(np.random.default_rng(seed).integers(2, 400))), tmp_path)
    summaries = aggregates.group_summaries(con, "SELECT * FROM subjects", "pre", "arm")
    expected = frame.group_by("arm").agg("pre").sort("arm", nulls_last=True)
    assert summaries["group"].to_list() == expected["arm"].to_list()
    for row, values in zip(summaries.drop("group").iter_rows(named=True), expected["pre"], strict=True):
        assert MedianRange(**row) == median_range(values.to_list())
    [overall] = aggregates.group_summaries(con, "SELECT * FROM subjects", "pre").iter_rows(named=True)
    assert MedianRange(**overall) == median_range(frame["pre"].to_list())


def test_duckdb_median_is_the_mean_of_the_middle_two_to_the_last_bit(con):
    """R's and the paper's median of an even count, even where a + (b - a) / 2 would round differently."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(2000, 2)) * 10.0 ** rng.integers(-20, 20, size=(2000, 2))
    con.execute("CREATE TABLE pairs AS SELECT unnest($pair) AS pair, unnest($value) AS value",
                {"pair": np.repeat(np.arange(2000), 2).tolist(), "value": values.ravel().tolist()})
    medians = aggregates.group_summaries(con, "SELECT * FROM pairs", "value", "pair")["median"].to_numpy()
    assert (medians == (values[:, 0] + values[:, 1]) / 2).all()


def test_empty_and_missing_groups_have_null_figures(con):
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', NULL), ('a', 'nan'::DOUBLE), ('b', 1.0)) v(g, x)")
    summaries = aggregates.group_summaries(con, "SELECT * FROM t", "x", "g")
    assert summaries.rows() == [("a", 0, 2, None, None, None), ("b", 1, 0, 1.0, 1.0, 1.0)]
    assert aggregates.group_summaries(con, "SELECT * FROM t WHERE false", "x").rows() == [(0, 0, None, None, None)]


@pytest.mark.parametrize("seed", SEEDS)
def test_group_counts_are_the_polars_counts(con, tmp_path, seed):
    frame = loaded(con, subjects(seed), tmp_path)
    counts = aggregates.group_counts(con, "SELECT * FROM subjects", ["arm", "relapsed"])
    expected = frame.group_by("arm", "relapsed").agg(n=pl.len().cast(pl.Int64)).sort("arm", "relapsed", nulls_last=True)
    assert counts.equals(expected)
    assert counts["arm"].null_count() > 0  # the unknown arm is a row, not lost


def test_a_relation_sql_text_and_a_parameterised_relation_read_the_same_rows(con, tmp_path):
    loaded(con, subjects(0), tmp_path)
    query = "SELECT * FROM subjects WHERE arm = 'blina'"
    relation = con.sql("SELECT * FROM subjects WHERE arm = $arm", params={"arm": "blina"})
    by_text = aggregates.group_summaries(con, query, "post")
    assert by_text.equals(aggregates.group_summaries(con, con.sql(query), "post"))
    assert by_text.equals(aggregates.group_summaries(con, relation, "post"))
    assert by_text["n"][0] + by_text["n_missing"][0] < 3000


def test_odd_column_names_are_quoted(con):
    con.execute('CREATE TABLE t AS SELECT 1.5 AS "lab ""value""", \'a\' AS "select"')
    [row] = aggregates.group_summaries(con, "SELECT * FROM t", 'lab "value"', "select").rows()
    assert row == ("a", 1, 0, 1.5, 1.5, 1.5)


# --- 1,000,000 subjects --------------------------------------------------------------------------------------

MILLION = 1_000_000


@pytest.fixture(scope="module")
def million():
    """1,000,000 subjects made in DuckDB: arm (8 groups), days, event, pre and post on a 0.1 grid."""
    with duckdb.connect() as connection:
        connection.execute(f"""
            CREATE TABLE subjects AS
            WITH draws AS (
                SELECT i, i % 8 AS arm, CAST(hash(i, 'days') % 1000 AS INTEGER) AS day,
                       CAST(hash(i, 'event') % 5 AS INTEGER) AS event_draw,
                       CAST(hash(i, 'pre') % 400 AS INTEGER) AS pre_tenths,
                       CAST(hash(i, 'change') % 61 AS INTEGER) - 28 - i % 8 AS change_tenths
                FROM range({MILLION}) AS r(i)
            )
            SELECT i AS subject,
                   'arm ' || arm AS arm,
                   day + 40 * arm AS days,
                   event_draw < 2 AS relapsed,
                   pre_tenths / 10 AS pre,
                   (pre_tenths + change_tenths) / 10 AS post
            FROM draws
        """)
        yield connection


def column(con, sql: str) -> np.ndarray:
    return con.execute(sql).fetchnumpy()["v"]


def test_a_million_values_reach_python_as_a_frequency_table(million):
    table = aggregates.two_group_frequencies(million, "SELECT * FROM subjects", "pre", "arm", "arm 0", "arm 1")
    assert table.height == 400  # distinct values, not subjects
    assert (table["n_x"].sum(), table["n_y"].sum()) == (MILLION // 8, MILLION // 8)
    result = mann_whitney_from_counts(table)
    x = column(million, "SELECT pre AS v FROM subjects WHERE arm = 'arm 0'")
    y = column(million, "SELECT pre AS v FROM subjects WHERE arm = 'arm 1'")
    assert result == mann_whitney(x, y)
    assert result.extras["exact_cap"] == "smaller group 125,000 > 100"


def test_a_million_pairs_reach_python_as_a_difference_table(million):
    paired = aggregates.paired_differences(million, "SELECT * FROM subjects", "pre", "post")
    assert paired.differences.height <= 40  # |post - pre| <= 3.9 on a 0.1 grid
    assert paired.differences["n_positive"].sum() + paired.differences["n_negative"].sum() + paired.n_zero == MILLION
    result = wilcoxon_paired_from_counts(paired.differences, paired.n_zero)
    pre, post = column(million, "SELECT pre AS v FROM subjects"), column(million, "SELECT post AS v FROM subjects")
    assert result == wilcoxon_paired(pre, post)
    assert result.extras["exact_cap"].startswith("non-zero pairs ")


def test_a_million_survival_times_in_eight_groups_reach_python_as_counts(million):
    counts = aggregates.survival_counts(million, "SELECT * FROM subjects", "days", "relapsed", "arm")
    assert counts.height <= 8 * 1280  # (group, distinct day)
    assert counts["total"].sum() == MILLION
    time = column(million, "SELECT days AS v FROM subjects ORDER BY subject")
    event = column(million, "SELECT relapsed AS v FROM subjects ORDER BY subject")
    arm = column(million, "SELECT arm AS v FROM subjects ORDER BY subject")
    result = logrank_from_counts(counts)
    assert result == logrank_test(time, event.astype(np.int64), arm)
    assert result.df == 7
