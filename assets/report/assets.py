"""report/<study>: the study's page, warehouse/report/<study>.html, after the marts and the analyst snapshot; in
every job that builds everything (`make run`, the nightly schedule), refreshed like every other asset."""


from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from assets.landing.assets import POOL
from assets.marts.paper_reproduction import KEY as REPRODUCTION_KEY
from assets.report.pages import PAGES, STUDIES, TITLES
from assets.snapshot.assets import KEY as SNAPSHOT_KEY
from orchestration.catalog import database_path, relation_exists
from orchestration.incremental import skip_when_unchanged
from orchestration.jobs import SIDE_BY_SIDE
from orchestration.resources import WarehouseResource

REPORT_DIR = "report"
# What a page is computed by, besides the warehouse: its own code, and the marts' (the figure style).
REPORT_CODE = ("assets/report", "assets/marts")


def report_path(warehouse_path: str | Path, study: str) -> Path:
    """<warehouse directory>/report/<study>.html."""
    return Path(warehouse_path).parent / REPORT_DIR / f"{study}.html"


def write_report(con, warehouse_path: str | Path, study: str, run_id: str,
                 not_built: dict[str, tuple[str, bool]] | None = None) -> tuple[Path, dict]:
    """Read `study`'s page from the warehouse (`con`), render it and write it atomically; the path and what it
    holds (blocks shown, blocks that could not be). `not_built`: the marts the last run did not rebuild
    (context.not_rebuilt)."""
    from assets.report import context
    from assets.report.render import render_page, write_atomically

    warehouse_path = Path(warehouse_path)
    provenance = context.Provenance(
        run_id=run_id, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        code_version=context.code_version(), warehouse=str(warehouse_path),
        deliveries=context.deliveries(con, study))
    sections = PAGES[study](con, warehouse_path)
    for section in sections:
        section.blocks = context.marked(section.blocks, not_built or {})
    quality = [context.quarantine_counts(con, study), context.open_queries(con, study)]
    [summary] = context.marked([context.reproduction_summary(con, study)], not_built or {})
    html = render_page(study, TITLES[study], provenance, summary, sections, quality)
    blocks = [provenance.deliveries, summary, *(b for s in sections for b in s.blocks), *quality]
    unavailable = [f"{block.title}: {block.problem}" for block in blocks if block.problem]
    path = write_atomically(report_path(warehouse_path, study), html)
    return path, {"blocks": len(blocks), "unavailable": unavailable, "bytes": len(html.encode())}


def report_asset(study: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["report", study], group_name="report", kinds={"html"}, pool=POOL, owners=["team:biostatistics"],
        op_tags=SIDE_BY_SIDE,  # the study pages are written side by side (orchestration/jobs.py)
        deps=[SNAPSHOT_KEY, REPRODUCTION_KEY],
        description=f"{REPORT_DIR}/{study}.html beside the warehouse: the {study} study's self-contained page "
                    "(tables with the paper's values, figures as SVG, provenance, data quality), for clinicians; "
                    "replaced in one rename.",
    )
    @skip_when_unchanged(f"report.{study}", REPORT_CODE, extra=_shown_inputs, missing=lambda con: _missing(con, study))
    def report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        from assets.report.context import not_rebuilt
        from orchestration.metadata import markdown_table

        with warehouse.connect(read_only=True) as con:
            path, facts = write_report(con, warehouse.path, study, context.run.run_id, not_rebuilt(context.instance))
        for line in facts["unavailable"]:
            context.log.warning(f"report/{study}: not available: {line}")
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(path)), "bytes": facts["bytes"], "blocks": facts["blocks"],
            "unavailable": dg.MetadataValue.md(markdown_table(["block"], [[line] for line in facts["unavailable"]])
                                               if facts["unavailable"] else "none"),
        })

    return report


def _shown_inputs(con) -> str:
    """Besides core: the version each mart and the snapshot were last built from, the checks failing now, the
    files that failed to load, and the marts the last run did not rebuild: when none changed, neither does the
    page (it keeps the run that wrote it)."""
    from assets.report.context import not_rebuilt
    from orchestration import versions

    built = con.execute("SELECT layer, version FROM audit.build_versions WHERE layer LIKE 'marts.%' OR layer IN"
                        " ('snapshot.analytics', 'audit.row_accounting') ORDER BY layer, center_id").fetchall() \
        if relation_exists(con, "audit.build_versions") else []
    failing = con.execute("SELECT asset_check FROM audit.check_outcomes WHERE NOT passed ORDER BY 1").fetchall() \
        if relation_exists(con, "audit.check_outcomes") else []
    not_built = sorted(not_rebuilt(dg.AssetExecutionContext.get().instance).items())
    return repr((built, failing, versions.landing_failures(con), not_built))


def _missing(con, study: str) -> bool:
    """A deleted page is written again, whatever changed."""
    return not report_path(database_path(con), study).exists()


REPORT_ASSETS = [report_asset(study) for study in STUDIES]
