"""Assets and checks that skip their work when their inputs did not change (orchestration/versions.py).

`@skip_when_unchanged(name, code)` goes under Dagster's decorator of an asset or check function that takes the
`warehouse` resource. Before the function runs, the input version is computed: the per-center layer it comes
after, as built from every center (core by default), the files under `code`, and optional extra facts. If it
is the version recorded the last time the function succeeded, the function is not called: every selected
asset gets a materialization that says it was skipped (with its row count, when it is a table), and every
selected check repeats its last outcome. Otherwise the function runs, and its version and check outcomes are
recorded after it succeeded; its materializations carry the version as their Dagster data version.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Sequence

import dagster as dg

from orchestration import versions
from orchestration.catalog import relation_exists
from orchestration.metadata import carried_over, column_schema


def skip_when_unchanged(name: str, code: Sequence[str], after: str = "core",
                        extra: Callable[[object], str] | None = None,
                        missing: Callable[[object], bool] | None = None):
    """Decorate an asset or check function taking `warehouse` (see the module docstring). `extra(con)`
    returns further facts the outputs depend on (e.g. the landing outcomes an accounting table shows);
    `missing(con)` tells that an output kept outside the warehouse is gone and must be built again."""

    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kwargs) -> Iterator:
            warehouse = kwargs["warehouse"]
            context = _current_context()
            # One connection for the plan, the function (its own `connect`s reuse it) and the record.
            with warehouse.connect() as con:
                plan = versions.plan_asset(con, name, code, *([extra(con)] if extra else []), after=after)
                if plan.unchanged and missing and missing(con):
                    plan = versions.AssetPlan(plan.name, plan.version, unchanged=False)
                if plan.unchanged:
                    results = list(_skipped(context, con, plan))
                else:
                    results = [_versioned(context, con, result, plan.version)
                               for result in _events(function(*args, **kwargs))]
                    versions.record_asset(con, plan)
                    versions.record_checks(con, _check_outcomes(context, results))
            yield from results

        return run

    return decorate


def _current_context():
    try:
        return dg.AssetExecutionContext.get()
    except dg.DagsterInvariantViolationError:
        return dg.AssetCheckExecutionContext.get()


def _events(returned) -> list:
    return list(returned) if inspect.isgenerator(returned) else [returned]


def _check_outcomes(context, results: list) -> list[tuple[dg.AssetCheckKey, dg.AssetCheckResult]]:
    """Each check result with its key; a result that names neither (a single check's) is the selected one."""
    checks = [result for result in results if isinstance(result, dg.AssetCheckResult)]
    for result in results:
        if isinstance(result, dg.MaterializeResult):
            checks += list(result.check_results or [])
    selected = sorted(context.selected_asset_check_keys, key=str)
    outcomes = []
    for result in checks:
        named = [key for key in selected if key.name == result.check_name] if result.check_name else selected
        if result.asset_key is not None:
            named = [key for key in named if key.asset_key == dg.AssetKey.from_coercible(result.asset_key)]
        outcomes += [(named[0], result)] if len(named) == 1 else []
    return outcomes


def _versioned(context, con, result, version: str):
    """The asset's result with its data version and the column schema of the table it built."""
    if not isinstance(result, dg.MaterializeResult):
        return result
    keys = [dg.AssetKey.from_coercible(result.asset_key)] if result.asset_key else list(
        getattr(context, "selected_asset_keys", ()))
    schema = _column_schema(con, keys[0]) if len(keys) == 1 else {}
    return dg.MaterializeResult(asset_key=result.asset_key, metadata={**schema, **(result.metadata or {})},
                                check_results=result.check_results, data_version=dg.DataVersion(version),
                                tags=result.tags)


def _column_schema(con, key: dg.AssetKey) -> dict:
    """For an asset that is a table of the warehouse (the snapshot is a file)."""
    return column_schema(con, *key.path) if len(key.path) == 2 else {}


def _skipped(context, con, plan: versions.AssetPlan) -> Iterator:
    is_asset = isinstance(context, dg.AssetExecutionContext)
    asset_keys = getattr(context, "selected_asset_keys", set()) if is_asset else set()
    for key in sorted(asset_keys, key=str):
        described = carried_over(context.instance, key, plan.version)
        if described is None:
            described = {**_row_count(con, key), **_column_schema(con, key)}
        yield dg.MaterializeResult(asset_key=key, metadata={**plan.skipped_metadata(), **described},
                                   data_version=dg.DataVersion(plan.version))
    yield from versions.carried_over_checks(con, context.selected_asset_check_keys,
                                            "inputs unchanged since the last build")


def _row_count(con, key: dg.AssetKey) -> dict[str, int]:
    """The relation's row count, for assets that are tables or views of the warehouse (the snapshot is a file)."""
    if len(key.path) != 2:
        return {}
    if not relation_exists(con, ".".join(key.path)):
        return {}
    return {"dagster/row_count": con.execute(f'SELECT count(*) FROM "{key.path[0]}"."{key.path[1]}"').fetchall()[0][0]}
