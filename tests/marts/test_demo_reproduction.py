"""End to end on the demo warehouse: the cohort, response and risk-factor marts reproduce every reference row
they cover, and the shared tables hold what the analysts look for."""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.marts.risk_factors import BASELINE_LABS

# The reference ids these marts cover (P-values included, through marts.statistical_tests).
COVERED = ("cohort.", "indication.", "cycle1_status.", "table1.", "response.", "table2.", "s3.")


def query(database: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return pl.DataFrame(con.sql(sql))


MARTS = ("cohort_characteristics", "response_rates", "risk_factors", "cox_models", "paper_reproduction")


@pytest.fixture(scope="module")
def warehouse(demo_build) -> Path:
    """The demo warehouse, these marts built."""
    assert not demo_build.failed & {f"marts/{mart}" for mart in MARTS}
    return demo_build.path


@pytest.fixture(scope="module")
def reproduction(warehouse) -> pl.DataFrame:
    return query(warehouse, "SELECT * FROM marts.paper_reproduction")


def covered(reproduction: pl.DataFrame) -> pl.DataFrame:
    return reproduction.filter(
        pl.any_horizontal(pl.col("id").str.starts_with(prefix) for prefix in COVERED))


def from_labs() -> pl.Expr:
    return pl.any_horizontal(pl.col("id").str.ends_with(f".{factor}") for factor in BASELINE_LABS)


def failures(rows: pl.DataFrame) -> list[tuple]:
    return rows.filter(pl.col("passed").not_()).select(
        "id", "group", "statistic", "published_value", "computed_value").rows()


def test_every_covered_reference_row_reproduces(reproduction):
    rows = covered(reproduction).filter(~from_labs())
    assert rows.height >= 140  # every non-lab row of these sections
    assert failures(rows) == []
    # Not targets are still checked: the computed value sits beside the paper's.
    blasts = rows.filter((pl.col("id") == "table1.bm_blasts_pct") & (pl.col("statistic") == "median"))
    assert blasts["passed"].to_list() == [None] and blasts["computed_value"][0] is not None


def test_every_baseline_lab_row_reproduces(reproduction):
    assert failures(covered(reproduction).filter(from_labs())) == []


def test_every_published_p_value_has_its_test(warehouse, reproduction):
    tests = query(warehouse, "SELECT test_id, mart, test, p_value FROM marts.statistical_tests")
    assert tests.filter(pl.col("test_id").is_duplicated()).height == 0
    published = reproduction.filter(
        (pl.col("statistic") == "p_value") & pl.any_horizontal(pl.col("id").str.starts_with(p) for p in COVERED))
    assert set(published["id"]) <= set(tests["test_id"])
    assert set(tests.filter(pl.col("test_id").str.starts_with("table2.cox."))["test"]) == {"cox_ph"}


def test_marts_are_described_for_analysts(warehouse):
    undocumented = query(warehouse, """
        SELECT table_name, column_name FROM duckdb_columns()
        WHERE schema_name = 'marts' AND (comment IS NULL OR comment = '')
          AND table_name IN ('cohort_characteristics', 'response_rates', 'risk_factors', 'cox_models',
                             'statistical_tests', 'paper_reproduction')""")
    assert undocumented.rows() == []


def test_paper_reproduction_holds_every_reference_row(warehouse, reproduction):
    reference = query(warehouse, "SELECT id, \"group\", statistic FROM seeds.published_results")
    assert sorted(reproduction.select("id", "group", "statistic").rows(), key=str) == sorted(reference.rows(), key=str)
