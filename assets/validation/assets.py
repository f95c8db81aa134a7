"""Dagster side of validation: the gate between the candidate and the core dbt models, its checks, and
audit.row_accounting. The gate itself is gate.py; here it is told which centers to gate, and reported.

Graph: intermediate.int_<table> (dbt) -> validation_gate -> quarantine.<table> + audit.<table>_warnings
-> core.<table> (dbt) -> audit.row_accounting.
"""

from datetime import UTC, datetime

import dagster as dg

from assets.landing.assets import POOL
from assets.validation import passed as passed_rows
from assets.validation.gate import ORDER, Tally
from assets.validation.store import candidate_table, quarantine_table, warnings_table
from orchestration import versions
from orchestration.incremental import skip_when_unchanged
from orchestration.metadata import column_schema, markdown_table
from orchestration.resources import WarehouseResource

GROUP = "validation"
# What the gate and its checks are computed by, besides their inputs.
VALIDATION_CODE = ("schemas", "assets/validation")
EXAMPLES = 10  # failing rows shown in the UI per table
RECHECKED = "only_validated_rows.centers"  # per center: the core version that last passed the whole gate again


def _key(relation: str) -> dg.AssetKey:
    return dg.AssetKey(relation.split("."))


CANDIDATE_KEYS = {table: _key(candidate_table(table)) for table in ORDER}
CORE_KEYS = {table: dg.AssetKey(["core", table]) for table in ORDER}


def _today():
    # "Not in the future" is judged against the day each file was delivered (gate.DELIVERED); this day only
    # where the warehouse keeps no record of the delivery. UTC, so that the same run gives the same answer anywhere.
    return datetime.now(UTC).date()


EXAMPLE_COLUMNS = ("source_file", "source_row", "check_name", "value", "reason")
_NO_FAILURES = dg.MetadataValue.md(markdown_table(EXAMPLE_COLUMNS, []))


def _examples(con, relation: str) -> dg.MetadataValue:
    from assets.validation.store import examples

    return dg.MetadataValue.md(markdown_table(EXAMPLE_COLUMNS, examples(con, relation, EXAMPLES)))


@dg.multi_asset(
    specs=[spec for table in ORDER for spec in (
        dg.AssetSpec(_key(quarantine_table(table)), deps=list(CANDIDATE_KEYS.values()), group_name=GROUP,
                     kinds={"duckdb", "polars"},
                     description=f"Delivered {table} rows the gate refused, each with every reason."),
        dg.AssetSpec(_key(warnings_table(table)), deps=list(CANDIDATE_KEYS.values()), group_name=GROUP,
                     kinds={"duckdb", "polars"},
                     description=f"Warnings of the {table} rows the gate accepted; core.{table} carries them."),
    )],
    pool=POOL,
)
def validation_gate(warehouse: WarehouseResource):
    """The candidate core rows of the centers whose candidates changed through the clinical checks (schemas/,
    assets/validation/gate.py); their findings replace those centers' rows, the other centers' stay."""
    from assets.validation.gate import gate_centers
    from assets.validation.store import count, drop_vanished, unmarked_centers

    with warehouse.connect() as con:
        plan = versions.plan_centers(con, "validation",
                                     also=unmarked_centers(con, [candidate_table(table) for table in ORDER]))
        if not plan.dirty:
            yield from _unchanged_findings(con, plan)
            return
        tallies = gate_centers(con, plan.dirty, _today())
        for table in ORDER:
            drop_vanished(con, (quarantine_table(table), warnings_table(table)), candidate_table(table), plan.dirty)
        passed_rows.record(con, [(table, tally.fingerprints) for table, tally in tallies.items()])
        versions.record(con, "validation", plan.versions)
        for table, tally in tallies.items():
            yield dg.MaterializeResult(asset_key=_key(quarantine_table(table)), metadata={
                "dagster/row_count": count(con, quarantine_table(table)),
                **column_schema(con, *_key(quarantine_table(table)).path),
                "centers_gated": ", ".join(plan.dirty),
                "candidates": tally.candidates,
                "passed": tally.passed,
                "examples": _examples(con, quarantine_table(table)),
            })
            yield dg.MaterializeResult(asset_key=_key(warnings_table(table)), metadata={
                "dagster/row_count": count(con, warnings_table(table)),
                **column_schema(con, *_key(warnings_table(table)).path),
                "examples": _examples(con, warnings_table(table)),
            })


def _unchanged_findings(con, plan: versions.CenterPlan):
    """No center's candidates changed: the findings tables stay as they are."""
    from assets.validation.store import count

    for table in ORDER:
        for relation in (quarantine_table(table), warnings_table(table)):
            yield dg.MaterializeResult(asset_key=_key(relation), metadata={
                "skipped": "no center's candidates changed", "dagster/row_count": count(con, relation),
                **column_schema(con, *_key(relation).path)},
                data_version=dg.DataVersion(plan.version(con)))


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("clinical_checks", asset=CANDIDATE_KEYS[table],
                             additional_deps=[_key(quarantine_table(table)), _key(warnings_table(table))],
                             description=f"The {table} candidates against the clinical checks (schemas/{table}.py "
                                         "and the cross-table rules): rows the gate refused or warned about, with "
                                         "examples. Warns; the gate acts.")
           for table in ORDER],
)
@skip_when_unchanged("clinical_checks", VALIDATION_CODE, after="validation")
def clinical_checks(warehouse: WarehouseResource):
    # Read from the gate's tables (counts and a few examples): the gate is the one place the checks run.
    from assets.validation.store import count

    with warehouse.connect(read_only=True) as con:
        for table in ORDER:
            refused = count(con, quarantine_table(table))
            yield dg.AssetCheckResult(
                asset_key=CANDIDATE_KEYS[table], check_name="clinical_checks",
                passed=refused == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"failing_rows": refused, "rows_with_warnings": count(con, warnings_table(table)),
                          "candidates": count(con, candidate_table(table)),
                          "failures": _examples(con, quarantine_table(table)),
                          "warnings": _examples(con, warnings_table(table))},
            )


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("only_validated_rows", asset=CORE_KEYS[table], blocking=True,
                             description=f"core.{table} holds only rows that pass the gate: the rows the gate "
                                         "passed (by their fingerprint), or else the whole gate again finds nothing.")
           for table in ORDER],
)
@skip_when_unchanged("only_validated_rows", VALIDATION_CODE)
def only_validated_rows(warehouse: WarehouseResource):
    # For the centers whose core changed since their last clean recheck (the others passed as they are now):
    # core holding exactly the rows the gate passed (passed.py) passes; a center whose core differs goes
    # through the gate itself again, its findings in temporary tables (a read-only connection may write those).
    from assets.validation.gate import gate_centers

    recheck = (lambda table: f"recheck_quarantine_{table}", lambda table: f"recheck_warnings_{table}")
    with warehouse.connect() as con:
        core, checked = versions.recorded(con, "core"), versions.recorded(con, RECHECKED)
        gated = {table: versions.recorded(con, passed_rows.layer(table)) for table in ORDER}
    centers = sorted(center for center, version in core.items() if checked.get(center) != version)
    with warehouse.connect(read_only=True) as con:
        regated = passed_rows.differing(con, centers, {table: candidate_table(table) for table in ORDER},
                                        {table: f"core.{table}" for table in ORDER}, gated)
        tallies = gate_centers(con, regated, _today(), source=lambda table: f"core.{table}", sinks=recheck,
                               keep_superseded=False) if regated else dict.fromkeys(ORDER, Tally())
        failing = {center for (center,) in con.execute(" UNION ".join(
            f"SELECT center_id FROM {recheck[0](table)}" for table in ORDER)).fetchall()} if regated else set()
        results = [dg.AssetCheckResult(
            asset_key=CORE_KEYS[table], check_name="only_validated_rows",
            passed=tally.quarantined == 0, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"failing_rows": tally.quarantined, "centers_rechecked": ", ".join(centers),
                      "centers_gated_again": ", ".join(regated),
                      "failures": _examples(con, recheck[0](table)) if regated else _NO_FAILURES},
        ) for table, tally in tallies.items()]
    with warehouse.connect() as con:
        versions.record(con, RECHECKED, {center: core[center] for center in centers if center not in failing})
    yield from results


@dg.asset(
    key=["audit", "row_accounting"],
    deps=[*CORE_KEYS.values(), *(_key(quarantine_table(table)) for table in ORDER)],
    # After core, which reads the gate's tables: in the validation group it made the UI's group lineage loop
    # (validation -> core -> validation).
    group_name="accounting",
    kinds={"duckdb"},
    pool=POOL,
    description="Per table and delivered file: rows delivered, loaded, passed, quarantined, superseded.",
)
@skip_when_unchanged("audit.row_accounting", VALIDATION_CODE, extra=versions.landing_failures)
def row_accounting(warehouse: WarehouseResource) -> dg.MaterializeResult:
    from assets.validation.accounting import COLUMNS, build_row_accounting

    with warehouse.connect() as con:
        rows = build_row_accounting(con)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rows),
        "accounting": dg.MetadataValue.md(markdown_table(COLUMNS, rows)),
    })


@dg.asset_check(
    asset=["audit", "row_accounting"],
    name="delivered_rows_accounted",
    blocking=True,
    description="Nothing lost: delivered = passed + quarantined + superseded for every table and file.",
)
@skip_when_unchanged("delivered_rows_accounted", VALIDATION_CODE, extra=versions.landing_failures)
def delivered_rows_accounted(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    from assets.validation.accounting import unbalanced

    with warehouse.connect(read_only=True) as con:
        broken = unbalanced(con)
    return dg.AssetCheckResult(
        passed=not broken,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"unbalanced_files": len(broken), "files": dg.MetadataValue.md(markdown_table(
            ["table", "center", "file", "delivered", "passed", "quarantined", "superseded"], broken))},
    )


VALIDATION_ASSETS = [validation_gate, row_accounting]
VALIDATION_CHECKS = [clinical_checks, only_validated_rows, delivered_rows_accounted]
