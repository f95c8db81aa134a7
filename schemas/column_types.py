"""The type of every core column, as core's dbt YAML declares it (`data_type`, enforced by the models'
contracts): the gate's pandera schemas take their column types from here, so a column's type is stated once.

pandera checks values, not their storage: an INTEGER and a BIGINT column are both checked as Int64.
"""

from functools import cache
from pathlib import Path

import polars as pl
import yaml

CORE_MODELS = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "core"
# core data_type -> the polars type pandera checks a value of that column as
POLARS_TYPES = {"varchar": pl.String, "integer": pl.Int64, "bigint": pl.Int64, "double": pl.Float64,
                "date": pl.Date, "boolean": pl.Boolean}


@cache
def core_types(table: str) -> dict[str, type[pl.DataType]]:
    """column -> polars type, of every column core.<table>'s YAML declares."""
    [model] = [model for model in yaml.safe_load((CORE_MODELS / f"{table}.yml").read_text())["models"]
               if model["name"] == table]
    return {column["name"]: POLARS_TYPES[column["data_type"].lower()] for column in model["columns"]}
