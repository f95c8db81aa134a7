"""`make report`: bring the warehouse up to date through `make run`'s own run (a step whose inputs are unchanged
skips, so on a built warehouse only the reports are written again), then print each study report's path. Opens
nothing."""

from orchestration import settings


def main() -> int:
    from assets.report.assets import report_path
    from assets.report.pages import STUDIES
    from orchestration import run

    code = run.main()
    database = settings.warehouse_dir() / settings.WAREHOUSE_FILE
    for study in STUDIES:
        path = report_path(database, study)
        print(f"report {study}: {path}" if path.exists() else f"report {study}: NOT WRITTEN ({path})")
    return code


if __name__ == "__main__":
    from orchestration.run import exit_now

    exit_now(main())
