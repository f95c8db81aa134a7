"""The published lab numbers the demo cohort must reproduce, read from the published-results seed, as targets.

No published number is typed in the generator: every median, range and P-value side comes from here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from demo_cohort.calibrate import Comparison, Quantity, Summary, p_band, rounding_interval

PUBLISHED_CSV = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "published_results.csv"


@cache
def published() -> dict[tuple[str, str, str], tuple[str, str]]:
    """(id, group, statistic) -> (value, match) from the published-results seed."""
    df = pl.read_csv(PUBLISHED_CSV, infer_schema=False).with_columns(pl.col("group").fill_null(""))
    return {(r["id"], r["group"], r["statistic"]): (r["value"], r["match"]) for r in df.iter_rows(named=True)}


def has(id_: str, group: str, statistic: str) -> bool:
    return (id_, group, statistic) in published()


def value(id_: str, group: str, statistic: str) -> float:
    return float(published()[(id_, group, statistic)][0])


def interval(id_: str, group: str, statistic: str) -> tuple[float, float]:
    """The values that round to the published number."""
    number, match = published()[(id_, group, statistic)]
    return rounding_interval(float(number), int(match.removeprefix("dp")))


def summary(id_: str, group: str, q: Quantity, prefix: str = "") -> Summary:
    """Published minimum, median and maximum of a quantity (`prefix` "pre_", "post_", ... for pairs)."""
    return Summary(f"{id_}[{group}]{prefix}", q, *(interval(id_, group, prefix + s) for s in ("median", "min", "max")))


def direction(id_: str, group_a: str, group_b: str, a: str = "median", b: str = "median") -> int:
    """Sign of the published effect, second minus first (ties count as an increase); 1 when unpublished."""
    if not (has(id_, group_a, a) and has(id_, group_b, b)):
        return 1
    return 1 if value(id_, group_b, b) >= value(id_, group_a, a) else -1


def comparison(id_: str, paired: bool, first: Quantity, second: Quantity, sign: int = 1) -> Comparison:
    """The published P-value side of comparing `first` with `second` (Wilcoxon when paired, else Mann-Whitney)."""
    (number, _), = [v for (i, _, s), v in published().items() if i == id_ and s == "p_value"]
    return Comparison(id_, paired, first, second, p_band(number), sign)


def has_p(id_: str) -> bool:
    return any(i == id_ and s == "p_value" for (i, _, s) in published())
