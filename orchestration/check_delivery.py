"""`make check-delivery CENTER=<id> [DIR=<folder>]`: a dry run of one center's delivery, for the center's
data engineer before anything is sent.

The center's files (its drop-zone folder, or DIR) are read with its YAML and put through the warehouse's own
landing, staging and validation gate, in a scratch warehouse in a temporary folder: the real warehouse, its
snapshot and the drop zone are never touched, and nothing else runs (no marts). It prints, per table, the rows
read, those that would pass and those that would be quarantined, then the first problems of each column: file,
row, column, value and the sentence a data manager would read. Exit code 0 when every file would load and no
row would be quarantined, 1 otherwise.
"""

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from orchestration import settings
from orchestration.pseudonym_key import KEY_VARIABLE

EXAMPLES = 3  # problems shown per table and column


def check_delivery(center_id: str, folder: Path, centers_dir: Path) -> int:
    # Imported before the scratch environment is set: the module builds the real definitions on import.
    import orchestration.definitions  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="check_delivery_") as scratch:
        root = Path(scratch)
        (root / "centers").mkdir()
        yaml_file = centers_dir / f"{center_id}.yaml"
        if not yaml_file.is_file():
            print(f"no YAML for center {center_id!r} in {centers_dir}")
            return 1
        shutil.copy(yaml_file, root / "centers" / yaml_file.name)
        # A copy, never a link: the landing refuses links, and the delivery stays as it was sent.
        shutil.copytree(folder, root / "landing" / center_id, symlinks=False)
        with settings.environment({"BLINA_CENTERS_DIR": str(root / "centers"),
                                   "BLINA_LANDING_DIR": str(root / "landing"),
                                   "BLINA_WAREHOUSE_DIR": str(root / "warehouse"),
                                   # The scratch warehouse is deleted and its subject_ids never shown: a
                                   # throwaway key, so the center's engineer needs none.
                                   KEY_VARIABLE: os.environ.get(KEY_VARIABLE) or secrets.token_hex(32)}):
            return _dry_run(root / "warehouse" / settings.WAREHOUSE_FILE)


def _dry_run(database: Path) -> int:
    import dagster as dg
    import duckdb

    from assets.validation.gate import ORDER
    from assets.validation.store import quarantine_table
    from orchestration.definitions import build_definitions

    gate = [dg.AssetKey(quarantine_table(table).split(".")) for table in ORDER]
    job = build_definitions().resolve_job_def("warehouse")
    selection = (dg.AssetSelection.assets(*gate).upstream().required_multi_asset_neighbors()
                 .resolve(job.asset_layer.asset_graph))
    result = job.execute_in_process(asset_selection=list(selection), raise_on_error=False,
                                    run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    if not database.exists():
        print("the dry run stopped before it read anything")
        return 1
    with duckdb.connect(str(database), read_only=True) as con:
        clean = _report(con, ORDER)
    if not result.success:
        print("the dry run itself failed (a step of the warehouse; see the messages above)")
    return 0 if clean and result.success else 1


def _report(con, tables) -> bool:
    failed = con.execute("SELECT table_name, message FROM audit.loads WHERE outcome IN ('failed', 'held')"
                         " ORDER BY table_name").fetchall()
    for table, message in failed:
        print(f"FILE REFUSED ({table}): {message}")
    clean = not failed
    for table in tables:
        candidates = con.execute(f"SELECT count(*) FROM intermediate.int_{table}").fetchall()[0][0]
        quarantined = con.execute(f"SELECT count(*) FROM quarantine.{table}").fetchall()[0][0]
        print(f"{table}: {candidates} rows read, {candidates - quarantined} would pass, {quarantined} would be"
              " quarantined")
        clean = clean and not quarantined
        for source_file, source_row, column, value, reason in con.execute(f"""
                SELECT source_file, source_row, column_name, value, reason FROM quarantine.{table}
                QUALIFY row_number() OVER (PARTITION BY column_name ORDER BY source_row, source_column) <= {EXAMPLES}
                ORDER BY column_name, source_row""").fetchall():
            print(f"  {source_file} row {source_row}, column {column}, value {value!r}: {reason}")
    return clean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("center", help="the center_id (its YAML is <centers dir>/<center>.yaml)")
    parser.add_argument("--dir", type=Path, help="the folder holding the files (default: its drop-zone folder)")
    args = parser.parse_args(argv)
    folder = args.dir or settings.landing_dir() / args.center
    if not folder.is_dir():
        print(f"no folder {folder}")
        return 1
    return check_delivery(args.center, folder.resolve(), settings.centers_dir())


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # as orchestration.run: skip duckdb's spurious teardown reports
