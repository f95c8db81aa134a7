"""Where the warehouse, the drop zone and the center YAMLs live: env vars with defaults inside the repo."""

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
WAREHOUSE_FILE = "warehouse.duckdb"
ANALYTICS_FILE = "analytics.duckdb"


def _dir_from_env(var: str, default: Path) -> Path:
    # Absolute, because dbt runs with the dbt project as its working directory.
    return Path(os.environ.get(var) or default).resolve()


DEFAULT_WAREHOUSE_DIR = PROJECT_ROOT / "warehouse"


def warehouse_dir() -> Path:
    return _dir_from_env("BLINA_WAREHOUSE_DIR", DEFAULT_WAREHOUSE_DIR)


def landing_dir() -> Path:
    return _dir_from_env("BLINA_LANDING_DIR", PROJECT_ROOT / "data" / "landing")


def centers_dir() -> Path:
    return _dir_from_env("BLINA_CENTERS_DIR", PROJECT_ROOT / "data" / "centers")


def corrections_dir() -> Path:
    """The centers' answers to data queries (assets/landing/corrections.py): by default `corrections/` beside
    the centers' YAML folder, so a scratch set of centers brings its own (or none)."""
    return _dir_from_env("BLINA_CORRECTIONS_DIR", centers_dir().parent / "corrections")


# DuckDB's caps for every connection to the warehouse (orchestration/resources.py). 2 GB leaves a 1M-patient
# run within 6 GB of resident memory in all; DuckDB spills what does not fit to the warehouse's tmp/ folder.
DEFAULT_MEMORY_LIMIT = "2GB"
DEFAULT_THREADS = 2


def memory_limit() -> str:
    return os.environ.get("BLINA_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT


def threads() -> int:
    return int(os.environ.get("BLINA_DUCKDB_THREADS") or DEFAULT_THREADS)


@contextlib.contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` set in os.environ for the block, the previous values (or their absence) restored after it."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
