"""What every mart asset shares: the core rows of one study, writing a marts table with its descriptions (from a
frame of aggregates, or from SQL when it grows with the registry), and replacing the mart's own rows of the
shared `marts.statistical_tests`.

The marts read core in DuckDB (SQL that filters and aggregates); the pure statistics never touch DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from assets.marts.stats import StatResult
from orchestration.catalog import create_once, ensure_schema, relation_exists

if TYPE_CHECKING:
    import duckdb

SCHEMA = "marts"
# What the marts are computed by, besides core: their code and the seeds (the paper's published values).
MARTS_CODE = ("assets/marts", "dbt_project/seeds")
# The paper's cohort; the three-case series (study case_series) is not part of its tables.
MULTICENTER = "multicenter"

TESTS_TABLE = f"{SCHEMA}.statistical_tests"
TESTS_SCHEMA: dict[str, pl.DataType] = {
    "test_id": pl.Utf8, "mart": pl.Utf8, "description": pl.Utf8, "test": pl.Utf8, "method": pl.Utf8,
    "statistic": pl.Float64, "p_value": pl.Float64, "n": pl.Int64, "df": pl.Float64, "groups": pl.Utf8,
    "estimate": pl.Float64, "ci_lower": pl.Float64, "ci_upper": pl.Float64, "extras": pl.Utf8,
}
TESTS_DESCRIPTION = (
    "One row per hypothesis test the marts run. For every P-value the paper publishes, test_id is the id of "
    "that row of published_results.csv. Each mart asset replaces its own rows (column mart)."
)
TESTS_COLUMNS = {
    "test_id": "Stable key: the published_results.csv id for a published P-value, else <mart>.<comparison>.",
    "mart": "The mart that ran the test (its asset replaces its own rows).",
    "description": "What was compared, in words.",
    "test": "fisher_exact, chi_square, mann_whitney, wilcoxon_signed_rank, logrank, cox_ph, ...",
    "method": "Exactly what was computed (exact or approximate, corrections, ties).",
    "statistic": "The test statistic in R's convention (V, W, chi-square, z); NULL for Fisher.",
    "p_value": "Two-sided P-value; NULL where the data cannot answer (no events, every difference zero, a "
               "covariate not estimable), with extras.defined false and extras.reason (docs/statistics.md).",
    "n": "Subjects (or pairs, or cycles) the test saw.",
    "df": "Degrees of freedom, where the test has them.",
    "groups": "The groups compared, 'a vs b'.",
    "estimate": "Odds ratio (Fisher, conditional MLE), hazard ratio (Cox), where the test has one.",
    "ci_lower": "Lower 95 % confidence limit of the estimate.",
    "ci_upper": "Upper 95 % confidence limit of the estimate.",
    "extras": "JSON: the test's own facts (table, ties, exact or not, events, ...); defined: false and reason "
              "for a test without an answer; converged and monotone_likelihood for a Cox coefficient.",
}

PUBLISHED_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Utf8, "group": pl.Utf8, "statistic": pl.Utf8, "computed_value": pl.Float64,
}


def read_relation(
    con: duckdb.DuckDBPyConnection, relation: str, where: str = "true", parameters: list | None = None
) -> pl.DataFrame:
    # Through the Arrow C stream: polars reads a DuckDB relation without pyarrow.
    return pl.DataFrame(con.sql(f"SELECT * FROM {relation} WHERE {where}", params=parameters or []))


def write_mart(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, description: str, columns: Mapping[str, str]
) -> None:
    """Replace marts.<table> with `frame`, with a COMMENT on the table and on every column (the analysts'
    data dictionary: `SELECT comment FROM duckdb_columns()`). A column without a description is refused."""
    ensure_schema(con, SCHEMA)
    with _frame_in_transaction(con, "mart_frame", frame):
        _replace_table(con, table, "SELECT * FROM mart_frame", frame.columns, description, columns)


def write_query(con: duckdb.DuckDBPyConnection, table: str, query: str, description: str,
                columns: Mapping[str, str], parameters: Mapping[str, Any] | None = None) -> None:
    """write_mart for a table computed in DuckDB: marts.<table> holds the rows of `query` (SQL on `con`, its
    `parameters` bound), which never pass through Python (a table of one row per cycle grows with the registry)."""
    names = con.sql(query, params=parameters).columns
    ensure_schema(con, SCHEMA)
    with transaction(con):
        _replace_table(con, table, query, names, description, columns, parameters)


def _replace_table(con: duckdb.DuckDBPyConnection, table: str, query: str, names: Iterable[str], description: str,
                   columns: Mapping[str, str], parameters: Mapping[str, Any] | None = None) -> None:
    names = list(names)
    missing = [name for name in names if name not in columns]
    if missing:
        raise ValueError(f"marts.{table}: no description for columns {missing}")
    relation = f"{SCHEMA}.{table}"
    con.execute(f"CREATE OR REPLACE TABLE {relation} AS {query}", parameters)
    con.execute(f"COMMENT ON TABLE {relation} IS {sql_text(description)}")
    for name in names:
        con.execute(f'COMMENT ON COLUMN {relation}."{name}" IS {sql_text(columns[name])}')


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction, rolled back on error: readers never see a half-written mart."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except Exception:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def _frame_in_transaction(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """`frame` visible to SQL as `name` (through the Arrow C stream: no pyarrow needed) inside one transaction."""
    con.register(name, con.from_arrow(frame.__arrow_c_stream__()))
    try:
        with transaction(con):
            yield
    finally:
        con.unregister(name)


def sql_text(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def test_row(test_id: str, mart: str, description: str, groups: Iterable[str], result: StatResult) -> dict[str, Any]:
    """One row of marts.statistical_tests from a StatResult (`groups` empty for a model's test: NULL)."""
    return {"test_id": test_id, "mart": mart, "description": description, "groups": " vs ".join(groups) or None,
            **result.as_row()}


def tests_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows of marts.statistical_tests, in the table's column order and types, sorted by test_id."""
    frame = pl.DataFrame([{name: row.get(name) for name in TESTS_SCHEMA} for row in rows], schema=TESTS_SCHEMA)
    return frame.sort("test_id")


def replace_tests(con: duckdb.DuckDBPyConnection, mart: str, tests: pl.DataFrame) -> None:
    """Replace `mart`'s rows of marts.statistical_tests with `tests`, in one transaction (readers never see
    the mart without its tests, nor another mart's rows touched). Rows must all belong to `mart`."""
    if tests.height and set(tests["mart"].unique().to_list()) != {mart}:
        raise ValueError(f"tests of other marts in {mart}'s rows: {sorted(set(tests['mart'].to_list()))}")
    tests = tests.select([pl.col(name).cast(dtype) for name, dtype in TESTS_SCHEMA.items()])
    create_once(lambda: relation_exists(con, TESTS_TABLE), lambda: _create_tests_table(con, tests.clear()))
    with _frame_in_transaction(con, "mart_tests", tests):
        con.execute(f"DELETE FROM {TESTS_TABLE} WHERE mart = ?", [mart])
        con.execute(f"INSERT INTO {TESTS_TABLE} BY NAME SELECT * FROM mart_tests")


def _create_tests_table(con: duckdb.DuckDBPyConnection, empty: pl.DataFrame) -> None:
    """marts.statistical_tests, empty, unless it exists: every mart writes its rows there, and two marts may
    run side by side (catalog.create_once). Looked for inside the creating transaction: a table another mart
    created since is then never replaced, with the rows that mart wrote to it."""
    ensure_schema(con, SCHEMA)
    with _frame_in_transaction(con, "mart_frame", empty):
        if not relation_exists(con, TESTS_TABLE):
            _replace_table(con, "statistical_tests", "SELECT * FROM mart_frame", empty.columns, TESTS_DESCRIPTION,
                           TESTS_COLUMNS)


def published_frame(rows: Iterable[tuple[str, str | None, str, float | None]]) -> pl.DataFrame:
    """A mart's published_values rows (id, group, statistic, computed_value); group None is the CSV's empty."""
    return pl.DataFrame(list(rows), schema=PUBLISHED_SCHEMA, orient="row")


# SQL: the core rows of one study's patients (the parameter $study), for a query over a core table.
IN_STUDY_SQL = "subject_id IN (SELECT subject_id FROM core.patients WHERE study = $study)"

# SQL over core.labs or core.lab_draws: its number, with `ND` (not detected: value NULL, below_lod) as 0: an
# undetectable count (B-cell aplasia) is a measured zero, not a missing value. `<x` already carries x.
MEASURED_VALUE_SQL = "CASE WHEN value IS NULL AND below_lod THEN 0.0 ELSE value END"


# The rows of a mart's preview in the UI: its first rows in its natural order.
PREVIEW_ROWS = 5
# The natural order of a mart whose rows no column orders (a paper table's layout, e.g. Table 1's factors as
# printed): the order its code wrote them in, DuckDB's rowid (CREATE TABLE AS keeps insertion order).
AS_WRITTEN = ("rowid",)


def table_metadata(con: duckdb.DuckDBPyConnection, relation: str, order: Sequence[str],
                   preview_rows: int = PREVIEW_ROWS, columns: Sequence[str] = ("*",), **extra: Any) -> dict[str, Any]:
    """MaterializeResult metadata of a mart table: its row count and a markdown preview of its first
    `preview_rows` rows (`columns` of them, floats to 4 significant digits) in its natural `order`, the ORDER BY
    terms declared beside the mart's columns (e.g. survival curves by curve, then time: each from its start).
    Ordered and cut in DuckDB: the rest of the table never reaches Python."""
    import dagster as dg

    from orchestration.metadata import markdown_table

    if not order:
        raise ValueError(f"{relation}: a preview needs the table's natural order")

    def cell(value: Any) -> Any:
        return f"{value:.4g}" if isinstance(value, float) else value

    head = con.sql(f"SELECT {', '.join(columns)} FROM {relation} ORDER BY {', '.join(order)} LIMIT {int(preview_rows)}")
    rows = [[cell(value) for value in row] for row in head.fetchall()]
    [(count,)] = con.execute(f"SELECT count(*) FROM {relation}").fetchall()
    return {"dagster/row_count": count, "preview": dg.MetadataValue.md(markdown_table(head.columns, rows)), **extra}


def core_deps(core_tables: Sequence[str]) -> list:
    """The asset keys of the core tables a mart reads."""
    import dagster as dg

    return [dg.AssetKey(["core", table]) for table in core_tables]


def skip_while_inputs_unchanged(name: str, core_tables: Sequence[str], extra: Callable[[Any], str] | None = None):
    """orchestration.incremental.skip_when_unchanged for a mart: skipped while the rows of the core tables it
    reads (every one it reads: a table left out would leave the mart stale), the marts' code and `extra(con)`
    (further facts its rows depend on) are as at its last build."""
    from orchestration import versions
    from orchestration.incremental import skip_when_unchanged

    return skip_when_unchanged(name, MARTS_CODE, after=[versions.contents("core", table) for table in core_tables],
                               extra=extra)


def mart_asset(mart: str, description: str, core_tables: tuple[str, ...], extra: Callable[[Any], str] | None = None,
               extra_deps: Sequence[Sequence[str]] = ()):
    """The decorator of a single-table mart asset: `marts.<mart>`, downstream of the core tables it reads (and
    of `extra_deps`, asset keys as paths), skipped while their rows, the marts' code and `extra(con)` are
    unchanged."""
    import dagster as dg

    from assets.landing.assets import POOL
    from orchestration.jobs import SIDE_BY_SIDE

    asset = dg.asset(key=[SCHEMA, mart], group_name="marts", kinds={"duckdb", "polars"}, pool=POOL,
                     op_tags=SIDE_BY_SIDE, description=description,
                     deps=[*core_deps(core_tables), *(dg.AssetKey(list(key)) for key in extra_deps)])
    return lambda compute: asset(skip_while_inputs_unchanged(f"{SCHEMA}.{mart}", core_tables, extra)(compute))


def save_figures(warehouse_path: str, pngs: Mapping[str, bytes]) -> Path:
    """Write `pngs` (file name -> bytes) to <warehouse directory>/figures/, beside the analyst snapshot; a
    figure drawn with plot_style (a plot_style.Rendered) also as <name>.svg, the vector the report embeds."""
    folder = figures_dir(warehouse_path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, png in pngs.items():
        (folder / name).write_bytes(png)
        svg = getattr(png, "svg", None)
        if svg is not None:
            (folder / name).with_suffix(".svg").write_bytes(svg)
    return folder


def figures_dir(warehouse_path: str) -> Path:
    """<warehouse directory>/figures/: the marts' figures (PNG and SVG)."""
    return Path(warehouse_path).parent / "figures"


def publish_mart(warehouse, mart: str, table: pl.DataFrame, tests: pl.DataFrame, description: str,
                 columns: Mapping[str, str], order: Sequence[str], pngs: Mapping[str, bytes], asset_key=None):
    """Write a single-table mart, its tests and its figures; the MaterializeResult that shows them (the
    preview in the table's natural `order`), for `asset_key` (in a multi-asset; else the asset's own)."""
    import dagster as dg

    from orchestration.metadata import png_markdown

    with warehouse.connect() as con:
        write_mart(con, mart, table, description, columns)
        replace_tests(con, mart, tests)
        metadata = table_metadata(con, f"{SCHEMA}.{mart}", order, tests=tests.height)
    folder = save_figures(warehouse.path, pngs)
    return dg.MaterializeResult(asset_key=asset_key, metadata={
        **metadata, "figures_dir": str(folder), "figures": dg.MetadataValue.md(png_markdown(pngs))})
