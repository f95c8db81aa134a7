"""marts.paper_reproduction: every number of the paper's reference file beside the warehouse's, and whether it
reproduces (docs/published-results.md, match rules in stats.matches_published).

Computed values come from the mart tables, as an analyst would read them, so that a mart that drifts fails
the reproduction: P-values from marts.statistical_tests (test_id = the reference id), every other number from
the `published_values(con)` function of each mart module in this package, which reads that module's own
marts.<table>s and returns (id, group, statistic, computed_value) rows (shared.PUBLISHED_SCHEMA); a new mart
module with one is picked up without wiring. Reported as an asset check of WARN severity per paper (the reference
ids of the three-case series start with `case_series.`, every other row is the multicenter paper's): real data
will differ from the papers, the demo cohort must not.
"""

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from types import ModuleType

import dagster as dg
import duckdb
import polars as pl

import assets.marts
from assets.landing.assets import POOL
from assets.marts import shared
from assets.marts.stats import matches_published
from orchestration.incremental import skip_when_unchanged
from orchestration.metadata import markdown_table
from orchestration.resources import WarehouseResource

MART = "paper_reproduction"
KEY = dg.AssetKey([shared.SCHEMA, MART])
REFERENCE_KEY = dg.AssetKey(["seeds", "published_results"])
CHECK = "reproduces_the_paper"
NOT_TARGETS = ("inconsistent", "info")
# study -> the id prefix of its reference rows (None: every row no other study claims) and its check.
STUDIES = {
    "multicenter": (None, CHECK),
    "case_series": ("case_series.", "reproduces_the_case_series"),
}

SCHEMA = {
    "id": pl.Utf8, "study": pl.Utf8, "group": pl.Utf8, "statistic": pl.Utf8, "published_value": pl.Utf8,
    "match": pl.Utf8,
    "computed_value": pl.Float64, "passed": pl.Boolean, "passed_p3": pl.Boolean, "mart": pl.Utf8, "note": pl.Utf8,
}
DESCRIPTION = (
    "Every number of the paper's reference file (seeds.published_results) with the value the warehouse "
    "computes and whether it reproduces under the row's match rule. passed is NULL for rows that are not "
    "targets (the paper contradicts itself, or a fact without a figure), False when nothing computed the row."
)
COLUMNS = {
    "id": "Reference id (section.measure); for a P-value, the test_id in marts.statistical_tests.",
    "study": "The paper the row is from: multicenter (the 105-patient paper) or case_series (ids case_series.*).",
    "group": "Reference group (NULL where the paper names none).",
    "statistic": "n, pct, median, min, max, p_value, km_pct, ...",
    "published_value": "The paper's number as printed in the reference file (e.g. <0.0001).",
    "match": "How closely it must reproduce: exact, pct1, dp1-3, p3, sig, inconsistent, info. An inconsistent "
             "row holds what the paper printed; its computed_value is the warehouse's (corrected) number.",
    "computed_value": "The warehouse's number (NULL when no mart computes it).",
    "passed": "Reproduces under the match rule; NULL for inconsistent / info rows.",
    "passed_p3": "For a sig row (a printed P that need only fall on the same side of 0.05): whether the computed P "
                 "also reproduces at the printed precision (the p3 rule; a printed bound such as <0.0001 is all "
                 "there is to match), so that the distance between the two shows. NULL for other rows.",
    "mart": "The mart that computed the value.",
    "note": "The reference's note, and why a row is not a target or was not computed.",
}
# The preview's order (shared.table_metadata): as written, the reference file's rows in its order.
ORDER = shared.AS_WRITTEN


@cache
def mart_modules() -> tuple[ModuleType, ...]:
    """Every mart module of this package (not the stats subpackage), sorted by name."""
    names = sorted(info.name for info in pkgutil.iter_modules(assets.marts.__path__) if not info.ispkg)
    return tuple(importlib.import_module(f"assets.marts.{name}") for name in names if name != MART)


def published_sources() -> dict[str, Callable[[duckdb.DuckDBPyConnection], pl.DataFrame]]:
    """mart module name -> its published_values function."""
    return {module.__name__.rsplit(".", 1)[1]: module.published_values
            for module in mart_modules() if hasattr(module, "published_values")}


def computed_values(
    con: duckdb.DuckDBPyConnection, sources: Mapping[str, Callable[[duckdb.DuckDBPyConnection], pl.DataFrame]]
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The union of every source's rows, with `mart`, and the error of each source that raised. One mart's
    failure must not hide the others' reproduction: its rows stay uncomputed (and fail the check), the error
    is reported beside them."""
    parts, errors = [], {}
    for mart, function in sorted(sources.items()):
        try:
            rows = function(con)
        except Exception as error:  # noqa: BLE001 (reported in the asset's metadata and log)
            errors[mart] = f"{type(error).__name__}: {error}"
            continue
        parts.append(rows.select(shared.PUBLISHED_SCHEMA.keys()).cast(shared.PUBLISHED_SCHEMA)
                     .with_columns(mart=pl.lit(mart)))
    empty = pl.DataFrame(schema={**shared.PUBLISHED_SCHEMA, "mart": pl.Utf8})
    return pl.concat([empty, *parts]), errors


# What the paper prints for a comparison that has no P (no events in either group): P = 1.0.
PAPER_UNDEFINED_P = 1.0


def reproduction(reference: pl.DataFrame, computed: pl.DataFrame, tests: pl.DataFrame) -> pl.DataFrame:
    """One row per reference row (SCHEMA): P-value rows take the test of the same id, the others the
    computed row of the same (id, group, statistic). A test the data cannot answer (P NULL, extras.defined
    false: no events, every difference zero) is compared as the paper's convention for it, P = 1.0, and the
    row's note says so."""
    keys = ["id", "group", "statistic"]
    duplicated = computed.filter(pl.struct(keys).is_duplicated())
    if duplicated.height:
        raise ValueError(f"several marts compute the same reference rows: {duplicated.rows()[:5]}")
    undefined = pl.col("extras").str.json_path_match("$.defined") == "false"
    p_values = tests.select(
        id="test_id", statistic=pl.lit("p_value"), test_mart="mart",
        p_value=pl.when(undefined).then(PAPER_UNDEFINED_P).otherwise("p_value"),
        undefined_reason=pl.when(undefined).then(pl.col("extras").str.json_path_match("$.reason")))
    joined = (
        reference.select(*keys, published_value="value", match="match", reference_note="note")
        .join(computed, on=keys, how="left", nulls_equal=True, maintain_order="left")
        .join(p_values, on=["id", "statistic"], how="left", maintain_order="left")
        .with_columns(
            computed_value=pl.coalesce("p_value", "computed_value"),
            mart=pl.coalesce("test_mart", "mart"),
        )
    )
    rows = list(joined.select("computed_value", "published_value", "match").iter_rows(named=True))
    passed = [matches_published(row["computed_value"], row["published_value"], row["match"]) for row in rows]
    passed_p3 = [_at_printed_precision(row["computed_value"], row["published_value"]) if row["match"] == "sig"
                 else None for row in rows]
    return joined.with_columns(study=_study(), passed=pl.Series(passed, dtype=pl.Boolean),
                               passed_p3=pl.Series(passed_p3, dtype=pl.Boolean), note=_note()).select(SCHEMA.keys())


def _study() -> pl.Expr:
    """The study of a reference row, from its id's prefix (STUDIES)."""
    prefixed = [(study, prefix) for study, (prefix, _) in STUDIES.items() if prefix]
    [default] = [study for study, (prefix, _) in STUDIES.items() if prefix is None]
    expression = pl.lit(default)
    for study, prefix in prefixed:
        expression = pl.when(pl.col("id").str.starts_with(prefix)).then(pl.lit(study)).otherwise(expression)
    return expression


def _at_printed_precision(value: float | None, published: str) -> bool:
    """The p3 verdict of a sig row; a printed bound (<0.0001) is matched as sig matches it."""
    bound = published.startswith(("<", ">="))
    return matches_published(value, published, "sig" if bound else "p3")


def _note() -> pl.Expr:
    reason = (
        pl.when(pl.col("match").is_in(NOT_TARGETS))
        .then(pl.format("not a target ({}): checked, see the reference note", "match"))
        .when(pl.col("computed_value").is_null()).then(pl.lit("not computed by any mart"))
        .when(pl.col("undefined_reason").is_not_null())
        .then(pl.format("P undefined ({}): NULL in marts.statistical_tests, compared as the paper's P = 1.0",
                        "undefined_reason"))
    )
    return pl.concat_str([reason, pl.col("reference_note")], separator="; ", ignore_nulls=True).replace("", None)


def check_result(table: pl.DataFrame, study: str = "multicenter") -> dg.AssetCheckResult:
    """`study`'s check (STUDIES): passes when none of its target rows fails; the failures listed in the metadata."""
    table = table.filter(pl.col("study") == study)
    failed = table.filter(pl.col("passed").not_())
    return dg.AssetCheckResult(
        check_name=STUDIES[study][1],
        passed=failed.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "passed": table.filter(pl.col("passed")).height,
            "failed": failed.height,
            "not_targets": table.filter(pl.col("passed").is_null()).height,
            "sig_rows_also_at_printed_precision": f"{table['passed_p3'].sum()} of {table['passed_p3'].count()}",
            "failures": dg.MetadataValue.md(markdown_table(
                ["id", "group", "statistic", "published", "computed", "match", "note"],
                failed.select("id", "group", "statistic", "published_value", "computed_value", "match", "note").rows(),
            )),
        },
    )


def paper_reproduction_asset(mart_assets: Sequence[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """marts.paper_reproduction, downstream of the reference and of every asset of `mart_assets` (the marts it
    reads, found by orchestration/definitions.py with Dagster's loader), with one check per study."""

    @dg.asset(
        key=KEY,
        group_name="marts",
        deps=[REFERENCE_KEY, *sorted({key for asset in mart_assets for key in asset.keys} - {KEY}, key=str)],
        kinds={"duckdb", "polars"},
        pool=POOL,
        description=DESCRIPTION,
        check_specs=[dg.AssetCheckSpec(check, asset=KEY, description=f"Every target number of the {study} paper "
                                       "reproduces (WARN: real data will differ; the demo cohort must not).")
                     for study, (_, check) in STUDIES.items()],
    )
    @skip_when_unchanged("marts.paper_reproduction", shared.MARTS_CODE)
    def paper_reproduction(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        return reproduce(context, warehouse)

    return paper_reproduction


def reproduce(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The asset's work: marts.paper_reproduction written, its checks' results."""
    with warehouse.connect() as con:
        reference = shared.read_relation(con, "seeds.published_results")
        tests = shared.read_relation(con, shared.TESTS_TABLE)
        computed, errors = computed_values(con, published_sources())
        table = reproduction(reference, computed, tests)
        shared.write_mart(con, MART, table, DESCRIPTION, COLUMNS)
        metadata = shared.table_metadata(con, f"{shared.SCHEMA}.{MART}", ORDER)
    for mart, error in errors.items():
        context.log.warning(f"{mart}.published_values failed, its rows are not computed: {error}")
    results = {study: check_result(table, study) for study in STUDIES}
    # The multicenter check's counts under their names of old, every other study's prefixed with the study.
    counts = {(name if study == "multicenter" else f"{study}/{name}"): value
              for study, result in results.items() for name, value in result.metadata.items()}
    return dg.MaterializeResult(
        metadata={**metadata, **counts,
                  "source_errors": dg.MetadataValue.md(markdown_table(["mart", "error"], sorted(errors.items())))},
        check_results=list(results.values()),
    )
