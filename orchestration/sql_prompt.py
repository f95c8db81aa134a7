"""`make sql`: an interactive read-only SQL prompt on the analyst snapshot, or on the warehouse until the
snapshot exists. Python's duckdb ships no CLI binary, and this one always matches the warehouse's format."""

import readline  # noqa: F401  (line editing and history for input())
import sys
from pathlib import Path

from orchestration import settings

HELP = "End a statement with ';'.  .tables lists the tables, .quit (or Ctrl-D) leaves."


def database() -> Path:
    snapshot = settings.warehouse_dir() / settings.ANALYTICS_FILE
    return snapshot if snapshot.exists() else settings.warehouse_dir() / settings.WAREHOUSE_FILE


def main() -> int:
    import duckdb

    path = database()
    if not path.exists():
        print(f"{path} does not exist yet: run `make run` first.", file=sys.stderr)
        return 1
    with duckdb.connect(str(path), read_only=True) as con:
        print(f"{path} (read-only). {HELP}")
        for statement in statements():
            if statement == ".tables":
                statement = "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL;"
            try:
                relation = con.sql(statement)
                if relation is not None:
                    relation.show(max_rows=100)
            except duckdb.Error as error:
                print(error)
    return 0


def statements():
    """Statements typed at the prompt: lines up to one ending in ';', or a dot command."""
    lines: list[str] = []
    while True:
        try:
            line = input("...> " if lines else "sql> ")
        except EOFError:
            return
        if not lines and line.strip() in (".quit", ".exit"):
            return
        if not lines and line.strip() == ".tables":
            yield ".tables"
            continue
        lines.append(line)
        if line.rstrip().endswith(";"):
            yield "\n".join(lines)
            lines = []


if __name__ == "__main__":
    sys.exit(main())
